"""The apply runner's pure parts (module_utils/deploy/apply.py): its phases, the API's sentence
for a refusal."""

from __future__ import annotations

import json

from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy import apply as apply_cohort
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.apply import object_diff


def test_namespaces_first_workloads_last():
    kinds = [
        "Deployment",
        "Namespace",
        "ResourceQuota",
        "Secret",
        "Pod",
        "LimitRange",
        "NetworkPolicy",
        "Role",
        "RoleBinding",
    ]
    phases = {k: apply_cohort.phase({"kind": k}) for k in kinds}
    assert phases["Namespace"] == 0
    assert {phases[k] for k in ("ResourceQuota", "LimitRange", "NetworkPolicy", "Secret")} == {1}
    assert phases["Deployment"] == phases["Pod"] == 2
    assert phases["Role"] == 1 and phases["RoleBinding"] == 2  # the Role exists when it is bound


class Refusal(Exception):
    def __init__(self, body):
        super().__init__("(422) Reason: Unprocessable Entity")
        self.body = body


def test_a_refusal_is_told_in_the_api_servers_own_words():
    # As kube-apiserver 1.36.3 refused a container port 99999 (the real-cluster tier's capture).
    status = {"kind": "Status", "code": 422, "reason": "Invalid",
              "message": "Deployment.apps \"metrics-exporter\" is invalid: spec.template.spec.containers[0].ports[0]"
                         ".containerPort: Invalid value: 99999: must be between 1 and 65535, inclusive"}  # fmt: skip
    assert apply_cohort.reason(Refusal(json.dumps(status))) == status["message"]
    assert apply_cohort.reason(Refusal(b"upstream connect error")) == "upstream connect error"
    assert apply_cohort.reason(OSError("Connection refused")) == "Connection refused"


def test_diff_leaves_out_what_the_server_keeps_and_never_shows_a_secret():
    secret = {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "grafana-admin", "namespace": "user01", "resourceVersion": "41", "uid": "u-1",
                     "managedFields": [{"manager": "mlopslab"}], "labels": {"a": "b"}},
        "data": {"admin-user": "YWRtaW4=", "admin-password": "b2xkLXBhc3N3b3Jk"},
    }  # fmt: skip
    moved = {**secret, "metadata": {**secret["metadata"], "resourceVersion": "42"}}
    assert object_diff(secret, moved) == ""  # only what the server keeps for itself moved
    changed = {**moved, "data": {**secret["data"], "admin-password": "bmV3LXBhc3N3b3Jk"}}
    text = object_diff(secret, changed)
    assert "--- user01: Secret/grafana-admin (on the cluster)" in text and "admin-password: <hidden, digest" in text
    assert "b2xkLXBhc3N3b3Jk" not in text and "bmV3LXBhc3N3b3Jk" not in text
    assert [line[0] for line in text.splitlines()[2:] if line[:1] in "+-"] == ["-", "+"]  # one value changed
    assert "resourceVersion" not in text and "managedFields" not in text


def test_diff_of_a_new_object_shows_it_whole():
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": {"k": "v"}}
    text = object_diff(None, config)
    assert text.splitlines()[0] == "--- n: ConfigMap/c (new)" and "+  k: v" in text


def test_diff_of_a_removed_object_shows_it_going_and_never_a_secret():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"},
              "data": {"admin-password": "b2xkLXBhc3N3b3Jk"}}  # fmt: skip
    text = object_diff(secret, None)
    lines = text.splitlines()
    assert lines[:2] == ["--- n: Secret/s (on the cluster)", "+++ n: Secret/s (removed: no longer rendered)"]
    assert all(line[0] != "+" for line in lines[2:] if not line.startswith("@@")) and "-kind: Secret" in lines
    assert "b2xkLXBhc3N3b3Jk" not in text
