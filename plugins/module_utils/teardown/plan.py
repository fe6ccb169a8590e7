# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What teardown may delete and what the deletion left: pure functions over Namespaces as each
cluster's list returned them."""

from __future__ import annotations

from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.namespaces import namespace_plan


def terminating(namespaces: list[dict], names) -> list[dict]:
    """The namespaces among ``names`` still present, with what holds them (finalizers and the
    namespace controller's conditions, e.g. NamespaceFinalizersRemaining)."""
    wanted = set(names)
    stuck = []
    for ns in namespaces:
        meta = ns.get("metadata") or {}
        if meta.get("name") not in wanted:
            continue
        finalizers = list(meta.get("finalizers") or []) + list((ns.get("spec") or {}).get("finalizers") or [])
        conditions = [
            f"{c.get('type')}: {c.get('message')}"
            for c in (ns.get("status") or {}).get("conditions") or []
            if c.get("status") == "True" and c.get("message")
        ]
        stuck.append(
            {
                "namespace": meta.get("name"),
                "phase": (ns.get("status") or {}).get("phase")
                or ("Terminating" if meta.get("deletionTimestamp") else ""),
                "finalizers": finalizers,
                "conditions": conditions,
            }
        )
    return sorted(stuck, key=lambda e: e["namespace"])


def teardown_plan(listed: list[dict], cohort: str, only: list[str], inventory: list[str], whole_cohort: bool) -> dict:
    """common.namespaces.namespace_plan on each cluster, put together.

    Students' namespaces are looked for on their own cluster; names given with
    mlopslab_teardown_only on every cluster of the run (absent only when absent from all).
    Each entry names its cluster; ``clusters`` lists the clusters with something to delete,
    with the Namespace objects to delete there."""
    merged = {"delete": [], "refuse": [], "absent": [], "orphans": [], "clusters": []}
    absent_everywhere: dict[str, dict] = {}
    found = set()
    for result in listed:
        cluster = result["item"]
        targets = {n: n for n in only} if only else dict(zip(cluster["namespaces"], cluster["students"], strict=True))
        plan = namespace_plan(result.get("resources") or [], cohort, targets, inventory, whole_cohort)
        for key in ("delete", "refuse", "orphans"):
            merged[key] += [{**e, "cluster": cluster["name"]} for e in plan[key]]
        found |= {e["namespace"] for e in plan["delete"] + plan["refuse"]}
        for entry in plan["absent"]:
            absent_everywhere.setdefault(entry["namespace"], {**entry, "cluster": cluster["name"]})
        if plan["delete"]:
            merged["clusters"].append(
                {
                    **{k: cluster[k] for k in ("name", "kubeconfig", "context")},
                    "namespaces": [e["namespace"] for e in plan["delete"]],
                    "delete_objects": plan["delete_objects"],
                }
            )
    merged["absent"] = sorted((e for n, e in absent_everywhere.items() if n not in found), key=lambda e: e["namespace"])
    merged["several"] = len(listed) > 1
    return merged


def outcome(errors: dict[str, str], remaining: list[dict]) -> dict:
    """Per namespace, what its delete and the wait that followed it said.

    ``errors``: namespace -> why its delete failed; ``remaining``: the wait's last answer per
    cluster (item: a cluster of teardown_plan's ``clusters``, then ``resources``, the cohort's
    namespaces still listed, or why the list failed: then whether that cluster's deletions
    finished is unknown, and said so)."""
    wait_errors, stuck = {}, []
    for result in remaining:
        names = result["item"]["namespaces"]
        if result.get("resources") is None:
            for namespace in names:
                wait_errors[namespace] = result.get("msg") or "no answer from the API"
        else:
            stuck += [{**e, "cluster": result["item"]["name"]} for e in terminating(result["resources"], names)]
    return {"errors": dict(errors), "wait_errors": wait_errors, "stuck": sorted(stuck, key=lambda e: e["namespace"])}
