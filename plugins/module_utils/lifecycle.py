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


def _pod_specs(manifests: list[dict]) -> list[tuple[dict, int]]:
    """(pod spec, replicas) of every pod a student's rendered objects will run."""
    specs = []
    for obj in manifests:
        if obj.get("kind") in _WORKLOADS:
            spec = obj.get("spec") or {}
            specs.append((((spec.get("template") or {}).get("spec")) or {}, int(spec.get("replicas", 1))))
        elif obj.get("kind") == "Pod":
            specs.append((obj.get("spec") or {}, 1))
    return specs


def _specs_resources(specs: list[tuple[dict, int]]) -> dict[str, dict[str, Decimal]]:
    total = _ZERO
    for pod_spec, replicas in specs:
        total = _add(total, pod_resources(pod_spec), replicas)
    return total


def manifests_resources(manifests: list[dict]) -> dict[str, dict[str, Decimal]]:
    """Requests and limits of every pod a student's rendered objects will run."""
    return _specs_resources(_pod_specs(manifests))


def _empty_dirs(pod_spec: dict) -> Decimal:
    """What a pod's emptyDirs may hold on the node's disk (their sizeLimits): the kubelet evicts
    past them, so it is what a node's ephemeral storage must have room for."""
    return sum(
        (
            parse_quantity((v.get("emptyDir") or {}).get("sizeLimit", 0))
            for v in pod_spec.get("volumes") or []
            if "emptyDir" in v
        ),
        Decimal(0),
    )


def _ephemeral_requests(pod_spec: dict) -> Decimal:
    containers = pod_spec.get("containers") or []
    return sum(
        (
            parse_quantity(((c.get("resources") or {}).get("requests") or {}).get("ephemeral-storage", 0))
            for c in containers
        ),
        Decimal(0),
    )


def _allocatable(node: dict, resource: str) -> Decimal | None:
    value = ((node.get("status") or {}).get("allocatable") or {}).get(resource)
    return None if value is None else parse_quantity(value)


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


def _usage(pods: list[dict], usable_names: set[str], replaced: set[str]):
    """What others' pods hold on the usable nodes: requests and limits, pods, ephemeral-storage
    requests, and per node its cpu, memory and pods."""
    used = _ZERO
    used_pods, used_disk = 0, Decimal(0)
    per_node = {name: {**dict.fromkeys(RESOURCES, Decimal(0)), "pods": 0} for name in usable_names}
    for pod in pods:
        phase = (pod.get("status") or {}).get("phase")
        node = (pod.get("spec") or {}).get("nodeName")
        if phase in ("Succeeded", "Failed") or node not in usable_names or pod["metadata"].get("namespace") in replaced:
            continue
        resources = pod_resources(pod.get("spec") or {})
        used = _add(used, resources)
        used_pods += 1
        used_disk += _ephemeral_requests(pod.get("spec") or {})
        for r in RESOURCES:
            per_node[node][r] += resources["requests"][r]
        per_node[node]["pods"] += 1
    return used, used_pods, used_disk, per_node


def _largest_pod_fits(specs: dict[str, list[tuple[dict, int]]], usable_nodes: list[dict], per_node: dict):
    """(the largest lab pod's requests, whether some node's free room holds it)."""
    sizes = [pod_resources(p)["requests"] for student in specs.values() for p, _ in student]
    largest = {r: max((p[r] for p in sizes), default=Decimal(0)) for r in RESOURCES}
    for node in usable_nodes:
        used = per_node[node["metadata"]["name"]]
        room = {r: (_allocatable(node, r) or Decimal(0)) - used[r] for r in RESOURCES}
        if all(room[r] >= largest[r] for r in RESOURCES) and (_allocatable(node, "pods") or 0) - used["pods"] >= 1:
            return largest, True
    return largest, not sizes


def capacity_report(nodes: list[dict], pods: list[dict], students: dict[str, list[dict]], replaced_namespaces) -> dict:
    """Does the cohort fit the cluster's schedulable nodes, counted as the scheduler counts?

    ``students`` maps each student to its rendered objects. Pods already running in
    ``replaced_namespaces`` (the students being deployed now) are not counted as used: a rerun
    replaces them rather than adding to them. CPU and memory requests, pods (each node's
    allocatable pods: two 110-pod nodes hold 220, a 100-student cohort is 300 pods) and the
    students' emptyDir sizeLimits against ephemeral storage are summed cluster-wide; the
    largest lab pod must also fit some single node's free room."""
    usable, skipped = [], []
    for node in nodes:
        ok, why = _schedulable(node)
        (usable if ok else skipped).append((node["metadata"]["name"], why))
    usable_names = {name for name, _ in usable}
    usable_nodes = [n for n in nodes if n["metadata"]["name"] in usable_names]
    allocatable = {r: sum((_allocatable(n, r) or Decimal(0) for n in usable_nodes), Decimal(0)) for r in RESOURCES}
    allocatable_pods = sum((_allocatable(n, "pods") or Decimal(0) for n in usable_nodes), Decimal(0))
    disks = [_allocatable(n, "ephemeral-storage") for n in usable_nodes]
    allocatable_disk = None if any(d is None for d in disks) or not disks else sum(disks, Decimal(0))

    used, used_pods, used_disk, per_node = _usage(pods, usable_names, set(replaced_namespaces))

    specs = {name: _pod_specs(objs) for name, objs in students.items()}
    per_student = {name: _specs_resources(pods) for name, pods in specs.items()}
    student_pods = {name: sum(n for _, n in pods) for name, pods in specs.items()}
    student_disk = {name: sum((_empty_dirs(p) * n for p, n in pods), Decimal(0)) for name, pods in specs.items()}
    cohort = _ZERO
    for resources in per_student.values():
        cohort = _add(cohort, resources)
    cohort_pods, cohort_disk = sum(student_pods.values()), sum(student_disk.values(), Decimal(0))
    largest = {r: max((s["requests"][r] for s in per_student.values()), default=Decimal(0)) for r in RESOURCES}
    free = {r: allocatable[r] - used["requests"][r] for r in RESOURCES}
    free_pods = allocatable_pods - used_pods
    free_disk = None if allocatable_disk is None else allocatable_disk - used_disk

    def how_many(free_amount, each):
        # None: a student needs none of it, so it bounds nothing.
        return int(max(free_amount, 0) // each) if each else None

    fits = {r: how_many(free[r], largest[r]) for r in RESOURCES}
    fits["pods"] = how_many(free_pods, max(student_pods.values(), default=0))
    if free_disk is not None:
        fits["ephemeral-storage"] = how_many(free_disk, max(student_disk.values(), default=Decimal(0)))

    # The largest single pod of the lab must fit one node's free room (the sums say nothing of that).
    largest_pod, pod_fits_a_node = _largest_pod_fits(specs, usable_nodes, per_node)
    shortages = [r for r in RESOURCES if cohort["requests"][r] > free[r]]
    if cohort_pods > free_pods:
        shortages.append("pods")
    if free_disk is not None and cohort_disk > free_disk:
        shortages.append("ephemeral-storage")
    if not pod_fits_a_node:
        shortages.append("node")
    report = {
        "students": len(students),
        "per_student": per_student,
        "cohort": cohort,
        "allocatable": allocatable,
        "used": used["requests"],
        "free": free,
        "pods": {"per_student": student_pods, "cohort": cohort_pods, "allocatable": allocatable_pods,
                 "used": used_pods, "free": free_pods},
        "ephemeral_storage": {"per_student": student_disk, "cohort": cohort_disk, "allocatable": allocatable_disk,
                              "used": used_disk, "free": free_disk},
        "largest_pod": largest_pod,
        "largest_pod_fits_a_node": pod_fits_a_node,
        "fits": not shortages,
        # Students of the largest kind that the free room leaves space for.
        "students_that_fit": min((n for n in fits.values() if n is not None), default=len(students))
        if pod_fits_a_node
        else 0,
        "short_of": shortages[0] if shortages else None,
        "nodes": sorted(usable_names),
        "skipped_nodes": [{"name": name, "why": why} for name, why in skipped],
    }  # fmt: skip
    report["verdict"] = capacity_verdict(report)
    return report


def capacity_verdict(report: dict) -> str:
    """One sentence: what the cohort is short of, and how many students would fit."""
    short = report["short_of"]
    if short is None:
        return f"The cohort of {report['students']} fits the cluster's free capacity."
    if short == "node":
        largest = report["largest_pod"]
        return (
            f"The cohort's largest pod (requests {format_cpu(largest['cpu'])} cpu, {format_memory(largest['memory'])} "
            "memory, one pod slot) fits on no single schedulable node's free room: no student would fit."
        )
    what = {
        "pods": "pods (each node's allocatable pods)",
        "ephemeral-storage": "ephemeral storage (emptyDir sizeLimits)",
    }
    return (
        f"The cohort of {report['students']} needs more {what.get(short, short)} than the cluster has free: "
        f"{report['students_that_fit']} of these students would fit."
    )


def format_cpu(cores: Decimal) -> str:
    millis = int((cores * 1000).to_integral_value())
    return f"{millis}m" if millis < 10000 else f"{millis / 1000:g}"


def format_memory(size: Decimal) -> str:
    mib = size / 2**20
    return f"{mib:.0f}Mi" if abs(mib) < 10 * 1024 else f"{mib / 1024:.1f}Gi"


def capacity_table(report: dict) -> list[str]:
    """The report as the lines deploy.yml prints."""
    pods, disk = report["pods"], report["ephemeral_storage"]

    def row(label, values, npods=None, ndisk=None, limits=None):
        text = f"{label:<24} {format_cpu(values['cpu']):>10} {format_memory(values['memory']):>10}"
        text += f" {'' if npods is None else str(int(npods)):>6} {'' if ndisk is None else format_memory(ndisk):>10}"
        if limits:
            text += f"   limits {format_cpu(limits['cpu'])} / {format_memory(limits['memory'])}"
        return text.rstrip()

    per_student = list(report["per_student"].items())
    lines = [f"{'':<24} {'cpu':>10} {'memory':>10} {'pods':>6} {'emptyDir':>10}"]
    if per_student and all(s == per_student[0][1] for _, s in per_student):
        name = per_student[0][0]
        lines.append(row("each student (requests)", per_student[0][1]["requests"], pods["per_student"][name],
                         disk["per_student"][name], per_student[0][1]["limits"]))  # fmt: skip
    else:
        lines += [
            row(f"{name} (requests)", s["requests"], pods["per_student"][name], disk["per_student"][name], s["limits"])
            for name, s in per_student
        ]
    lines += [
        row(f"cohort of {report['students']}", report["cohort"]["requests"], pods["cohort"], disk["cohort"],
            report["cohort"]["limits"]),
        row(f"allocatable ({len(report['nodes'])} nodes)", report["allocatable"], pods["allocatable"],
            disk["allocatable"]),
        row("requested by others", report["used"], pods["used"],
            disk["used"] if disk["allocatable"] is not None else None),
        row("free", report["free"], pods["free"], disk["free"]),
    ]  # fmt: skip
    if not report["largest_pod_fits_a_node"]:
        lines.append("largest lab pod fits on no single node's free room")
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
