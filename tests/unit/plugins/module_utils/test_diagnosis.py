"""diagnose_pod on Pods and Events as the API returns them: fixtures/pods.yml (one case per
diagnosis) and fixtures/reported.yml (real failures from public reports, partial and
contradictory ones among them, each citing its source)."""

import copy
import itertools
from pathlib import Path

import pytest
import yaml

from plugins.module_utils.verify.diagnosis import diagnose_pod
from plugins.module_utils.verify.findings import FAILING, HEALTHY, PRIORITY

FIXTURES = Path(__file__).parent / "fixtures"
CASES = yaml.safe_load((FIXTURES / "pods.yml").read_text())
REPORTED = yaml.safe_load((FIXTURES / "reported.yml").read_text())
CODES = {
    "oom_killed",
    "liveness_probe_kill",
    "poststart_hook_failed",
    "rejected_by_node",
    "pod_failed",
    "sigkill",
    "sigterm",
    "app_error",
    "misuse_of_shell_builtin",
    "exporter_config",
    "preempted",
    "not_executable",
    "command_not_found",
    "segfault",
    "image_pull",
    "invalid_image",
    "config_error",
    "create_container_error",
    "unschedulable",
    "evicted",
    "readiness_failing",
    "restarts",
    # What is known when the specific cause is not, and what only partial evidence shows:
    "node_lost",
    "pending",
    "mount_failed",
    "container_exited",
    "crash_loop",
    "unknown",
    "not_ready",
    "terminating",
}


@pytest.mark.parametrize("case", CASES + REPORTED, ids=[c["id"] for c in CASES + REPORTED])
def test_diagnosis(case):
    result = diagnose_pod(case["pod"], case["events"])
    expect = case["expect"]
    assert (result["status"], result["cause"]) == (expect["status"], expect["cause"]), result["findings"]
    if expect["cause"] is None:
        assert result["findings"] == []
        return
    top = result["findings"][0]
    assert top["code"] == expect["cause"]
    assert set(top) == {"code", "severity", "container", "exit_code", "message", "hint", "certainty", "evidence"}
    assert top["certainty"] in ("high", "medium", "low")
    assert top["message"] and top["hint"]
    if "hint_contains" in expect:
        assert expect["hint_contains"] in top["hint"]
    if "message_contains" in expect:
        assert expect["message_contains"] in top["message"]
    if "container" in expect:
        assert top["container"] == expect["container"]
    if "findings" in expect:
        assert len(result["findings"]) == expect["findings"]
    if "certainty" in expect:
        assert (result["certainty"], top["certainty"]) == (expect["certainty"],) * 2, top["evidence"]
    if "disagreed_contains" in expect:
        assert any(expect["disagreed_contains"] in d for d in top["evidence"]["disagreed"]), top["evidence"]


def test_the_fixtures_cover_every_code_and_then_some():
    causes = {c["expect"]["cause"] for c in CASES + REPORTED} - {None}
    assert causes == CODES == set(PRIORITY)
    assert len(CASES) >= 25


def test_every_reported_case_cites_a_public_source_and_partial_evidence_is_never_certain():
    assert len(REPORTED) >= 52  # 19, 17 more for fail closed, round two, and 16 for round three
    for case in REPORTED:
        assert case["source"] and all(s.startswith("https://") for s in case["source"]), case["id"]
        result = diagnose_pod(case["pod"], case["events"])
        assert result["status"] != HEALTHY, case["id"]
        top = result["findings"][0]
        if top["evidence"]["missing"] or top["evidence"]["disagreed"]:
            assert top["certainty"] != "high", (case["id"], top["evidence"])


# ---- healthy is earned: every partial or contradictory variant of a healthy pod
def _earned(pod):
    """The test's own oracle, written apart from the module's: Running, not being deleted, Ready
    not False, every spec container with a running state and ready true, every init container
    terminated with 0."""
    status = pod.get("status") or {}
    if status.get("phase") != "Running" or pod["metadata"].get("deletionTimestamp"):
        return False
    if any(c.get("type") == "Ready" and c.get("status") == "False" for c in status.get("conditions") or []):
        return False
    by_name = {(s.get("name"), False): s for s in status.get("containerStatuses") or []}
    by_name.update({(s.get("name"), True): s for s in status.get("initContainerStatuses") or []})
    for spec, init in [(c, True) for c in pod["spec"].get("initContainers") or []] + [
        (c, False) for c in pod["spec"]["containers"]
    ]:
        s = by_name.get((spec["name"], init))
        if s is None:
            return False
        state = s.get("state") or {}
        if init and (state.get("terminated") or {}).get("exitCode") != 0:
            return False
        if not init and ("running" not in state or s.get("ready") is not True):
            return False
    return True


CONTAINER_VARIANTS = {
    "as is": lambda s: None,
    "no state": lambda s: s.pop("state"),
    "empty state": lambda s: s.update(state={}),
    "not ready": lambda s: s.update(ready=False),
    "ready missing": lambda s: s.pop("ready"),
    "no restartCount": lambda s: s.pop("restartCount", None),
    "waiting, no reason": lambda s: s.update(state={"waiting": {}}),
    "waiting ContainerCreating": lambda s: s.update(state={"waiting": {"reason": "ContainerCreating"}}),
    "crash loop, lastState lost": lambda s: s.update(
        state={"waiting": {"reason": "CrashLoopBackOff"}}, lastState={}, restartCount=4
    ),
    "terminated 0": lambda s: s.update(state={"terminated": {"exitCode": 0, "reason": "Completed"}}),
    "terminated, no exit code": lambda s: s.update(state={"terminated": {"reason": "Error"}}),
    "running, ready, last exit 0": lambda s: s.update(
        lastState={"terminated": {"exitCode": 0, "reason": "Completed"}}, restartCount=1
    ),
}
POD_VARIANTS = {
    "as is": lambda p: None,
    "phase Pending": lambda p: p["status"].update(phase="Pending"),
    "phase Unknown": lambda p: p["status"].update(phase="Unknown"),
    "phase Succeeded": lambda p: p["status"].update(phase="Succeeded"),
    "no phase": lambda p: p["status"].pop("phase"),
    "Ready False": lambda p: p["status"].update(conditions=[{"type": "Ready", "status": "False"}]),
    "no conditions": lambda p: p["status"].pop("conditions", None),
    "being deleted": lambda p: p["metadata"].update(deletionTimestamp="2026-11-20T10:00:00Z"),
    "no container statuses": lambda p: p["status"].pop("containerStatuses"),
    "no init statuses": lambda p: p["status"].pop("initContainerStatuses", None),
    "a second container in the spec": lambda p: p["spec"]["containers"].append({"name": "sidecar", "image": "x"}),
    "empty status": lambda p: p.update(status={}),
}


def test_no_partial_or_contradictory_variant_of_a_healthy_pod_is_called_healthy():
    base = next(c for c in CASES if c["id"] == "healthy exporter, init container completed")
    assert diagnose_pod(base["pod"], base["events"])["status"] == HEALTHY
    checked = 0
    for (pv, pod_change), (cv, main_change), (iv, init_change) in itertools.product(
        POD_VARIANTS.items(), CONTAINER_VARIANTS.items(), CONTAINER_VARIANTS.items()
    ):
        pod = copy.deepcopy(base["pod"])
        for s in pod["status"].get("containerStatuses") or []:
            main_change(s)
        for s in pod["status"].get("initContainerStatuses") or []:
            init_change(s)
        pod_change(pod)
        result = diagnose_pod(pod, base["events"])
        checked += 1
        if result["status"] == HEALTHY:
            assert _earned(pod), (pv, cv, iv)
            assert result["findings"] == []
        else:
            assert result["findings"] and result["cause"], (pv, cv, iv)
        if not _earned(pod):
            assert result["status"] != HEALTHY, (pv, cv, iv)
    assert checked == len(POD_VARIANTS) * len(CONTAINER_VARIANTS) ** 2


def test_oom_and_liveness_kills_with_the_same_exit_code_are_told_apart():
    by_id = {c["id"]: c for c in CASES}
    oom = by_id["oom kill hidden behind CrashLoopBackOff"]
    liveness = by_id["original lab: liveness kill during pip install, reason Error"]
    oom_status = oom["pod"]["status"]["containerStatuses"][0]["lastState"]["terminated"]
    liveness_status = liveness["pod"]["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert oom_status["exitCode"] == liveness_status["exitCode"] == 137
    assert diagnose_pod(oom["pod"], oom["events"])["cause"] == "oom_killed"
    assert diagnose_pod(liveness["pod"], liveness["events"])["cause"] == "liveness_probe_kill"
    # Without the kubelet's events, 137 with reason Error is only a SIGKILL, both senders named.
    bare = diagnose_pod(liveness["pod"], [])
    assert bare["cause"] == "sigkill" and "OOM killer" in bare["findings"][0]["hint"]


def test_a_failing_pod_outranks_warnings_and_the_allowance_is_configurable():
    restarts = next(c for c in CASES if c["expect"]["cause"] == "restarts")
    assert diagnose_pod(restarts["pod"], [], max_restarts=10)["status"] == "healthy"
    assert diagnose_pod(restarts["pod"], [], max_restarts=1)["cause"] == "restarts"
    assert all(
        diagnose_pod(c["pod"], c["events"])["status"] == FAILING for c in CASES if c["expect"]["status"] == FAILING
    )


# ---- what a real node wrote: the course's failures staged through settings on a real kubelet,
# containerd and kernel (make test-node), captured by tests/support/capture_node_pods.py
REAL_NODE = yaml.safe_load((Path(__file__).parent / "fixtures" / "real-node.yml").read_text())


@pytest.mark.parametrize("case", REAL_NODE, ids=[c["id"] for c in REAL_NODE])
def test_what_a_real_node_wrote_is_named(case):
    result = diagnose_pod(case["pod"], case["events"])
    assert (result["status"], result["cause"]) == (case["expect"]["status"], case["expect"]["cause"]), result
    if "certainty" in case["expect"]:
        assert result["certainty"] == case["expect"]["certainty"], result["findings"][0]["evidence"]


def test_the_real_node_fixtures_hold_the_courses_failures():
    causes = {c["expect"]["cause"] for c in REAL_NODE}
    assert causes >= {"liveness_probe_kill", "oom_killed", "image_pull", "exporter_config"}
    assert all(e["involvedObject"]["uid"] == c["pod"]["metadata"]["uid"] for c in REAL_NODE for e in c["events"])


def test_every_code_the_checks_give_is_documented_with_its_meaning_and_what_to_do():
    # The codes are read from the checks' own source (each finding()'s first argument, and the
    # tables of waiting reasons and exit codes), not from a list kept beside them.
    import ast  # noqa: PLC0415

    from plugins.module_utils.verify import diagnosis  # noqa: PLC0415
    from plugins.module_utils.verify.findings import CODES  # noqa: PLC0415
    from plugins.modules import lab_health_info  # noqa: PLC0415

    given = set(diagnosis.WAITING_CODES.values()) | set(diagnosis.EXIT_CODES.values()) | set(diagnosis.EXIT_2.values())
    for path in (Path(__file__).parents[4] / "plugins" / "module_utils" / "verify").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            name = getattr(node, "func", None)
            name = getattr(name, "id", getattr(name, "attr", None))
            call = isinstance(node, ast.Call) and name in ("finding", "_finding") and node.args
            if call and isinstance(node.args[0], ast.Constant):
                given.add(node.args[0].value)
    assert given == set(CODES) and set(PRIORITY) <= set(CODES)
    notes = yaml.safe_load(lab_health_info.DOCUMENTATION)["notes"]
    documented = [n for n in notes if n.startswith("C(")]
    assert documented == [f"C({code}) - {meaning}. What to do - {hint}." for code, (meaning, hint) in CODES.items()]
    assert all(meaning and hint for meaning, hint in CODES.values())
