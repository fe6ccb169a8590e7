# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""verify's vocabulary: a finding's shape, its severities and certainties, a student's statuses,
and which cause wins. Every check (pods, objects, targets, access) speaks it; the reports and the
table read it."""

from __future__ import annotations

HEALTHY, DEGRADED, FAILING = "healthy", "degraded", "failing"
ERROR, WARNING = "error", "warning"
HIGH, MEDIUM, LOW = "high", "medium", "low"

# Most important first: among findings of one severity, the first of these is the pod's cause.
PRIORITY = (
    "evicted",
    "preempted",
    "rejected_by_node",
    "pod_failed",
    "node_lost",
    "unschedulable",
    "pending",
    "invalid_image",
    "image_pull",
    "config_error",
    "mount_failed",
    "create_container_error",
    "oom_killed",
    "liveness_probe_kill",
    "poststart_hook_failed",
    "sigkill",
    "segfault",
    "command_not_found",
    "not_executable",
    "exporter_config",
    "misuse_of_shell_builtin",
    "app_error",
    "sigterm",
    "container_exited",
    "crash_loop",
    "unknown",
    "readiness_failing",
    "not_ready",
    "terminating",
    "restarts",
)


def finding(code, severity, container, exit_code, message, hint, certainty=HIGH, evidence=None) -> dict:
    """One finding, the shape every check of this collection reports (pods, objects, targets)."""
    evidence = evidence or {}
    return {
        "code": code,
        "severity": severity,
        "container": container,
        "exit_code": exit_code,
        "message": message,
        "hint": hint,
        "certainty": certainty,
        "evidence": {k: list(evidence.get(k) or []) for k in ("decided", "disagreed", "missing")},
    }


# Every code a finding can carry, and what it means: lab_health_info's documentation lists them
# in this order with these words (a unit test holds the two, and the codes the checks give, equal).
CODES = {
    # the pod as a whole
    "evicted": "the kubelet, a drain or a taint evicted the pod (in any phase, Succeeded included)",
    "preempted": "the scheduler preempted the pod for one of higher priority",
    "rejected_by_node": "the node refused to admit the pod (OutOfmemory, OutOfcpu, NodeAffinity, ...)",
    "pod_failed": "the pod ended and will not restart (a deadline, a node shutdown)",
    "node_lost": "the pod's node stopped reporting; its containers' state is unknown",
    "unschedulable": "no node has room for the pod, or the quota is used up",
    "pending": "the pod waits for a node and nothing says why",
    "terminating": "the pod is being deleted",
    # a container that cannot start
    "invalid_image": "the image reference is malformed",
    "image_pull": "the image cannot be pulled (name, tag, registry access)",
    "config_error": "a ConfigMap, Secret or key the container needs is missing",
    "mount_failed": "a volume cannot be mounted",
    "create_container_error": "the runtime cannot create or start the container",
    # a container that ended
    "oom_killed": "the kernel killed it for memory (OOMKilled), an init container's too",
    "liveness_probe_kill": "the kubelet killed it after failed liveness or startup probes (exit 137, reason Error)",
    "poststart_hook_failed": "its postStart hook failed, and the kubelet killed it",
    "sigkill": "killed by SIGKILL (exit 137) without a probe or OOM kill to explain it",
    "sigterm": "stopped by SIGTERM (exit 143)",
    "segfault": "crashed in native code (exit 139, SIGSEGV)",
    "command_not_found": "its command is not in the image (exit 127)",
    "not_executable": "its command cannot be executed (exit 126)",
    "exporter_config": "the exporter refused its configuration or port (its exit 2)",
    "misuse_of_shell_builtin": "a shell's usage or syntax error (a shell's exit 2)",
    "app_error": "the program's own error (any other exit code)",
    "container_exited": "a server exited 0 and was restarted",
    "crash_loop": "restarting in a loop, its last exit not known",
    "unknown": "not running and ready, and nothing says why",
    # running, but not serving
    "readiness_failing": "running, but its readiness probe fails",
    "not_ready": "every container ready, the pod's Ready condition False",
    "restarts": "running again after more restarts than allowed, or after an abnormal exit",
    # the lab's objects
    "pods_missing": "a Deployment of the lab has no pods",
    "object_missing": "an object of the lab is missing",
    "objects_unchecked": "the lab's objects could not be read",
    "scaled_to_zero": "a Deployment of the lab is scaled to 0",
    "rollout_stuck": "a Deployment's rollout makes no progress",
    "replica_failure": "the ReplicaSet cannot create pods",
    "quota_exceeded": "the namespace's quota refuses a pod",
    "pod_security_forbidden": "Pod Security admission refuses a pod",
    "no_endpoints": "a Service of the lab has no ready endpoints",
    # what the programs say
    "prometheus_unreachable": "the student's Prometheus does not answer",
    "target_down": "a scrape target of Prometheus is down",
    "target_missing": "a scrape target of the lab is not configured in Prometheus",
    "series_missing": "the A/B series are not in Prometheus",
    "grafana_unreachable": "the student's Grafana does not answer /api/health",
    # the student's own access, and the cluster
    "student_access_broken": "the student's kubeconfig or Grafana password does not work",
    "student_access_unchecked": "the student's access could not be checked",
    "cluster_unreachable": "the student's cluster did not answer",
}
