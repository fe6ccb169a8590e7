"""diagnose_pod on Pods and Events as the API returns them (fixtures/pods.yml)."""

from pathlib import Path

import pytest
import yaml

from plugins.module_utils.diagnosis import FAILING, PRIORITY, diagnose_pod

CASES = yaml.safe_load((Path(__file__).parent / "fixtures/pods.yml").read_text())
CODES = {
    "oom_killed",
    "liveness_probe_kill",
    "sigkill",
    "sigterm",
    "app_error",
    "misuse_of_shell_builtin",
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
}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_diagnosis(case):
    result = diagnose_pod(case["pod"], case["events"])
    expect = case["expect"]
    assert (result["status"], result["cause"]) == (expect["status"], expect["cause"]), result["findings"]
    if expect["cause"] is None:
        assert result["findings"] == []
        return
    top = result["findings"][0]
    assert top["code"] == expect["cause"]
    assert set(top) == {"code", "severity", "container", "exit_code", "message", "hint"}
    assert top["message"] and top["hint"]
    if "hint_contains" in expect:
        assert expect["hint_contains"] in top["hint"]
    if "message_contains" in expect:
        assert expect["message_contains"] in top["message"]
    if "container" in expect:
        assert top["container"] == expect["container"]
    if "findings" in expect:
        assert len(result["findings"]) == expect["findings"]


def test_the_fixtures_cover_every_code_and_then_some():
    causes = {c["expect"]["cause"] for c in CASES} - {None}
    assert causes == CODES == set(PRIORITY)
    assert len(CASES) >= 25


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
