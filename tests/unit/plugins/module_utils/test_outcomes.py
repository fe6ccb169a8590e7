"""Each student's share of one cohort-wide apply or write, on results captured from real runs
(tests/support/capture_apply_results.py) and Deployments as the API lists them."""

import json
from pathlib import Path

import pytest
import yaml

from plugins.module_utils.deploy.outcomes import (
    deploy_outcomes,
    deployment_ready,
    student_reports,
    summary_rows,
    summary_text,
    unavailable,
)

HERE = Path(__file__).parent
APPLY = HERE / "fixtures" / "apply"
DEPLOYMENTS = yaml.safe_load((Path(__file__).parents[3] / "fixtures" / "cluster" / "deployments.yml").read_text())

# The objects the captured runs applied and wrote: two per student.
OBJECTS = [
    [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "user01"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "exporter-source", "namespace": "user01"}},
    ],
    [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "user02"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "exporter-source", "namespace": "user02"}},
    ],
]
STUDENTS = {"user01": "user01", "user02": "user02"}


def captured(name: str) -> dict:
    return json.loads((APPLY / name).read_text())


def test_the_refused_object_fails_its_student_only():
    outcomes = deploy_outcomes(STUDENTS, OBJECTS, captured("one-refused.json"))
    assert outcomes["user01"]["failed"] is False
    assert outcomes["user01"]["changed"] == ["Namespace/user01", "ConfigMap/exporter-source"]
    assert outcomes["user02"]["failed"] is True
    assert outcomes["user02"]["changed"] == ["Namespace/user02"]
    [error] = outcomes["user02"]["errors"]
    assert error.startswith("ConfigMap/exporter-source: Failed to apply object")
    assert "exceeded quota" in error
    assert "Rerun deploy.yml (--limit user02)" in outcomes["user02"]["message"]
    assert "Failed" not in outcomes["user01"]["message"]


def test_a_module_that_failed_as_a_whole_fails_every_object_with_its_message():
    outcomes = deploy_outcomes(STUDENTS, OBJECTS, captured("unreachable.json"))
    for student in STUDENTS:
        assert outcomes[student]["failed"] is True
        assert len(outcomes[student]["errors"]) == 2
        assert all("Connection refused" in e for e in outcomes[student]["errors"])


def test_written_files_report_changes_the_first_time_only():
    first = deploy_outcomes(STUDENTS, OBJECTS, captured("written-first.json"))
    again = deploy_outcomes(STUDENTS, OBJECTS, captured("written-again.json"))
    assert [first[s]["changed"] for s in STUDENTS] == [
        ["Namespace/user01", "ConfigMap/exporter-source"],
        ["Namespace/user02", "ConfigMap/exporter-source"],
    ]
    assert all(not again[s]["changed"] and not again[s]["failed"] for s in STUDENTS)
    assert again["user01"]["message"] == "user01: 2 objects, 0 changed."


def test_what_the_render_no_longer_contains_is_a_change_and_a_failed_removal_fails_the_student():
    removed = {
        "user01": [{"name": "Ingress/grafana", "error": "", "diff": "--- user01: Ingress/grafana (on the cluster)"}],
        "user02": [
            {"name": "Ingress/grafana", "error": 'HTTP 403: ingresses.networking.k8s.io "grafana" is forbidden'}
        ],
    }
    again = deploy_outcomes(STUDENTS, OBJECTS, captured("written-again.json"), removed=removed)
    assert again["user01"]["changed"] == ["Ingress/grafana (removed)"] and again["user01"]["removed"] == [
        "Ingress/grafana"
    ]
    assert again["user01"]["message"] == "user01: 2 objects, 1 changed: Ingress/grafana (removed)."
    assert again["user01"]["diffs"] == ["--- user01: Ingress/grafana (on the cluster)"]
    assert again["user02"]["failed"] is True and "Ingress/grafana: not removed: HTTP 403" in again["user02"]["message"]
    checked = deploy_outcomes(STUDENTS, OBJECTS, {**captured("written-again.json"), "dry_run": True}, removed=removed)
    assert checked["user01"]["changed"] == ["Ingress/grafana (would be removed)"]
    params = {"cohort": "c", "apply": True, "check_mode": False, "render_dir": "/r", "cohort_dir": "/b/c",
              "language": "ko", "token_ttl": "16w", "token_renew_before": "7d"}  # fmt: skip
    records = {s: {"namespace": s, "how_to_reach": "port-forward"} for s in STUDENTS}
    reports = {s: {"failed": a["failed"]} for s, a in again.items()}
    lines = summary_text(params, again, reports, records, dict(zip(STUDENTS, OBJECTS, strict=True)), {}, [], [])
    assert "user01: removed what the render no longer contains: Ingress/grafana" in lines
    assert lines[0] == "cohort c: 2 students applied to the cluster, 1 FAILED (their messages say why)"


def test_a_student_with_no_objects_takes_no_results():
    outcomes = deploy_outcomes({"user00": "user00", **STUDENTS}, [[], *OBJECTS], captured("one-refused.json"))
    assert outcomes["user00"] == {
        "objects": 0,
        "changed": [],
        "errors": [],
        "waiting": [],
        "failed": False,
        "dry_run": False,
        "diffs": [],
        "removed": [],
        "message": "user00: 0 objects, 0 changed.",
    }
    assert outcomes["user02"]["failed"] is True and outcomes["user01"]["failed"] is False


@pytest.mark.parametrize(
    ("students", "objects", "why"),
    [
        (STUDENTS, OBJECTS[:1], "2 students but 1 lists"),
        (STUDENTS, [OBJECTS[0], OBJECTS[1] * 2], "4 results for 6 objects"),
    ],
)
def test_results_that_do_not_match_the_objects_are_refused_not_misattributed(students, objects, why):
    with pytest.raises(ValueError, match=why):
        deploy_outcomes(students, objects, captured("one-refused.json"))


@pytest.mark.parametrize(
    ("namespace", "name", "ready"),
    [
        ("user01", "prometheus", True),  # available
        ("user01", "metrics-exporter", False),  # rolling out: unavailableReplicas
        ("user02", "grafana", False),  # just created: the controller wrote no status yet
        ("user02", "prometheus", True),  # scaled to 0: nothing to wait for
        ("course-nlp", "jupyterhub", False),
    ],
)
def test_deployment_ready_is_kubernetes_cores_test(namespace, name, ready):
    [deployment] = [d for d in DEPLOYMENTS if d["metadata"]["namespace"] == namespace and d["metadata"]["name"] == name]
    assert deployment_ready(deployment) is ready


def test_a_spec_the_controller_has_not_seen_yet_is_not_ready():
    rolled = json.loads(json.dumps(DEPLOYMENTS[0]))
    rolled["metadata"]["generation"] = 2  # a new spec applied; status still describes generation 1
    assert deployment_ready(rolled) is False


def test_unavailable_names_the_cohorts_deployments_only():
    assert unavailable(DEPLOYMENTS, ["user01", "user02", "user03"]) == {
        "user01": ["metrics-exporter"],
        "user02": ["grafana"],
    }


def test_deployments_not_ready_after_the_wait_fail_their_student_with_the_way_to_find_out_why():
    outcomes = deploy_outcomes(STUDENTS, OBJECTS, captured("written-again.json"), DEPLOYMENTS, 300)
    assert outcomes["user01"]["waiting"] == ["metrics-exporter"] and outcomes["user01"]["failed"] is True
    assert "user01: metrics-exporter not available after 300 s" in outcomes["user01"]["message"]
    assert "verify.yml --limit user01" in outcomes["user01"]["message"]
    without_wait = deploy_outcomes(STUDENTS, OBJECTS, captured("written-again.json"))
    assert not any(o["waiting"] or o["failed"] for o in without_wait.values())


def test_deployments_that_could_not_be_listed_fail_every_student_with_the_reason():
    outcomes = deploy_outcomes(
        STUDENTS, OBJECTS, captured("written-again.json"), None, 300, captured("unreachable.json")["msg"]
    )
    for student in STUDENTS:
        assert outcomes[student]["failed"] is True
        assert "could not check that the Deployments are available" in outcomes[student]["message"]
        assert "Connection refused" in outcomes[student]["message"]


def test_the_summary_lists_every_student_of_the_run_and_marks_who_failed():
    records = {
        s: {"namespace": s, "grafana_url": "", "how_to_reach": f"kubectl -n {s} port-forward"} for s in ("a", "b")
    }
    manifests = {"a": [{}] * 20, "b": [{}] * 20}
    accesses = {
        "a": {"action": "kept", "token_expires": "2027-03-21 20:16 UTC"},
        "b": {"action": "failed", "error": "x"},
    }
    answers = {"a": {"failed": False, "changed": ["Deployment/grafana"]}}
    rows = summary_rows(["b", "a"], records, manifests, accesses, answers, [{"name": "k", "students": ["a", "b"]}])
    assert rows == [
        ["student", "namespace", "objects", "result", "kubeconfig", "token expires", "Grafana"],
        ["a", "a", "20", "1 changed", "kept", "2027-03-21 20:16 UTC", "kubectl -n a port-forward"],
        ["b", "b", "20", "FAILED", "failed", "NOT ISSUED", "kubectl -n b port-forward"],
    ]
    two = [{"name": "k", "students": ["a"]}, {"name": "m", "students": ["b"]}]
    checked = {"b": {"failed": False, "changed": [], "dry_run": True}}
    assert summary_rows(["a", "b"], records, manifests, {}, checked, two)[2][:7] == [
        "b", "b", "m", "20", "0 would change", "-", "-"
    ]  # fmt: skip


def test_the_kubeconfigs_line_goes_beneath_the_objects_and_decides_with_them():
    ok = {"message": "user01: 20 objects, 0 changed.", "changed": [], "failed": False}
    said = student_reports(
        {"user01": ok, "user02": {**ok, "message": "user02: 20 objects, 0 changed."}, "user03": ok},
        {"user01": {"why": "kept (expires 2027-03-21 17:04 UTC)", "changed": False, "error": ""},
         "user02": {"why": "", "changed": False, "error": "cannot create the ServiceAccount: Forbidden"}},
    )  # fmt: skip
    assert said["user01"] == {"message": "user01: 20 objects, 0 changed.\nkubeconfig: kept (expires 2027-03-21 "
                              "17:04 UTC).", "changed": False, "failed": False}  # fmt: skip
    assert said["user02"]["failed"] and said["user02"]["message"].endswith(
        "kubeconfig not issued: cannot create the ServiceAccount: Forbidden."
    )
    assert said["user03"] == {"message": "user01: 20 objects, 0 changed.", "changed": False, "failed": False}
