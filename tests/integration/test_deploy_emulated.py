"""deploy.yml applying to a Kubernetes API (the kmock emulator) through kubernetes.core: the
apply, its idempotence, per-student error attribution and healing, the wait, and the preflight
refusing bad input before anything is changed."""

from __future__ import annotations

import base64
import json
import re
import threading
import time

import pytest

from tests.support.kube_emulator import INVALID_PORT, REFUSED_BY_WEBHOOK, UNAVAILABLE, is_write

COHORT_SELECTOR = "app.kubernetes.io/managed-by%3Dmlopslab,mlopslab.io/cohort%3Dmlops-demo"


@pytest.fixture
def deploy(kube, ansible_playbook, tmp_path):
    def run(*args, check=True, env=None):
        return ansible_playbook(
            "playbooks/deploy.yml",
            "-e",
            f"mlopslab_build_dir={tmp_path / 'build'}",
            *args,
            env={"K8S_AUTH_KUBECONFIG": str(kube.kubeconfig), **(env or {})},
            check=check,
        )

    return run


def names(kube, path):
    return sorted(o["metadata"]["name"] for o in kube.request("GET", path)["items"])


def test_applies_every_student_and_a_second_run_changes_nothing(kube, deploy):
    first = deploy("-e", "mlopslab_wait=false")
    assert {h: r["changed"] for h, r in first.recap.items()} == {"user01": 1, "user02": 1, "user03": 1}
    assert names(kube, f"/api/v1/namespaces?labelSelector={COHORT_SELECTOR}") == ["user01", "user02", "user03"]
    for student in ("user01", "user02", "user03"):
        assert names(kube, f"/apis/apps/v1/namespaces/{student}/deployments") == [
            "grafana",
            "metrics-exporter",
            "prometheus",
        ]
        config = kube.request("GET", f"/api/v1/namespaces/{student}/configmaps/prometheus-config")
        assert f"student: {student}" in config["data"]["prometheus.yml"]
    secret = kube.request("GET", "/api/v1/namespaces/user02/secrets/grafana-admin")
    assert set(secret) >= {"data"} and "stringData" not in secret  # as a real API server keeps it
    password = base64.b64decode(secret["data"]["admin-password"]).decode()
    assert len(password) == 24
    assert "admin-password" not in first.output and password not in first.output
    # Sized for a cohort (the repository's stdout callback, mlopslab.monitoring.cohort): the report
    # says the cohort's changes in one line, and a student (other than the one carrying the cohort's
    # run_once tasks) is otherwise a summary row and a recap line, never a list of their objects
    # (that is -v's: test_one_students_failure_is_theirs_alone_and_a_rerun_heals_it).
    assert "changed: user[01:03] (3 hosts)" in first.output.splitlines(), first.output[-4000:]
    for student in ("user02", "user03"):
        assert len(re.findall(rf"^.*\b{student}\b.*$", first.output, re.M)) == 2, first.output[-4000:]
    assert not re.search(r"\b(Deployment|ConfigMap|Secret)/", first.output)

    second = deploy("-e", "mlopslab_wait=false")
    assert second.changed() == 0, second.output[-3000:]


@pytest.mark.parametrize(
    ("refusal", "says"),
    [
        (REFUSED_BY_WEBHOOK, "exceeded quota"),  # admission, e.g. a quota webhook
        (INVALID_PORT, "containerPort: Invalid value: 99999"),  # validation, as the real server words it
    ],
    ids=["webhook", "invalid"],
)
def test_one_students_failure_is_theirs_alone_and_a_rerun_heals_it(kube, deploy, refusal, says):
    # The API refuses user02's exporter Deployment once (and, as a real server, stores nothing).
    kube.refuse("PATCH", "/apis/apps/v1/namespaces/user02/deployments/metrics-exporter", refusal, times=1)
    broken = deploy("-e", "mlopslab_wait=false", check=False)
    assert broken.returncode != 0
    assert broken.recap["user02"]["failed"] == 1
    assert broken.recap["user01"]["failed"] == 0 and broken.recap["user03"]["failed"] == 0
    assert "user02: 20 objects" in broken.text and "Failed: Deployment/metrics-exporter" in broken.text
    assert says in broken.text
    assert names(kube, "/apis/apps/v1/namespaces/user03/deployments") == ["grafana", "metrics-exporter", "prometheus"]
    assert names(kube, "/apis/apps/v1/namespaces/user02/deployments") == ["grafana", "prometheus"]

    # The rerun creates what was refused, and changes nothing of the others.
    healed = deploy("-e", "mlopslab_wait=false", "-v")  # -v: each student's changed objects by name
    assert healed.recap["user02"]["failed"] == 0 and healed.recap["user02"]["changed"] == 1
    assert "user02: 20 objects, 1 changed: Deployment/metrics-exporter." in healed.text
    assert healed.summary()["user02"]["result"] == "1 changed" and healed.summary()["user01"]["result"] == "0 changed"
    assert healed.recap["user01"]["changed"] == 0 and healed.recap["user03"]["changed"] == 0
    assert names(kube, "/apis/apps/v1/namespaces/user02/deployments") == ["grafana", "metrics-exporter", "prometheus"]


def mark_deployments_available(kube, stop: threading.Event):
    """Stand in for the Deployment controller the emulator lacks."""
    while not stop.is_set():
        for deployment in kube.request("GET", "/apis/apps/v1/deployments")["items"]:
            if "status" not in deployment:
                meta = deployment["metadata"]
                status = {"replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}
                if "generation" in meta:
                    status["observedGeneration"] = meta["generation"]
                kube.request(
                    "PATCH",
                    f"/apis/apps/v1/namespaces/{meta['namespace']}/deployments/{meta['name']}/status",
                    {"status": status},
                )
        time.sleep(0.2)


def test_check_first_writes_nothing_and_says_what_would_change(kube, deploy, tmp_path):
    before = [r for r in kube.emulator._requests if is_write(r)]
    first = deploy("--check", "-e", "mlopslab_capacity_check=skip")
    assert first.summary()["user01"]["result"] == "20 would change", first.output[-3000:]
    assert first.summary()["user01"]["kubeconfig"] == "-"  # no kubeconfig issued in check mode
    assert [r for r in kube.emulator._requests if is_write(r)] == before, "--check wrote to the cluster"
    assert not (tmp_path / "build" / "credentials").exists() and not (tmp_path / "build" / "mlops-demo").exists()
    # The summary names no file it did not write.
    assert "access.csv" not in first.output and "handouts/" not in first.output, first.output[-3000:]
    said = "--check: nothing was written; without it the access sheet, the handouts and the kubeconfigs go to"
    assert said in first.text, first.output[-3000:]
    deploy("-e", "mlopslab_wait=false")
    again = deploy("--check")
    assert again.changed() == 0 and again.summary()["user01"]["result"] == "0 would change", again.output[-3000:]


def test_diff_shows_what_would_change_per_object_and_nothing_for_an_unchanged_cohort(kube, deploy):
    deploy("-e", "mlopslab_wait=false")
    unchanged = deploy("--check", "--diff")
    assert unchanged.changed() == 0 and "(after the apply)" not in unchanged.output, unchanged.output[-3000:]
    before = [r for r in kube.emulator._requests if is_write(r)]
    changed = deploy(
        "--check", "--diff", "-e", "prometheus_scrape_interval=30s", "-e", "grafana_admin_password=given-anew-1"
    )
    assert [r for r in kube.emulator._requests if is_write(r)] == before, "--check --diff wrote to the cluster"
    out = changed.output
    assert (
        "--- user01: ConfigMap/prometheus-config (on the cluster)" in out
        and "+++ user02: ConfigMap/prometheus-config (after the apply)" in out
    )
    assert re.search(r"^\s*-\s+scrape_interval: 15s", out, re.M) and re.search(
        r"^\s*\+\s+scrape_interval: 30s", out, re.M
    ), out
    # A Secret's change is said by a digest, never by its value.
    assert "admin-password: <hidden, digest" in out and "given-anew-1" not in out and "Z2l2ZW4tYW5ldy0x" not in out
    # The ConfigMap, the Secret, and the Deployment whose checksum of them rolls its pods.
    assert changed.summary()["user01"]["result"] == "3 would change"


def test_waits_until_every_deployment_is_available(kube, deploy):
    stop = threading.Event()
    controller = threading.Thread(target=mark_deployments_available, args=(kube, stop), daemon=True)
    controller.start()
    try:
        run = deploy("-e", "mlopslab_wait_timeout=60")
    finally:
        stop.set()
        controller.join()
    assert "not available" not in run.output


def test_a_deployment_that_never_becomes_available_fails_its_student_only(kube, deploy):
    run = deploy("-e", "mlopslab_wait_timeout=5", "--limit", "user01,user02", check=False)
    assert run.returncode != 0
    assert run.recap["user01"]["failed"] == 1 and run.recap["user02"]["failed"] == 1
    assert "user01: grafana, metrics-exporter, prometheus not available after 5 s" in run.text
    assert "verify.yml --limit user01" in run.text
    # Every student of the run failed, and the summary is shown all the same (before their reports).
    assert "cohort mlops-demo: 2 students applied to the cluster, 2 FAILED (their messages say why)" in run.text
    assert {row["result"] for row in run.summary().values()} == {"FAILED"}, run.output[-3000:]


def test_an_unreachable_cluster_is_named_and_nothing_changes(kube, deploy, tmp_path):
    bad = tmp_path / "nowhere.kubeconfig"
    bad.write_text(kube.kubeconfig.read_text().replace(kube.url, "http://127.0.0.1:9"))
    run = deploy(check=False, env={"K8S_AUTH_KUBECONFIG": str(bad)})
    assert run.returncode != 0
    assert f"Cannot reach the Kubernetes API (kubeconfig: {bad}" in run.text
    assert "Nothing was changed" in run.text
    assert not (tmp_path / "build" / "mlops-demo").exists()


@pytest.mark.parametrize(
    ("inventory", "extra", "message"),
    [
        (["user01", "User_07"], [], "(User_07): with the student's name 'User_07' makes the namespace 'User_07'"),
        (["user01"], ["-e", "mlopslab_cohort=Spring_2026"], 'mlopslab_cohort "Spring_2026" is not a DNS-1123 label'),
        (["user01"], ["-e", "mlopslab_namespace_prefix=" + "x" * 60 + "-"], "namespace '" + "x" * 60 + "-user01'"),
    ],
)
def test_bad_names_stop_the_run_before_the_cluster_is_touched(kube, deploy, tmp_path, inventory, extra, message):
    hosts = "".join(f"    {name}:\n" for name in inventory)
    (tmp_path / "cohort.yml").write_text(
        f"cohort:\n  hosts:\n{hosts}  vars:\n    ansible_connection: local\n"
        "    ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
    )
    requests_before = kube.requests_made()
    run = deploy("-i", str(tmp_path / "cohort.yml"), "-e", "mlopslab_cohort=mlops-demo", *extra, check=False)
    assert run.returncode != 0
    assert message in run.text
    assert kube.requests_made() == requests_before


def test_deployments_that_cannot_be_listed_fail_the_students_with_the_apis_answer(kube, deploy):
    kube.emulator["get /apis/apps/v1/deployments"] << 503 << UNAVAILABLE
    run = deploy("-e", "mlopslab_wait_timeout=3", "--limit", "user01", check=False)
    assert run.returncode != 0 and run.recap["user01"]["failed"] == 1
    assert "user01: could not check that the Deployments are available" in run.text
    assert "unable to handle the request" in run.text


def test_a_hold_that_cannot_be_let_go_is_said_and_the_next_run_names_it(kube, deploy):
    # The instructor may take a Lease but not delete it (a ClusterRole older than the hold's rights):
    # the run says so instead of leaving a hold nobody knows about; the next run names it.
    said = 'User "instructor" cannot delete resource "leases" in API group "coordination.k8s.io"'
    forbidden = {
        "code": 403,
        "reason": "Forbidden",
        "message": f'leases.coordination.k8s.io "mlopslab-run" is forbidden: {said}',
    }
    kube.refuse("DELETE", "/apis/coordination.k8s.io/v1/namespaces/user01/leases/mlopslab-run", forbidden)
    first = deploy("-e", "mlopslab_wait=false")
    assert "could not let go of the hold on user01 (HTTP 403" in first.text, first.output[-3000:]
    assert "expires, 60 s after this run's last renewal" in first.text
    second = deploy("-e", "mlopslab_wait=false", check=False)
    assert second.returncode != 0 and "user01: held by" in second.text, second.output[-3000:]


def test_a_rerun_renders_again_only_the_students_whose_inputs_changed(kube, deploy, tmp_path):
    """The last render of each student is remembered (render_cache) under the credentials folder,
    0600: a changed setting of one student reaches the cluster (a stale render would not), the
    others' renders stay as remembered; a value with a lookup is never remembered, so a new value
    behind the same text reaches the cluster too."""
    inventory = tmp_path / "cohort.yml"

    def deploy_with(user02: str = "", env: dict | None = None):
        inventory.write_text(
            f"cohort:\n  hosts:\n    user01:\n    user02:\n{user02}    user03:\n"
            "  vars:\n    mlopslab_cohort: mlops-demo\n    ansible_connection: local\n"
            "    ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
        )
        return deploy("-i", str(inventory), "-e", "mlopslab_wait=false", env=env)

    def memory_limit():
        found = kube.request("GET", "/apis/apps/v1/namespaces/user02/deployments/metrics-exporter")
        [exporter] = [c for c in found["spec"]["template"]["spec"]["containers"] if c["name"] == "exporter"]
        return exporter["resources"]["limits"]["memory"]

    cache = tmp_path / "build" / "credentials" / "mlops-demo" / "render-cache.json"
    deploy_with()
    first = json.loads(cache.read_text())["students"]
    assert sorted(first) == ["user01", "user02", "user03"] and cache.stat().st_mode & 0o777 == 0o600
    written = cache.stat().st_mtime_ns
    unchanged = deploy_with()
    assert unchanged.changed() == 0 and cache.stat().st_mtime_ns == written  # recalled, not written again
    changed = deploy_with("      metrics_exporter_memory_limit: 128Mi\n")
    assert {h: r["changed"] for h, r in changed.recap.items()} == {"user01": 0, "user02": 1, "user03": 0}
    assert memory_limit() == "128Mi"
    second = json.loads(cache.read_text())["students"]
    assert second["user01"] == first["user01"] and second["user02"]["key"] != first["user02"]["key"]
    behind = "      metrics_exporter_memory_limit: \"{{ lookup('ansible.builtin.env', 'LAB_MEMORY') }}\"\n"
    for limit in ("160Mi", "192Mi"):
        deploy_with(behind, env={"LAB_MEMORY": limit})
        assert memory_limit() == limit
        assert sorted(json.loads(cache.read_text())["students"]) == ["user01", "user03"]
