# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cohort across clusters: students grouped by their connection settings, and each
cluster-wide task's per-cluster results put back together.: which students share a cluster,
and how a cluster is named and told apart. Each verb puts its own per-cluster results together
in its own package (deploy.capacity, deploy.outcomes, access.sheet, verify.lab_health, teardown.plan)."""

from __future__ import annotations

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
