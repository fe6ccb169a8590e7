# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cohort's health: pods and events in two API calls, each student's Prometheus and Grafana
read concurrently. The HTTP is injected (lab_io), so this is tested with real answers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.mlopslab.monitoring.plugins.module_utils.verify.diagnosis import diagnose_pod
from ansible_collections.mlopslab.monitoring.plugins.module_utils.verify.findings import (
    DEGRADED,
    ERROR,
    FAILING,
    HEALTHY,
    PRIORITY,
    WARNING,
    finding,
)
from ansible_collections.mlopslab.monitoring.plugins.module_utils.verify.objects import (
    EXPECTED,
    OBJECT_CODES,
    object_findings,
)
from ansible_collections.mlopslab.monitoring.plugins.module_utils.verify.targets import (
    series_findings,
    series_present,
    series_query,
    summarize_targets,
    target_findings,
)

COMPONENTS = ("metrics-exporter", "prometheus", "grafana")
STUDENT_CODES = (
    "cluster_unreachable",
    *OBJECT_CODES,
    "prometheus_unreachable",
    "target_missing",
    "target_down",
    "series_missing",
    "grafana_unreachable",
    "student_access_broken",
    "student_access_unchecked",
)


class LabHealthError(Exception):
    """The check itself cannot run (the API refuses the pod list); str() is the one sentence."""


def _finding(code, message, hint, severity=ERROR, certainty="high"):
    return finding(code, severity, None, None, message, hint, certainty)


def _rank(item: dict) -> tuple:
    codes = PRIORITY + STUDENT_CODES
    return item["severity"] != ERROR, codes.index(item["code"]) if item["code"] in codes else len(codes)


def _pod_summary(pod: dict, events: list[dict], max_restarts: int) -> dict:
    diagnosis = diagnose_pod(pod, events, max_restarts)
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    meta = pod.get("metadata") or {}
    findings = [dict(f, pod=meta.get("name")) for f in diagnosis["findings"]]
    return {
        "name": meta.get("name"),
        "component": (meta.get("labels") or {}).get("app.kubernetes.io/name"),
        "phase": (pod.get("status") or {}).get("phase"),
        "ready": bool(statuses) and all(s.get("ready") for s in statuses),
        "restarts": sum(int(s.get("restartCount") or 0) for s in statuses),
        "status": diagnosis["status"],
        "cause": diagnosis["cause"],
        "findings": findings,
    }


def _check_prometheus(student: dict, fetch, expected_jobs, required_series) -> None:
    try:
        student["targets"] = summarize_targets(fetch("/api/v1/targets", {}))
        student["series"] = series_present(
            fetch("/api/v1/query", {"query": series_query(required_series)}), required_series
        )
    except Exception as err:  # one student's Prometheus must never stop the others' check
        student["findings"].append(
            _finding(
                "prometheus_unreachable",
                f"Prometheus unreachable: {err}",
                "is its pod running (see the pod findings)? Through the API server's service proxy, a "
                "NetworkPolicy may also block the proxy: set student_namespace_proxy_cidrs",
            )
        )
        return
    student["findings"] += target_findings(student["targets"], expected_jobs)
    student["findings"] += series_findings(student["series"])


def _check_grafana(student: dict, fetch) -> None:
    try:
        health = fetch("/api/health", {})
        student["grafana"] = {"checked": True, "ok": health.get("database") == "ok", "version": health.get("version")}
    except Exception as err:  # as above: reported, never raised
        student["grafana"] = {"checked": True, "ok": False, "error": str(err)}
        student["findings"].append(
            _finding("grafana_unreachable", f"Grafana unreachable: {err}", "see the grafana pod's findings")
        )


def _check_access(student: dict, check) -> None:
    """What was handed out, tried as the student: check(grafana result) -> {"problems": [...],
    "unchecked": why, "renew": command}. A problem is an error: a student cannot work with
    credentials that do not work."""
    try:
        outcome = check(student["grafana"])
    except Exception as err:  # as above: reported, never raised
        outcome = {"problems": [], "unchecked": f"the check itself failed: {err}"}
    student["access"] = {"checked": not outcome.get("unchecked"), "problems": outcome.get("problems") or []}
    if outcome.get("problems"):
        student["findings"].append(
            _finding(
                "student_access_broken",
                "what was handed out does not work: " + "; ".join(outcome["problems"]),
                f"renew it ({outcome.get('renew', 'rerun deploy.yml')}) and hand out the new handout",
            )
        )
    elif outcome.get("unchecked"):
        student["findings"].append(
            _finding(
                "student_access_unchecked",
                f"the student's access was not checked: {outcome['unchecked']}",
                "deploy.yml issues it; -e mlopslab_verify_student_access=false skips the check",
                WARNING,
                "low",
            )
        )


def _probe(student, prometheus_for, grafana_for, access_for, expected_jobs, required_series) -> None:
    fetch = prometheus_for(student["namespace"])
    if fetch is not None:
        _check_prometheus(student, fetch, expected_jobs, required_series)
    fetch = grafana_for(student["namespace"])
    if fetch is not None:
        _check_grafana(student, fetch)
    check = access_for(student["namespace"]) if access_for else None
    if check is not None:
        _check_access(student, check)


def check_cohort(
    namespaces,
    list_pods,
    list_events,
    prometheus_for,
    grafana_for,
    *,
    expected_jobs,
    required_series,
    max_restarts=3,
    workers=8,
    list_objects=None,
    expected_objects=None,
    access_for=None,
) -> dict:
    """Per-student results and a cohort summary.

    list_pods()/list_events() return every pod/event of the cohort (one call each);
    list_objects(kind) returns every object of that kind in the cohort (one call per kind:
    Deployment, ReplicaSet, Service, EndpointSlice, ConfigMap), or None when objects are not
    checked; prometheus_for(ns)/grafana_for(ns) return a fetch(path, query) -> JSON for that
    student, or None when not checked; access_for(ns) returns a check() of what was handed out
    to that student (see _check_access), or None when not checked.
    """
    try:
        pods = list_pods()
    except Exception as err:
        raise LabHealthError(f"cannot list the cohort's pods: {err}") from err
    try:
        events = list_events()
    except Exception:  # events only sharpen the diagnosis (liveness vs OOM); without them we still check
        events = []
    objects, unchecked = {}, {}
    for kind in ("Deployment", "ReplicaSet", "Service", "EndpointSlice", "ConfigMap") if list_objects else ():
        try:
            objects[kind] = list_objects(kind)
        except Exception as err:  # a kind we may not list: said, never taken as "all there"
            unchecked[kind] = str(err)
    students = []
    for namespace in namespaces:
        mine = [p for p in pods if (p.get("metadata") or {}).get("namespace") == namespace]
        their_events = [e for e in events if (e.get("involvedObject") or {}).get("namespace") == namespace]
        summaries = [_pod_summary(p, their_events, max_restarts) for p in mine]
        findings = [f for s in summaries for f in s["findings"]]
        by_component = {c: sum(s["component"] == c for s in summaries) for c in COMPONENTS}
        if list_objects:
            theirs = {
                kind: [o for o in items if (o.get("metadata") or {}).get("namespace") == namespace]
                for kind, items in objects.items()
            }
            findings += object_findings(namespace, theirs, their_events, by_component, expected_objects or EXPECTED)
            if unchecked:
                findings.append(
                    _finding(
                        "objects_unchecked",
                        "could not check " + "; ".join(f"{k}s ({v})" for k, v in unchecked.items()),
                        "verify needs to list these kinds in the cohort's namespaces: check the kubeconfig's "
                        "permissions",
                        WARNING,
                        "low",
                    )
                )
        missing = [c for c in COMPONENTS if not by_component[c]]
        if missing and not list_objects:
            findings.append(
                _finding(
                    "pods_missing",
                    f"no pod for {', '.join(missing)}",
                    "the Deployment cannot create its pod (quota, admission) or was deleted: `kubectl -n "
                    f"{namespace} get events` shows why; rerun deploy.yml to recreate",
                )
            )
        students.append(
            {
                "namespace": namespace,
                "pods": summaries,
                "targets": [],
                "series": {},
                "grafana": {"checked": False},
                "access": {"checked": False, "problems": []},
                "findings": findings,
                "restarts": sum(s["restarts"] for s in summaries),
            }
        )

    def probe(student):
        _probe(student, prometheus_for, grafana_for, access_for, expected_jobs, required_series)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(probe, students))

    return judge(students)


def judge(students: list[dict]) -> dict:
    """Each student's status and cause from their findings (the most important first), and the summary."""
    for student in students:
        student["findings"].sort(key=_rank)
        top = student["findings"][0] if student["findings"] else None
        student["cause"] = top["code"] if top else None
        student["certainty"] = top.get("certainty", "high") if top else "high"
        student["status"] = HEALTHY if not top else FAILING if top["severity"] == ERROR else DEGRADED
    return {"students": students, "summary": summarize(students)}


def unreachable(namespaces: list[str], cluster: str, why: str) -> list[dict]:
    """The students of a cluster verify could not check at all: failing with the reason, never
    left out of the report (which would read as a smaller, healthier cohort)."""
    return judge(
        [
            {
                "namespace": namespace,
                "pods": [],
                "targets": [],
                "series": {},
                "grafana": {"checked": False},
                "access": {"checked": False, "problems": []},
                "findings": [
                    _finding(
                        "cluster_unreachable",
                        f"the lab could not be checked: {cluster} did not answer ({why})",
                        f"check that mlopslab_kubeconfig / mlopslab_context reach {cluster}, then rerun verify.yml",
                    )
                ],
                "restarts": 0,
            }
            for namespace in namespaces
        ]
    )["students"]


def summarize(students: list[dict]) -> dict:
    """Counts over judged students: how many of each status, and of each top cause."""
    summary = {"students": len(students)}
    for status in (HEALTHY, DEGRADED, FAILING):
        summary[status] = sum(s["status"] == status for s in students)
    summary["causes"] = {}
    for student in students:
        if student["cause"]:
            summary["causes"][student["cause"]] = summary["causes"].get(student["cause"], 0) + 1
    return summary


def health(results: list[dict]) -> dict:
    """lab_health_info's per-cluster answers as one cohort's: students (each with its cluster),
    the summary recounted, and the clusters checked. A cluster whose check failed as a whole
    (the API went away) gives each of its students a cluster_unreachable finding: the other
    clusters' students are still reported, and nobody is left out."""
    students, clusters = [], []
    for result in results:
        cluster = result["item"]
        checked = result.get("students") is not None  # fail_on_unhealthy fails with the students
        why = ""
        if not checked:
            why = result.get("cluster_error") or result.get("msg") or "no answer from lab_health_info"
            theirs = unreachable(cluster["namespaces"], cluster["name"], why)
        else:
            theirs = result["students"]
        mine = [{**s, "cluster": cluster["name"]} for s in theirs]
        students += mine
        # Why a cluster was not checked is said once for it, not once per student.
        clusters.append({"name": cluster["name"], "students": len(mine), "checked": checked, "error": why})
    return {"students": students, "summary": summarize(students), "clusters": clusters}
