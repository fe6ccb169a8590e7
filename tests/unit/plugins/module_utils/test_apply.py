"""The apply runner's pure parts (module_utils/deploy/apply.py): its phases, the API's sentence
for a refusal."""

from __future__ import annotations

import json

from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy import apply as apply_cohort


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
