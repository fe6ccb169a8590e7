# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes quantities and what a pod asks for: parsed, added up, printed. Pure."""

from __future__ import annotations

from decimal import Decimal

RESOURCES = ("cpu", "memory")


SUFFIXES = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}  # fmt: skip


def parse_quantity(quantity) -> Decimal:
    """A Kubernetes quantity ("250m", "1Gi", "1e3", 2) as a Decimal of cores or bytes.

    kubernetes.utils.parse_quantity does the same, but this runs in filters on the controller,
    where render-only runs need no kubernetes client."""
    text = str(quantity).strip()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix):
            number = text[: -len(suffix)]
            try:
                return Decimal(number) * Decimal(SUFFIXES[suffix])
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


def add(a: dict, b: dict, times: int = 1) -> dict:
    return {kind: {r: a[kind][r] + b[kind][r] * times for r in RESOURCES} for kind in ("requests", "limits")}


ZERO = {kind: dict.fromkeys(RESOURCES, Decimal(0)) for kind in ("requests", "limits")}


WORKLOADS = {"Deployment", "StatefulSet", "ReplicaSet"}


def pod_specs(manifests: list[dict]) -> list[tuple[dict, int]]:
    """(pod spec, replicas) of every pod a student's rendered objects will run."""
    specs = []
    for obj in manifests:
        if obj.get("kind") in WORKLOADS:
            spec = obj.get("spec") or {}
            specs.append((((spec.get("template") or {}).get("spec")) or {}, int(spec.get("replicas", 1))))
        elif obj.get("kind") == "Pod":
            specs.append((obj.get("spec") or {}, 1))
    return specs


def specs_resources(specs: list[tuple[dict, int]]) -> dict[str, dict[str, Decimal]]:
    total = ZERO
    for pod_spec, replicas in specs:
        total = add(total, pod_resources(pod_spec), replicas)
    return total


def manifests_resources(manifests: list[dict]) -> dict[str, dict[str, Decimal]]:
    """Requests and limits of every pod a student's rendered objects will run."""
    return specs_resources(pod_specs(manifests))


def empty_dirs(pod_spec: dict) -> Decimal:
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


def ephemeral_requests(pod_spec: dict) -> Decimal:
    containers = pod_spec.get("containers") or []
    return sum(
        (
            parse_quantity(((c.get("resources") or {}).get("requests") or {}).get("ephemeral-storage", 0))
            for c in containers
        ),
        Decimal(0),
    )


def format_cpu(cores: Decimal) -> str:
    millis = int((cores * 1000).to_integral_value())
    return f"{millis}m" if millis < 10000 else f"{millis / 1000:g}"


def format_memory(size: Decimal) -> str:
    mib = size / 2**20
    return f"{mib:.0f}Mi" if abs(mib) < 10 * 1024 else f"{mib / 1024:.1f}Gi"
