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
