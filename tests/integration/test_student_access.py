"""Each student's access, end to end on the emulator: deploy issues a kubeconfig per student (a
TokenRequest), keeps it on a rerun, writes the access sheet and a handout from one record;
access.yml revokes and renews one student; verify tries what was handed out as the student.

The emulator judges the tokens it issued as a real server does in two respects (GAP 12: expiry
and ServiceAccount uid, the namespace boundary); RBAC's rules themselves are the real-cluster
tier's to prove."""

from __future__ import annotations

import base64
import csv
import json
import re
import shutil
import stat

import pytest
import yaml
from kmock._internal.rendering import Response

from plugins.module_utils.access.sheet import local_time
from tests.support.as_student import list_pods_status
from tests.support.kube_emulator import is_write

STUDENTS = ("user01", "user02", "user03")


@pytest.fixture
def lab(kube, ansible_playbook, tmp_path):
    build = tmp_path / "build"

    def run(playbook, *args, check=True):
        return ansible_playbook(
            f"playbooks/{playbook}.yml",
            "-e",
            f"mlopslab_build_dir={build}",
            *args,
            env={"K8S_AUTH_KUBECONFIG": str(kube.kubeconfig)},
            check=check,
        )

    run.folder = build / "mlops-demo"
    return run


def sheet(folder):
    with open(folder / "access.csv", newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_deploy_hands_every_student_a_working_kubeconfig_and_a_rerun_keeps_every_token(lab):
    first = lab("deploy", "-e", "mlopslab_wait=false")
    folder = lab.folder
    for student in STUDENTS:
        path = folder / "kubeconfigs" / f"{student}.yaml"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        kubeconfig = yaml.safe_load(path.read_text())
        assert kubeconfig["contexts"][0]["context"]["namespace"] == student
        assert list_pods_status(path, student) == 200
        assert list_pods_status(path, "user02" if student != "user02" else "user01") == 403
        handout = (folder / "handouts" / f"{student}.md").read_text()
        assert stat.S_IMODE((folder / "handouts" / f"{student}.md").stat().st_mode) == 0o600
        row = sheet(folder)[student]
        # One record: the sheet and the handout carry the same password, kubeconfig and expiry.
        assert row["grafana_password"] in handout and local_time(row["token_expires"], "Asia/Seoul") in handout
        assert f"export KUBECONFIG=$PWD/{student}.yaml" in handout and row["kubeconfig"] == str(path)
        assert handout.startswith(f"# {student} 모니터링 실습 안내")
    assert {s: row["kubeconfig"] for s, row in first.summary().items()} == dict.fromkeys(STUDENTS, "issued")
    # The token never reaches the output.
    token = yaml.safe_load((folder / "kubeconfigs" / "user01.yaml").read_text())["users"][0]["user"]["token"]
    assert token not in first.output
    before = {s: (folder / "kubeconfigs" / f"{s}.yaml").read_bytes() for s in STUDENTS}

    second = lab("deploy", "-e", "mlopslab_wait=false")
    assert second.changed() == 0, second.output[-3000:]
    assert {s: (folder / "kubeconfigs" / f"{s}.yaml").read_bytes() for s in STUDENTS} == before
    assert {s: row["kubeconfig"] for s, row in second.summary().items()} == dict.fromkeys(STUDENTS, "kept")
    # The summary's rows are whole lines (a YAML block, never folded mid-row).
    row = r"^\s+user01\s+user01\s+20\s+0 changed\s+kept\s+\S+ \S+ UTC\s+"
    row += r"kubectl -n user01 port-forward svc/grafana 3000:3000$"
    assert re.search(row, second.output, re.M), second.output[-2000:]


def test_a_server_that_shortens_tokens_is_said_and_a_token_near_its_end_is_renewed(kube, lab):
    kube.max_token_expiration(3 * 86400)  # kube-apiserver --service-account-max-token-expiration=72h
    first = lab("deploy", "-e", "mlopslab_wait=false")
    assert "The API server granted shorter tokens than mlopslab_student_token_ttl (16w)" in first.text
    before = (lab.folder / "kubeconfigs" / "user01.yaml").read_text()
    # 3 days left is within the 7-day margin: every rerun renews, and says why.
    again = lab("deploy", "-e", "mlopslab_wait=false", "--limit", "user01")
    assert again.recap["user01"]["changed"] == 1
    assert "within mlopslab_student_token_renew_before" in again.text
    after = (lab.folder / "kubeconfigs" / "user01.yaml").read_text()
    assert after != before and list_pods_status(lab.folder / "kubeconfigs" / "user01.yaml", "user01") == 200
    # With a margin below what the server grants, the token is kept.
    kept = lab("deploy", "-e", "mlopslab_wait=false", "-e", "mlopslab_student_token_renew_before=1d")
    assert kept.changed() == 0, kept.output[-3000:]


def test_one_students_access_is_revoked_and_renewed_without_touching_the_lab(kube, lab, tmp_path):
    lab("deploy", "-e", "mlopslab_wait=false")
    folder = lab.folder
    old = tmp_path / "user02-old.yaml"
    old.write_bytes((folder / "kubeconfigs" / "user02.yaml").read_bytes())
    user01_before = (folder / "kubeconfigs" / "user01.yaml").read_bytes()
    deployments = kube.request("GET", "/apis/apps/v1/namespaces/user02/deployments/metrics-exporter")

    revoked = lab("access", "-e", "mlopslab_access=revoke", "--limit", "user02")
    assert revoked.recap["user02"]["changed"] == 1
    assert not (folder / "kubeconfigs" / "user02.yaml").exists()
    assert list_pods_status(old, "user02") == 401  # its ServiceAccount is gone, and the token with it
    assert "회수되었습니다" in (folder / "handouts" / "user02.md").read_text()
    assert sheet(folder)["user02"]["kubeconfig"] == "" and sheet(folder)["user02"]["token_expires"] == "revoked"
    assert (folder / "kubeconfigs" / "user01.yaml").read_bytes() == user01_before  # the others untouched
    assert set(sheet(folder)) == set(STUDENTS)
    after = kube.request("GET", "/apis/apps/v1/namespaces/user02/deployments/metrics-exporter")
    assert after["metadata"]["resourceVersion"] == deployments["metadata"]["resourceVersion"]

    verify = lab(
        "verify",
        "-e", "verify_fail=false",
        "-e", "mlopslab_verify_prometheus_access=none",
        "-e", "mlopslab_verify_grafana_access=none",
        "-e", "mlopslab_verify_student_access=true",
    )  # fmt: skip
    report = json.loads(sorted(folder.glob("verify-*.json"))[-1].read_text())
    user02 = next(s for s in report["students"] if s["namespace"] == "user02")
    broken = [f for f in user02["findings"] if f["code"] == "student_access_broken"]
    assert broken and "no kubeconfig was handed out (revoked)" in broken[0]["message"]
    assert "mlopslab_access=renew --limit user02" in broken[0]["hint"]
    assert user02["status"] == "failing"
    assert verify.returncode == 0  # verify_fail=false: reported, not failed
    assert "student_access_broken" in sorted(folder.glob("verify-*.md"))[-1].read_text()

    gone = lab("access", "-e", "mlopslab_access=renew", "--limit", "user02", check=False)
    assert "ServiceAccount student is gone (revoked?): deploy.yml recreates it" in gone.text
    back = lab("deploy", "-e", "mlopslab_wait=false", "--limit", "user02")
    assert back.recap["user02"]["changed"] == 1 and back.summary()["user02"]["kubeconfig"] == "issued"
    assert list_pods_status(folder / "kubeconfigs" / "user02.yaml", "user02") == 200
    old.write_bytes((folder / "kubeconfigs" / "user02.yaml").read_bytes())
    again = lab("access", "-e", "mlopslab_access=renew", "--limit", "user02")
    assert again.recap["user02"]["changed"] == 1
    assert list_pods_status(old, "user02") == 401  # renewing invalidates the token it replaces

    refused = lab("access", "-e", "mlopslab_access=remove", check=False)
    assert refused.returncode != 0 and "is neither revoke nor renew: nothing was changed" in refused.text


def test_a_grafana_secret_that_gives_no_password_stops_deploy_unless_one_is_kept_or_given(kube, lab):
    """A Secret that is there but holds nothing to believe (its key removed or mangled by hand, or
    its cohort labels gone) must not be taken as a new lab: a password generated then would not be
    the one Grafana holds. With the copy in the credentials folder the deploy writes that back."""
    lab("deploy", "-e", "mlopslab_wait=false", "--limit", "user01,user02")
    path = "/api/v1/namespaces/{}/secrets/grafana-admin"
    kept = lab.folder.parent / "credentials" / "mlops-demo" / "user01-grafana-admin"
    first_start = kept.read_text()
    # As kubectl edit would leave them (merge patches: null removes a field).
    kube.request("PATCH", path.format("user01"), {"data": {"admin-password": None}})
    kube.request("PATCH", path.format("user02"), {"metadata": {"labels": {"mlopslab.io/cohort": None}}})

    # With the credentials folder: user01's kept password goes back into the Secret.
    repaired = lab("deploy", "-e", "mlopslab_wait=false", "--limit", "user01")
    assert repaired.summary()["user01"]["result"] == "1 changed", repaired.output[-3000:]
    held = kube.request("GET", path.format("user01"))["data"]["admin-password"]
    assert base64.b64decode(held).decode() == first_start

    # Without it: nothing to go by, so nothing is written or applied; one sentence with the way out.
    shutil.rmtree(lab.folder.parent)
    before = kube.requests_made()
    refused = lab("deploy", "-e", "mlopslab_wait=false", "--limit", "user02", check=False)
    assert refused.returncode != 0
    assert "user02: Secret user02/grafana-admin is not this cohort's" in refused.text
    assert "Give the one it holds as grafana_admin_password for user02" in refused.text
    assert "kubectl -n user02 rollout restart deployment/grafana" in refused.text
    assert [r for r in kube.emulator._requests[before:] if is_write(r)] == []
    assert not lab.folder.parent.exists()

    # Given: the deploy goes on (the Secret gets the given password and the cohort's labels back).
    known = ("-e", "grafana_admin_password=Known-to-Grafana-1")
    given = lab("deploy", "-e", "mlopslab_wait=false", "--limit", "user02", *known)
    assert given.summary()["user02"]["result"] == "1 changed", given.output[-3000:]
    assert kube.request("GET", path.format("user02"))["metadata"]["labels"]["mlopslab.io/cohort"] == "mlops-demo"


def test_verify_logs_in_to_grafana_with_the_handed_out_password(kube, lab, tmp_path):
    """Grafana takes its admin password from the Secret on its first start only (it then lives in
    Grafana's database). The cluster is the source of truth and build/ a cache: a deploy from an
    empty build/ (a new clone, another machine, an AWX job) reads each password back from the
    Secret, changes no object and hands out what Grafana holds. A password given anew reaches the
    Secret but not Grafana, and verify says so.
    kmock has no Grafana: the reaction below behaves as Grafana's POST /login does (200 for the
    password of its first start, 401 with Grafana's message otherwise)."""
    lab("deploy", "-e", "mlopslab_wait=false", "--limit", "user01")
    secret = kube.request("GET", "/api/v1/namespaces/user01/secrets/grafana-admin")
    first_start = base64.b64decode(secret["data"]["admin-password"]).decode()
    proxy = "/api/v1/namespaces/user01/services/http:grafana:3000/proxy"
    kube.emulator[proxy + "/api/health"] << {"commit": "d9455ff", "database": "ok", "version": "11.3.0"}

    def login(request):
        body = request.data if isinstance(request.data, dict) else json.loads(request.body or b"{}")
        if body == {"user": "admin", "password": first_start}:
            return {"message": "Logged in", "redirectUrl": "/"}
        # kmock 0.8 keeps a status once a Response set it (it is set on the reaction): this test
        # asks with the first-start password before it ever asks with another.
        return Response(status=401, payload={"message": "Invalid username or password"})

    kube.emulator["post", proxy + "/login"] << login
    args = ("-e", "verify_fail=false", "-e", "mlopslab_verify_prometheus_access=none", "--limit", "user01")

    def user01():
        lab("verify", *args)
        report = json.loads(sorted(lab.folder.glob("verify-*.json"))[-1].read_text())
        return report["students"][0]

    assert user01()["access"] == {"checked": True, "problems": []}

    # The whole build folder lost: credentials, kubeconfigs, handouts, access sheet.
    old = tmp_path / "user01-old.yaml"
    old.write_bytes((lab.folder / "kubeconfigs" / "user01.yaml").read_bytes())
    shutil.rmtree(lab.folder.parent)
    again = lab("deploy", "-e", "mlopslab_wait=false", "--limit", "user01")
    assert again.summary()["user01"]["result"] == "0 changed", again.output[-3000:]
    assert again.summary()["user01"]["kubeconfig"] == "issued"  # a new token where none is at hand: the recap counts it
    assert "1 students' Grafana passwords were read back from their Secrets" in again.text
    credentials = lab.folder.parent / "credentials" / "mlops-demo" / "user01-grafana-admin"
    assert credentials.read_text() == first_start
    assert f"`{first_start}`" in (lab.folder / "handouts" / "user01.md").read_text()
    assert sheet(lab.folder)["user01"]["grafana_password"] == first_start
    assert list_pods_status(old, "user01") == 200  # the old token stays valid until it expires (or renew)
    assert user01()["access"] == {"checked": True, "problems": []}

    # A password given anew goes into the Secret; Grafana keeps the one of its first start.
    lab("deploy", "-e", "mlopslab_wait=false", "--limit", "user01", "-e", "grafana_admin_password=given-after-start-1")
    student = user01()
    assert student["status"] == "failing"
    (problem,) = student["access"]["problems"]
    assert "Grafana refuses the handed-out password for user admin" in problem
