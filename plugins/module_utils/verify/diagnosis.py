# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why is a pod unhealthy? Pure functions over Pods and Events as the API returns them.

The distinction this began with: exit code 137 is SIGKILL, and the kernel's OOM killer is only
one sender. The kubelet SIGKILLs a container whose liveness (or startup) probe keeps failing,
and the container's last state then says `Reason: Error`, not `OOMKilled`. The original lab's
exporter was that case (killed while pip-installing at start) and was misdiagnosed as an OOM
kill.

It fails closed. Healthy is earned: every container in the pod's spec running and ready, every
init container completed with 0, the pod Running, Ready and not being deleted (`_earned`); any
pod that is not gets a finding, with `unknown` when the evidence names no cause. Real status is
often partial (lastState lost after a node restart, no state, no restartCount, events expired
after an hour or without fieldPath) and sometimes contradictory (the runtime's `OOMKilled`
comes from the container cgroup's cumulative OOM counter, so a child process OOM-killed earlier
marks every later exit, even a SIGTERM exit 143). Each finding therefore carries `certainty`
(high, medium, low) and `evidence`: what decided, what disagreed, what was missing.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.mlopslab.monitoring.plugins.module_utils.verify.findings import (
    DEGRADED,
    ERROR,
    FAILING,
    HEALTHY,
    HIGH,
    LOW,
    MEDIUM,
    PRIORITY,
    WARNING,
    finding,
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
# Waiting reasons of a container that is still being set up, not of one that failed.
STARTING = {"ContainerCreating", "PodInitializing"}

# What an exit code means depends on the program that exited (_program): these are the runtime's
# and the kernel's, the same for every program; exit 2 is read per program below (EXIT_2).
EXIT_CODES = {
    126: "not_executable",
    127: "command_not_found",
    139: "segfault",
}
# Exit 2: the exporter's own code for a configuration it refuses (ab_exporter/cli.py: one line on
# stderr naming the setting); a shell's for the misuse of a builtin; for any other program its own
# error (Go programs, Prometheus and Grafana among them, exit 2 when they panic).
EXIT_2 = {"exporter": "exporter_config", "shell": "misuse_of_shell_builtin"}
SHELLS = {"sh", "bash", "ash", "dash", "zsh", "busybox"}

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
# Events are aggregated per series; an event counts for a termination when its series overlaps
# the container's run, with this much slack for clock skew and the kubelet's sync period.
_SLACK = datetime.timedelta(seconds=60)


def _time(value) -> datetime.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _lower(certainty: str) -> str:
    return {HIGH: MEDIUM, MEDIUM: LOW, LOW: LOW}[certainty]


def _specs(pod: dict) -> list[tuple[dict, bool]]:
    """(spec, is_init) for every container the pod's spec names, init containers first.

    The spec, not the status, is the list of what must run: a container the kubelet never
    reported on is a finding, not a container that is silently skipped."""
    spec = pod.get("spec") or {}
    return [(c, True) for c in spec.get("initContainers") or []] + [(c, False) for c in spec.get("containers") or []]


def _statuses(pod: dict) -> dict[tuple[str, bool], dict]:
    status = pod.get("status") or {}
    found = {}
    for key, is_init in (("initContainerStatuses", True), ("containerStatuses", False)):
        for cs in status.get(key) or []:
            found[(cs.get("name"), is_init)] = cs
    return found


def _is_sidecar(spec: dict) -> bool:
    # A restartable init container (KEP-753 sidecar) runs beside the main containers.
    return spec.get("restartPolicy") == "Always"


def _events_for(events: list[dict], pod: dict, container: str | None = None, single: bool = False):
    """(events about this pod and container, whether any was attributed without fieldPath).

    Events outlive restarts, so they carry the why. A container event names its container in
    `involvedObject.fieldPath`; events without it (older or third-party reporters) are taken
    when the message names the container, or when the pod has a single container (`single`)."""
    meta = pod.get("metadata") or {}
    mine, guessed = [], False
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
            if not match:
                if container not in (event.get("message") or "") and not single:
                    continue
                guessed = True
        mine.append(event)
    return mine, guessed


def _unattributed(decisive: list[dict]) -> bool:
    """Whether any of the events a finding rests on was matched without its container's fieldPath.
    Only these count: a pod always has events that name no container (Scheduled, Pulling for
    the sandbox), and they decide nothing (seen on the real node)."""
    return any(not _FIELD_PATH.search((e.get("involvedObject") or {}).get("fieldPath") or "") for e in decisive)


def _span(event: dict) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    first = _time(event.get("firstTimestamp")) or _time(event.get("eventTime"))
    last = (
        _time((event.get("series") or {}).get("lastObservedTime"))
        or _time(event.get("lastTimestamp"))
        or _time(event.get("eventTime"))
        or first
    )
    return first or last, last


def _during(event: dict, terminated: dict, grace: int) -> bool | None:
    """Whether the event's series overlaps the terminated run; None when either lacks times."""
    first, last = _span(event)
    started, finished = _time(terminated.get("startedAt")), _time(terminated.get("finishedAt"))
    if not (first and last and (started or finished)):
        return None
    start = (started or finished) - _SLACK
    end = (finished or started) + datetime.timedelta(seconds=grace) + _SLACK
    return first <= end and last >= start


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


def _probe_failures(events: list[dict], probe: str) -> list[dict]:
    return [
        e
        for e in events
        if e.get("reason") == "Unhealthy" and f"{probe} probe failed" in (e.get("message") or "").lower()
    ]


def _count(event: dict) -> int:
    return int(event.get("count") or (event.get("series") or {}).get("count") or 1)


def _memory_limit(spec: dict) -> str | None:
    return ((spec.get("resources") or {}).get("limits") or {}).get("memory")


def _knob(pod: dict, container: str) -> str | None:
    app = ((pod.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/name")
    return OUR_CONTAINERS.get((app, container))


def _grace(pod: dict) -> int:
    value = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
    return value if isinstance(value, int) else 30


def _label(name, is_init) -> str:
    return f"init container {name}" if is_init else f"container {name}"


def _memory_hint(pod, name, label, limit, child=False) -> str:
    knob = _knob(pod, name)
    where = f"memory limit {limit} was exceeded" if limit else "the node ran out of memory for it"
    if child:
        where = "a process in it was OOM-killed" + (f" (memory limit {limit})" if limit else "")
    if knob:
        return f"{where}: raise {knob}_memory_limit (now {limit}) or remove unused packages"
    return f"{where}: raise resources.limits.memory of {label} or lower its memory use"


def _probe_kill_finding(pod, name, label, spec, exit_code, code_text, kills, severity, certainty, evidence):
    startup = any("startup probe" in (e.get("message") or "").lower() for e in kills)
    probe = "startup" if startup else "liveness"
    failures = sum(_count(e) for e in kills if e.get("reason") == "Unhealthy")
    if spec.get("startupProbe") and not startup:
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
            "packages before start" + (" (metrics_exporter_image, or the init container)" if _knob(pod, name) else "")
        )
    return finding(
        "liveness_probe_kill",
        severity,
        name,
        exit_code,
        f"{label} {code_text}: killed by the kubelet after {failures or 'repeated'} failed {probe} probes "
        f"(SIGKILL{' after SIGTERM' if exit_code == 137 else ''}; not an OOM kill)",
        hint,
        certainty,
        evidence,
    )


def _lost_finding(name, label, exit_code, reason, severity) -> dict:
    # The kubelet lost track of the container (node restart, runtime lost it): the exit code it
    # fills in (137, 255) is not the container's own (kubernetes/kubernetes#95364).
    return finding(
        "unknown",
        severity,
        name,
        exit_code,
        f"{label} ended with reason {reason or 'none'} and exit code {exit_code}: the node lost track of "
        f"it (a node or runtime restart), so how it ended is not known",
        "check the node (kubectl describe node) and whether the pod was restarted with it; "
        "if it keeps happening, the node is unstable",
        LOW,
        {"decided": [f"reason {reason or 'missing'}"], "missing": ["the container's own exit status"]},
    )


def _kill_evidence(pod, name, terminated, events, single, evidence) -> tuple[list[dict], str]:
    """The probe-kill events that belong to this run, and the certainty they leave."""
    container_events, _any_unattributed = _events_for(events, pod, name, single)
    kills_all = _probe_kills(container_events)
    timing = [(e, _during(e, terminated, _grace(pod))) for e in kills_all]
    kills = [e for e, t in timing if t is not False]
    certainty = HIGH
    if any(t is None for _event, t in timing):
        evidence["missing"].append("timestamps to match the probe events to this run")
        certainty = _lower(certainty)
    if kills and _unattributed(kills):
        evidence["missing"].append("fieldPath on the events (matched by message or the pod's only container)")
        certainty = _lower(certainty)
    if len(kills) < len(kills_all):
        evidence["disagreed"].append("probe-kill events of other runs of this container (outside its time)")
    return kills, certainty


def _signal_finding(pod, name, label, spec, exit_code, code_text, kills, severity, certainty, evidence, oom):
    """Exit 137 or 143: the kubelet's probe kill when its events say so, else the bare signal."""
    limit = _memory_limit(spec)
    if kills:
        evidence["decided"] += [f"exitCode {exit_code}", f"{len(kills)} probe-kill events in the same run"]
        return _probe_kill_finding(pod, name, label, spec, exit_code, code_text, kills, severity, certainty, evidence)
    if exit_code == 137:
        evidence["decided"].append("exitCode 137 (SIGKILL)")
        evidence["missing"].append("an OOMKilled reason or probe-kill events")
        return finding(
            "sigkill",
            severity,
            name,
            exit_code,
            f"{label} {code_text}: killed by SIGKILL with no OOMKilled reason and no probe-kill events",
            "exit 137 is SIGKILL from any sender: either the OOM killer (check `kubectl describe node` and "
            "dmesg; memory limit " + (limit or "unset") + ") or a probe kill whose events have expired "
            "(events last ~1 h): watch `kubectl get events -w` at the next restart",
            LOW,
            evidence,
        )
    evidence["decided"].append("exitCode 143 (SIGTERM)")
    hint = (
        "something asked it to stop (a rollout, a node drain, or a preStop/probe): check recent events; "
        "if it exits on SIGTERM without being asked, check its own shutdown handling"
    )
    if oom:
        hint += "; " + _memory_hint(pod, name, label, limit, child=True)
    return finding(
        "sigterm", severity, name, exit_code, f"{label} {code_text}: stopped by SIGTERM", hint, certainty, evidence
    )


EXIT_HINTS = {
    "exporter_config": "exit 2 is the exporter refusing its configuration (bad configuration, or a port it "
    "cannot listen on): one line names the setting; read it with kubectl logs --previous, and fix "
    "metrics_exporter_settings or metrics_exporter_port",
    "misuse_of_shell_builtin": "exit 2 from a shell is the misuse of a builtin (a syntax or usage error in "
    "its script); read it with kubectl logs --previous",
    "not_executable": "exit 126: the command was found but cannot run (permissions, or a read-only or "
    "noexec mount); check the image and command",
    "command_not_found": "exit 127: the command is not in the image or PATH; check command/args and image",
    "segfault": "exit 139 is SIGSEGV: a native library crashed; check the image's library versions "
    "(e.g. numpy built for another CPU) and kubectl logs --previous",
}


def _program(pod: dict, name: str, spec: dict) -> str:
    """Whose exit codes a container's are: the exporter's (its own codes), a shell's, or another
    program's (only the generic meanings hold)."""
    app = ((pod.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/name")
    if (app, name) == ("metrics-exporter", "exporter"):
        return "exporter"
    command = [str(c) for c in (spec.get("command") or [])[:1]]
    if command and command[0].rsplit("/", 1)[-1] in SHELLS:
        return "shell"
    return "other"


def _exit_finding(pod, name, label, spec, terminated, code_text, severity, certainty, evidence, oom):
    """Any other exit: the exit code decides; an OOMKilled reason beside it is a child's OOM kill."""
    exit_code = terminated.get("exitCode")
    evidence["decided"].append(f"exitCode {exit_code}")
    child_oom = "; " + _memory_hint(pod, name, label, _memory_limit(spec), child=True) if oom else ""
    if exit_code == 0:  # with reason OOMKilled: the other exit-0 cases are settled before
        return finding(
            "container_exited",
            severity,
            name,
            exit_code,
            f"{label} {code_text}: its main process ended on its own after a process in it was OOM-killed",
            "the main process exited 0, which an OOM kill never produces" + child_oom,
            certainty,
            evidence,
        )
    program = _program(pod, name, spec)
    if exit_code == 2 and program in EXIT_2:
        code = EXIT_2[program]
        evidence["decided"].append(f"exit 2 of {'the exporter' if program == 'exporter' else 'a shell'}")
        message = f"{label} {code_text}"
        return finding(code, severity, name, exit_code, message, EXIT_HINTS[code] + child_oom, certainty, evidence)
    if exit_code == 2:
        return finding(
            "app_error",
            severity,
            name,
            exit_code,
            f"{label} {code_text}: the program's own error",
            "exit 2 is the program's own error, not the exporter's configuration code: a Go program (Prometheus, "
            "Grafana) exits 2 when it panics or its runtime fails (read the panic with kubectl logs --previous -c "
            f"{name}); for others, its usage error" + child_oom,
            certainty,
            evidence,
        )
    if exit_code in EXIT_CODES:
        code = EXIT_CODES[exit_code]
        hint = EXIT_HINTS[code]
        if code == "segfault" and program != "exporter":
            hint = (
                "exit 139 is SIGSEGV: the program crashed in native code; check the image and kubectl logs --previous"
            )
        message = f"{label} {code_text}"
        return finding(code, severity, name, exit_code, message, hint + child_oom, certainty, evidence)
    if isinstance(exit_code, int) and 128 < exit_code < 160:
        number = terminated.get("signal") or exit_code - 128
        sig = SIGNALS.get(number, f"signal {number}")
        return finding(
            "app_error",
            severity,
            name,
            exit_code,
            f"{label} {code_text}: killed by {sig}",
            "a signal from inside the container or the runtime; kubectl logs --previous shows the last words"
            + child_oom,
            certainty,
            evidence,
        )
    own = "an uncaught Python exception (its traceback)" if program == "exporter" else "the program's own error"
    return finding(
        "app_error",
        severity,
        name,
        exit_code,
        f"{label} {code_text}",
        f"the application failed, {own}: kubectl logs --previous -c "
        + str(name)
        + " shows why"
        + (" (exit 255 is often a wrapped or out-of-range exit status)" if exit_code == 255 else "")
        + child_oom,
        certainty,
        evidence,
    )


def _hook_finding(name, label, exit_code, hooks, severity, certainty, evidence) -> dict:
    # The kubelet kills a container whose postStart hook fails (FailedPostStartHook, then Killing):
    # the exit code is then the kill's, and the hook's own failure is in the event's message.
    words = (hooks[-1].get("message") or "").strip()
    return finding(
        "poststart_hook_failed",
        severity,
        name,
        exit_code,
        f"{label}: its postStart hook failed, so the kubelet killed it"
        + (f" (exit {exit_code})" if exit_code is not None else "")
        + (f": {words}" if words else ""),
        "the hook's command failed (its message says how); fix or remove lifecycle.postStart; "
        "a hook that waits for the server to be up belongs in a startupProbe",
        certainty,
        evidence,
    )


def _kubelet_stopped_it(pod, cs, spec, is_init, terminated, events, severity, single, evidence) -> dict | None:
    """The kubelet's own events say it stopped this run: a failed postStart hook, or a probe kill
    answered with an exit code of the process's own (0, 1, 2 ... after SIGTERM), which the exit
    code alone would call a clean exit or an application error. 137 and 143 are weighed with
    the OOM evidence below; None: the events say nothing of this run."""
    name, label = cs.get("name"), _label(cs.get("name"), is_init)
    exit_code, reason = terminated.get("exitCode"), terminated.get("reason") or ""
    mine, _any_unattributed = _events_for(events, pod, name, single)
    timing = [(e, _during(e, terminated, _grace(pod))) for e in mine if e.get("reason") == "FailedPostStartHook"]
    hooks = [e for e, t in timing if t is not False]
    if hooks:
        evidence["decided"] += [f"{sum(_count(e) for e in hooks)} FailedPostStartHook events in the same run"]
        certainty = MEDIUM if _unattributed(hooks) or any(t is None for _event, t in timing) else HIGH
        return _hook_finding(name, label, exit_code, hooks, severity, certainty, evidence)
    if exit_code in (137, 143) or reason in ("OOMKilled", "Unknown", "ContainerStatusUnknown"):
        return None
    trial = {"decided": [], "disagreed": [], "missing": []}  # kept only when the kills decide
    kills, certainty = _kill_evidence(pod, name, terminated, events, single, trial)
    # Only the kubelet's Killing event says it stopped the run: probes fail too while a process
    # starts and then exits on its own (the real node: exit 2 after 7 failed startup probes).
    kills = [e for e in kills if e.get("reason") == "Killing"]
    if not kills:
        return None
    for key, items in trial.items():
        evidence[key] += items
    evidence["decided"].append(f"{len(kills)} probe-kill events in the same run")
    evidence["disagreed"].append(f"exitCode {exit_code}: the process's own answer to the kubelet's SIGTERM")
    code_text = f"exited {exit_code}" + (f" ({reason})" if reason else "")
    certainty = _lower(certainty)
    return _probe_kill_finding(pod, name, label, spec, exit_code, code_text, kills, severity, certainty, evidence)


def _termination_finding(pod, cs, spec, is_init, terminated, events, severity, single) -> dict | None:
    """Why one run of a container ended, weighing exit code, reason, signal, probe events and timing.

    The exit code says how the main process ended; the runtime's reason is a second witness that
    can be stale. Where they disagree the exit code decides and the reason is kept as evidence."""
    name = cs.get("name")
    label = _label(name, is_init)
    exit_code = terminated.get("exitCode")
    reason = terminated.get("reason") or ""
    if exit_code == 0 and reason in ("Completed", "") and is_init and not _is_sidecar(spec):
        return None  # an init container's job done
    evidence = {"decided": [], "disagreed": [], "missing": []}
    if is_init and not _is_sidecar(spec) and reason == "OOMKilled" and exit_code == 0:
        return _init_oom_finding(pod, name, label, spec, severity)
    told = _kubelet_stopped_it(pod, cs, spec, is_init, terminated, events, severity, single, evidence)
    if told:
        return told
    if exit_code == 0 and reason in ("Completed", ""):
        return finding(
            "container_exited",
            severity,
            name,
            exit_code,
            f"{label} exited 0 ({reason or 'no reason given'}) and was restarted: its main process ended on its own",
            "a server of the lab must keep running: check its command and arguments, and kubectl logs --previous -c "
            + str(name),
            HIGH,
            {"decided": ["exitCode 0"]},
        )
    if reason in ("Unknown", "ContainerStatusUnknown") or exit_code is None:
        return _lost_finding(name, label, exit_code, reason, severity)

    kills, certainty = _kill_evidence(pod, name, terminated, events, single, evidence)
    code_text = f"exited {exit_code}" + (f" ({reason})" if reason else "")
    oom = reason == "OOMKilled"
    if oom and exit_code in (137, -1):
        # The kernel OOM killer sends SIGKILL: reason and exit code agree (-1: some runtimes).
        # A probe that failed meanwhile does not disagree (a process being OOM-killed answers no
        # probe: the real node showed startup-probe failures beside every OOM kill); a Killing
        # event, the kubelet's own kill, does.
        evidence["decided"] += ["reason OOMKilled", f"exitCode {exit_code} (SIGKILL)"]
        killing = [e for e in kills if e.get("reason") == "Killing"]
        if killing:
            evidence["disagreed"].append(f"{len(killing)} liveness/startup probe-kill events in the same run")
        hint = _memory_hint(pod, name, label, _memory_limit(spec))
        certainty = _lower(certainty) if killing else HIGH
        return finding("oom_killed", severity, name, exit_code, f"{label} {code_text}", hint, certainty, evidence)
    if oom:
        # An exit code the OOM killer never produces: a child process was OOM-killed earlier and
        # the cgroup's counter marks this exit too (kubernetes/kubernetes#140718).
        evidence["disagreed"].append(
            f"reason OOMKilled: the cgroup's OOM counter, set when a process in the container was "
            f"OOM-killed; exit {exit_code} is not an OOM kill of the main process"
        )
        certainty = _lower(certainty)
    if exit_code in (137, 143):
        return _signal_finding(pod, name, label, spec, exit_code, code_text, kills, severity, certainty, evidence, oom)
    return _exit_finding(pod, name, label, spec, terminated, code_text, severity, certainty, evidence, oom)


def _init_oom_finding(pod, name, label, spec, severity) -> dict:
    """An init container whose process was OOM-killed while its main process exited 0: the kubelet
    counts it failed (the pod does not start, kubernetes/kubernetes#104650); a kubelet before 1.23
    started the pod anyway, with what the init container left half done."""
    runs = any("running" in (cs.get("state") or {}) for (_n, init), cs in _statuses(pod).items() if not init)
    went_on = (
        "; the pod started anyway, and what it installed may be incomplete: delete the pod once the limit is raised"
        if runs
        else "; the kubelet counts an OOM-killed init container as failed: the pod does not start"
    )
    return finding(
        "oom_killed",
        WARNING if runs else severity,
        name,
        0,
        f"{label} exited 0 (OOMKilled): a process in it was OOM-killed",
        _memory_hint(pod, name, label, _memory_limit(spec)) + went_on,
        HIGH,
        {"decided": ["reason OOMKilled", "exitCode 0 of an init container"]},
    )


def _waiting_finding(cs, spec, is_init, waiting) -> dict:
    name, label = cs.get("name"), _label(cs.get("name"), is_init)
    reason = waiting.get("reason") or ""
    code = WAITING_CODES[reason]
    hint = {
        "image_pull": f"the node cannot pull {cs.get('image') or spec.get('image')}: check its name "
        "and tag, registry access and pull secrets (or mirror it and set the role's *_image)",
        "invalid_image": f"{spec.get('image') or cs.get('image')} is not a valid image reference",
        "config_error": "a ConfigMap or Secret (or a key in it) the container refers to is missing: "
        "rerun deploy.yml to recreate it",
        "create_container_error": "the runtime could not create or start the container: read the "
        "message; often a bad command, mount or security context",
    }[code]
    return finding(
        code,
        ERROR,
        name,
        None,
        f"{label} waiting: {reason}: {waiting.get('message', '')}".strip(),
        hint,
        HIGH,
        {"decided": [f"state.waiting.reason {reason}"]},
    )


def _crash_loop_finding(pod, cs, spec, is_init, restarts, events, single) -> dict:
    """CrashLoopBackOff whose last termination is gone (a node or kubelet restart drops it, and a
    kill between two runs can leave none): the kubelet's own events may still say why."""
    name, label = cs.get("name"), _label(cs.get("name"), is_init)
    mine, _any_unattributed = _events_for(events, pod, name, single)
    backoffs = [e for e in mine if e.get("reason") == "BackOff"]
    evidence = {
        "decided": ["state.waiting.reason CrashLoopBackOff"],
        "disagreed": [],
        "missing": ["lastState.terminated (how the last run ended)"],
    }
    hooks = [e for e in mine if e.get("reason") == "FailedPostStartHook"]
    kills = [e for e in _probe_kills(mine) if e.get("reason") == "Killing"]  # failures alone kill nothing
    if hooks or kills:
        guessed = _unattributed(hooks or kills)
        if guessed:
            evidence["missing"].append("fieldPath on the events (matched by message or the pod's only container)")
        if hooks:
            evidence["decided"].append(f"{sum(_count(e) for e in hooks)} FailedPostStartHook events")
            return _hook_finding(name, label, None, hooks, ERROR, LOW if guessed else MEDIUM, evidence)
        evidence["decided"].append(f"{len(kills)} probe-kill events")
        return _probe_kill_finding(pod, name, label, spec, None, "is crash-looping", kills, ERROR,
                                   LOW if guessed else MEDIUM, evidence)  # fmt: skip
    if backoffs:
        evidence["decided"].append(f"{sum(_count(e) for e in backoffs)} BackOff events")
    return finding(
        "crash_loop",
        ERROR,
        name,
        None,
        f"{label} is crash-looping ({restarts if restarts is not None else 'unknown'} restarts), "
        f"but its status no longer says how the last run ended",
        "read why it exits: kubectl logs --previous -c " + str(name) + "; the next crash records its exit code "
        "(kubectl describe pod) so verify can name the cause",
        LOW,
        evidence,
    )


def _readiness_finding(name, label, failed, certainty, evidence) -> dict:
    return finding(
        "readiness_failing",
        WARNING,
        name,
        None,
        f"{label} is not ready: {sum(_count(e) for e in failed)} failed readiness probes "
        f"({(failed[-1].get('message') or '').strip()})",
        "the Service sends it no traffic until /healthz answers: kubectl logs -c " + str(name),
        certainty,
        evidence,
    )


def _missing_status_finding(name, label, phase) -> dict:
    pending = phase == "Pending"
    return finding(
        "pending" if pending else "unknown",
        WARNING if pending else ERROR,
        name,
        None,
        f"{label} has no status: the kubelet has not reported it"
        + (" yet" if pending else " (node lost, or a kubelet that reports no containers)"),
        "kubectl describe pod shows what the node is doing; if it stays like this, check the node",
        LOW,
        {"missing": [f"status of {label}"]},
    )


def _judge_waiting(pod, cs, spec, is_init, waiting, events, single) -> dict:
    name, label = cs.get("name"), _label(cs.get("name"), is_init)
    reason = waiting.get("reason") or "no reason"
    if reason in WAITING_CODES:
        return _waiting_finding(cs, spec, is_init, waiting)
    if reason == "CrashLoopBackOff":
        # CrashLoopBackOff is a state, not a cause: the cause is in the last termination.
        last = (cs.get("lastState") or {}).get("terminated")
        found = _termination_finding(pod, cs, spec, is_init, last, events, ERROR, single) if last else None
        return found or _crash_loop_finding(pod, cs, spec, is_init, cs.get("restartCount"), events, single)
    mounts = [e for e in _events_for(events, pod)[0] if e.get("reason") == "FailedMount"]
    if mounts:
        return finding(
            "mount_failed",
            ERROR,
            name,
            None,
            f"{label} waiting ({reason}): {(mounts[-1].get('message') or '').strip()}",
            "a volume cannot be mounted; when the message says a ConfigMap or Secret is not found, "
            "rerun deploy.yml for this student to recreate it",
            HIGH,
            {"decided": [f"{sum(_count(e) for e in mounts)} FailedMount events"]},
        )
    if reason in STARTING:
        return finding(
            "pending",
            WARNING,
            name,
            None,
            f"{label} is still being set up ({reason})",
            "wait a minute and verify again; if it stays, kubectl describe pod shows what it waits for",
            MEDIUM,
            {"decided": [f"state.waiting.reason {reason}"]},
        )
    return finding(
        "unknown",
        ERROR,
        name,
        None,
        f"{label} waiting: {reason}: {waiting.get('message', '')}".strip(),
        "kubectl describe pod and the pod's events show what it waits for",
        LOW,
        {"decided": [f"state.waiting.reason {reason}"]},
    )


def _judge_stateless(pod, cs, is_init, readiness_failed, guessed) -> dict:
    # No state at all. Probes only run in a running container, so readiness failures still say
    # it runs; otherwise nothing is known.
    name, label = cs.get("name"), _label(cs.get("name"), is_init)
    ready = cs.get("ready") is True
    if readiness_failed and not ready:
        evidence = {"decided": ["readiness-probe failures (only a running container is probed)"], "missing": ["state"]}
        return _readiness_finding(name, label, readiness_failed, LOW if guessed else MEDIUM, evidence)
    return finding(
        "unknown",
        ERROR,
        name,
        None,
        f"{label} reports no state" + (" although it is marked ready" if ready else ""),
        "the kubelet's report is incomplete: kubectl describe pod; if it stays, check the node",
        LOW,
        {"missing": ["state"], "disagreed": ["ready: true"] if ready else []},
    )


def _judge_unready(pod, cs, is_init, past, restarts, max_restarts, my_events, guessed) -> dict:
    name, label = cs.get("name"), _label(cs.get("name"), is_init)
    readiness_failed = _probe_failures(my_events, "readiness")
    if past and (past["code"] != "container_exited" or restarts > max_restarts):
        past["message"] += f"; running again but not ready, {restarts} restarts"
        return past
    if readiness_failed:
        evidence = {"decided": ["ready: false", f"{len(readiness_failed)} readiness-probe failure events"]}
        return _readiness_finding(name, label, readiness_failed, MEDIUM if guessed else HIGH, evidence)
    startup = _probe_failures(my_events, "startup")
    return finding(
        "not_ready",
        WARNING,
        name,
        None,
        f"{label} is running but not ready"
        + (f" ({sum(_count(e) for e in startup)} failed startup probes)" if startup else ""),
        "it has not passed its readiness probe yet: wait and verify again; if it stays, "
        "kubectl describe pod and kubectl logs -c " + str(name),
        MEDIUM,
        {"decided": ["ready: false"], "missing": ["readiness-probe events (expired, or none yet)"]},
    )


def _became_ready(pod: dict) -> datetime.datetime | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            return _time(c.get("lastTransitionTime"))
    return None


def _judge_running(pod, cs, spec, is_init, events, max_restarts, single) -> dict | None:
    name, label = cs.get("name"), _label(cs.get("name"), is_init)
    if is_init and not _is_sidecar(spec):  # a one-shot init container that runs: still initializing
        return finding(
            "pending",
            WARNING,
            name,
            None,
            f"{label} is still running: the pod is initializing",
            "init containers install the dependencies; if this lasts minutes, kubectl logs -c " + str(name),
            MEDIUM,
            {"decided": ["init container running"]},
        )
    my_events, guessed = _events_for(events, pod, name, single)
    last = (cs.get("lastState") or {}).get("terminated")
    missing_count = cs.get("restartCount") is None
    restarts = int(cs.get("restartCount") or 0)
    ready = cs.get("ready") is True
    past = None
    if last and (restarts > 0 or missing_count):
        past = _termination_finding(pod, cs, spec, is_init, last, events, WARNING if ready else ERROR, single)
    if not ready:
        return _judge_unready(pod, cs, is_init, past, restarts, max_restarts, my_events, guessed)
    # Running and ready again after a restart whose last exit was abnormal (a kill, any non-zero
    # code, an OOMKilled mark): degraded at least, naming the exit; the course's checklist says
    # RESTARTS 0. Only restarts after a clean exit 0 are tolerated up to max_restarts, below.
    clean = last and last.get("exitCode") == 0 and (last.get("reason") or "") in ("Completed", "")
    if past and not clean:
        past["message"] += f"; running again, {restarts} restart{'s' if restarts != 1 else ''}"
        return past
    # Ready, but the kubelet has reported readiness failures since the pod last became ready:
    # the status and the events disagree (kubernetes/kubernetes#138889).
    became_ready = _became_ready(pod)
    stale = [
        e
        for e in _probe_failures(my_events, "readiness")
        if became_ready and (_span(e)[1] or became_ready) > became_ready + _SLACK
    ]
    if stale:
        evidence = {
            "decided": [f"{len(stale)} readiness-probe failures after the pod became ready"],
            "disagreed": ["ready: true"],
        }
        return _readiness_finding(name, label, stale, LOW, evidence)
    if restarts > max_restarts:
        return finding(
            "restarts",
            WARNING,
            name,
            (last or {}).get("exitCode"),
            f"{label} is running but restarted {restarts} times (allowed: {max_restarts})",
            "it recovers but keeps restarting: kubectl logs --previous -c " + str(name) + " shows the last exit",
            HIGH if last else MEDIUM,
            {"decided": [f"restartCount {restarts}"], "missing": [] if last else ["lastState.terminated"]},
        )
    return None


def _judge_container(pod, spec, is_init, cs, events, max_restarts, single) -> dict | None:
    """One container, from the state its status reports (None: nothing wrong with it)."""
    state = cs.get("state") or {}
    if state.get("waiting") is not None:
        return _judge_waiting(pod, cs, spec, is_init, state["waiting"], events, single)
    if state.get("terminated") is not None:
        done = state["terminated"].get("reason") in ("Completed", "", None)
        if is_init and not _is_sidecar(spec) and state["terminated"].get("exitCode") == 0 and done:
            return None  # its job is done
        return _termination_finding(pod, cs, spec, is_init, state["terminated"], events, ERROR, single)
    if state.get("running") is None:
        my_events, guessed = _events_for(events, pod, cs.get("name"), single)
        return _judge_stateless(pod, cs, is_init, _probe_failures(my_events, "readiness"), guessed)
    return _judge_running(pod, cs, spec, is_init, events, max_restarts, single)


def _container_findings(pod, events, max_restarts) -> list[dict]:
    statuses = _statuses(pod)
    specs = _specs(pod)
    single = len(specs) == 1
    phase = (pod.get("status") or {}).get("phase")
    findings = []
    for spec, is_init in specs:
        cs = statuses.get((spec.get("name"), is_init))
        if cs is None:
            findings.append(_missing_status_finding(spec.get("name"), _label(spec.get("name"), is_init), phase))
            continue
        found = _judge_container(pod, spec, is_init, cs, events, max_restarts, single)
        if found:
            findings.append(found)
    return findings


def _unschedulable(message: str, certainty: str, evidence: dict) -> dict:
    return finding(
        "unschedulable",
        ERROR,
        None,
        None,
        f"pod cannot be scheduled: {message}",
        "no node has the requested cpu/memory free (or the quota is used up): lower the "
        "roles' *_request values, add nodes, or fewer students per cluster",
        certainty,
        evidence,
    )


# Reasons the kubelet gives a pod it refuses to run (pkg/kubelet/lifecycle/predicate.go and the
# admission handlers): the scheduler placed it, the node said no at admission.
ADMISSION_REASONS = {
    "NodeAffinity": "the node's labels no longer match the pod's node selector or affinity (often after a "
    "kubelet restart or a node recreated under the same name)",
    "MatchNodeSelector": "the node's labels no longer match the pod's node selector",
    "UnexpectedAdmissionError": "the node failed to admit it (a device or resource manager error)",
    "NodeShutdown": "the node is shutting down and admits no new pods",
    "Preempting": "the node stopped it to admit a critical pod",
}


def _failed_pod_finding(status: dict) -> dict:
    reason, message = status.get("reason") or "", (status.get("message") or "").strip()
    said = f" ({reason}: {message})" if reason or message else ""
    replace = "the Deployment has made a new pod; delete this one (kubectl delete pod) once the new one runs"
    if reason.startswith("OutOf") or reason in ADMISSION_REASONS:
        why = ADMISSION_REASONS.get(reason) or (
            f"the node did not have the {reason[len('OutOf') :]} it requests when the kubelet admitted it (the "
            "scheduler and the kubelet counted differently, or the node filled up meanwhile)"
        )
        return finding(
            "rejected_by_node",
            ERROR,
            None,
            None,
            f"the node rejected the pod{said}",
            f"{why}; {replace}. If it keeps happening, check the node (kubectl describe node)",
            HIGH,
            {"decided": ["phase Failed", f"status.reason {reason}"]},
        )
    hints = {
        "DeadlineExceeded": "it ran longer than spec.activeDeadlineSeconds and the kubelet stopped it",
        "Shutdown": "its node shut down (graceful node shutdown stopped it)",
        "Terminated": "its node shut down (graceful node shutdown stopped it)",
    }
    return finding(
        "pod_failed",
        ERROR,
        None,
        None,
        f"the pod has failed{said}",
        f"{hints.get(reason, 'the pod ended and will not be restarted')}; {replace}",
        HIGH,
        {"decided": ["phase Failed", f"status.reason {reason}"]},
    )


# The DisruptionTarget condition's reasons (KEP-3329): who is ending the pod, which its
# containers' exit codes cannot tell (a preempted container's SIGKILL reads as exit 137, Error).
PREEMPTIONS = {"PreemptionByKubeScheduler", "PreemptionByScheduler"}
EVICTIONS = {
    "EvictionByEvictionAPI": "it was evicted through the Eviction API (a node drain, or a cluster autoscaler "
    "emptying the node)",
    "TerminationByKubelet": "the kubelet ended it (node-pressure eviction, a critical pod's admission, or the node "
    "shutting down)",
    "DeletionByTaintManager": "its node has a NoExecute taint the pod does not tolerate (the node is unreachable, "
    "not ready, or being taken out)",
    "DeletionByPodGC": "the pod garbage collector deleted it: its node is gone",
}
RECREATED = "the Deployment makes a new pod on another node; verify again in a minute"


def _disruption(pod: dict) -> dict | None:
    """The pod's DisruptionTarget condition when it is True: someone is ending the pod."""
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "DisruptionTarget" and c.get("status") == "True":
            return c
    return None


def _ending(pod: dict) -> bool:
    status, meta = pod.get("status") or {}, pod.get("metadata") or {}
    return bool(meta.get("deletionTimestamp")) or status.get("phase") in ("Failed", "Succeeded")


def _disrupted_findings(pod, events) -> list[dict]:
    """Eviction in any phase, and preemption, from the pod's reason, the kubelet's Evicted events
    and the DisruptionTarget condition. From 1.27 a pod evicted or preempted whose container exits
    0 on SIGTERM ends Succeeded (kubernetes/kubernetes#118310): only these still say what happened."""
    status = pod.get("status") or {}
    disruption = _disruption(pod)
    why = (disruption or {}).get("reason") or ""
    evictions = [e for e in _events_for(events, pod)[0] if e.get("reason") == "Evicted"]
    # A condition on a pod that is neither being deleted nor ended may be one the control plane
    # set before an eviction that did not happen (it clears those): said with less certainty.
    certainty = HIGH if _ending(pod) else MEDIUM
    if why in PREEMPTIONS:
        return [
            finding(
                "preempted",
                ERROR,
                None,
                None,
                f"the pod was preempted: {disruption.get('message') or why}",
                "the scheduler ended it to place a pod of higher priority (another course's, or the cluster's own): "
                f"{RECREATED}; if it keeps happening the cluster is short of room (kubectl get priorityclass)",
                certainty,
                {"decided": [f"DisruptionTarget {why}"]},
            )
        ]
    if status.get("reason") == "Evicted" or evictions or why in EVICTIONS:
        said = (
            status.get("message")
            or (evictions[-1].get("message") if evictions else "")
            or ((disruption or {}).get("message") or "")
        )
        decided = [f"status.reason {status['reason']}"] if status.get("reason") == "Evicted" else []
        decided += ["the kubelet's Evicted event"] if evictions else []
        decided += [f"DisruptionTarget {why}"] if why else []
        if evictions and status.get("phase") == "Succeeded":
            decided.append("phase Succeeded: its containers exited 0 on the eviction's SIGTERM")
        cause = EVICTIONS.get(why) if why and why != "TerminationByKubelet" else None
        hint = (
            f"{cause}; {RECREATED}"
            if cause
            else "the node reclaimed resources (memory, disk or an emptyDir over its sizeLimit): check the message; "
            "lower usage or raise the limit; the Deployment makes a new pod"
        )
        return [
            finding(
                "evicted",
                ERROR,
                None,
                None,
                f"pod evicted: {said}".strip(),
                hint,
                HIGH if status.get("reason") == "Evicted" or evictions else certainty,
                {"decided": decided},
            )
        ]
    return []


def _pod_findings(pod, events) -> list[dict]:
    """What the pod as a whole says, before its containers are looked at (None: look at them)."""
    status = pod.get("status") or {}
    meta = pod.get("metadata") or {}
    if not status:
        return [
            finding(
                "unknown",
                ERROR,
                None,
                None,
                "the pod has no status at all",
                "nothing has reported on it: kubectl describe pod; if it stays, check the scheduler and the node",
                LOW,
                {"missing": ["status"]},
            )
        ]
    disrupted = _disrupted_findings(pod, events)
    if disrupted:
        return disrupted
    if status.get("phase") == "Failed" and status.get("reason"):
        # The pod as a whole has ended and says why: its containers' statuses are stale (one can
        # still read "running": kubernetes/kubernetes#88613); the pod's reason is what happened.
        # Without a reason the containers' last states are the evidence (below).
        return [_failed_pod_finding(status)]
    if status.get("reason") == "NodeLost" or status.get("phase") == "Unknown":
        return [
            finding(
                "node_lost",
                ERROR,
                None,
                None,
                f"the pod's node stopped reporting ({status.get('reason') or 'phase Unknown'}): its containers' "
                "state is not known",
                "check the node (kubectl get nodes); the Deployment replaces the pod once the node is gone",
                MEDIUM,
                {
                    "decided": [f"status.reason {status.get('reason')}" if status.get("reason") else "phase Unknown"],
                    "missing": ["the containers' current state"],
                },
            )
        ]
    if meta.get("deletionTimestamp"):
        # Being deleted: what its status says is about to stop being true (and may be stale for
        # long when the node is gone: kubernetes/kubernetes#48920).
        return [
            finding(
                "terminating",
                WARNING,
                None,
                None,
                f"the pod is being deleted (since {meta['deletionTimestamp']})",
                "a rollout or a deletion is under way: verify again in a minute; a pod that stays "
                "Terminating sits on a node that stopped answering",
                MEDIUM,
                {"decided": ["metadata.deletionTimestamp"]},
            )
        ]
    if status.get("phase") == "Pending" and not (pod.get("spec") or {}).get("nodeName"):
        scheduling = [e for e in _events_for(events, pod)[0] if e.get("reason") == "FailedScheduling"]
        unschedulable = next(
            (
                c
                for c in status.get("conditions") or []
                if c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable"
            ),
            None,
        )
        if scheduling or unschedulable:
            message = (scheduling[-1].get("message") if scheduling else None) or unschedulable.get("message", "")
            evidence = ["FailedScheduling events" if scheduling else "PodScheduled=False Unschedulable"]
            return [_unschedulable(message, HIGH, {"decided": evidence})]
        return [
            finding(
                "pending",
                ERROR,
                None,
                None,
                "the pod is Pending and not on any node, and nothing says why",
                "is a scheduler running, and has the pod waited long? kubectl describe pod; "
                "kubectl get events (events expire after an hour)",
                LOW,
                {"decided": ["phase Pending", "no spec.nodeName"], "missing": ["FailedScheduling events"]},
            )
        ]
    if status.get("phase") == "Pending":
        # Unschedulable with a node name (a reported condition) still counts as unschedulable.
        for c in status.get("conditions") or []:
            if c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable":
                evidence = {"decided": ["PodScheduled=False Unschedulable"], "missing": ["FailedScheduling events"]}
                return [_unschedulable(c.get("message", ""), MEDIUM, evidence)]
    return []


def _ready_condition(pod: dict) -> str | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status")
    return None


def _earned(pod: dict) -> bool:
    """The only way to `healthy`: Running, not deleted, Ready not False, and every container in
    the spec running and ready, every init container completed with 0."""
    status = pod.get("status") or {}
    if status.get("phase") != "Running" or (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    if _ready_condition(pod) == "False":
        return False
    statuses = _statuses(pod)
    specs = _specs(pod)
    if not any(not init for _container, init in specs):
        return False
    for spec, is_init in specs:
        cs = statuses.get((spec.get("name"), is_init))
        if cs is None:
            return False
        state = cs.get("state") or {}
        if is_init and not _is_sidecar(spec):
            ended = state.get("terminated") or {}
            if ended.get("exitCode") != 0 or ended.get("reason") not in ("Completed", "", None):
                return False
        elif "running" not in state or cs.get("ready") is not True:
            return False
    return True


def _unearned_finding(pod: dict) -> dict:
    ready = _ready_condition(pod)
    if ready == "False":
        condition = next(c for c in pod["status"]["conditions"] if c.get("type") == "Ready")
        return finding(
            "not_ready",
            WARNING,
            None,
            None,
            "every container reports ready, but the pod's Ready condition is False"
            + (f" ({condition.get('reason')}: {condition.get('message', '')})" if condition.get("reason") else ""),
            "the pod gets no Service traffic; this is seen when its node stopped reporting "
            "(kubectl get nodes) or a readiness gate is not met",
            LOW,
            {"decided": ["Ready condition False"], "disagreed": ["every container ready: true"]},
        )
    phase = (pod.get("status") or {}).get("phase")
    return finding(
        "unknown",
        ERROR,
        None,
        None,
        f"the pod is not running and ready (phase {phase or 'missing'}), and its status names no cause",
        "kubectl describe pod and its events; if the node is gone, the Deployment replaces the pod",
        LOW,
        {"missing": ["a container status that explains it"]},
    )


def diagnose_pod(pod: dict, events: list[dict] | None = None, max_restarts: int = 3) -> dict:
    """Diagnose one Pod (as the API returns it, camelCase) from its status and its events.

    Returns {"status": healthy|degraded|failing, "cause": code or None, "certainty", "findings": [...]}.
    """
    events = events or []
    findings = _pod_findings(pod, events) or _container_findings(pod, events, max_restarts)
    if not findings and not _earned(pod):
        findings = [_unearned_finding(pod)]
    findings.sort(key=lambda f: (f["severity"] != ERROR, PRIORITY.index(f["code"])))
    if not findings:
        return {"status": HEALTHY, "cause": None, "certainty": HIGH, "findings": []}
    status = FAILING if findings[0]["severity"] == ERROR else DEGRADED
    return {"status": status, "cause": findings[0]["code"], "certainty": findings[0]["certainty"], "findings": findings}
