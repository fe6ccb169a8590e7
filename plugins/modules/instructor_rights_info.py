# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: instructor_rights_info
short_description: Ask the cluster what the instructor may do, before a playbook changes anything
description:
  - Asks the API server, with one SelfSubjectAccessReview per right (eight at a time), whether the
    connecting user may do what a playbook of this collection needs.
  - The rights come from the table in C(module_utils/common/rights.py), which also builds the ClusterRoles
    the collection ships. The cluster's own authorizers decide, webhooks included.
  - Rights inside a student's namespace are asked for in O(namespace) (it need not exist yet; what
    holds there before it is created is what a cluster-wide binding grants).
  - Read-only. A review that gets no answer counts as missing, never as allowed.
version_added: 1.0.0
author: mlopslab.monitoring contributors (@mlopslab)
extends_documentation_fragment:
  - mlopslab.monitoring.controller
  - kubernetes.core.k8s_auth_options
options:
  playbook:
    description: Whose rights to check.
    type: str
    choices: [deploy, access, verify, teardown]
    required: true
  namespace:
    description: A student's namespace, where the namespaced rights are asked for.
    type: str
    required: true
  capacity_check:
    description:
      - The deploy's C(mlopslab_capacity_check).
      - With V(warn) the capacity reads are optional, with V(skip) they are not asked for.
    type: str
    choices: [fail, warn, skip]
    default: fail
  ingress:
    description: Whether deploy applies an Ingress (C(mlopslab_ingress_domain) set).
    type: bool
    default: false
  wait:
    description: Whether deploy waits for the Deployments (C(mlopslab_wait)).
    type: bool
    default: true
  service_proxy:
    description: Whether verify reaches Prometheus or Grafana through the API server's service proxy.
    type: bool
    default: true
  timeout:
    description: Seconds for each request.
    type: int
    default: 10
  unanswered:
    description:
      - What a cluster that cannot be asked (no API client, no answer) makes of the task. C(fail) fails it
        with why.
      - C(report) returns why as I(cluster_error), without the other results, and does not fail; the
        playbooks ask for it, so that their loop over the clusters names such a cluster once instead of
        printing the failed loop item with every student of that cluster. Not asked is still not allowed
        (the filter P(mlopslab.monitoring.rights_verdict#filter) refuses, or for verify warns).
    type: str
    choices: [fail, report]
    default: fail
    version_added: 1.1.0
attributes:
  check_mode:
    support: full
    description: Asks only.
  diff_mode:
    support: none
    description: Nothing changes.
"""

EXAMPLES = r"""
- name: Ask what the instructor may do
  mlopslab.monitoring.instructor_rights_info:
    playbook: deploy
    namespace: user01
  register: __rights

- name: Stop when a right is missing
  ansible.builtin.assert:
    that: __rights.missing | length == 0
    fail_msg: "{{ __rights.msg }}"
"""

RETURN = r"""
cluster_error:
  description: Why the cluster could not be asked, with I(unanswered=report); the other keys are then absent.
  returned: when the cluster could not be asked and I(unanswered=report)
  type: str
  sample: "Could not create API client: Invalid kube-config file. No configuration found."
user:
  description: Who the API server says is asking (SelfSubjectReview); empty where it cannot say.
  returned: when the cluster was asked
  type: str
  sample: system:serviceaccount:course:instructor
missing:
  description: Required rights the user lacks, each with why it is needed and the authorizer's reason.
  returned: when the cluster was asked
  type: list
  elements: dict
  sample: [{"group": "", "resource": "resourcequotas", "verb": "create", "scope": "namespace",
            "why": "apply the lab's objects", "optional": null, "denied": ""}]
unchecked:
  description: Optional rights the user lacks; each names what will not be checked without it.
  returned: when the cluster was asked
  type: list
  elements: dict
  sample: [{"group": "", "resource": "nodes", "verb": "list", "scope": "cluster",
            "why": "the capacity preflight reads the nodes' allocatable resources",
            "optional": "the capacity preflight (whether the cohort fits the nodes)"}]
checked:
  description: How many rights were asked for.
  returned: when the cluster was asked
  type: int
  sample: 78
msg:
  description: The refusal naming every missing right, and how to grant them; empty when none is missing.
  returned: when the cluster was asked
  type: str
  sample: ""
"""

import copy
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import rights as table
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.lab_io import KubeApi

ARGUMENT_SPEC = dict(
    copy.deepcopy(AUTH_ARG_SPEC),
    playbook=dict(type="str", choices=["deploy", "access", "verify", "teardown"], required=True),
    namespace=dict(type="str", required=True),
    capacity_check=dict(type="str", choices=["fail", "warn", "skip"], default="fail"),
    ingress=dict(type="bool", default=False),
    wait=dict(type="bool", default=True),
    service_proxy=dict(type="bool", default=True),
    timeout=dict(type="int", default=10),
    unanswered=dict(type="str", choices=["fail", "report"], default="fail"),
)
REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
# SelfSubjectReview: GA in 1.28, beta from 1.27, alpha before (not served by default).
WHO = ("/apis/authentication.k8s.io/v1/selfsubjectreviews", "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews")


def ask(kube: KubeApi, rights: list[dict], namespace: str) -> list[dict | None]:
    """The API's status for each right's review; None where the review got no answer."""

    def one(r):
        try:
            status, answer = kube.post_json(REVIEWS, table.review(r, namespace))
        except Exception:  # no answer: counted as missing (judge), never as allowed
            return None
        return answer.get("status") if status < 300 else None

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, rights))


def who(kube: KubeApi) -> str:
    for path in WHO:
        try:
            group_version = "/".join(path.split("/")[2:4])  # authentication.k8s.io/v1
            status, answer = kube.post_json(path, {"apiVersion": group_version, "kind": "SelfSubjectReview"})
        except Exception:
            continue
        if status < 300:
            return ((answer.get("status") or {}).get("userInfo") or {}).get("username") or ""
    return ""


def main():
    module = AnsibleK8SModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    rights = table.needed(params["playbook"], params["capacity_check"], params["ingress"], params["wait"],
                          params["service_proxy"])  # fmt: skip
    try:
        kube = KubeApi(get_api_client(module).client.client, params["timeout"])
        judged = table.judge(rights, ask(kube, rights, params["namespace"]))
        user = who(kube)
    except Exception as err:  # whatever kept the cluster from answering: said, never hidden
        if params["unanswered"] == "report":
            module.exit_json(changed=False, cluster_error=str(err) or type(err).__name__)
        raise
    cluster = {"name": "", "namespace": params["namespace"], "user": user, "missing": judged["missing"]}
    module.exit_json(
        changed=False,
        user=user,
        missing=judged["missing"],
        unchecked=judged["unchecked"],
        checked=len(rights),
        msg=table.refusal([cluster], params["playbook"]),
    )


if __name__ == "__main__":
    main()
