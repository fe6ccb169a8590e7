"""An inventory folder as an instructor has one (the example group_vars, these students, host
vars where given) and the extra vars every lifecycle test runs its playbooks with."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.support.processes import REPO


def inventory(tmp_path: Path, students, name: str = "cohort.yml", host_vars: dict | None = None) -> Path:
    folder = tmp_path / "inventory"
    if not (folder / "group_vars").exists():
        shutil.copytree(REPO / "inventory" / "group_vars", folder / "group_vars")
    hosts = "".join(f"    {s}:\n" for s in students)
    (folder / name).write_text(f"cohort:\n  hosts:\n{hosts}")
    for student, values in (host_vars or {}).items():
        (folder / "host_vars").mkdir(exist_ok=True)
        (folder / "host_vars" / f"{student}.yml").write_text(yaml.safe_dump(values))
    return folder / name


def lifecycle_args(tmp_path: Path) -> list[str]:
    """Outputs under tmp_path; no wait for pods no kubelet runs; a short teardown wait."""
    return [
        "-e", f"mlopslab_build_dir={tmp_path / 'build'}",
        "-e", "mlopslab_wait=false",
        "-e", "mlopslab_teardown_timeout=5",
    ]  # fmt: skip
