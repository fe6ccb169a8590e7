"""The guarded imports of PyYAML and kubernetes (module_utils/common/libraries.py): a module's
code imports where they are missing, and the module then fails with Ansible's own message. Run
in a fresh interpreter whose import system refuses both, as a target without them would."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.processes import REPO

MISSING_BOTH = """
import json, sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("yaml", "kubernetes"):
            raise ImportError(f"No module named {name!r}")

sys.meta_path.insert(0, Refuse())
prefix = "ansible_collections.mlopslab.monitoring.plugins.module_utils."
for name in ("common.lab_io", "deploy.apply", "deploy.program_checks", "access.tokens", "access.issue"):
    __import__(prefix + name)
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import libraries

class Module:
    def fail_json(self, **result):
        print(json.dumps(result))
        sys.exit(1)

print(json.dumps(sorted(libraries.MISSING)))
libraries.require(Module(), "kubernetes", "PyYAML")
"""


def test_the_modules_code_imports_without_pyyaml_and_kubernetes_and_names_what_is_missing():
    proc = subprocess.run(
        [sys.executable, "-c", MISSING_BOTH],
        cwd=REPO / ".collections",
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    missing, failure = (json.loads(line) for line in proc.stdout.splitlines())
    assert missing == ["PyYAML", "kubernetes"]
    assert failure["msg"].startswith("Failed to import the required Python library (kubernetes)")
    assert "No module named 'kubernetes'" in failure["exception"]


def test_nothing_is_missing_where_both_are_installed():
    from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import libraries  # noqa: PLC0415

    class Module:
        def fail_json(self, **result):
            raise AssertionError(result)

    assert libraries.MISSING == {}
    libraries.require(Module(), "kubernetes", "PyYAML")
