# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server-side apply of a cohort's objects, one request per object, in phases, concurrently (the
step of the deploy pipeline, module_utils/deploy/pipeline.py).

Whether an object changed is read from this field manager's own entry in its managedFields,
which the API server rewrites only when this manager's apply changes the object; the entries
before come from one label-selected list per kind. One object's error never stops the others;
results come in kubernetes.core.k8s's shape, one per object in order."""

from __future__ import annotations

import difflib
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.libraries import yaml

# Seconds one request may take: a server that stops answering fails the object (said per student,
# healed by a rerun) instead of holding the run forever (the client waits without end otherwise).
REQUEST_TIMEOUT = 60
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
# A binding names a Role that must exist by then: RBAC's escalation check reads the Role's rules
# when one who may not `bind` it writes the binding (a least-privileged instructor; the real
# API server answered 'rolebindings "student" not found' while both were applied at once).
BINDINGS = {"RoleBinding", "ClusterRoleBinding"}


@cache
def _client_major() -> int:
    try:
        import kubernetes  # noqa: PLC0415 - the client is the module's to import (common.libraries)

        return int(str(kubernetes.__version__).split(".", maxsplit=1)[0])
    except (ImportError, ValueError):
        return 0


def apply_body(definition: dict):
    """The body of a server-side apply as the client can send it: clients before 25.0.0 cannot
    serialize a dict for application/apply-patch+yaml ("Cannot prepare a request message for
    provided arguments"), so they are given its JSON, as kubernetes.core's own apply does."""
    return definition if _client_major() >= 25 else json.dumps(definition).encode()


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


# What the server keeps for itself: not part of what the instructor's settings change.
SERVER_FIELDS = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")


def _as_diffed(obj: dict | None) -> dict:
    """An object as --diff shows it: what the server keeps for itself left out, and a Secret's
    values never shown (a changed one says so, by a digest of its value)."""
    if not obj:
        return {}
    obj = json.loads(json.dumps(obj))
    obj.pop("status", None)
    meta = obj.get("metadata") or {}
    for field in SERVER_FIELDS:
        meta.pop(field, None)
    if obj.get("kind") == "Secret":
        for field in ("data", "stringData"):
            values = obj.get(field) or {}
            for name, value in values.items():
                digest = hashlib.sha256(str(value).encode()).hexdigest()[:8]
                values[name] = f"<hidden, digest {digest}>"
    return obj


@cache
def _readable():
    """YAML for reading a diff: a multi-line string (a ConfigMap's file) as a block, line by line.
    Made on first use: PyYAML is imported guarded (common.libraries)."""

    class Readable(yaml.SafeDumper):
        pass

    def text(dumper, value: str):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Readable.add_representer(str, text)
    return Readable


def object_diff(before: dict | None, after: dict | None) -> str:
    """A unified diff of an object before and after (empty when nothing a reader sees changed)."""
    old, new = _as_diffed(before), _as_diffed(after)
    if old == new:
        return ""
    meta = (after or before or {}).get("metadata") or {}
    where = f"{meta['namespace']}: " if meta.get("namespace") else ""  # a student's namespace names them
    name = f"{where}{(after or before or {}).get('kind')}/{meta.get('name')}"
    lines = difflib.unified_diff(
        yaml.dump(old, Dumper=_readable(), sort_keys=True).splitlines() if old else [],
        yaml.dump(new, Dumper=_readable(), sort_keys=True).splitlines() if after else [],
        fromfile=f"{name} (on the cluster)" if old else f"{name} (new)",
        # None after: removed (the render no longer contains it).
        tofile=f"{name} (after the apply)" if after else f"{name} (removed: no longer rendered)",
        lineterm="",
    )
    return "\n".join(lines)


def _listed(svc, resources: dict, selector: str, field_manager: str, keep: bool,
            given: list[dict] | None = None) -> tuple[dict, set, dict]:  # fmt: skip
    """(owned, unlisted, live): this manager's managedFields entry of every object that exists now,
    one list per kind; the kinds that could not be listed (their changes are read per object);
    the objects themselves when ``keep`` (for --diff). ``given``: the objects the caller listed
    already (each with apiVersion and kind), for the kinds it holds: those are not listed again."""
    owned, unlisted, live = {}, set(), {}
    for obj in given or []:
        owned[key(obj)] = mine(obj.get("metadata") or {}, field_manager)
        if keep:
            live[key(obj)] = obj
    for api_kind, resource in resources.items():
        try:
            listed = svc.client.get(
                resource, label_selector=selector, serialize=False, _request_timeout=REQUEST_TIMEOUT
            )
            payload = json.loads(listed.data) if hasattr(listed, "data") else listed.to_dict()
            for item in payload.get("items") or []:
                # A list's items carry no apiVersion and kind on a real server: the list's own.
                obj = {**item, "apiVersion": api_kind[0], "kind": api_kind[1]}
                owned[key(obj)] = mine(obj.get("metadata") or {}, field_manager)
                if keep:
                    live[key(obj)] = obj
        except Exception:  # not listable with these rights: changes of this kind are read per object
            unlisted.add(api_kind)
    return owned, unlisted, live


def apply_objects(
    svc,
    definitions: list[dict],
    field_manager: str,
    force_conflicts: bool,
    label_selectors: list[str],
    workers: int,
    dry_run: bool = False,
    diff: bool = False,
    listed: tuple[list[dict], set] | None = None,
) -> tuple[list[dict], int]:
    """(one result per definition, in order; API requests made, discovery apart).

    ``dry_run``: the server's own dry run (dryRun=All, what ``--check`` runs): admission, defaults
    and the field manager's entry as a real apply would make them, nothing stored. An object in a
    namespace this run would create cannot be dry-run (the server answers that the namespace is
    not found): it is reported as one that would be created, without a request.
    ``diff``: each changed object's entry carries ``diff``, the object as listed before and as the
    server answered the apply (object_diff).
    ``listed``: (objects, kinds listed) the caller has already listed with the same selector: the
    kinds listed are not listed again (a kind listed with no object has none)."""
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

    given, given_kinds = listed or ([], set())
    to_list = {k: r for k, r in resources.items() if k not in given_kinds}
    owned, unlisted, live = _listed(svc, to_list, ",".join(label_selectors), field_manager, diff, given)
    requests += len(to_list)

    new_namespaces: set[str] = set()  # --check: Namespaces the dry run says would be created

    def apply(definition: dict) -> dict:
        api_kind = (definition.get("apiVersion"), definition.get("kind"))
        meta = definition.get("metadata") or {}
        entry = {"kind": api_kind[1], "name": meta.get("name"), "namespace": meta.get("namespace"), "method": "apply"}
        if api_kind in errors:
            return {**entry, "changed": False, "failed": True, "error": {"msg": errors[api_kind]}}
        if dry_run and meta.get("namespace") in new_namespaces:
            created = {"diff": object_diff(None, definition)} if diff else {}
            return {**entry, "changed": True, "dry_run": "its namespace would be created first", **created}
        resource = resources[api_kind]
        before = owned.get(key(definition))
        try:
            if api_kind in unlisted:
                try:
                    current = svc.client.get(
                        resource,
                        name=meta.get("name"),
                        namespace=meta.get("namespace"),
                        _request_timeout=REQUEST_TIMEOUT,
                    ).to_dict()
                    before = mine(current.get("metadata") or {}, field_manager)
                    if diff:
                        live[key(definition)] = current
                except Exception:
                    before = None
            applied = svc.client.server_side_apply(
                resource,
                body=apply_body(definition),
                name=meta.get("name"),
                namespace=meta.get("namespace"),
                field_manager=field_manager,
                force_conflicts=force_conflicts,
                _request_timeout=REQUEST_TIMEOUT,
                **({"dry_run": "All"} if dry_run else {}),
            )
        except Exception as err:
            return {
                **entry,
                "changed": False,
                "failed": True,
                "error": {"msg": f"Failed to apply object: {reason(err)}"},
            }
        answer = applied.to_dict()
        after = mine(answer.get("metadata") or {}, field_manager)
        changed = before is None or after != before
        if dry_run and api_kind[1] == "Namespace" and key(definition) not in owned:
            new_namespaces.add(meta.get("name"))
        shown_diff = {"diff": object_diff(live.get(key(definition)), answer)} if diff and changed else {}
        return {**entry, "changed": changed, **shown_diff}

    results = [None] * len(definitions)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for step in (0, 1, 2):
            chosen = [i for i, d in enumerate(definitions) if phase(d) == step]
            for i, outcome in zip(chosen, pool.map(lambda i: apply(definitions[i]), chosen), strict=True):
                results[i] = outcome
    requests += len(definitions) + sum(1 for d in definitions if (d.get("apiVersion"), d.get("kind")) in unlisted)
    return results, requests
