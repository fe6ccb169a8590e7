# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cohort's labels and namespaces: which namespace is this cohort's, which may deploy touch,
which outlived their students. Pure functions over Namespaces as the API returns them."""

from __future__ import annotations

MANAGED_BY = "app.kubernetes.io/managed-by"


MANAGER = "mlopslab"


COHORT = "mlopslab.io/cohort"


STUDENT = "mlopslab.io/student"


def _labels(namespace: dict) -> dict:
    return (namespace.get("metadata") or {}).get("labels") or {}


def is_cohorts(namespace: dict, cohort: str) -> bool:
    labels = _labels(namespace)
    return labels.get(MANAGED_BY) == MANAGER and labels.get(COHORT) == cohort


def namespace_plan(
    namespaces: list[dict], cohort: str, targets: dict[str, str], inventory=None, include_orphans: bool = False
) -> dict:
    """Which of the ``targets`` namespaces are this cohort's (teardown may delete them, deploy may
    change them), which are someone else's (refused), which are absent.

    ``targets`` maps namespace name to student. Only a namespace carrying this cohort's
    managed-by and cohort labels is ever deleted; a same-named namespace without them, or of
    another cohort, is refused with the reason. Orphans are this cohort's namespaces that no
    student of ``inventory`` (namespace names; default: the targets) owns any more;
    ``include_orphans`` deletes them too (a whole-cohort teardown)."""
    known = set(targets if inventory is None else inventory) | set(targets)
    by_name = {ns["metadata"]["name"]: ns for ns in namespaces}
    delete, refuse, absent = [], [], []
    for name, student in sorted(targets.items()):
        ns = by_name.get(name)
        entry = {"namespace": name, "student": student}
        if ns is None:
            absent.append(entry)
        elif is_cohorts(ns, cohort):
            # The label names the student whose credentials go with the namespace.
            delete.append({**entry, "student": _labels(ns).get(STUDENT) or student})
        else:
            labels = _labels(ns)
            if labels.get(MANAGED_BY) != MANAGER:
                why = f"not created by mlopslab (no {MANAGED_BY}={MANAGER} label)"
            else:
                why = f"belongs to cohort {labels.get(COHORT) or '(none)'!r}, not {cohort!r}"
            refuse.append({**entry, "why": why})
    orphans = [
        {"namespace": ns["metadata"]["name"], "student": _labels(ns).get(STUDENT, "")}
        for ns in namespaces
        if is_cohorts(ns, cohort) and ns["metadata"]["name"] not in known
    ]
    orphans.sort(key=lambda e: e["namespace"])
    if include_orphans:
        delete = sorted(delete + orphans, key=lambda e: e["namespace"])
    return {
        "delete": delete,
        "refuse": refuse,
        "absent": absent,
        "orphans": orphans,
        # What kubernetes.core.k8s state=absent takes, in the order of ``delete``.
        "delete_objects": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": e["namespace"]}} for e in delete
        ],
    }
