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
  - mlopslab.monitoring contributors
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
requests:
  description: API requests made, discovery apart (lists and applies).
  returned: always
  type: int
"""

import copy
import json
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule

ARGUMENT_SPEC = dict(
    copy.deepcopy(AUTH_ARG_SPEC),
    definitions=dict(type="list", elements="dict", required=True),
    field_manager=dict(type="str", default="mlopslab"),
    force_conflicts=dict(type="bool", default=True),
    label_selectors=dict(type="list", elements="str", default=["app.kubernetes.io/managed-by=mlopslab"]),
    workers=dict(type="int", default=8),
)
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
# A binding names a Role that must exist by then: RBAC's escalation check reads the Role's rules
# when one who may not `bind` it writes the binding (a least-privileged instructor; the real
# API server answered 'rolebindings "student" not found' while both were applied at once).
BINDINGS = {"RoleBinding", "ClusterRoleBinding"}


def phase(definition: dict) -> int:
    """0: namespaces; 1: what the rest needs (quota and LimitRange before any pod, Roles before
    their bindings); 2: workloads and bindings."""
    kind = definition.get("kind")
    return 0 if kind == "Namespace" else 2 if kind in WORKLOADS | BINDINGS else 1


def key(definition: dict) -> tuple:
    meta = definition.get("metadata") or {}
    return definition.get("apiVersion"), definition.get("kind"), meta.get("namespace"), meta.get("name")


def mine(metadata: dict, manager: str) -> str | None:
    """This manager's apply entries of an object's managedFields, comparable; None if it has none."""
    entries = [
        e for e in metadata.get("managedFields") or [] if e.get("manager") == manager and e.get("operation") == "Apply"
    ]
    return json.dumps(entries, sort_keys=True) if entries else None


def reason(err: Exception) -> str:
    """The API's own sentence for a refusal (its Status message), else the exception's."""
    body = getattr(err, "body", None)
    if body:
        try:
            status = json.loads(body)
            return status.get("message") or str(body)
        except (TypeError, ValueError):
            return body.decode(errors="replace") if isinstance(body, bytes) else str(body)
    return str(err)


def main():
    module = AnsibleK8SModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=False)
    params = module.params
    definitions = params["definitions"]
    svc = get_api_client(module)
    requests = 0
    resources, errors = {}, {}
    for definition in definitions:
        api_kind = (definition.get("apiVersion"), definition.get("kind"))
        if api_kind in resources or api_kind in errors:
            continue
        try:
            resources[api_kind] = svc.resource(api_kind[1], api_kind[0])
        except Exception as err:  # an unknown kind: its objects fail, the others go on
            errors[api_kind] = f"no such kind in the cluster's API: {api_kind[1]} {api_kind[0]} ({reason(err)})"

    # This manager's managedFields entry of every object that exists now: one list per kind.
    owned, unlisted = {}, set()
    selector = ",".join(params["label_selectors"])
    for api_kind, resource in resources.items():
        try:
            requests += 1
            listed = svc.client.get(resource, label_selector=selector, serialize=False)
            payload = json.loads(listed.data) if hasattr(listed, "data") else listed.to_dict()
            for item in payload.get("items") or []:
                meta = item.get("metadata") or {}
                owned[(*api_kind, meta.get("namespace"), meta.get("name"))] = mine(meta, params["field_manager"])
        except Exception:  # not listable with these rights: changes of this kind are read per object
            unlisted.add(api_kind)

    def apply(definition: dict) -> dict:
        api_kind = (definition.get("apiVersion"), definition.get("kind"))
        meta = definition.get("metadata") or {}
        entry = {"kind": api_kind[1], "name": meta.get("name"), "namespace": meta.get("namespace"), "method": "apply"}
        if api_kind in errors:
            return {**entry, "changed": False, "failed": True, "error": {"msg": errors[api_kind]}}
        resource = resources[api_kind]
        before = owned.get(key(definition))
        try:
            if api_kind in unlisted:
                try:
                    current = svc.client.get(resource, name=meta.get("name"), namespace=meta.get("namespace"))
                    before = mine(current.to_dict().get("metadata") or {}, params["field_manager"])
                except Exception:
                    before = None
            applied = svc.client.server_side_apply(
                resource,
                body=definition,
                name=meta.get("name"),
                namespace=meta.get("namespace"),
                field_manager=params["field_manager"],
                force_conflicts=params["force_conflicts"],
            )
        except Exception as err:
            return {
                **entry,
                "changed": False,
                "failed": True,
                "error": {"msg": f"Failed to apply object: {reason(err)}"},
            }
        after = mine(applied.to_dict().get("metadata") or {}, params["field_manager"])
        return {**entry, "changed": before is None or after != before}

    results = [None] * len(definitions)
    with ThreadPoolExecutor(max_workers=max(1, params["workers"])) as pool:
        for step in (0, 1, 2):
            chosen = [i for i, d in enumerate(definitions) if phase(d) == step]
            for i, outcome in zip(chosen, pool.map(lambda i: apply(definitions[i]), chosen), strict=True):
                results[i] = outcome
    requests += len(definitions) + sum(1 for d in definitions if (d.get("apiVersion"), d.get("kind")) in unlisted)
    module.exit_json(
        changed=any(r["changed"] for r in results),
        result={"results": results},
        requests=requests,
    )


if __name__ == "__main__":
    main()
