"""The test harness itself: each fixture is shown to work against the real thing, and to fail
when what it wraps is broken."""

import json
import re

import pytest

from tests.support.processes import free_port

SELF_SCRAPE = """
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["127.0.0.1:%d"]}]
"""


def test_prometheus_fixture_scrapes_itself(start_prometheus):
    port = free_port()
    prom = start_prometheus(SELF_SCRAPE % port, port=port)
    prom.wait_for_target("prometheus", health="up")
    result = prom.wait_for_data('up{job="prometheus"} == 1')
    assert result[0]["metric"]["instance"] == f"127.0.0.1:{port}"


def test_prometheus_fixture_reports_a_target_that_is_down(start_prometheus):
    prom = start_prometheus(SELF_SCRAPE % free_port())  # nothing listens there
    assert "connection refused" in prom.wait_for_target("prometheus", health="down")["lastError"]


def test_prometheus_fixture_fails_on_a_broken_config(start_prometheus):
    with pytest.raises(RuntimeError, match="not a valid duration string"):
        start_prometheus("scrape_configs: [{job_name: x, scrape_interval: nonsense}]")


def test_emulator_applies_idempotently_and_selects_by_label(kube, ansible_playbook):
    env = {"K8S_AUTH_KUBECONFIG": str(kube.kubeconfig)}
    first = ansible_playbook("tests/integration/playbooks/emulator_smoke.yml", env=env)
    assert first.recap["localhost"]["changed"] == 1  # the apply loop task
    assert "selected=smoke-a" in first.output

    second = ansible_playbook("tests/integration/playbooks/emulator_smoke.yml", env=env)
    assert second.changed() == 0, second.output

    # The objects are really stored behind the API, as applied.
    cm = kube.request("GET", "/api/v1/namespaces/smoke-a/configmaps/settings")
    assert cm["data"] == {"greeting": "hello"}
    names = [n["metadata"]["name"] for n in kube.request("GET", "/api/v1/namespaces")["items"]]
    assert sorted(names) == ["smoke-a", "smoke-b"]


def test_emulator_serves_seeded_pods_with_their_status(kube):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "user01", "labels": {"app": "x"}},
        "status": {"phase": "Running", "containerStatuses": [{"name": "c", "restartCount": 3}]},
    }
    kube.seed(pod)
    listed = kube.request("GET", "/api/v1/pods?labelSelector=app%3Dx")
    assert listed["kind"] == "PodList"
    assert listed["items"][0]["status"]["containerStatuses"][0]["restartCount"] == 3
    assert kube.request("GET", "/api/v1/pods?labelSelector=app%3Dy")["items"] == []
    assert json.dumps(listed)  # plain JSON, as the API server sends
    assert re.match(r"http://127\.0\.0\.1:\d+$", kube.url)
