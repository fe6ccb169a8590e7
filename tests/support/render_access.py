"""Render the access role's templates as write_access does, in a fresh interpreter: Ansible's
collection loader must be set up before anything imports ansible_collections (pytest's own
imports would otherwise hide the collection's filters from the templar).

    python -m tests.support.render_access < cases.json > rendered.json

Each case: {"template": "handout.ko.md.j2" | "access.csv.j2", "variables": {...}}."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ansible.plugins.loader import init_plugin_loader

REPO = Path(__file__).resolve().parents[2]
# Before anything imports ansible_collections: the collection's filters come through this loader.
init_plugin_loader([str(REPO / ".collections")])

from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.template import Templar  # noqa: E402
from ansible_collections.mlopslab.monitoring.plugins.action.render_manifests import render_text  # noqa: E402
from ansible_collections.mlopslab.monitoring.plugins.action.write_access import TEMPLATES  # noqa: E402


def main() -> int:
    templar = Templar(loader=DataLoader())
    out = []
    for case in json.load(sys.stdin):
        templar.available_variables = case["variables"]
        try:
            out.append(render_text(templar, (TEMPLATES / case["template"]).read_text(), case["template"]))
        except ValueError as err:
            out.append({"error": str(err)})
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
