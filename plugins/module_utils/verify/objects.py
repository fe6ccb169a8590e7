# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is every object deploy.yml creates for a student there, and converging? Pure functions over
Deployments, ReplicaSets, Services, EndpointSlices, ConfigMaps and Events as the API returns them.

A pod that is missing says nothing about why. The API does: a deleted Deployment is simply
absent; one scaled to 0 says so in spec.replicas; when its ReplicaSet cannot create pods, the
ReplicaSet controller records `FailedCreate` Events (which expire after an hour) and the
Deployment's `ReplicaFailure` condition (which does not) with the API's refusal: an exhausted
ResourceQuota with its numbers, a Pod Security violation with the rules, a missing
ServiceAccount; a rollout that stops progressing gets `Progressing=False` with reason
`ProgressDeadlineExceeded`; a Service whose pods are not ready has no ready endpoints.
"""

from __future__ import annotations

import re

from ansible_collections.mlopslab.monitoring.plugins.module_utils.verify.findings import (
    ERROR,
    HIGH,
    LOW,
    MEDIUM,
    WARNING,
    finding,
)

# What deploy.yml creates for every student (by kind and name), and what verify looks for.
EXPECTED = {
    "Deployment": ["metrics-exporter", "prometheus", "grafana"],
    "Service": ["metrics-exporter", "prometheus", "grafana"],
    "ConfigMap": ["metrics-exporter-source", "prometheus-config", "grafana-provisioning", "grafana-dashboards"],
}
# Most important first, after the pod codes of diagnosis.PRIORITY.
OBJECT_CODES = (
    "object_missing",
    "scaled_to_zero",
    "quota_exceeded",
    "pod_security_forbidden",
    "replica_failure",
    "rollout_stuck",
    "pods_missing",
    "objects_unchecked",
    "no_endpoints",
)

_QUOTA = re.compile(
    r"exceeded quota: (?P<quota>[^,]+), requested: (?P<requested>[^,]+), "
    r"used: (?P<used>[^,]+), limited: (?P<limited>.+)$"
)
_PSA = re.compile(r'violates PodSecurity "(?P<level>[^"]+)": (?P<rules>.+)$')


def _refusal(deployment: str, message: str, evidence: dict, certainty: str) -> dict:
    """Classify why a ReplicaSet cannot create pods, from the API's own refusal message."""
    message = message.removeprefix("(combined from similar events): ")
    quota = _QUOTA.search(message)
    if quota:
        resource = quota["requested"].split("=")[0]
        return finding(
            "quota_exceeded",
            ERROR,
            None,
            None,
            f"Deployment {deployment} cannot create its pod: quota {quota['quota']} exceeded "
            f"(requested {quota['requested']}, used {quota['used']}, limited {quota['limited']})",
            f"the namespace's ResourceQuota is used up: raise student_namespace_quota['{resource}'] "
            f"and rerun deploy for this student, or delete what the student started beside the lab "
            f"(kubectl get pods)",
            certainty,
            evidence,
        )
    psa = _PSA.search(message)
    if psa:
        return finding(
            "pod_security_forbidden",
            ERROR,
            None,
            None,
            f"Deployment {deployment} cannot create its pod: it violates Pod Security {psa['level']}: {psa['rules']}",
            "the lab's own pods meet the restricted profile: the Deployment was changed by hand; rerun deploy "
            "for this student to restore it",
            certainty,
            evidence,
        )
    return finding(
        "replica_failure",
        ERROR,
        None,
        None,
        f"Deployment {deployment} cannot create its pod: {message}",
        "rerun deploy for this student: it recreates what the lab's pods need (ServiceAccount, ConfigMaps); "
        "if the message names something else, fix that first",
        certainty,
        evidence,
    )


def _condition(obj: dict, kind: str) -> dict | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


def _owned_by(obj: dict, owner: dict) -> bool:
    uid = (owner.get("metadata") or {}).get("uid")
    return (
        any(ref.get("uid") == uid for ref in (obj.get("metadata") or {}).get("ownerReferences") or []) if uid else False
    )


def _deployment_findings(deployment, replicasets, events, has_pods) -> list[dict]:
    name = deployment["metadata"]["name"]
    spec = deployment.get("spec") or {}
    if spec.get("replicas") == 0:
        return [
            finding(
                "scaled_to_zero",
                ERROR,
                None,
                None,
                f"Deployment {name} is scaled to 0 replicas",
                "rerun deploy for this student (it sets replicas back to 1), or kubectl scale deployment "
                f"{name} --replicas=1",
                HIGH,
                {"decided": ["spec.replicas 0"]},
            )
        ]
    findings = []
    failure = _condition(deployment, "ReplicaFailure")
    mine = [rs for rs in replicasets if _owned_by(rs, deployment)]
    refused = [
        e
        for e in events
        if e.get("reason") == "FailedCreate"
        and (e.get("involvedObject") or {}).get("kind") == "ReplicaSet"
        and any((e.get("involvedObject") or {}).get("uid") == rs["metadata"].get("uid") for rs in mine)
    ]
    failing_now = bool(failure and failure.get("status") == "True")
    # FailedCreate events outlive the refusal for an hour: once the pod exists and the
    # controller has cleared ReplicaFailure, they are history (a healed quota), not a finding.
    if has_pods and not failing_now:
        refused = []
    if failing_now or refused:
        latest = max(refused, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "") if refused else None
        message = (latest or {}).get("message") or (failure or {}).get("message") or ""
        evidence = {"decided": [], "missing": []}
        if failing_now:
            evidence["decided"].append("Deployment condition ReplicaFailure=True (FailedCreate)")
        if refused:
            evidence["decided"].append(f"{len(refused)} FailedCreate events of its ReplicaSet")
        else:
            evidence["missing"].append("the ReplicaSet's FailedCreate events (expired)")
        # The refusal may be history: a pod exists now, so the problem may have passed.
        certainty = HIGH if not has_pods else MEDIUM
        findings.append(_refusal(name, message, evidence, certainty))
    progressing = _condition(deployment, "Progressing")
    if progressing and progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
        findings.append(
            finding(
                "rollout_stuck",
                ERROR,
                None,
                None,
                f"Deployment {name}'s rollout is stuck: {progressing.get('message', '')}",
                "its new pods never became ready within progressDeadlineSeconds: see the pod findings; "
                "kubectl rollout status and kubectl describe deployment " + name,
                HIGH,
                {"decided": ["Progressing=False ProgressDeadlineExceeded"]},
            )
        )
    return findings


def _ready_endpoints(service: str, slices: list[dict]) -> int | None:
    mine = [
        s
        for s in slices
        if ((s.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/service-name") == service
    ]
    if not mine:
        return None
    # conditions.ready: "nil should be interpreted as ready" (discovery.k8s.io/v1 EndpointConditions).
    return sum(
        1 for s in mine for e in s.get("endpoints") or [] if (e.get("conditions") or {}).get("ready") is not False
    )


def object_findings(
    namespace: str,
    objects: dict[str, list[dict]],
    events: list[dict],
    pods_by_component: dict[str, int],
    expected: dict[str, list[str]] | None = None,
) -> list[dict]:
    """Findings about one student's objects.

    objects: {"Deployment": [...], "ReplicaSet": [...], "Service": [...], "EndpointSlice": [...],
    "ConfigMap": [...]} of this namespace (kinds not listed were not checked);
    pods_by_component: how many pods each component (app.kubernetes.io/name) has."""
    expected = EXPECTED if expected is None else expected
    findings = []
    present = {kind: {o["metadata"]["name"]: o for o in objects.get(kind) or []} for kind in objects}
    for kind, names in expected.items():
        if kind not in present:
            continue  # not checked (no permission, or not asked for)
        for name in names:
            if name not in present[kind]:
                findings.append(
                    finding(
                        "object_missing",
                        ERROR,
                        None,
                        None,
                        f"{kind} {name} is missing from {namespace}",
                        f"it was deleted (or never created): rerun deploy for this student "
                        f'(make deploy ARGS="--limit {namespace}") to recreate it',
                        HIGH,
                        {"decided": [f"no {kind} named {name} in {namespace}"]},
                    )
                )
    for name, deployment in (present.get("Deployment") or {}).items():
        if name not in expected.get("Deployment", []):
            continue
        has_pods = pods_by_component.get(name, 0) > 0
        found = _deployment_findings(deployment, objects.get("ReplicaSet") or [], events, has_pods)
        if not found and not has_pods:
            found = [
                finding(
                    "pods_missing",
                    ERROR,
                    None,
                    None,
                    f"Deployment {name} has no pod, and the API says nothing about why",
                    f"kubectl -n {namespace} describe deployment {name} and its ReplicaSet; the events that "
                    "would say why expire after an hour: rerun deploy for this student, then verify again",
                    LOW,
                    {"decided": ["no pod"], "missing": ["FailedCreate events", "a ReplicaFailure condition"]},
                )
            ]
        findings += found
    if "EndpointSlice" in objects:
        for name in expected.get("Service", []):
            if name not in (present.get("Service") or {}):
                continue
            ready = _ready_endpoints(name, objects["EndpointSlice"])
            if not ready:
                findings.append(
                    finding(
                        "no_endpoints",
                        WARNING if pods_by_component.get(name, 0) else ERROR,
                        None,
                        None,
                        f"Service {name} has no ready endpoints" + (" (no EndpointSlice)" if ready is None else ""),
                        "nothing answers behind it (Prometheus cannot scrape, the port-forward fails) until its "
                        "pod is ready: see the pod findings",
                        MEDIUM if ready is None else HIGH,
                        {
                            "decided": ["no ready endpoint in its EndpointSlices"],
                            "missing": ["EndpointSlices"] if ready is None else [],
                        },
                    )
                )
    return findings
