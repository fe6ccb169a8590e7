import sys

from ab_exporter.cli import main

sys.exit(main())
