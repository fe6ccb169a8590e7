# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cohort's life on a shared cluster: will it fit, what may teardown delete, which namespaces
outlived their students. Pure functions over API objects (as the API returns them) and the
objects deploy.yml renders; the playbooks reach them through the filters in plugins/filter/."""

from __future__ import annotations

from decimal import Decimal

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "mlopslab"
COHORT = "mlopslab.io/cohort"
STUDENT = "mlopslab.io/student"

RESOURCES = ("cpu", "memory")
_SUFFIXES = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}  # fmt: skip


def parse_quantity(quantity) -> Decimal:
    """A Kubernetes quantity ("250m", "1Gi", "1e3", 2) as a Decimal of cores or bytes.

    kubernetes.utils.parse_quantity does the same, but this runs in filters on the controller,
    where render-only runs need no kubernetes client."""
    text = str(quantity).strip()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix):
            number = text[: -len(suffix)]
            try:
                return Decimal(number) * Decimal(_SUFFIXES[suffix])
            except ArithmeticError:
                break
    try:
        return Decimal(text)
    except ArithmeticError:
        raise ValueError(f"{quantity!r} is not a Kubernetes quantity (e.g. 250m, 0.5, 128Mi, 1Gi)") from None


def pod_resources(pod_spec: dict) -> dict[str, dict[str, Decimal]]:
    """What the scheduler reserves for one pod: {requests: {cpu, memory}, limits: {...}}.

    Init containers run one at a time before the others, so a pod needs the larger of the
    biggest init container and the sum of its containers (plus any pod overhead)."""
    totals = {}
    for kind in ("requests", "limits"):
        values = {}
        for resource in RESOURCES:

            def amount(container, kind=kind, resource=resource):
                return parse_quantity(((container.get("resources") or {}).get(kind) or {}).get(resource, 0))

            running = sum((amount(c) for c in pod_spec.get("containers") or []), Decimal(0))
            init = max((amount(c) for c in pod_spec.get("initContainers") or []), default=Decimal(0))
            overhead = parse_quantity((pod_spec.get("overhead") or {}).get(resource, 0))
            values[resource] = max(running, init) + overhead
        totals[kind] = values
    return totals


def _add(a: dict, b: dict, times: int = 1) -> dict:
    return {kind: {r: a[kind][r] + b[kind][r] * times for r in RESOURCES} for kind in ("requests", "limits")}


_ZERO = {kind: dict.fromkeys(RESOURCES, Decimal(0)) for kind in ("requests", "limits")}
_WORKLOADS = {"Deployment", "StatefulSet", "ReplicaSet"}


def manifests_resources(manifests: list[dict]) -> dict[str, dict[str, Decimal]]:
    """Requests and limits of every pod a student's rendered objects will run."""
    total = _ZERO
    for obj in manifests:
        if obj.get("kind") in _WORKLOADS:
            spec = obj.get("spec") or {}
            pod_spec = ((spec.get("template") or {}).get("spec")) or {}
            total = _add(total, pod_resources(pod_spec), int(spec.get("replicas", 1)))
        elif obj.get("kind") == "Pod":
            total = _add(total, pod_resources(obj.get("spec") or {}))
    return total


def _schedulable(node: dict) -> tuple[bool, str]:
    if (node.get("spec") or {}).get("unschedulable"):
        return False, "cordoned"
    # Before taints: a NotReady node also carries the unreachable taints, and "not Ready" says more.
    ready = next((c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready is not None and ready.get("status") != "True":
        return False, f"not Ready ({ready.get('reason') or ready.get('status')})"
    # The lab's pods tolerate no taints.
    taints = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") in ("NoSchedule", "NoExecute")]
    if taints:
        return False, "tainted " + ", ".join(f"{t.get('key')}:{t.get('effect')}" for t in taints)
    return True, ""


def capacity_report(nodes: list[dict], pods: list[dict], students: dict[str, list[dict]], replaced_namespaces) -> dict:
    """Does the cohort fit the cluster's schedulable nodes?

    ``students`` maps each student to its rendered objects. Pods already running in
    ``replaced_namespaces`` (the students being deployed now) are not counted as used: a rerun
    replaces them rather than adding to them. Sums are cluster-wide; a pod must also fit one
    node, which every node with room for the largest lab pod makes true in practice."""
    usable, skipped = [], []
    for node in nodes:
        ok, why = _schedulable(node)
        (usable if ok else skipped).append((node["metadata"]["name"], why))
    usable_names = {name for name, _ in usable}
    allocatable = dict.fromkeys(RESOURCES, Decimal(0))
    for node in nodes:
        if node["metadata"]["name"] in usable_names:
            for r in RESOURCES:
                allocatable[r] += parse_quantity(((node.get("status") or {}).get("allocatable") or {}).get(r, 0))

    replaced = set(replaced_namespaces)
    used = _ZERO
    for pod in pods:
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed") or (pod.get("spec") or {}).get("nodeName") not in usable_names:
            continue
        if pod["metadata"].get("namespace") in replaced:
            continue
        used = _add(used, pod_resources(pod.get("spec") or {}))

    per_student = {name: manifests_resources(objs) for name, objs in students.items()}
    cohort = _ZERO
    for resources in per_student.values():
        cohort = _add(cohort, resources)
    largest = {r: max((s["requests"][r] for s in per_student.values()), default=Decimal(0)) for r in RESOURCES}
    free = {r: allocatable[r] - used["requests"][r] for r in RESOURCES}
    fits = {r: int(max(free[r], 0) // largest[r]) if largest[r] else len(students) for r in RESOURCES}
    return {
        "students": len(students),
        "per_student": per_student,
        "cohort": cohort,
        "allocatable": allocatable,
        "used": used["requests"],
        "free": free,
        "fits": all(cohort["requests"][r] <= free[r] for r in RESOURCES),
        # Students of the largest kind that the free requests leave room for.
        "students_that_fit": min(fits.values()),
        "short_of": next((r for r in RESOURCES if cohort["requests"][r] > free[r]), None),
        "nodes": sorted(usable_names),
        "skipped_nodes": [{"name": name, "why": why} for name, why in skipped],
    }


def format_cpu(cores: Decimal) -> str:
    millis = int((cores * 1000).to_integral_value())
    return f"{millis}m" if millis < 10000 else f"{millis / 1000:g}"


def format_memory(size: Decimal) -> str:
    mib = size / 2**20
    return f"{mib:.0f}Mi" if abs(mib) < 10 * 1024 else f"{mib / 1024:.1f}Gi"


def capacity_table(report: dict) -> list[str]:
    """The report as the lines deploy.yml prints."""

    def row(label, values, limits=None):
        text = f"{label:<24} {format_cpu(values['cpu']):>10} {format_memory(values['memory']):>10}"
        if limits:
            text += f"   limits {format_cpu(limits['cpu'])} / {format_memory(limits['memory'])}"
        return text

    per_student = list(report["per_student"].values())
    lines = [f"{'':<24} {'cpu':>10} {'memory':>10}"]
    if per_student and all(s == per_student[0] for s in per_student):
        lines.append(row("each student (requests)", per_student[0]["requests"], per_student[0]["limits"]))
    else:
        lines += [row(f"{name} (requests)", s["requests"], s["limits"]) for name, s in report["per_student"].items()]
    lines += [
        row(f"cohort of {report['students']}", report["cohort"]["requests"], report["cohort"]["limits"]),
        row(f"allocatable ({len(report['nodes'])} nodes)", report["allocatable"]),
        row("requested by others", report["used"]),
        row("free", report["free"]),
    ]
    lines += [f"skipped node {n['name']}: {n['why']}" for n in report["skipped_nodes"]]
    return lines


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
