# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why is a pod unhealthy? Pure functions over Pods and Events as the API returns them.

The one distinction this exists for: exit code 137 is SIGKILL, and the kernel's OOM killer is
only one sender. The kubelet SIGKILLs a container whose liveness (or startup) probe keeps
failing, and the container's last state then says `Reason: Error`, not `OOMKilled`. The
original lab's exporter was that case (killed while pip-installing at start) and was
misdiagnosed as an OOM kill.
"""

from __future__ import annotations

import re

HEALTHY, DEGRADED, FAILING = "healthy", "degraded", "failing"
ERROR, WARNING = "error", "warning"

# Most important first: the pod's `cause` is the first of these among its findings.
PRIORITY = (
    "evicted",
    "unschedulable",
    "invalid_image",
    "image_pull",
    "config_error",
    "create_container_error",
    "oom_killed",
    "liveness_probe_kill",
    "sigkill",
    "segfault",
    "command_not_found",
    "not_executable",
    "misuse_of_shell_builtin",
    "app_error",
    "sigterm",
    "readiness_failing",
    "restarts",
)

WAITING_CODES = {
    "ImagePullBackOff": "image_pull",
    "ErrImagePull": "image_pull",
    "ErrImageNeverPull": "image_pull",
    "InvalidImageName": "invalid_image",
    "CreateContainerConfigError": "config_error",
    "CreateContainerError": "create_container_error",
    "RunContainerError": "create_container_error",
}

EXIT_CODES = {
    2: "misuse_of_shell_builtin",
    126: "not_executable",
    127: "command_not_found",
    139: "segfault",
}

SIGNALS = {
    1: "SIGHUP",
    2: "SIGINT",
    3: "SIGQUIT",
    4: "SIGILL",
    6: "SIGABRT",
    7: "SIGBUS",
    8: "SIGFPE",
    9: "SIGKILL",
    11: "SIGSEGV",
    13: "SIGPIPE",
    14: "SIGALRM",
    15: "SIGTERM",
}

# Which role variable sizes which container, so hints can name the knob (and its value).
OUR_CONTAINERS = {
    ("metrics-exporter", "exporter"): "metrics_exporter",
    ("metrics-exporter", "install-dependencies"): "metrics_exporter_init",
    ("prometheus", "prometheus"): "prometheus",
    ("grafana", "grafana"): "grafana",
}

# "spec.containers{exporter}" / "spec.initContainers{install-dependencies}"
_FIELD_PATH = re.compile(r"spec\.(?:init)?[cC]ontainers\{(?P<name>[^}]+)\}")


def _containers(pod: dict) -> list[tuple[dict, dict, bool]]:
    """(status, spec, is_init) for every container and init container with a status."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    specs = {c["name"]: (c, False) for c in spec.get("containers") or []}
    specs.update({c["name"]: (c, True) for c in spec.get("initContainers") or []})
    out = []
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            container_spec, _ = specs.get(cs.get("name"), ({}, key == "initContainerStatuses"))
            out.append((cs, container_spec, key == "initContainerStatuses"))
    return out


def _events_for(events: list[dict], pod: dict, container: str | None = None) -> list[dict]:
    """Events about this pod (and container); events outlive restarts, so they carry the why."""
    meta = pod.get("metadata") or {}
    mine = []
    for event in events or []:
        involved = event.get("involvedObject") or {}
        if involved.get("kind", "Pod") != "Pod" or involved.get("name") != meta.get("name"):
            continue
        if involved.get("uid") and meta.get("uid") and involved["uid"] != meta["uid"]:
            continue  # an earlier pod of the same name
        if container is not None:
            match = _FIELD_PATH.search(involved.get("fieldPath") or "")
            if match and match.group("name") != container:
                continue
            if not match and container not in (event.get("message") or ""):
                continue
        mine.append(event)
    return mine


def _probe_kills(events: list[dict]) -> list[dict]:
    """Evidence that the kubelet killed the container for a failing liveness or startup probe.

    The kubelet records `Unhealthy` "Liveness probe failed: ..." for each failed probe, then
    `Killing` "Container X failed liveness probe, will be restarted" when it gives up.
    """
    evidence = []
    for event in events:
        message = (event.get("message") or "").lower()
        reason = event.get("reason")
        if (reason == "Killing" and ("failed liveness probe" in message or "failed startup probe" in message)) or (
            reason == "Unhealthy" and ("liveness probe failed" in message or "startup probe failed" in message)
        ):
            evidence.append(event)
    return evidence


def _count(event: dict) -> int:
    return int(event.get("count") or (event.get("series") or {}).get("count") or 1)


def _memory_limit(spec: dict) -> str | None:
    return ((spec.get("resources") or {}).get("limits") or {}).get("memory")


def _knob(pod: dict, container: str) -> str | None:
    app = ((pod.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/name")
    return OUR_CONTAINERS.get((app, container))


def _finding(code, severity, container, exit_code, message, hint) -> dict:
    return {
        "code": code,
        "severity": severity,
        "container": container,
        "exit_code": exit_code,
        "message": message,
        "hint": hint,
    }


def _termination_finding(pod, cs, spec, is_init, terminated, events, severity) -> dict | None:
    name = cs.get("name")
    label = f"init container {name}" if is_init else f"container {name}"
    exit_code = terminated.get("exitCode")
    reason = terminated.get("reason") or ""
    signal = terminated.get("signal")
    knob = _knob(pod, name)
    limit = _memory_limit(spec)
    if exit_code == 0 and reason == "Completed":
        return None  # a clean exit; restarts of it are judged by the restart count

    # The kernel OOM killer: the runtime reports reason OOMKilled (exit 137, sometimes 0 or -1).
    if reason == "OOMKilled":
        where = f"memory limit {limit} was exceeded" if limit else "the node ran out of memory for it"
        hint = (
            f"{where}: raise {knob}_memory_limit (now {limit}) or remove unused packages"
            if knob
            else f"{where}: raise resources.limits.memory of {label} or lower its memory use"
        )
        return _finding("oom_killed", severity, name, exit_code, f"{label} exited {exit_code} (OOMKilled)", hint)

    code_text = f"exited {exit_code}" + (f" ({reason})" if reason else "")
    if exit_code in (137, 143):
        kills = _probe_kills(_events_for(events, pod, name))
        if kills:
            startup = any("startup probe" in (e.get("message") or "").lower() for e in kills)
            probe = "startup" if startup else "liveness"
            failures = sum(_count(e) for e in kills if e.get("reason") == "Unhealthy")
            has_startup_probe = bool(spec.get("startupProbe"))
            if has_startup_probe and not startup:
                hint = (
                    "the liveness probe killed it after start-up: it stopped answering the probe; raise "
                    "livenessProbe timeoutSeconds/failureThreshold or find why it hangs (kubectl logs --previous)"
                )
            elif startup:
                hint = (
                    "the startup probe's budget (periodSeconds x failureThreshold) ran out: the container "
                    "starts slower than allowed; raise startupProbe failureThreshold or start faster"
                )
            else:
                hint = (
                    "the liveness probe killed the container during start-up: add a startupProbe or install "
                    "packages before start" + (" (metrics_exporter_image, or the init container)" if knob else "")
                )
            return _finding(
                "liveness_probe_kill",
                severity,
                name,
                exit_code,
                f"{label} {code_text}: killed by the kubelet after {failures or 'repeated'} failed {probe} probes "
                f"(SIGKILL{' after SIGTERM' if exit_code == 137 else ''}; not an OOM kill)",
                hint,
            )
        if exit_code == 137:
            return _finding(
                "sigkill",
                severity,
                name,
                exit_code,
                f"{label} {code_text}: killed by SIGKILL with no OOMKilled reason and no probe-kill events",
                "exit 137 is SIGKILL from any sender: either the OOM killer (check `kubectl describe node` and "
                "dmesg; memory limit " + (limit or "unset") + ") or a probe kill whose events have expired "
                "(events last ~1 h): watch `kubectl get events -w` at the next restart",
            )
        return _finding(
            "sigterm",
            severity,
            name,
            exit_code,
            f"{label} {code_text}: stopped by SIGTERM",
            "something asked it to stop (a rollout, a node drain, or a preStop/probe): check recent events; "
            "if it exits on SIGTERM without being asked, check its own shutdown handling",
        )

    if exit_code in EXIT_CODES:
        code = EXIT_CODES[exit_code]
        hints = {
            "misuse_of_shell_builtin": "exit 2 is a usage error: the exporter exits 2 on bad configuration with "
            "one line naming the setting; read it with kubectl logs --previous",
            "not_executable": "exit 126: the command was found but cannot run (permissions, or a read-only or "
            "noexec mount); check the image and command",
            "command_not_found": "exit 127: the command is not in the image or PATH; check command/args and image",
            "segfault": "exit 139 is SIGSEGV: a native library crashed; check the image's library versions "
            "(e.g. numpy built for another CPU) and kubectl logs --previous",
        }
        return _finding(code, severity, name, exit_code, f"{label} {code_text}", hints[code])

    if isinstance(exit_code, int) and 128 < exit_code < 160:
        number = signal or exit_code - 128
        sig = SIGNALS.get(number, f"signal {number}")
        return _finding(
            "app_error",
            severity,
            name,
            exit_code,
            f"{label} {code_text}: killed by {sig}",
            "a signal from inside the container or the runtime; kubectl logs --previous shows the last words",
        )
    return _finding(
        "app_error",
        severity,
        name,
        exit_code,
        f"{label} {code_text}",
        "the application failed: kubectl logs --previous -c "
        + str(name)
        + " shows why"
        + (" (exit 255 is often a wrapped or out-of-range exit status)" if exit_code == 255 else ""),
    )


def _container_findings(pod, events, max_restarts) -> list[dict]:
    findings = []
    for cs, spec, is_init in _containers(pod):
        name = cs.get("name")
        state = cs.get("state") or {}
        last = (cs.get("lastState") or {}).get("terminated")
        restarts = int(cs.get("restartCount") or 0)
        running_ready = "running" in state and (cs.get("ready") or is_init)
        severity = WARNING if running_ready else ERROR
        label = f"init container {name}" if is_init else f"container {name}"

        waiting = state.get("waiting") or {}
        code = WAITING_CODES.get(waiting.get("reason"))
        if code:
            findings.append(
                _finding(
                    code,
                    ERROR,
                    name,
                    None,
                    f"{label} waiting: {waiting.get('reason')}: {waiting.get('message', '')}".strip(),
                    {
                        "image_pull": f"the node cannot pull {cs.get('image') or spec.get('image')}: check its name "
                        "and tag, registry access and pull secrets (or mirror it and set the role's *_image)",
                        "invalid_image": f"{spec.get('image') or cs.get('image')} is not a valid image reference",
                        "config_error": "a ConfigMap or Secret (or a key in it) the container refers to is missing: "
                        "rerun deploy.yml to recreate it",
                        "create_container_error": "the runtime could not create or start the container: read the "
                        "message; often a bad command, mount or security context",
                    }[code],
                )
            )
            continue

        # CrashLoopBackOff is a state, not a cause: the cause is in the last termination.
        terminated = state.get("terminated") if is_init or "terminated" in state else None
        if terminated and not (is_init and terminated.get("exitCode") == 0):
            finding = _termination_finding(pod, cs, spec, is_init, terminated, events, ERROR)
            if finding:
                findings.append(finding)
                continue
        if last and (restarts > 0 or waiting.get("reason") == "CrashLoopBackOff"):
            finding = _termination_finding(pod, cs, spec, is_init, last, events, severity)
            if finding and (
                severity == ERROR
                or restarts > max_restarts
                or finding["code"] in ("oom_killed", "liveness_probe_kill", "sigkill", "segfault")
            ):
                if severity == WARNING:
                    finding["message"] += f"; running again, {restarts} restarts"
                findings.append(finding)
                continue

        if "running" in state and not cs.get("ready") and not is_init:
            failed = [
                e
                for e in _events_for(events, pod, name)
                if e.get("reason") == "Unhealthy" and "readiness probe failed" in (e.get("message") or "").lower()
            ]
            if failed:
                findings.append(
                    _finding(
                        "readiness_failing",
                        WARNING,
                        name,
                        None,
                        f"{label} is running but not ready: {sum(_count(e) for e in failed)} failed readiness probes "
                        f"({(failed[-1].get('message') or '').strip()})",
                        "the Service sends it no traffic until /healthz answers: kubectl logs -c " + str(name),
                    )
                )
                continue
        if restarts > max_restarts and running_ready:
            findings.append(
                _finding(
                    "restarts",
                    WARNING,
                    name,
                    (last or {}).get("exitCode"),
                    f"{label} is running but restarted {restarts} times (allowed: {max_restarts})",
                    "it recovers but keeps restarting: kubectl logs --previous -c "
                    + str(name)
                    + " shows the last exit",
                )
            )
    return findings


def _pod_findings(pod, events) -> list[dict]:
    status = pod.get("status") or {}
    if status.get("reason") == "Evicted":
        return [
            _finding(
                "evicted",
                ERROR,
                None,
                None,
                f"pod evicted: {status.get('message', '')}".strip(),
                "the node reclaimed resources (memory, disk or an emptyDir over its sizeLimit): "
                "check the message; lower usage or raise the limit; the Deployment makes a new pod",
            )
        ]
    if status.get("phase") == "Pending":
        scheduling = [e for e in _events_for(events, pod) if e.get("reason") == "FailedScheduling"]
        unschedulable = any(
            c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable"
            for c in status.get("conditions") or []
        )
        if scheduling or unschedulable:
            message = (scheduling[-1].get("message") if scheduling else None) or next(
                (c.get("message") for c in status.get("conditions") or [] if c.get("reason") == "Unschedulable"), ""
            )
            return [
                _finding(
                    "unschedulable",
                    ERROR,
                    None,
                    None,
                    f"pod cannot be scheduled: {message}",
                    "no node has the requested cpu/memory free (or the quota is used up): lower the "
                    "roles' *_request values, add nodes, or fewer students per cluster",
                )
            ]
    return []


def diagnose_pod(pod: dict, events: list[dict] | None = None, max_restarts: int = 3) -> dict:
    """Diagnose one Pod (as the API returns it, camelCase) from its status and its events.

    Returns {"status": healthy|degraded|failing, "cause": code or None, "findings": [...]}.
    """
    findings = _pod_findings(pod, events or []) or _container_findings(pod, events or [], max_restarts)
    findings.sort(key=lambda f: (f["severity"] != ERROR, PRIORITY.index(f["code"])))
    if not findings:
        return {"status": HEALTHY, "cause": None, "findings": []}
    status = FAILING if findings[0]["severity"] == ERROR else DEGRADED
    return {"status": status, "cause": findings[0]["code"], "findings": findings}
