"""Where a cohort's outputs live: one place for Python (and the role _common's vars for YAML)."""

from __future__ import annotations

from pathlib import Path

import yaml

from plugins.module_utils.common import layout


def test_every_student_file_has_one_home():
    assert layout.student_files(["user01", ""], "/b/credentials/c", "/b/c") == [
        "/b/credentials/c/user01-grafana-admin",
        "/b/c/kubeconfigs/user01.yaml",
        "/b/c/handouts/user01.md",
    ]
    assert layout.sheet("/b/c") == "/b/c/access.csv"


def test_the_yaml_side_names_the_same_folders():
    # roles/_common/vars/main.yml builds the cohort's folder the way layout's callers receive it.
    shared = yaml.safe_load((Path(__file__).resolve().parents[4] / "roles/_common/vars/main.yml").read_text())
    assert shared["_mlopslab_cohort_dir"] == "{{ mlopslab_build_dir }}/{{ mlopslab_cohort }}"
    assert shared["_mlopslab_grafana_password_file"].endswith("/{{ inventory_hostname }}-grafana-admin")
