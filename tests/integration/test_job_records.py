"""Nothing of another tenant in a job record: deploy and verify run through ansible-runner, as AWX
runs a job and stores its events, on a shared cluster where another course's Pod carries a secret
in its environment. Its artifacts (every job event, the stdout) are searched for that secret, and
for every student's Grafana password and token, at -v and -vvv."""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

import ansible_runner
import pytest

from tests.support.processes import REPO

MARK = "marked-secret-3f9c1e"
FOREIGN = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "notebook-0", "namespace": "other-course", "uid": "4b1f7c2e-0000-0000-0000-000000000031"},
    "spec": {
        "nodeName": "mlops-worker",
        "containers": [
            {
                "name": "postgres",
                "image": "postgres:16",
                "env": [{"name": "POSTGRES_PASSWORD", "value": MARK}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
            }
        ],
    },
    "status": {"phase": "Running"},
}


def job(tmp_path: Path, kube, playbook: str, verbosity: int, *extra: str) -> Path:
    """One ansible-runner job (a private data dir, as AWX lays out): its artifacts folder."""
    data = tmp_path / f"job-{playbook}-{verbosity}"
    data.mkdir()
    runner = ansible_runner.run(
        private_data_dir=str(data),
        project_dir=str(REPO),
        playbook=f"playbooks/{playbook}.yml",
        cmdline=" ".join(("-e", f"mlopslab_build_dir={tmp_path / 'build'}", *extra)),
        envvars={
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "K8S_AUTH_KUBECONFIG": str(kube.kubeconfig),
        },
        verbosity=verbosity,
        quiet=True,
    )
    assert runner.rc == 0, "".join(runner.stdout.readlines())[-3000:]
    return data / "artifacts"


def secrets_of(kube, build: Path) -> list[str]:
    found = []
    for student in ("user01", "user02", "user03"):
        secret = kube.request("GET", f"/api/v1/namespaces/{student}/secrets/grafana-admin")
        found.append(base64.b64decode(secret["data"]["admin-password"]).decode())
        kubeconfig = (build / "mlops-demo" / "kubeconfigs" / f"{student}.yaml").read_text()
        found.append(next(line.split(":", 1)[1].strip() for line in kubeconfig.splitlines() if "token:" in line))
    return found


@pytest.mark.parametrize("verbosity", [1, 3])
def test_no_other_tenants_data_and_no_student_secret_reaches_a_job_record(kube, tmp_path, verbosity, monkeypatch):
    # ansible-runner finds ansible-playbook on PATH, as an execution environment has it.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other-course"}}, FOREIGN)
    artifacts = [job(tmp_path, kube, "deploy", verbosity, "-e", "mlopslab_wait=false")]
    verify = ("-e", "mlopslab_verify_prometheus_access=none", "-e", "mlopslab_verify_grafana_access=none")
    artifacts.append(job(tmp_path, kube, "verify", verbosity, *verify, "-e", "mlopslab_verify_fail=false"))
    secrets = secrets_of(kube, tmp_path / "build")
    searched = 0
    for folder in artifacts:
        files = [f for f in folder.rglob("*") if f.is_file()]
        assert any(f.parent.name == "job_events" for f in files), sorted(str(f) for f in files)[:10]
        for path in files:
            text = path.read_text(errors="replace")
            searched += 1
            assert MARK not in text, f"another course's secret in {path}"
            assert "other-course" not in text, f"another course's namespace in {path}"
            for secret in secrets:
                assert secret not in text, f"a student's password or token in {path}"
    assert searched > 50
