#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: cohort_wait
short_description: Wait until a cohort's Deployments are available, or its namespaces gone, on every cluster
description:
  - One loop and one deadline for every cluster of the cohort; each round is one label-selected list per cluster
    not yet done (never a request per object). A list that fails is retried until the deadline.
  - I(until=available) waits for every Deployment in each cluster's I(namespaces) to be available (deploy);
    I(until=gone) for each cluster's I(namespaces) to be gone (teardown).
  - Never fails for what it waited on; C(results) says, per cluster, what its last list returned (or why it
    failed), in the shape of a loop's registered results, for the verb's outcome to judge per student.
version_added: 1.1.0
options:
  clusters:
    description:
      - The cohort's clusters, each C({name, kubeconfig, context, namespaces}) as the preflight grouped them.
      - An empty C(kubeconfig) or C(context) means kubernetes.core's default.
    type: list
    elements: dict
    required: true
  until:
    description: What to wait for.
    type: str
    choices: [available, gone]
    required: true
  label_selectors:
    description: Selects the cohort's objects (one list per cluster and round).
    type: list
    elements: str
    default: [app.kubernetes.io/managed-by=mlopslab]
  timeout:
    description: Seconds to wait, for all clusters together.
    type: float
    default: 300
  interval:
    description: Seconds between rounds.
    type: float
    default: 2
  request_timeout:
    description: Seconds one list may take.
    type: float
    default: 10
author:
  - mlopslab.monitoring contributors (@mlopslab)
"""

EXAMPLES = r"""
- name: Wait for the students' Deployments to be available
  mlopslab.monitoring.cohort_wait:
    clusters: [{name: course, kubeconfig: "", context: "", namespaces: [user01, user02]}]
    until: available
    label_selectors: [app.kubernetes.io/managed-by=mlopslab, mlopslab.io/cohort=mlops-2026]
    timeout: 300
  register: waited
"""

RETURN = r"""
results:
  description: Per cluster, in order, C(item) (the cluster) and C(resources) (its last list) or C(failed) and C(msg).
  returned: always
  type: list
  elements: dict
done:
  description: Whether every cluster was done before the deadline.
  returned: always
  type: bool
rounds:
  description: How many rounds of lists were made.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.lab_io import KubeApi
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.libraries import require
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.waiter import wait
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.outcomes import unavailable
from ansible_collections.mlopslab.monitoring.plugins.module_utils.teardown.plan import terminating

# The predicate table: what is listed, and when a cluster's namespaces are done.
UNTIL = {
    "available": ("/apis/apps/v1/deployments", lambda objects, namespaces: not unavailable(objects, namespaces)),
    "gone": ("/api/v1/namespaces", lambda objects, namespaces: not terminating(objects, namespaces)),
}

ARGUMENT_SPEC = dict(
    clusters=dict(type="list", elements="dict", required=True),
    until=dict(type="str", choices=list(UNTIL), required=True),
    label_selectors=dict(type="list", elements="str", default=["app.kubernetes.io/managed-by=mlopslab"]),
    timeout=dict(type="float", default=300),
    interval=dict(type="float", default=2),
    request_timeout=dict(type="float", default=10),
)


def lister(params):
    """list_objects(cluster) for the waiter: one client per cluster, made once."""
    path, _done = UNTIL[params["until"]]
    query = {"labelSelector": ",".join(params["label_selectors"])}
    clients = {}

    def list_objects(cluster):
        name = cluster["name"]
        if name not in clients:
            try:
                auth = {k: cluster.get(k) or None for k in ("kubeconfig", "context")}
                clients[name] = KubeApi(get_api_client(**auth).client.client, params["request_timeout"])
            except Exception as err:  # an unreadable kubeconfig, an unknown context: said, and retried
                raise OSError(f"cannot connect: {err}") from err
        try:
            return clients[name].list_items(path, query)
        except OSError:
            raise
        except Exception as err:  # the client's own errors (connection refused, TLS) are the API not answering
            raise OSError(str(err)) from err

    return list_objects


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    require(module, "kubernetes")  # the other modules' AnsibleK8SModule checks it for them
    params = module.params
    _path, done = UNTIL[params["until"]]
    answer = wait(params["clusters"], lister(params), done, params["timeout"], params["interval"])
    module.exit_json(changed=False, **answer)


if __name__ == "__main__":
    main()
