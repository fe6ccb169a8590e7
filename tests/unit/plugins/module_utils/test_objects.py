"""object_findings on objects a real API server returned (captured from kube-apiserver and
kube-controller-manager v1.36.3: fixtures/failedcreate.yml, tests/fixtures/cluster/student-objects.yml)."""

import copy
from pathlib import Path

import pytest
import yaml

from plugins.module_utils.verify.objects import EXPECTED, OBJECT_CODES, object_findings

HERE = Path(__file__).parent
FAILED = yaml.safe_load((HERE / "fixtures/failedcreate.yml").read_text())
STUDENT = yaml.safe_load((HERE.parents[2] / "fixtures/cluster/student-objects.yml").read_text())
ALL_PODS = {"metrics-exporter": 1, "prometheus": 1, "grafana": 1}


def lab(without=(), change=None):
    """The healthy student's objects by kind, less `without` ("Kind/name"), `change` applied."""
    objects = {"Deployment": [], "ReplicaSet": [], "Service": [], "EndpointSlice": [], "ConfigMap": []}
    for obj in copy.deepcopy(STUDENT):
        if f"{obj['kind']}/{obj['metadata']['name']}" not in without:
            objects[obj["kind"]].append(obj)
    if change:
        change(objects)
    return objects


def codes(findings):
    return [f["code"] for f in findings]


def test_a_healthy_students_objects_have_no_findings():
    assert object_findings("user02", lab(), [], ALL_PODS) == []


@pytest.mark.parametrize("missing", [f"{kind}/{name}" for kind, names in EXPECTED.items() for name in names])
def test_every_missing_object_is_named_with_how_to_recreate_it(missing):
    pods = dict(ALL_PODS)
    if missing.startswith("Deployment/"):
        pods[missing.split("/")[1]] = 0  # a deleted Deployment takes its pod with it
    findings = object_findings("user02", lab(without=[missing]), [], pods)
    kind, name = missing.split("/")
    top = findings[0]
    assert top["code"] == "object_missing"
    assert top["message"] == f"{kind} {name} is missing from user02"
    assert "--limit user02" in top["hint"]


def test_a_deployment_scaled_to_zero_says_so():
    def scale(objects):
        next(d for d in objects["Deployment"] if d["metadata"]["name"] == "prometheus")["spec"]["replicas"] = 0

    findings = object_findings("user02", lab(change=scale), [], {**ALL_PODS, "prometheus": 0})
    assert codes(findings)[0] == "scaled_to_zero"
    assert "Deployment prometheus is scaled to 0" in findings[0]["message"]


def failed(name):
    deployment = next(d for d in FAILED["deployments"] if d["metadata"]["name"] == name)
    events = [e for e in FAILED["events"] if e["involvedObject"]["name"].startswith(name + "-")]
    return deployment, events


def replicaset_of(deployment, event):
    """The ReplicaSet the event is about, owned by the Deployment (as the API links them)."""
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": event["involvedObject"]["name"],
            "namespace": event["involvedObject"]["namespace"],
            "uid": event["involvedObject"]["uid"],
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment["metadata"]["name"],
                 "uid": deployment["metadata"]["uid"], "controller": True}
            ],
        },
    }  # fmt: skip


@pytest.mark.parametrize(
    ("deployment", "code", "says"),
    [
        (
            "metrics-exporter",
            "quota_exceeded",
            "quota lab-quota exceeded (requested pods=1, used pods=2, limited pods=2)",
        ),
        ("bad", "pod_security_forbidden", "violates Pod Security restricted:latest: allowPrivilegeEscalation != false"),
        ("nosa", "replica_failure", 'serviceaccount "missing-sa" not found'),
    ],
)
def test_a_replicaset_that_cannot_create_pods_gives_the_apis_reason(deployment, code, says):
    obj, events = failed(deployment)
    namespace = obj["metadata"]["namespace"]
    expected = {"Deployment": [deployment]}
    objects = {"Deployment": [obj], "ReplicaSet": [replicaset_of(obj, e) for e in events]}
    findings = object_findings(namespace, objects, events, {deployment: 0}, expected)
    assert codes(findings) == [code]
    assert says in findings[0]["message"]
    assert findings[0]["certainty"] == "high"
    assert "FailedCreate events" in " ".join(findings[0]["evidence"]["decided"])
    if code == "quota_exceeded":
        assert "student_namespace_quota['pods']" in findings[0]["hint"]


def test_with_the_events_expired_the_deployments_condition_still_names_the_reason():
    obj, _events = failed("metrics-exporter")
    findings = object_findings("mlt-user02", {"Deployment": [obj]}, [], {}, {"Deployment": ["metrics-exporter"]})
    assert codes(findings) == ["quota_exceeded"]
    assert findings[0]["evidence"]["missing"] == ["the ReplicaSet's FailedCreate events (expired)"]


def test_refusals_that_are_history_once_the_pod_exists_are_not_findings():
    # After a healed quota the ReplicaSet's FailedCreate events stay for an hour, but the pod
    # exists and the controller has removed ReplicaFailure (seen on the real server).
    obj, events = failed("metrics-exporter")
    healed = copy.deepcopy(obj)
    healed["status"]["conditions"] = [c for c in healed["status"]["conditions"] if c["type"] != "ReplicaFailure"]
    objects = {"Deployment": [healed], "ReplicaSet": [replicaset_of(obj, e) for e in events]}
    assert (
        object_findings("mlt-user02", objects, events, {"metrics-exporter": 1}, {"Deployment": ["metrics-exporter"]})
        == []
    )
    # While the condition stands, a pod beside it lowers the certainty but keeps the finding.
    still = {"Deployment": [obj], "ReplicaSet": objects["ReplicaSet"]}
    [finding] = object_findings(
        "mlt-user02", still, events, {"metrics-exporter": 1}, {"Deployment": ["metrics-exporter"]}
    )
    assert (finding["code"], finding["certainty"]) == ("quota_exceeded", "medium")


def test_a_stuck_rollout_is_named():
    # The condition as the Deployment controller writes it when progressDeadlineSeconds passes
    # (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#failed-deployment).
    def stall(objects):
        deployment = next(d for d in objects["Deployment"] if d["metadata"]["name"] == "grafana")
        for condition in deployment["status"]["conditions"]:
            if condition["type"] == "Progressing":
                condition.update(
                    status="False",
                    reason="ProgressDeadlineExceeded",
                    message='ReplicaSet "grafana-6984746b6c" has timed out progressing.',
                )

    findings = object_findings("user02", lab(change=stall), [], ALL_PODS)
    assert codes(findings) == ["rollout_stuck"]
    assert "has timed out progressing" in findings[0]["message"]


def test_a_service_without_ready_endpoints_is_named():
    def unready(objects):
        for eps in objects["EndpointSlice"]:
            if eps["metadata"]["labels"]["kubernetes.io/service-name"] == "metrics-exporter":
                for endpoint in eps["endpoints"]:
                    endpoint["conditions"]["ready"] = False

    findings = object_findings("user02", lab(change=unready), [], ALL_PODS)
    assert codes(findings) == ["no_endpoints"]
    slices = ["EndpointSlice/" + s["metadata"]["name"] for s in STUDENT if s["kind"] == "EndpointSlice"]
    no_slices = object_findings("user02", lab(without=slices), [], ALL_PODS)
    assert codes(no_slices) == ["no_endpoints"] * 3
    assert all(f["certainty"] == "medium" for f in no_slices)


def test_a_deployment_without_pods_and_without_a_reason_is_not_taken_for_healthy():
    findings = object_findings("user02", lab(), [], {**ALL_PODS, "grafana": 0})
    assert codes(findings) == ["pods_missing"]
    assert findings[0]["certainty"] == "low"


def test_kinds_not_listed_are_not_judged():
    assert object_findings("user02", {"Deployment": lab()["Deployment"]}, [], ALL_PODS) == []
    assert set(OBJECT_CODES) >= {"object_missing", "quota_exceeded", "pod_security_forbidden", "no_endpoints"}
