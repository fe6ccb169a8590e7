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


# Every code a finding can carry: what it means, and what to do about it in general (a finding's own
# hint is more precise). lab_health_info's documentation lists them in this order with these words
# (a unit test holds the two, and the codes the checks give, equal).
CODES = {
    # the pod as a whole
    "evicted": (
        "the kubelet, a drain or a taint evicted the pod (in any phase, Succeeded included)",
        (
            "kubectl describe pod says why (node memory or disk pressure, a drain); the Deployment has made a new pod, "
            "and the evicted one can be deleted"
        ),
    ),
    "preempted": (
        "the scheduler preempted the pod for one of higher priority",
        (
            "the Deployment makes a new pod when there is room; if it repeats, ask the cluster's administrator about "
            "priority classes"
        ),
    ),
    "rejected_by_node": (
        "the node refused to admit the pod (OutOfmemory, OutOfcpu, NodeAffinity, ...)",
        (
            "the pod's status message names what the node lacks; the Deployment makes a new pod, which may land on "
            "another node"
        ),
    ),
    "pod_failed": (
        "the pod ended and will not restart (a deadline, a node shutdown)",
        "the pod's status message says why; delete the pod and its Deployment makes a new one",
    ),
    "node_lost": (
        "the pod's node stopped reporting; its containers' state is unknown",
        (
            "kubectl get nodes shows the node NotReady; the cluster's administrator brings it back, and the pod moves "
            "once evicted"
        ),
    ),
    "unschedulable": (
        "no node has room for the pod, or the quota is used up",
        (
            "kubectl describe pod names the shortage; lower the lab's requests, raise the quota or add a node "
            "(deploy's capacity table shows the room)"
        ),
    ),
    "pending": (
        "the pod waits for a node and nothing says why",
        "kubectl describe pod and the namespace's events; run verify again a minute later",
    ),
    "terminating": (
        "the pod is being deleted",
        "wait; a pod that stays is held by a finalizer or a node that stopped reporting",
    ),
    # a container that cannot start
    "invalid_image": (
        "the image reference is malformed",
        "correct the image setting named in the message, then run deploy again",
    ),
    "image_pull": (
        "the image cannot be pulled (name, tag, registry access)",
        "kubectl describe pod shows the pull error; check the image name and tag and that the nodes reach the registry",
    ),
    "config_error": (
        "a ConfigMap, Secret or key the container needs is missing",
        "run deploy again; it recreates the lab's ConfigMaps and Secrets",
    ),
    "mount_failed": (
        "a volume cannot be mounted",
        "kubectl describe pod names the volume; run deploy again to recreate the lab's ConfigMaps and Secrets",
    ),
    "create_container_error": (
        "the runtime cannot create or start the container",
        "kubectl describe pod shows the runtime's message (often a securityContext the image cannot meet)",
    ),
    # a container that ended
    "oom_killed": (
        "the kernel killed it for memory (OOMKilled), an init container's too",
        "raise the memory limit the hint names (a role setting and its value), then run deploy again",
    ),
    "liveness_probe_kill": (
        "the kubelet killed it after failed liveness or startup probes (exit 137, reason Error)",
        (
            "the program answered its probe too late (as when it pip-installs at start); install in the image, or give "
            "the probe more time"
        ),
    ),
    "poststart_hook_failed": (
        "its postStart hook failed, and the kubelet killed it",
        "the hook's message says what failed; correct or remove lifecycle.postStart",
    ),
    "sigkill": (
        "killed by SIGKILL (exit 137) without a probe or OOM kill to explain it",
        "something outside the pod killed it (a kubectl delete, a node under pressure); the namespace's events say who",
    ),
    "sigterm": (
        "stopped by SIGTERM (exit 143)",
        "it was asked to stop (a rollout, a drain); if it repeats, read kubectl logs --previous",
    ),
    "segfault": (
        "crashed in native code (exit 139, SIGSEGV)",
        "read kubectl logs --previous; a native library of the image crashed",
    ),
    "command_not_found": (
        "its command is not in the image (exit 127)",
        "correct the container's command, or use an image that has it",
    ),
    "not_executable": (
        "its command cannot be executed (exit 126)",
        "make the command executable in the image, or run it through its interpreter",
    ),
    "exporter_config": (
        "the exporter refused its configuration or port (its exit 2)",
        "kubectl logs --previous names the setting in one line; correct it in the inventory, then run deploy again",
    ),
    "misuse_of_shell_builtin": (
        "a shell's usage or syntax error (a shell's exit 2)",
        "read kubectl logs --previous and correct the script",
    ),
    "app_error": (
        "the program's own error (any other exit code)",
        "kubectl logs --previous shows the program's own message",
    ),
    "container_exited": (
        "a server exited 0 and was restarted",
        "a server should not exit; read kubectl logs --previous",
    ),
    "crash_loop": (
        "restarting in a loop, its last exit not known",
        "read kubectl logs --previous and kubectl describe pod",
    ),
    "unknown": (
        "not running and ready, and nothing says why",
        "kubectl describe pod and the namespace's events",
    ),
    # running, but not serving
    "readiness_failing": (
        "running, but its readiness probe fails",
        "kubectl describe pod shows the probe's answer; read the container's logs",
    ),
    "not_ready": (
        "every container ready, the pod's Ready condition False",
        "kubectl describe pod shows which condition holds it (a readiness gate, the node)",
    ),
    "restarts": (
        "running again after more restarts than allowed, or after an abnormal exit",
        "kubectl logs --previous says why it restarted; the count starts again with a new pod",
    ),
    # the lab's objects
    "pods_missing": (
        "a Deployment of the lab has no pods",
        "the namespace's events say why the Deployment made no pod; run deploy again to recreate it",
    ),
    "object_missing": (
        "an object of the lab is missing",
        "run deploy again; it recreates the object",
    ),
    "objects_unchecked": (
        "the lab's objects could not be read",
        "check the instructor's rights (instructor_rights.yml) and that the API server answers",
    ),
    "scaled_to_zero": (
        "a Deployment of the lab is scaled to 0",
        "run deploy again; it sets the replicas back",
    ),
    "rollout_stuck": (
        "a Deployment's rollout makes no progress",
        "kubectl rollout status names the new pod; correct its cause, then run deploy again",
    ),
    "replica_failure": (
        "the ReplicaSet cannot create pods",
        "kubectl describe replicaset shows the refusal (quota, Pod Security); correct it, then run deploy again",
    ),
    "quota_exceeded": (
        "the namespace's quota refuses a pod",
        "raise the quota setting the message names, or remove what the student added, then run deploy again",
    ),
    "pod_security_forbidden": (
        "Pod Security admission refuses a pod",
        "the message names what the restricted profile refuses; remove it, then run deploy again",
    ),
    "no_endpoints": (
        "a Service of the lab has no ready endpoints",
        "the pods behind the Service are not ready; see their findings",
    ),
    # what the programs say
    "prometheus_unreachable": (
        "the student's Prometheus does not answer",
        "see the prometheus pod's findings",
    ),
    "target_down": (
        "a scrape target of Prometheus is down",
        "the exporter does not answer Prometheus; see its pod's findings",
    ),
    "target_missing": (
        "a scrape target of the lab is not configured in Prometheus",
        "run deploy again; it renders the static scrape config",
    ),
    "series_missing": (
        "the A/B series are not in Prometheus",
        "wait one scrape interval after the exporter starts, then read its /metrics",
    ),
    "grafana_unreachable": (
        "the student's Grafana does not answer /api/health",
        "see the grafana pod's findings",
    ),
    # the student's own access, and the cluster
    "student_access_broken": (
        "the student's kubeconfig or Grafana password does not work",
        "renew it (the hint gives the command) and hand out the new handout",
    ),
    "student_access_unchecked": (
        "the student's access could not be checked",
        "deploy writes the access files it needs; -e mlopslab_verify_student_access=false skips the check",
    ),
    "cluster_unreachable": (
        "the student's cluster did not answer",
        (
            "check that mlopslab_kubeconfig and mlopslab_context reach the cluster, then run verify again; the other "
            "clusters are still checked"
        ),
    ),
}
