# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: apply_cohort
short_description: Server-side apply a cohort's objects, one request per object, concurrently
description:
  - Applies every object with server-side apply (field manager I(field_manager), conflicts forced),
    through kubernetes.core's client, so every connection option behaves as in M(kubernetes.core.k8s).
  - One PATCH per object. Whether an object changed is read from the field manager's own entry in
    its C(managedFields), which the API server rewrites only when this manager's apply changes the
    object (not C(resourceVersion), which controllers' status writes move at any time); the entries
    before come from one label-selected list per kind (I(label_selectors)), not a GET per object.
  - Objects are applied in phases (Namespaces; then everything but workloads; then workloads), each
    phase I(workers) requests at a time, so a namespace exists before what lives in it, and the quota,
    limits and policies before the pods the workloads create.
  - In check mode (C(--check)) every object goes to the server's own dry run (C(dryRun=All)), with admission,
    defaults and this field manager's entry as a real apply would make them, nothing stored. An object in a
    namespace the run would create is reported as one that would be created, without a request.
  - In diff mode (C(--diff)) each changed object's result carries C(diff), a unified diff of the object as
    listed before and as the server answered the apply (or its dry run), without the fields the server
    keeps for itself (C(managedFields), C(resourceVersion), C(status), ...); a Secret's values are never
    shown, a changed one is told by a digest of its value.
  - One object's error never stops the others. Results come in M(kubernetes.core.k8s)'s shape, one
    per object in order (C(result.results), each with C(changed) or C(error.msg)), without the
    objects themselves (they hold Secrets).
version_added: 1.0.0
options:
  definitions:
    description: The objects, in apply order.
    type: list
    elements: dict
    required: true
  field_manager:
    description: The server-side apply field manager.
    type: str
    default: mlopslab
  force_conflicts:
    description: Take over fields another manager owns, as M(kubernetes.core.k8s)'s C(force_conflicts).
    type: bool
    default: true
  label_selectors:
    description: Selects every object of I(definitions) that may already exist (one list per kind).
    type: list
    elements: str
    default: [app.kubernetes.io/managed-by=mlopslab]
  workers:
    description: Requests at a time within a phase.
    type: int
    default: 8
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
author:
  - mlopslab.monitoring contributors (@mlopslab)
"""

EXAMPLES = r"""
- name: Apply every student's objects
  mlopslab.monitoring.apply_cohort:
    definitions: "{{ objects }}"
    label_selectors: [app.kubernetes.io/managed-by=mlopslab, mlopslab.io/cohort=mlops-2026]
  register: applied
"""

RETURN = r"""
result:
  description: C(results), one per definition in order.
  returned: always
  type: dict
  sample: {"results": [{"changed": true, "method": "apply", "kind": "Namespace", "name": "user01",
                        "namespace": null}]}
dry_run:
  description: Whether this was the server's dry run (check mode).
  returned: always
  type: bool
requests:
  description: API requests made, discovery apart (lists and applies).
  returned: always
  type: int
"""

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.apply import apply_objects

ARGUMENT_SPEC = dict(
    copy.deepcopy(AUTH_ARG_SPEC),
    definitions=dict(type="list", elements="dict", required=True),
    field_manager=dict(type="str", default="mlopslab"),
    force_conflicts=dict(type="bool", default=True),
    label_selectors=dict(type="list", elements="str", default=["app.kubernetes.io/managed-by=mlopslab"]),
    workers=dict(type="int", default=8),
)


def main():
    module = AnsibleK8SModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    svc = get_api_client(module)
    results, requests = apply_objects(svc, p["definitions"], p["field_manager"], p["force_conflicts"],
                                      p["label_selectors"], p["workers"], dry_run=module.check_mode,
                                      diff=module._diff)  # fmt: skip
    module.exit_json(changed=any(r["changed"] for r in results), result={"results": results}, requests=requests,
                     dry_run=module.check_mode)  # fmt: skip


if __name__ == "__main__":
    main()
