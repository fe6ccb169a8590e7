# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each student's lab is an ApplySet (KEP-3659, the convention `kubectl apply --prune
--applyset` uses): a parent Secret in the student's namespace names the set and the kinds it
spans; every member carries the label applyset.kubernetes.io/part-of with the parent's id. Deploy
removes the members the current render no longer contains (an Ingress after
mlopslab_ingress_domain is unset, anything a later version stops rendering). Pure.

Why a parent per student: prune is scoped to the students of this run (``--limit``, AWX's
slices), so a partial run never touches another student's set. Why a Secret: the students' Role
cannot read or change Secrets, so no student can edit the set's bookkeeping. The tooling
annotation says mlopslab: kubectl lists the set by its labels and, as the KEP asks of every tool,
refuses to mutate a set another tool manages.

Objects applied by a release before ApplySets (no part-of label) are members too when they carry
this cohort's labels in the student's namespace and are of a kind the lab renders: an upgrade
prunes what the new render drops, as a second run would."""

from __future__ import annotations

import base64
import hashlib
import json

PARENT = "mlopslab-applyset"
TOOLING = "mlopslab/v1"
ID_LABEL = "applyset.kubernetes.io/id"
PART_OF = "applyset.kubernetes.io/part-of"
KINDS = "applyset.kubernetes.io/contains-group-kinds"
TOOLING_ANNOTATION = "applyset.kubernetes.io/tooling"
# The digest of what the set's last complete apply sent (this collection's own annotation).
DIGEST = "mlopslab.io/applied-digest"
# Every kind a lab template renders inside the student's namespace (Namespace itself is the set's
# container, removed by teardown only). Controllers' objects (ReplicaSets, Pods, Endpoints) copy
# the lab's labels and are never of these kinds.
LAB_KINDS = frozenset(
    (
        "ConfigMap",
        "Deployment.apps",
        "Ingress.networking.k8s.io",
        "LimitRange",
        "NetworkPolicy.networking.k8s.io",
        "ResourceQuota",
        "Role.rbac.authorization.k8s.io",
        "RoleBinding.rbac.authorization.k8s.io",
        "Secret",
        "Service",
        "ServiceAccount",
    )
)


def set_id(namespace: str) -> str:
    """The parent's id as the KEP defines it: base64url(sha256('<name>.<namespace>.<kind>.<group>'))."""
    digest = hashlib.sha256(f"{PARENT}.{namespace}.Secret.".encode()).digest()
    return f"applyset-{base64.urlsafe_b64encode(digest).decode().rstrip('=')}-v1"


def group_kind(obj: dict) -> str:
    """'Deployment.apps', 'ConfigMap': the KEP's <kind>.<group> (no group for the core API)."""
    api_version = obj.get("apiVersion") or ""
    group = api_version.split("/")[0] if "/" in api_version else ""
    return f"{obj.get('kind')}.{group}" if group else str(obj.get("kind"))


def key(obj: dict) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return group_kind(obj), meta.get("namespace") or "", meta.get("name") or ""


def is_member(obj: dict, namespace: str) -> bool:
    meta = obj.get("metadata") or {}
    return obj.get("kind") != "Namespace" and meta.get("namespace") == namespace


def members(objects: list[dict], namespace: str) -> list[dict]:
    """The student's objects as applied: each member labelled part-of the student's set (a copy;
    the render is left as it was, so render mode writes what the roles render)."""
    ident = set_id(namespace)
    out = []
    for obj in objects:
        if not is_member(obj, namespace):
            out.append(obj)
            continue
        meta = dict(obj.get("metadata") or {})
        meta["labels"] = {**(meta.get("labels") or {}), PART_OF: ident}
        out.append({**obj, "metadata": meta})
    return out


def kinds(objects: list[dict], namespace: str) -> set[str]:
    return {group_kind(o) for o in objects if is_member(o, namespace)}


def digest(objects: list[dict]) -> str:
    """What a student's apply sends, as one digest (the order of the render kept)."""
    return hashlib.sha256(json.dumps(objects, sort_keys=True).encode()).hexdigest()


def contained(want, have) -> bool:
    """Does the object on the cluster (``have``) hold every value the render sets (``want``)? Maps
    may hold more (the server's defaults, others' fields); lists must match item for item."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and contained(v, have[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(map(contained, want, have))
    return want == have


def unchanged(objects: list[dict], live: dict, parent_obj: dict | None, owned) -> bool:
    """Whether applying the student's objects again would change nothing, so the apply can be left
    out: the set's last complete apply sent exactly these objects (its parent's digest: a field
    the render dropped is removed only by an apply), and each object on the cluster still holds
    every value they set (whoever changed one since, a student included, is healed by an apply)
    and still has this manager's apply entry (``owned(metadata)``). ``live``: key -> object."""
    annotations = ((parent_obj or {}).get("metadata") or {}).get("annotations") or {}
    if annotations.get(DIGEST) != digest(objects):
        return False
    for obj in objects:
        found = live.get(key(obj))
        if found is None or not owned(found.get("metadata") or {}) or not contained(obj, found):
            return False
    return True


def parent(namespace: str, labels: dict, contains: set[str], applied: str = "") -> dict:
    """The set's parent Secret (no data), with the kinds its members span and the digest of what
    the apply it comes with sends (``applied``; none when the apply may be incomplete)."""
    annotations = {TOOLING_ANNOTATION: TOOLING, KINDS: ",".join(sorted(contains))}
    if applied:
        annotations[DIGEST] = applied
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": PARENT,
            "namespace": namespace,
            "labels": {**labels, ID_LABEL: set_id(namespace)},
            "annotations": annotations,
        },
    }


def recorded_kinds(parent_obj: dict | None) -> set[str]:
    """The kinds a parent on the cluster says its members span (none when there is no parent)."""
    text = (((parent_obj or {}).get("metadata") or {}).get("annotations") or {}).get(KINDS) or ""
    return {k for k in text.split(",") if k}


def owned_by(obj: dict, namespace: str, cohort: str, manager: str = "mlopslab") -> bool:
    """A member of the student's set on the cluster: written by this collection's field manager,
    and labelled part-of its id, or (applied before ApplySets) carrying this cohort's labels, of a
    kind the lab renders; never a set's parent. The field manager decides where labels cannot: a
    student who copies the lab's Deployment (`kubectl get -o yaml`, a new name, `kubectl apply`)
    copies its labels too, and their copy is theirs, never pruned."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    if meta.get("namespace") != namespace or ID_LABEL in labels:
        return False
    if not any(entry.get("manager") == manager for entry in meta.get("managedFields") or []):
        return False
    if PART_OF in labels:
        return labels[PART_OF] == set_id(namespace)
    return (
        labels.get("app.kubernetes.io/managed-by") == "mlopslab"
        and labels.get("mlopslab.io/cohort") == cohort
        and group_kind(obj) in LAB_KINDS
    )


def to_prune(live: list[dict], rendered: list[dict], namespace: str, cohort: str) -> list[dict]:
    """The members of the student's set on the cluster that the render no longer contains, in a
    stable order (kind, name)."""
    wanted = {key(o) for o in rendered}
    gone = [o for o in live if owned_by(o, namespace, cohort) and key(o) not in wanted]
    return sorted(gone, key=key)
