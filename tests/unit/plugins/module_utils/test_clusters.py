"""A cohort across clusters (module_utils/clusters.py): students grouped by connection, and each
cluster-wide task's loop results (each carrying its cluster as `item`, as Ansible registers a
loop) put back together per student and per cohort."""

from pathlib import Path

import pytest
import yaml

from plugins.module_utils.access import sheet
from plugins.module_utils.common import clusters
from plugins.module_utils.deploy import capacity, outcomes
from plugins.module_utils.teardown import plan as teardown
from plugins.module_utils.verify import lab_health

FIXTURES = Path(__file__).parents[3] / "fixtures" / "cluster"
NODES = yaml.safe_load((FIXTURES / "nodes.yml").read_text())
PODS = yaml.safe_load((FIXTURES / "pods.yml").read_text())
DEPLOYMENTS = yaml.safe_load((FIXTURES / "deployments.yml").read_text())
LABELS = {"app.kubernetes.io/managed-by": "mlopslab", "mlopslab.io/cohort": "fall26"}

CONNECTIONS = {
    "user01": ("/etc/course/a.yaml", "", ""),
    "user02": ("/etc/course/b.yaml", "course-b", "https://k8s-b.example.com:6443"),
    "user03": ("/etc/course/a.yaml", "", ""),
}
A, B = clusters.group(CONNECTIONS, {s: s for s in CONNECTIONS})


def namespace(name, uid="", labels=None):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "uid": uid, "labels": labels or {}}}


def ours(name):
    return namespace(name, labels={**LABELS, "mlopslab.io/student": name})


def test_students_are_grouped_by_cluster_in_the_order_of_their_first_student():
    assert [c["students"] for c in (A, B)] == [["user01", "user03"], ["user02"]]
    assert A["name"] == "/etc/course/a.yaml" and B["name"] == "course-b (/etc/course/b.yaml)"
    assert B["api_server"] == "https://k8s-b.example.com:6443"
    # Each student's own namespace, whatever prefix their group gave them.
    prefixed = clusters.group(CONNECTIONS, {"user01": "fall26-user01", "user02": "b-user02", "user03": "x-user03"})
    assert prefixed[0]["namespaces"] == ["fall26-user01", "x-user03"]
    only = clusters.group({"user01": ("", "", "")}, {"user01": "user01"})
    assert only[0]["name"] == "default (K8S_AUTH_KUBECONFIG or ~/.kube/config)"


def test_one_cluster_hands_out_one_api_server_address():
    connections = {**CONNECTIONS, "user04": ("/etc/course/b.yaml", "course-b", "https://vpn.example.com:6443")}
    problems = clusters.api_server_problems(connections)
    assert list(problems) == ["user04"]
    assert "differs from user02's (https://k8s-b.example.com:6443) on the same cluster course-b" in problems["user04"]
    assert clusters.api_server_problems(CONNECTIONS) == {}


def test_two_groups_reaching_one_cluster_are_named_by_kube_system_uid():
    c = {**A, "name": "c", "students": ["user09"]}
    listed = [
        {"item": A, "resources": [namespace("kube-system", "uid-1"), namespace("default", "uid-2")]},
        {"item": B, "resources": [namespace("kube-system", "uid-9")]},
        {"item": c, "resources": [namespace("kube-system", "uid-1")]},
    ]
    problems = clusters.same_cluster_problems(listed)
    assert problems == [
        "the students of c (user09) and of /etc/course/a.yaml (user01, user03) reach the same cluster (kube-system "
        "uid uid-1): give them the same mlopslab_kubeconfig and mlopslab_context"
    ]
    # A list without kube-system (an answer that failed, a namespace-scoped user) proves nothing either way.
    assert clusters.same_cluster_problems([{"item": A, "resources": []}, {"item": B, "resources": []}]) == []


def lab(cpu):
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "lab"},
        "spec": {"template": {"spec": {"containers": [{"name": "lab", "resources": {"requests": {"cpu": cpu}}}]}}},
    }
    return [deployment]


def test_each_cluster_is_judged_on_its_own_students():
    # 3800m free on each cluster: 1500m + 1500m on a and 1500m on b fit, and would not on one cluster.
    nodes = [{"item": A, "resources": NODES}, {"item": B, "resources": NODES}]
    pods = [{"item": A, "resources": PODS}, {"item": B, "resources": PODS}]
    report = capacity.capacity(nodes, pods, {"user01": lab("1.5"), "user03": lab("1.5"), "user02": lab("1.5")})
    assert report["fits"] is True
    assert [r["students"] for r in report["clusters"]] == [2, 1]
    assert report["verdict"] == "The cohort fits each of its 2 clusters' free capacity."
    assert (
        report["table"][0] == "cluster /etc/course/a.yaml:"
        and "cluster course-b (/etc/course/b.yaml):" in report["table"]
    )
    short = capacity.capacity(nodes, pods, {"user01": lab("1.5"), "user03": lab("2.5"), "user02": lab("1.5")})
    assert short["fits"] is False
    assert short["verdict"].startswith("On /etc/course/a.yaml: The cohort of 2 needs more cpu")
    one = capacity.capacity(nodes[:1], pods[:1], {"user01": lab("1"), "user03": lab("1")})
    assert one["verdict"] == "The cohort of 2 fits the cluster's free capacity." and "cluster" not in one["table"][0]


def objects(student):
    return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{student}", "namespace": student}}]


def test_a_cluster_that_failed_as_a_whole_fails_its_own_students_only():
    manifests = {s: objects(s) for s in CONNECTIONS}
    applied = [
        {"item": A, "changed": False, "result": {"results": [{"changed": True}, {"changed": False}]}},
        {"item": B, "failed": True, "msg": "Failed to get client due to HTTPSConnectionPool(host='k8s-b')"},
    ]
    answers = outcomes.clusters_deploy_outcomes(applied, manifests)
    assert answers["user01"]["changed"] == ["ConfigMap/cm-user01"] and not answers["user01"]["failed"]
    assert not answers["user03"]["failed"]
    assert answers["user02"]["failed"]
    assert (
        "ConfigMap/cm-user02: Failed to get client due to HTTPSConnectionPool(host='k8s-b')"
        in answers["user02"]["message"]
    )


def test_each_cluster_is_waited_for_with_its_own_deployments():
    manifests = {s: objects(s) for s in CONNECTIONS}
    applied = [
        {"item": A, "result": {"results": [{"changed": False}, {"changed": False}]}},
        {"item": B, "result": {"results": [{"changed": False}]}},
    ]
    # Cluster a lists user01's Deployments (one of them not available yet); cluster b's list failed.
    waited = [
        {"item": A, "resources": [d for d in DEPLOYMENTS if d["metadata"]["namespace"] == "user01"]},
        {"item": B, "failed": True, "msg": "Unauthorized"},
    ]
    answers = outcomes.clusters_deploy_outcomes(applied, manifests, waited, 300)
    assert (
        answers["user02"]["failed"]
        and "could not check that the Deployments are available: Unauthorized" in (answers["user02"]["message"])
    )
    assert not answers["user03"]["failed"]
    assert answers["user01"]["waiting"] == ["metrics-exporter"]


def judged(namespace, status, cause=None):
    return {"namespace": namespace, "status": status, "cause": cause, "findings": []}


def test_health_is_one_cohort_with_each_student_s_cluster():
    results = [
        {"item": A, "students": [judged("user01", "healthy"), judged("user03", "failing", "oom_killed")]},
        {"item": B, "students": [judged("user02", "failing", "oom_killed")]},
    ]
    merged = lab_health.health(results)
    assert merged["summary"] == {
        "students": 3, "healthy": 1, "degraded": 0, "failing": 2, "causes": {"oom_killed": 2}
    }  # fmt: skip
    assert [s["cluster"] for s in merged["students"]] == [A["name"], A["name"], B["name"]]
    assert merged["clusters"] == [
        {"name": A["name"], "students": 2, "checked": True, "error": ""},
        {"name": B["name"], "students": 1, "checked": True, "error": ""},
    ]  # fmt: skip


@pytest.mark.parametrize(
    "unanswered",
    [
        {"failed": True, "msg": "cannot list the cohort's namespaces: Connection refused"},
        {"cluster_error": "cannot list the cohort's namespaces: Connection refused"},  # unanswered=report
    ],
    ids=["failed", "reported"],
)
def test_a_cluster_verify_could_not_check_fails_its_students_and_keeps_the_others(unanswered):
    results = [
        {"item": A, "students": [judged("user01", "healthy"), judged("user03", "healthy")]},
        {"item": B, **unanswered},
    ]
    merged = lab_health.health(results)
    user02 = merged["students"][2]
    assert (user02["namespace"], user02["status"], user02["cause"]) == ("user02", "failing", "cluster_unreachable")
    assert (
        "course-b (/etc/course/b.yaml) did not answer (cannot list the cohort's namespaces: Connection refused)"
        in (user02["findings"][0]["message"])
    )
    assert merged["summary"]["healthy"] == 2 and merged["summary"]["failing"] == 1
    assert [c["checked"] for c in merged["clusters"]] == [True, False]
    # Said once for the cluster (the verify table), not once per student.
    assert merged["clusters"][1]["error"] == "cannot list the cohort's namespaces: Connection refused"


def test_teardown_looks_for_each_student_on_their_own_cluster():
    listed = [
        # Cluster a has user01's namespace, and one of user02's name that is another course's.
        {"item": A, "resources": [ours("user01"), namespace("user02"), ours("user07")]},
        {"item": B, "resources": [ours("user02")]},
    ]
    plan = teardown.teardown_plan(listed, "fall26", [], ["user01", "user02", "user03"], True)
    assert [(e["namespace"], e["cluster"]) for e in plan["delete"]] == [
        ("user01", A["name"]), ("user07", A["name"]), ("user02", B["name"])
    ]  # fmt: skip
    assert plan["refuse"] == [] and [e["namespace"] for e in plan["absent"]] == ["user03"]
    assert [(c["name"], c["namespaces"]) for c in plan["clusters"]] == [
        (A["name"], ["user01", "user07"]), (B["name"], ["user02"])
    ]  # fmt: skip
    assert plan["clusters"][1]["delete_objects"] == [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "user02"}}
    ]
    assert plan["orphans"] == [{"namespace": "user07", "student": "user07", "cluster": A["name"]}]


def test_names_given_to_teardown_are_looked_for_on_every_cluster():
    listed = [{"item": A, "resources": [namespace("other")]}, {"item": B, "resources": [ours("user07")]}]
    plan = teardown.teardown_plan(listed, "fall26", ["user07", "other", "gone"], ["user01"], False)
    assert [(e["namespace"], e["cluster"]) for e in plan["delete"]] == [("user07", B["name"])]
    assert [(e["namespace"], e["cluster"]) for e in plan["refuse"]] == [("other", A["name"])]
    # Absent only where absent from every cluster: user07 is absent from a but deleted on b.
    assert [e["namespace"] for e in plan["absent"]] == ["gone"]


def test_teardown_outcome_per_namespace_and_cluster():
    a = {"name": "a", "namespaces": ["user01", "user03"]}
    b = {"name": "b", "namespaces": ["user02"]}
    c = {"name": "c", "namespaces": ["user05", "user06"]}
    errors = {"user03": "forbidden", "user09": 'namespaces "user09" is forbidden'}
    stuck = {
        "metadata": {"name": "user01", "deletionTimestamp": "2026-11-29T20:00:00Z"},
        "status": {"phase": "Terminating"},
    }
    remaining = [
        {"item": a, "resources": [stuck]},
        {"item": b, "resources": []},
        {"item": c, "failed": True, "msg": "connection refused"},
    ]
    outcome = teardown.outcome(errors, remaining)
    assert outcome["errors"] == errors
    assert outcome["wait_errors"] == {"user05": "connection refused", "user06": "connection refused"}
    assert [(e["namespace"], e["cluster"], e["phase"]) for e in outcome["stuck"]] == [("user01", "a", "Terminating")]


def test_a_cluster_whose_kubeconfigs_could_not_be_issued_says_so_for_each_of_its_students():
    mine = {"student": "user01", "namespace": "user01", "action": "kept", "error": "", "changed": False}
    results = [
        {"item": A, "students": [mine, {**mine, "student": "user03", "namespace": "user03"}]},
        {"item": B, "failed": True, "msg": "cannot list the students' ServiceAccounts: Unauthorized"},
    ]
    answers = sheet.issued(results)
    assert [a["student"] for a in answers] == ["user01", "user03", "user02"]
    assert [a["cluster"] for a in answers] == [A["name"], A["name"], B["name"]]
    assert answers[2]["action"] == "failed"
    assert (
        answers[2]["error"] == "course-b (/etc/course/b.yaml): cannot list the students' ServiceAccounts: Unauthorized"
    )
    # Render-only runs skip the call: nobody was issued anything, and nothing failed.
    assert sheet.issued([{"item": A, "skipped": True}]) == []
