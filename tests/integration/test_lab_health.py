"""lab_health_info against a real Prometheus scraping the real exporter (pods seeded in the
emulator), and verify.yml end to end."""

from __future__ import annotations

import json
import re
import signal
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from tests.support.cohort_pods import LIVENESS_KILLED, OOM_KILLED, student_objects
from tests.support.kube_emulator import api_status
from tests.support.processes import free_port, http_get

FAST_SCRAPE = """
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: metrics-exporter
    static_configs: [{targets: ["127.0.0.1:%d"]}]
  - job_name: prometheus
    static_configs: [{targets: ["127.0.0.1:%d"]}]
"""


def student_prometheus(start_exporter, start_prometheus):
    exporter = start_exporter("--request-rate", "100")
    port = free_port()
    prom = start_prometheus(FAST_SCRAPE % (exporter.port, port), port=port)
    prom.wait_for_target("metrics-exporter")
    prom.wait_for_data("model_r2_score")
    return exporter, prom


def run_health(ansible_playbook, kube, tmp_path, **args):
    out = tmp_path / "health.json"
    extra = json.dumps({"health_args": {"grafana_access": "none", **args}, "health_out": str(out)})
    ansible_playbook(
        "tests/integration/playbooks/lab_health.yml", "-e", extra, env={"K8S_AUTH_KUBECONFIG": str(kube.kubeconfig)}
    )
    return json.loads(out.read_text())


def test_healthy_down_and_unreachable_students_in_one_check(
    kube, ansible_playbook, tmp_path, start_exporter, start_prometheus
):
    for student in ("user01", "user02", "user03"):
        kube.seed(*student_objects(student))
    labs = {s: student_prometheus(start_exporter, start_prometheus) for s in ("user01", "user02", "user03")}
    labs["user02"][0].stop(signal.SIGKILL)  # user02's exporter dies
    labs["user02"][1].wait_for_target("metrics-exporter", health="down")
    labs["user03"][1].stop()  # user03's Prometheus is gone

    result = run_health(
        ansible_playbook,
        kube,
        tmp_path,
        namespaces=["user01", "user02", "user03"],
        prometheus_access="url",
        prometheus_urls={s: prom.url for s, (_exporter, prom) in labs.items()},
        label_selectors=["app.kubernetes.io/managed-by=mlopslab", "mlopslab.io/cohort=mlops-demo"],
    )
    students = {s["namespace"]: s for s in result["students"]}
    assert result["changed"] is False
    # One pod list, one event list per kind (Pod, ReplicaSet) and one list per object kind for
    # the whole cohort, whatever its size.
    paths = [r.url.path for r in kube.emulator._requests]
    assert paths.count("/api/v1/pods") == 1 and paths.count("/api/v1/events") == 2
    for path in ("/apis/apps/v1/deployments", "/apis/apps/v1/replicasets", "/api/v1/services",
                 "/apis/discovery.k8s.io/v1/endpointslices", "/api/v1/configmaps"):  # fmt: skip
        assert paths.count(path) == 1, path
    gets = [r.url.path for r in kube.emulator._requests if r.method == "GET"]
    assert not any(p.startswith("/api/v1/namespaces/") and p.endswith("/pods") for p in gets)

    user01 = students["user01"]
    assert (user01["status"], user01["cause"]) == ("healthy", None), user01["findings"]
    assert {t["job"]: t["health"] for t in user01["targets"]} == {"metrics-exporter": "up", "prometheus": "up"}
    assert all(user01["series"].values())

    user02 = students["user02"]
    assert (user02["status"], user02["cause"]) == ("failing", "target_down")
    down = next(t for t in user02["targets"] if t["job"] == "metrics-exporter")
    assert down["health"] == "down" and "connection refused" in down["last_error"]

    user03 = students["user03"]
    assert (user03["status"], user03["cause"]) == ("failing", "prometheus_unreachable")
    assert "unreachable" in user03["findings"][0]["message"]
    assert result["summary"] == {
        "students": 3,
        "healthy": 1,
        "degraded": 0,
        "failing": 2,
        "causes": {"target_down": 1, "prometheus_unreachable": 1},
    }


# What Grafana 11's /api/health answers (a real response; no Grafana server runs here).
GRAFANA_HEALTH = {"commit": "d9455ff7db73b694db7d412e49a68bec767f2b5a", "database": "ok", "version": "11.3.0"}


def test_the_default_access_reads_prometheus_and_grafana_through_the_api_servers_service_proxy(
    kube, ansible_playbook, tmp_path, start_exporter, start_prometheus
):
    """prometheus_access and grafana_access default to `proxy`: every request goes to the API
    server's service proxy path. kmock has no proxy, so a reaction on that path forwards to the
    real Prometheus running here (and answers for Grafana); the module's side is the real one."""
    for student in ("user01", "user02"):
        kube.seed(*student_objects(student))
    _exporter, prom = student_prometheus(start_exporter, start_prometheus)
    proxy = "/api/v1/namespaces/{}/services/http:{}:{}/proxy"

    def forward(request):
        path = request.url.path.removeprefix(proxy.format("user01", "prometheus", 9090))
        status, body = http_get(f"{prom.url}{path}?{urllib.parse.urlencode(dict(request.params))}")
        assert status == 200, body
        return json.loads(body)

    kube.emulator[re.compile(re.escape(proxy.format("user01", "prometheus", 9090)) + "/.*")] << forward
    kube.emulator[proxy.format("user01", "grafana", 3000) + "/api/health"] << GRAFANA_HEALTH
    # user02's services answer as a proxy does when the pod behind them is gone.
    (
        kube.emulator[re.compile("/api/v1/namespaces/user02/services/.*/proxy/.*")]
        << 503
        << api_status(503, "ServiceUnavailable", 'no endpoints available for service "prometheus"')
    )

    out = tmp_path / "health.json"
    extra = json.dumps({"health_args": {"namespaces": ["user01", "user02"]}, "health_out": str(out)})
    ansible_playbook(
        "tests/integration/playbooks/lab_health.yml", "-e", extra, env={"K8S_AUTH_KUBECONFIG": str(kube.kubeconfig)}
    )
    students = {s["namespace"]: s for s in json.loads(out.read_text())["students"]}
    user01 = students["user01"]
    assert (user01["status"], user01["cause"]) == ("healthy", None), user01["findings"]
    assert {t["job"]: t["health"] for t in user01["targets"]} == {"metrics-exporter": "up", "prometheus": "up"}
    assert all(user01["series"].values())
    assert user01["grafana"] == {"checked": True, "ok": True, "version": "11.3.0"}
    user02 = students["user02"]
    assert (user02["status"], user02["cause"]) == ("failing", "prometheus_unreachable")
    assert "no endpoints available" in user02["findings"][0]["message"]
    assert user02["grafana"]["ok"] is False


def test_fail_on_unhealthy_names_the_students(kube, ansible_playbook, tmp_path):
    kube.seed(*student_objects("user01"), *student_objects("user02", OOM_KILLED))
    result = run_health(
        ansible_playbook,
        kube,
        tmp_path,
        namespaces=["user01", "user02", "user04"],
        prometheus_access="none",
        fail_on_unhealthy=True,
    )
    assert result["failed"] is True
    assert result["msg"] == "2 of 3 students failing: user02 (oom_killed), user04 (object_missing)"


@pytest.mark.parametrize("fail_on_unhealthy", [False, True])
def test_a_cluster_that_does_not_answer_is_reported_and_never_passes_a_failing_check(
    kube, ansible_playbook, tmp_path, fail_on_unhealthy
):
    result = run_health(
        ansible_playbook,
        kube,
        tmp_path,
        kubeconfig=str(tmp_path / "no-such-kubeconfig"),
        namespaces=["user01"],
        prometheus_access="none",
        unanswered="report",
        fail_on_unhealthy=fail_on_unhealthy,
    )
    if fail_on_unhealthy:  # the students of a cluster that was not looked at are not healthy
        assert result["failed"] is True and "Could not create API client" in result["msg"]
    else:  # said once, as data: no students, and not a pass for them either (verify fails them)
        assert not result.get("failed") and "students" not in result
        assert "Could not create API client" in result["cluster_error"]


@pytest.fixture
def cohort_with_two_kills(kube, start_exporter, start_prometheus):
    kube.seed(
        *student_objects("user01"), *student_objects("user02", OOM_KILLED), *student_objects("user03", LIVENESS_KILLED)
    )
    # One real Prometheus scraping the real exporter stands in for every student's.
    _exporter, prom = student_prometheus(start_exporter, start_prometheus)
    return prom


@pytest.fixture
def verify(kube, ansible_playbook, cohort_with_two_kills):
    """verify.yml against the seeded cohort, each student's Prometheus reached by URL."""

    def run(*extra, check=False):
        return ansible_playbook(
            "playbooks/verify.yml",
            "-e", "mlopslab_verify_prometheus_access=url",
            "-e", f"mlopslab_verify_prometheus_url_template={cohort_with_two_kills.url}",
            "-e", "mlopslab_verify_grafana_access=none",
            # Seeded, not deployed: nothing was handed out (test_student_access.py checks that part).
            "-e", "mlopslab_verify_student_access=false",
            *extra,
            env={"K8S_AUTH_KUBECONFIG": str(kube.kubeconfig)},
            check=check,
        )  # fmt: skip

    return run


def test_verify_playbook_reports_exactly_the_two_kills(verify, tmp_path):
    build = tmp_path / "build"
    run = verify("-e", f"mlopslab_build_dir={build}")
    assert run.returncode != 0
    assert run.recap["user01"]["failed"] == 0
    assert run.recap["user02"]["failed"] == 1 and run.recap["user03"]["failed"] == 1
    text = run.text
    assert "user01 healthy - 0 2/2" in text
    assert "user02 failing oom_killed 5 2/2" in text
    assert "user03 failing liveness_probe_kill 4 2/2" in text
    assert "not an OOM kill" in text and "add a startupProbe" in text

    (report_json,) = (build / "mlops-demo").glob("verify-*.json")
    report = json.loads(report_json.read_text())
    assert {s["namespace"]: s["cause"] for s in report["students"]} == {
        "user01": None,
        "user02": "oom_killed",
        "user03": "liveness_probe_kill",
    }
    junit = ET.parse(report_json.with_suffix(".xml")).getroot()
    failures = {tc.get("name"): tc.find("failure") for tc in junit.iter("testcase")}
    assert failures["user01"] is None
    assert failures["user02"].get("type") == "oom_killed"
    assert failures["user03"].get("type") == "liveness_probe_kill"
    markdown = report_json.with_suffix(".md").read_text()
    assert "| user03 | failing | liveness_probe_kill | 4 | 2/2 | - |" in markdown


def test_verify_respects_limit_and_can_report_without_failing(verify, tmp_path):
    run = verify("--limit", "user02", "-e", f"mlopslab_build_dir={tmp_path}", "-e", "verify_fail=false", check=True)
    assert list(run.recap) == ["user02"]
    assert "1 students, 0 healthy, 0 degraded, 1 failing" in run.text
