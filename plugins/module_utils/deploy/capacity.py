# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Will the cohort fit? The cohort's pods (from the rendered objects) against what each cluster's
schedulable nodes have free. Pure."""

from __future__ import annotations

from decimal import Decimal

from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.quantities import (
    RESOURCES,
    ZERO,
    add,
    empty_dirs,
    ephemeral_requests,
    format_cpu,
    format_memory,
    parse_quantity,
    pod_resources,
    pod_specs,
    specs_resources,
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
    used = ZERO
    used_pods, used_disk = 0, Decimal(0)
    per_node = {name: {**dict.fromkeys(RESOURCES, Decimal(0)), "pods": 0} for name in usable_names}
    for pod in pods:
        phase = (pod.get("status") or {}).get("phase")
        node = (pod.get("spec") or {}).get("nodeName")
        if phase in ("Succeeded", "Failed") or node not in usable_names or pod["metadata"].get("namespace") in replaced:
            continue
        resources = pod_resources(pod.get("spec") or {})
        used = add(used, resources)
        used_pods += 1
        used_disk += ephemeral_requests(pod.get("spec") or {})
        for r in RESOURCES:
            per_node[node][r] += resources["requests"][r]
        per_node[node]["pods"] += 1
    return used, used_pods, used_disk, per_node


def _largest_pod_fits(specs: dict[str, list[tuple[dict, int]]], usable_nodes: list[dict], per_node: dict):
    """(the largest lab pod's requests, whether some node's free room holds it)."""
    sizes = [pod_resources(p)["requests"] for student in specs.values() for p, _count in student]
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
    usable_names = {name for name, _why in usable}
    usable_nodes = [n for n in nodes if n["metadata"]["name"] in usable_names]
    allocatable = {r: sum((_allocatable(n, r) or Decimal(0) for n in usable_nodes), Decimal(0)) for r in RESOURCES}
    allocatable_pods = sum((_allocatable(n, "pods") or Decimal(0) for n in usable_nodes), Decimal(0))
    disks = [_allocatable(n, "ephemeral-storage") for n in usable_nodes]
    allocatable_disk = None if any(d is None for d in disks) or not disks else sum(disks, Decimal(0))

    used, used_pods, used_disk, per_node = _usage(pods, usable_names, set(replaced_namespaces))

    specs = {name: pod_specs(objs) for name, objs in students.items()}
    per_student = {name: specs_resources(pods) for name, pods in specs.items()}
    student_pods = {name: sum(n for _pod, n in pods) for name, pods in specs.items()}
    student_disk = {name: sum((empty_dirs(p) * n for p, n in pods), Decimal(0)) for name, pods in specs.items()}
    cohort = ZERO
    for resources in per_student.values():
        cohort = add(cohort, resources)
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
    if per_student and all(s == per_student[0][1] for _student, s in per_student):
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


def capacity(nodes: list[dict], pods: list[dict], lab: dict[str, list[dict]]) -> dict:
    """The capacity preflight of each cluster, from the Node and Pod lists' loop results.

    Returns fits (every cluster), the table (a heading per cluster when there are several),
    the verdict (one sentence per cluster that does not fit, or that the cohort fits) and the
    per-cluster reports."""
    pods_of = {r["item"]["name"]: r.get("resources") or [] for r in pods}
    several = len(nodes) > 1
    reports, table, verdicts = [], [], []
    for result in nodes:
        cluster = result["item"]
        students = {s: lab[s] for s in cluster["students"] if s in lab}
        report = capacity_report(
            result.get("resources") or [], pods_of.get(cluster["name"], []), students, cluster["namespaces"]
        )
        report["cluster"] = cluster["name"]
        reports.append(report)
        if several:
            table += [""] * bool(table) + [f"cluster {cluster['name']}:"]
        table += capacity_table(report)
        if several and not report["fits"]:
            verdicts.append(f"On {cluster['name']}: {report['verdict']}")
    fits = all(r["fits"] for r in reports)
    if not several:
        verdicts = [reports[0]["verdict"]] if reports else []
    elif fits:
        verdicts = [f"The cohort fits each of its {len(reports)} clusters' free capacity."]
    return {"fits": fits, "table": table, "verdict": " ".join(verdicts), "clusters": reports}


# ---------------------------------------------------------------- what is kept of other tenants
# The capacity check reads every Pod of a shared cluster. What it keeps is what the scheduler
# counts, nothing else: another course's environment (passwords in env), commands, images and
# names never leave the reading function, so they reach no task result, log or AWX job record.
def _requests_only(container: dict) -> dict:
    return {"resources": {k: v for k, v in (container.get("resources") or {}).items() if k in ("requests", "limits")}}


def pod_usage(pod: dict) -> dict:
    """A Pod as the capacity check needs it: its namespace, phase, node and what its containers
    request and limit."""
    spec = pod.get("spec") or {}
    kept = {"containers": [_requests_only(c) for c in spec.get("containers") or []]}
    if spec.get("initContainers"):
        kept["initContainers"] = [_requests_only(c) for c in spec["initContainers"]]
    if spec.get("overhead"):
        kept["overhead"] = spec["overhead"]
    if spec.get("nodeName"):
        kept["nodeName"] = spec["nodeName"]
    return {
        "metadata": {"namespace": (pod.get("metadata") or {}).get("namespace")},
        "spec": kept,
        "status": {"phase": (pod.get("status") or {}).get("phase")},
    }


def node_usage(node: dict) -> dict:
    """A Node as the capacity check needs it: name, whether it takes pods, what it can hold."""
    spec, status = node.get("spec") or {}, node.get("status") or {}
    return {
        "metadata": {"name": (node.get("metadata") or {}).get("name")},
        "spec": {k: spec[k] for k in ("unschedulable", "taints") if k in spec},
        "status": {
            "allocatable": status.get("allocatable") or {},
            "conditions": [{k: c.get(k) for k in ("type", "status", "reason")} for c in status.get("conditions") or []],
        },
    }
