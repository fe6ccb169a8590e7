"""requirements_info with pip's real resolver against the package index (PyPI is reachable
here): the lab template resolves; the original lab's two conflicts are each explained naming
both requirements; bad files get a clear message. And verify.yml reporting the check."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.support.processes import REPO

TEMPLATE = REPO / "lab-template"


@pytest.fixture
def requirements(ansible_playbook, tmp_path):
    def run(path, **args):
        out = tmp_path / "result.json"
        extra = {"requirements_args": {"path": str(path), **args}, "requirements_out": str(out)}
        ansible_playbook("tests/integration/playbooks/requirements.yml", "-e", json.dumps(extra))
        return json.loads(out.read_text())

    return run


def test_the_lab_template_resolves_to_its_constraints(requirements):
    result = requirements(TEMPLATE / "requirements.txt", constraints=str(TEMPLATE / "constraints.txt"))
    assert result["ok"] and not result.get("failed"), result
    versions = {p["name"].lower(): p["version"] for p in result["resolved"]}
    assert (
        versions["kfp"] == "1.8.22"
        and versions["pydantic"].startswith("1.")
        and versions["kubernetes"].startswith("25.")
    )
    # constraints.txt pins exactly what the requirements resolve to.
    pinned = {
        line.split("==")[0].lower(): line.split("==")[1]
        for line in (TEMPLATE / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert pinned == versions


@pytest.mark.parametrize(
    ("pins", "sentence"),
    [
        (
            "kfp==1.8.22\npydantic==2.5.2\n",
            "kfp 1.8.22 requires pydantic<2,>=1.8.2, but requirements.txt (line 2) pins pydantic==2.5.2.",
        ),
        (
            "kfp==1.8.22\nkubernetes==26.1.0\n",
            "kfp 1.8.22 requires kubernetes<26,>=8.0.0, but requirements.txt (line 2) pins kubernetes==26.1.0.",
        ),
    ],
)
def test_the_original_labs_conflicts_are_explained_with_both_names(requirements, tmp_path, pins, sentence):
    path = tmp_path / "requirements.txt"
    path.write_text(pins)
    result = requirements(path)
    assert result["ok"] is False and result["resolved"] == []
    assert result["explanation"] == sentence
    assert not result.get("failed")  # fail_on_conflict is off by default
    failing = requirements(path, fail_on_conflict=True)
    assert failing["failed"] and failing["msg"] == sentence


def test_a_syntax_error_names_the_line(requirements, tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("kfp==1.8.22\npydantic 1.10.26\n")
    result = requirements(path)
    assert result["explanation"] == (
        "requirements.txt line 2: 'pydantic 1.10.26' is not a requirement (write name==version, e.g. kfp==1.8.22)."
    )


@pytest.mark.parametrize("kind", ["missing", "directory", "binary"])
def test_an_unreadable_file_gets_a_clear_message(requirements, tmp_path, kind):
    path = tmp_path / "requirements.txt"
    if kind == "directory":
        path.mkdir()
    elif kind == "binary":
        path.write_bytes(b"\xff\xfe\x00kfp")
    result = requirements(path)
    assert result["failed"]
    assert result["msg"].startswith(f"cannot read the requirements file {path}: ")
    assert "Give the path of a readable text file (path=...)" in result["msg"]


def test_verify_reports_the_requirements(kube, ansible_playbook, tmp_path):
    (tmp_path / "repo").mkdir()
    bad = tmp_path / "repo" / "requirements.txt"
    shutil.copy(TEMPLATE / "requirements.txt", bad)
    bad.write_text(bad.read_text().replace("pydantic==1.10.26", "pydantic==2.5.2"))
    run = ansible_playbook(
        "playbooks/verify.yml",
        "-e",
        f"mlopslab_build_dir={tmp_path / 'build'}",
        "-e",
        f"verify_requirements={bad}",
        "-e",
        "mlopslab_verify_prometheus_access=none",
        "-e",
        "mlopslab_verify_grafana_access=none",
        "-e",
        "verify_fail=true",
        env={"K8S_AUTH_KUBECONFIG": str(kube.kubeconfig)},
        check=False,
    )
    sentence = "kfp 1.8.22 requires pydantic<2,>=1.8.2, but requirements.txt (line 6) pins pydantic==2.5.2."
    assert run.returncode != 0
    assert f"{bad} does not resolve: {sentence}" in run.text
    [report] = (tmp_path / "build" / "mlops-demo").glob("verify-*.json")
    assert json.loads(report.read_text())["requirements"]["explanation"] == sentence
    [markdown] = (tmp_path / "build" / "mlops-demo").glob("verify-*.md")
    assert f"**do not resolve**: {sentence}" in markdown.read_text()


def test_the_cluster_free_check_resolves_the_template_with_its_constraints(ansible_playbook):
    run = ansible_playbook("playbooks/check_requirements.yml", env={"K8S_AUTH_KUBECONFIG": "/nonexistent"})
    assert f"{TEMPLATE / 'requirements.txt'} with {TEMPLATE / 'constraints.txt'} resolves to 65 packages" in run.text
    assert "kfp 1.8.22" in run.text and "pydantic 1.10.26" in run.text


def test_the_cluster_free_check_fails_on_a_conflict_with_the_sentence(ansible_playbook, tmp_path):
    bad = tmp_path / "requirements.txt"
    bad.write_text((TEMPLATE / "requirements.txt").read_text().replace("kubernetes==25.3.0", "kubernetes==26.1.0"))
    run = ansible_playbook("playbooks/check_requirements.yml", "-e", f"requirements={bad}", check=False)
    assert run.returncode != 0
    assert f"{bad} does not resolve: kfp 1.8.22 requires kubernetes<26,>=8.0.0, but requirements.txt" in run.text
