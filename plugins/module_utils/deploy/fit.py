# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does a student's lab fit its own guard rails? Read from the student's rendered objects alone:
the Deployments' pods (replicas, rollout surge, containers and init containers), against the
ResourceQuota and the LimitRange rendered beside them. No model of the pods is written by hand:
what the templates render is what is weighed. Pure."""

from __future__ import annotations

import math
from decimal import Decimal

from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.quantities import (
    RESOURCES,
    ZERO,
    add,
    format_cpu,
    format_memory,
    parse_quantity,
    pod_resources,
)
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.settings import problem

# The setting behind each container's limits, so a refusal names what to change.
LIMIT_SETTINGS = {
    ("metrics-exporter", "exporter"): "metrics_exporter_{resource}_limit",
    ("metrics-exporter", "install-dependencies"): "metrics_exporter_init_{resource}_limit",
    ("prometheus", "prometheus"): "prometheus_{resource}_limit",
    ("grafana", "grafana"): "grafana_{resource}_limit",
}
QUOTA_SETTING = "student_namespace_quota"
MAX_SETTING = "student_namespace_container_max"


def _surge(deployment: dict) -> int:
    """Pods a RollingUpdate adds while the old ones still run (maxSurge, 25% by default, rounded up)."""
    spec = deployment.get("spec") or {}
    strategy = spec.get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0
    replicas = int(spec.get("replicas", 1))
    surge = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
    if isinstance(surge, str) and surge.endswith("%"):
        return math.ceil(replicas * int(surge[:-1]) / 100)
    return int(surge)


def _deployments(objects: list[dict]) -> list[dict]:
    return [o for o in objects if o.get("kind") == "Deployment"]


def lab_budget(objects: list[dict]) -> dict:
    """What the lab holds at its peak (every Deployment rolling out at once): pods, and requests
    and limits summed as ResourceQuota sums them (per pod, the larger of the init containers and
    the sum of the containers)."""
    total = ZERO
    pods, steady, surging = 0, 0, []
    for deployment in _deployments(objects):
        replicas = int((deployment.get("spec") or {}).get("replicas", 1))
        extra = _surge(deployment)
        if extra:
            surging.append(deployment["metadata"]["name"])
        steady += replicas
        pods += replicas + extra
        total = add(total, pod_resources(deployment["spec"]["template"]["spec"]), replicas + extra)
    return {"pods": pods, "steady": steady, "requests": total["requests"], "limits": total["limits"],
            "surging": surging}  # fmt: skip


def _format(resource: str, amount: Decimal) -> str:
    return format_cpu(amount) if resource == "cpu" else format_memory(amount)


def _quota(objects: list[dict]) -> dict:
    found = next((o for o in objects if o.get("kind") == "ResourceQuota"), None)
    return ((found or {}).get("spec") or {}).get("hard") or {}


def _container_max(objects: list[dict]) -> dict:
    for limit_range in (o for o in objects if o.get("kind") == "LimitRange"):
        for entry in (limit_range.get("spec") or {}).get("limits") or []:
            if entry.get("type") == "Container" and entry.get("max"):
                return entry["max"]
    return {}


def fit_problems(objects: list[dict]) -> list[dict]:
    """The student's lab against its own ResourceQuota and LimitRange, each problem naming the
    setting to change."""
    problems = []
    budget, quota, maximum = lab_budget(objects), _quota(objects), _container_max(objects)
    surge = " and one more " + ", ".join(budget["surging"]) + " pod while it rolls out" if budget["surging"] else ""
    if "pods" in quota and parse_quantity(quota["pods"]) < budget["pods"]:
        problems.append(
            problem(
                f"{QUOTA_SETTING}['pods']",
                quota["pods"],
                f"is below the {budget['pods']} pods the lab holds at its peak ({budget['steady']} pods{surge}): "
                "the ReplicaSet controller would be refused (FailedCreate: exceeded quota)",
                f"at least {budget['pods']}, plus what students start themselves",
                str(budget["pods"] + 6),
            )
        )
    for kind in ("requests", "limits"):
        for resource in RESOURCES:
            key = f"{kind}.{resource}"
            if key in quota and parse_quantity(quota[key]) < budget[kind][resource]:
                need = _format(resource, budget[kind][resource])
                problems.append(
                    problem(
                        f"{QUOTA_SETTING}['{key}']",
                        quota[key],
                        f"is below the {need} of {kind} the lab's pods hold at their peak (init containers "
                        f"counted as the API counts them{surge})",
                        f"at least {need}",
                        need,
                    )
                )
    problems += count_problems(objects, quota)
    for deployment in _deployments(objects):
        pod = deployment["spec"]["template"]["spec"]
        name = deployment["metadata"]["name"]
        for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
            for resource, cap in maximum.items():
                limit = ((container.get("resources") or {}).get("limits") or {}).get(resource)
                if limit is None or parse_quantity(limit) <= parse_quantity(cap):
                    continue
                guard = f"{MAX_SETTING}['{resource}']"
                setting = LIMIT_SETTINGS.get(
                    (name, container["name"]), f"the {container['name']} container's {{resource}} limit"
                )
                problems.append(
                    problem(
                        setting.format(resource=resource),
                        limit,
                        f"is above the LimitRange's maximum {guard} ({cap}): the API would refuse "
                        f"{name}'s pod (container {container['name']})",
                        f"at most {cap}, or raise {guard}",
                        str(cap),
                    )
                )
    return problems


# Object counts a ResourceQuota may cap (its quota key -> the kind it counts), as the quota
# admission plugin counts them: an object over the count is refused at create ("exceeded quota:
# lab-quota, requested: services=1, used: services=2, limited: services=2"). The server's dry run
# cannot see it in a namespace whose quota does not exist yet: counted here, from the render.
COUNTED = {
    "services": ("Service", None),
    "configmaps": ("ConfigMap", None),
    "secrets": ("Secret", None),
    "persistentvolumeclaims": ("PersistentVolumeClaim", None),
    "services.nodeports": ("Service", "NodePort"),
    "services.loadbalancers": ("Service", "LoadBalancer"),
}


def _counted(objects: list[dict], key: str) -> int:
    if key.startswith("count/"):  # count/deployments.apps, count/services
        resource, _dot, group = key[len("count/") :].partition(".")
        plural = {"deployments": "Deployment", "services": "Service", "configmaps": "ConfigMap", "secrets": "Secret",
                  "ingresses": "Ingress", "serviceaccounts": "ServiceAccount"}.get(resource)  # fmt: skip
        return sum(1 for o in objects if o.get("kind") == plural and (o.get("apiVersion") or "").startswith(group))
    kind, service_type = COUNTED[key]
    return sum(
        1
        for o in objects
        if o.get("kind") == kind and (service_type is None or (o.get("spec") or {}).get("type") == service_type)
    )


def count_problems(objects: list[dict], quota: dict) -> list[dict]:
    """The lab's own objects against the counts its ResourceQuota allows."""
    problems = []
    for key, allowed in quota.items():
        if key not in COUNTED and not key.startswith("count/"):
            continue
        try:
            limit = parse_quantity(allowed)
        except ValueError:
            continue  # not a quantity: the settings check names it
        need = _counted(objects, key)
        if limit < need:
            problems.append(
                problem(
                    f"{QUOTA_SETTING}['{key}']",
                    allowed,
                    f"is below the {need} the lab itself creates: the API would refuse the lab's last "
                    f"{need - int(limit)} (exceeded quota), before students create any of their own",
                    f"at least {need}, plus what students create themselves",
                    str(need + 2),
                )
            )
    return problems
