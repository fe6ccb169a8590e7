"""The lab against its own ResourceQuota and LimitRange, weighed from the rendered objects
(tests/fixtures/rendered/lab.yaml: user01's lab as the roles render it; an integration test keeps
it from drifting)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from plugins.module_utils.deploy.fit import count_problems, fit_problems, lab_budget
from tests.support import rendered_fixture

REPO = Path(__file__).resolve().parents[4]
LAB = rendered_fixture.objects()


def with_guard_rails(quota=None, maximum=None) -> list[dict]:
    objects = copy.deepcopy(LAB)
    for o in objects:
        if o["kind"] == "ResourceQuota" and quota:
            o["spec"]["hard"].update(quota)
        if o["kind"] == "LimitRange" and maximum:
            o["spec"]["limits"][0]["max"] = maximum
    return objects


def test_the_rendered_lab_fits_its_own_namespace():
    assert fit_problems(LAB) == []


def test_the_budget_is_counted_as_the_api_counts_it():
    budget = lab_budget(LAB)
    # 3 pods, and the exporter's RollingUpdate surges one more while the old pod still runs.
    assert budget["pods"] == 4 and budget["steady"] == 3 and budget["surging"] == ["metrics-exporter"]
    # The exporter's pod reserves its init container's 64Mi (larger than the exporter's 48Mi).
    assert budget["requests"]["memory"] == (64 * 2 + 128 + 128) * 2**20


def test_a_quota_too_small_names_the_setting_and_what_is_needed():
    found = {p["variable"]: p for p in fit_problems(with_guard_rails({"pods": "3", "requests.memory": "300Mi"}))}
    assert set(found) == {"student_namespace_quota['pods']", "student_namespace_quota['requests.memory']"}
    assert (
        "below the 4 pods the lab holds at its peak (3 pods and one more metrics-exporter pod"
        in (found["student_namespace_quota['pods']"]["wrong"])
    )
    assert found["student_namespace_quota['requests.memory']"]["example"] == "384Mi"


def test_a_container_over_the_limit_range_names_its_own_setting():
    [limit] = fit_problems(with_guard_rails(maximum={"cpu": "1", "memory": "300Mi"}))
    assert limit["variable"] == "prometheus_memory_limit" and limit["value"] == "384Mi"
    assert "above the LimitRange's maximum student_namespace_container_max['memory'] (300Mi)" in limit["wrong"]


def test_a_recreate_deployment_does_not_surge():
    objects = copy.deepcopy(LAB)
    for o in objects:
        if o["kind"] == "Deployment":
            o["spec"]["strategy"] = {"type": "Recreate"}
    assert lab_budget(objects)["pods"] == 3


@pytest.mark.parametrize(
    ("hard", "problem"),
    [
        ({"services": "2"}, "student_namespace_quota['services']"),
        ({"configmaps": "3"}, "student_namespace_quota['configmaps']"),
        ({"count/deployments.apps": "2"}, "student_namespace_quota['count/deployments.apps']"),
        ({"services": "3", "configmaps": "10", "services.nodeports": "0"}, None),
    ],
)
def test_a_quota_the_labs_own_objects_exceed_is_named(hard, problem):
    objects = [
        *({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{i}"}, "spec": {}} for i in range(3)),
        *({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}} for i in range(4)),
        *({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"d{i}"}} for i in range(3)),
    ]
    found = count_problems(objects, hard)
    assert [p["variable"] for p in found] == ([problem] if problem else [])
