# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cohort across clusters: students grouped by their connection settings, and each
cluster-wide task's per-cluster results put back together.

Every cluster-side task of the playbooks runs once per cluster (a loop over the groups made
here; one module call per cluster, never per student). The functions below turn the loop's
registered results (each carrying its cluster as ``item``) into the one answer per student or
per cohort that the reports and the per-student tasks read. Pure: unit-tested without Ansible.
"""

from __future__ import annotations

from ansible_collections.mlopslab.monitoring.plugins.module_utils import lifecycle, outcomes
from ansible_collections.mlopslab.monitoring.plugins.module_utils.lab_health import summarize, unreachable

# Every cluster has it and no cohort ever deletes it: its uid tells two connections to one
# cluster apart from two clusters (the identity kubeadm, Cluster API and OpenShift use too).
IDENTITY_NAMESPACE = "kube-system"


def name(kubeconfig: str, context: str) -> str:
    """How a cluster is named in the output: by its context, its kubeconfig, or neither."""
    if kubeconfig and context:
        return f"{context} ({kubeconfig})"
    return context or kubeconfig or "default (K8S_AUTH_KUBECONFIG or ~/.kube/config)"


def group(connections: dict[str, tuple], namespaces: dict[str, str]) -> list[dict]:
    """Students grouped by (kubeconfig, context), in the order their first student comes; each
    group is one cluster of the run, with its students' namespaces (each computed once, from
    that student's own settings: settings.namespaces) and the address students are given for
    it (mlopslab_student_api_server, its first student's)."""
    clusters: dict[tuple, dict] = {}
    for student, (kubeconfig, context, api_server) in connections.items():
        entry = clusters.setdefault(
            (kubeconfig, context),
            {
                "name": name(kubeconfig, context),
                "kubeconfig": kubeconfig,
                "context": context,
                "api_server": api_server,
                "students": [],
                "namespaces": [],
            },
        )
        entry["students"].append(student)
        entry["namespaces"].append(namespaces[student])
    return list(clusters.values())


def api_server_problems(connections: dict[str, tuple]) -> dict[str, str]:
    """Students of one cluster given another mlopslab_student_api_server than its first
    student: kubeconfigs are issued by one call per cluster, with one address for all."""
    first: dict[tuple, tuple[str, str]] = {}
    problems = {}
    for student, (kubeconfig, context, api_server) in connections.items():
        leader, address = first.setdefault((kubeconfig, context), (student, api_server))
        if api_server != address:
            problems[student] = (
                f"differs from {leader}'s ({address or 'none: the address in the kubeconfig'}) on the same cluster "
                f"{name(kubeconfig, context)}: one address is handed out per cluster"
            )
    return problems


def identity(namespaces: list[dict]) -> str | None:
    for namespace in namespaces:
        meta = namespace.get("metadata") or {}
        if meta.get("name") == IDENTITY_NAMESPACE:
            return meta.get("uid")
    return None


def same_cluster_problems(listed: list[dict]) -> list[str]:
    """Two groups of students (different connection settings) that reach one cluster.

    ``listed``: the namespace list's registered loop results, each with its cluster as ``item``.
    Each group's preflight (capacity above all) would count the other group's students as
    someone else's, and each would be applied by its own call: refused, named."""
    seen: dict[str, dict] = {}
    problems = []
    for result in listed:
        uid = identity(result.get("resources") or [])
        if not uid:
            continue
        cluster = result["item"]
        if uid in seen:
            first = seen[uid]
            problems.append(
                f"the students of {cluster['name']} ({', '.join(cluster['students'])}) and of {first['name']} "
                f"({', '.join(first['students'])}) reach the same cluster ({IDENTITY_NAMESPACE} uid {uid}): give them "
                "the same mlopslab_kubeconfig and mlopslab_context"
            )
        else:
            seen[uid] = cluster
    return problems


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
        report = lifecycle.capacity_report(
            result.get("resources") or [], pods_of.get(cluster["name"], []), students, cluster["namespaces"]
        )
        report["cluster"] = cluster["name"]
        reports.append(report)
        if several:
            table += [""] * bool(table) + [f"cluster {cluster['name']}:"]
        table += lifecycle.capacity_table(report)
        if several and not report["fits"]:
            verdicts.append(f"On {cluster['name']}: {report['verdict']}")
    fits = all(r["fits"] for r in reports)
    if not several:
        verdicts = [reports[0]["verdict"]] if reports else []
    elif fits:
        verdicts = [f"The cohort fits each of its {len(reports)} clusters' free capacity."]
    return {"fits": fits, "table": table, "verdict": " ".join(verdicts), "clusters": reports}


def deploy_outcomes(
    applied: list[dict], manifests: dict[str, list[dict]], waited: list[dict] | None = None, wait_timeout=None
) -> dict[str, dict]:
    """Each student's share of their cluster's apply and wait (outcomes.deploy_outcomes per
    cluster). ``applied``/``waited``: the apply's and the wait's loop results; ``waited`` None
    when there was no wait. A cluster whose apply or Deployment list failed as a whole fails
    its own students only, with its own message."""
    waits = {r["item"]["name"]: r for r in waited or []}
    answers: dict[str, dict] = {}
    for result in applied:
        cluster = result["item"]
        deployments, wait_error = None, None
        if waited is not None:
            wait = waits.get(cluster["name"]) or {}
            if wait.get("resources") is not None:
                deployments = wait["resources"]
            else:
                wait_error = wait.get("msg") or "no answer from the API"
        students = dict(zip(cluster["students"], cluster["namespaces"], strict=True))
        objects = [manifests[s] for s in cluster["students"]]
        answers.update(outcomes.deploy_outcomes(students, objects, result, deployments, wait_timeout, wait_error))
    return answers


def health(results: list[dict]) -> dict:
    """lab_health_info's per-cluster answers as one cohort's: students (each with its cluster),
    the summary recounted, and the clusters checked. A cluster whose check failed as a whole
    (the API went away) gives each of its students a cluster_unreachable finding: the other
    clusters' students are still reported, and nobody is left out."""
    students, clusters = [], []
    for result in results:
        cluster = result["item"]
        checked = result.get("students") is not None  # fail_on_unhealthy fails with the students
        if not checked:
            why = result.get("msg") or "no answer from lab_health_info"
            theirs = unreachable(cluster["namespaces"], cluster["name"], why)
        else:
            theirs = result["students"]
        mine = [{**s, "cluster": cluster["name"]} for s in theirs]
        students += mine
        clusters.append({"name": cluster["name"], "students": len(mine), "checked": checked})
    return {"students": students, "summary": summarize(students), "clusters": clusters}


def issued(results: list[dict]) -> list[dict]:
    """student_access's answers over the clusters, one entry per student, each naming its cluster
    (the access sheet's column). A cluster whose call failed as a whole (its ServiceAccounts
    could not be listed) gives each of its students that failure as their own: a kubeconfig not
    issued is said per student, never left unsaid."""
    answers = []
    for result in results:
        cluster = result["item"]
        if result.get("students") is not None:
            answers += [{**answer, "cluster": cluster["name"]} for answer in result["students"]]
        elif not result.get("skipped"):
            why = f"{cluster['name']}: {result.get('msg') or 'no answer from student_access'}"
            answers += [
                {"student": student, "namespace": namespace, "cluster": cluster["name"], "kubeconfig": "",
                 "action": "failed", "why": "", "error": why, "changed": False, "token_expires": "", "shortened": False}
                for student, namespace in zip(cluster["students"], cluster["namespaces"], strict=True)
            ]  # fmt: skip
    return answers


def teardown_plan(listed: list[dict], cohort: str, only: list[str], inventory: list[str], whole_cohort: bool) -> dict:
    """lifecycle.namespace_plan on each cluster, put together.

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
        plan = lifecycle.namespace_plan(result.get("resources") or [], cohort, targets, inventory, whole_cohort)
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


def teardown_outcome(deleted: list[dict], remaining: list[dict]) -> dict:
    """Per namespace, what the delete call and the wait that followed it said, per cluster.

    ``deleted``: the delete's loop results (item: a cluster of teardown_plan's ``clusters``),
    per-object results in the order of its namespaces, or a failure of the call as a whole;
    ``remaining``: the wait's loop results (the cohort's namespaces still listed, or why the
    list failed: then whether that cluster's deletions finished is unknown, and said so)."""
    errors, wait_errors, stuck = {}, {}, []
    for result in deleted:
        names = result["item"]["namespaces"]
        answer = result.get("result")
        per_object = answer.get("results") if isinstance(answer, dict) else None
        if per_object is None:
            if result.get("failed") or len(names) != 1:
                # The call failed as a whole: nothing of this cluster can be said deleted.
                per_object = [{"error": {"msg": result.get("msg") or "no answer from the module"}}] * len(names)
            else:
                # kubernetes.core.k8s answers one definition's result as the task's own (runner.py).
                per_object = [result]
        for namespace, answer in zip(names, per_object, strict=True):
            message = ((answer or {}).get("error") or {}).get("msg") or ""
            if message:
                errors[namespace] = message
    for result in remaining:
        names = result["item"]["namespaces"]
        if result.get("resources") is None:
            for namespace in names:
                wait_errors[namespace] = result.get("msg") or "no answer from the API"
        else:
            stuck += [
                {**e, "cluster": result["item"]["name"]} for e in lifecycle.terminating(result["resources"], names)
            ]
    return {"errors": errors, "wait_errors": wait_errors, "stuck": sorted(stuck, key=lambda e: e["namespace"])}
