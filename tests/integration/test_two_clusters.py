"""A cohort across two clusters at once, each an emulator of its own: students are grouped by
their connection settings (here user03 has the second cluster's kubeconfig as a host var), and
deploy, the students' kubeconfigs, verify and teardown act on each student's own cluster, one
call per cluster. Until every cluster of the run is known and checked, nothing is applied
anywhere. The real-cluster tier repeats the deploy and teardown on two real API servers."""

from __future__ import annotations

import csv
import json
import re

import pytest
import yaml

from tests.support.as_student import list_pods_status
from tests.support.cohort_inventory import inventory, lifecycle_args
from tests.support.cohort_pods import OOM_KILLED, student_objects
from tests.support.kube_emulator import CLUSTER_FIXTURES, UNAVAILABLE, EmulatedCluster, api_status

COHORT = "mlops-demo"
DEFAULT = "default (K8S_AUTH_KUBECONFIG or ~/.kube/config)"
KUBE_SYSTEM = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}


@pytest.fixture
def second(tmp_path):
    """Another cluster: an emulator of its own, with its own nodes and kube-system namespace."""
    with EmulatedCluster(tmp_path / "b" / "kubeconfig", seed_files=[CLUSTER_FIXTURES / "nodes.yml"]) as cluster:
        cluster.seed(KUBE_SYSTEM)
        yield cluster


@pytest.fixture
def course(kube, second, ansible_playbook, tmp_path):
    """user01 and user02 on the default cluster (K8S_AUTH_KUBECONFIG), user03 on the second."""
    kube.seed(KUBE_SYSTEM)
    students = ("user01", "user02", "user03")

    def place(student, kubeconfig):
        inventory(tmp_path, students, host_vars={student: {"mlopslab_kubeconfig": str(kubeconfig)}})

    place("user03", second.kubeconfig)

    def run(playbook, *args, check=True):
        return ansible_playbook(
            f"playbooks/{playbook}.yml",
            "-i",
            str(tmp_path / "inventory" / "cohort.yml"),
            *lifecycle_args(tmp_path),
            *args,
            env={"K8S_AUTH_KUBECONFIG": str(kube.kubeconfig)},
            check=check,
        )

    run.place = place
    run.folder = tmp_path / "build" / COHORT
    return run


def labs(cluster):
    return sorted(
        n["metadata"]["name"]
        for n in cluster.request("GET", "/api/v1/namespaces")["items"]
        if (n["metadata"].get("labels") or {}).get("mlopslab.io/cohort") == COHORT
    )


def test_each_student_is_deployed_handed_out_and_removed_on_their_own_cluster(kube, second, course):
    first = course("deploy")
    assert labs(kube) == ["user01", "user02"] and labs(second) == ["user03"]
    # One apply call per cluster: the second cluster saw only user03's objects.
    patched = {
        r.url.path.split("/namespaces/")[1].split("/")[0] for r in second.emulator._requests if r.method == "PATCH"
    }
    assert patched == {"user03"}
    assert "3 students applied to 2 clusters" in first.text
    assert first.summary()["user03"]["cluster"] == str(second.kubeconfig)
    assert first.summary()["user03"]["result"] == "20 changed"
    # Each kubeconfig handed out names the student's own cluster, and works there.
    for student, cluster in (("user01", kube), ("user03", second)):
        path = course.folder / "kubeconfigs" / f"{student}.yaml"
        assert yaml.safe_load(path.read_text())["clusters"][0]["cluster"]["server"] == cluster.url
        assert list_pods_status(path, student) == 200

    # The instructor's sheet says which cluster each student is on.
    with open(course.folder / "access.csv", newline="") as handle:
        rows = {row["student"]: row["cluster"] for row in csv.DictReader(handle)}
    assert rows == {"user01": DEFAULT, "user02": DEFAULT, "user03": str(second.kubeconfig)}

    again = course("deploy")
    assert again.changed() == 0, again.output[-3000:]
    assert [row["kubeconfig"] for row in again.summary().values()] == ["kept"] * 3

    removed = course("teardown", "-e", f"mlopslab_teardown_confirm={COHORT}")
    assert f"delete user03 student user03 on {second.kubeconfig}" in removed.text
    assert labs(kube) == [] and labs(second) == []
    # What was deleted of the labs (each run also deletes its own hold, a Lease, when it ends).
    deleted = [r.url.path for r in second.emulator._requests if r.method == "DELETE" and "/leases/" not in r.url.path]
    assert deleted == ["/api/v1/namespaces/user03"]


def test_verify_checks_each_student_on_their_own_cluster(kube, second, course):
    kube.seed(*student_objects("user01"), *student_objects("user02"))
    second.seed(*student_objects("user03", OOM_KILLED))
    course(
        "verify",
        "-e", "verify_fail=false",
        "-e", "mlopslab_verify_prometheus_access=none",
        "-e", "mlopslab_verify_grafana_access=none",
        "-e", "mlopslab_verify_student_access=false",
    )  # fmt: skip
    report = json.loads(sorted(course.folder.glob("verify-*.json"))[-1].read_text())
    found = {s["namespace"]: (s["cluster"], s["cause"]) for s in report["students"]}
    # user03's lab exists on the second cluster only: looked for on the first, it would be missing.
    assert found["user03"] == (str(second.kubeconfig), "oom_killed")
    assert found["user01"][0] == found["user02"][0] == DEFAULT
    assert found["user01"][1] != "oom_killed"
    assert [c["students"] for c in report["clusters"]] == [2, 1]
    markdown = sorted(course.folder.glob("verify-*.md"))[-1].read_text()
    assert "| user03 | failing | oom_killed | " in markdown and f" | {second.kubeconfig} |" in markdown


def test_an_unreachable_cluster_stops_the_run_before_anything_is_applied_anywhere(kube, course, tmp_path):
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(kube.kubeconfig.read_text().replace(kube.url, "http://127.0.0.1:9"))
    course.place("user03", dead)
    run = course("deploy", check=False)
    assert run.returncode != 0
    assert f"Cannot reach the Kubernetes API (kubeconfig: {dead}, context: the current one)" in run.text
    assert labs(kube) == [] and not course.folder.exists()


def test_two_ways_to_one_cluster_are_refused(kube, course, tmp_path):
    # Another file, the same cluster: user03's preflight would count user01's pods as another course's.
    copy = tmp_path / "same-cluster.kubeconfig"
    copy.write_text(kube.kubeconfig.read_text())
    course.place("user03", copy)
    run = course("deploy", check=False)
    assert run.returncode != 0
    assert (
        f"the students of {copy} (user03) and of default (K8S_AUTH_KUBECONFIG or ~/.kube/config) (user01, user02)"
        in (run.text)
    )
    assert "reach the same cluster (kube-system uid" in run.text and "Nothing was changed" in run.text
    assert labs(kube) == []


def test_a_cluster_that_does_not_answer_verify_fails_its_students_and_the_others_are_reported(kube, second, course):
    kube.seed(*student_objects("user01"), *student_objects("user02"))
    second.emulator["get /api/v1/pods"] << 503 << UNAVAILABLE
    run = course(
        "verify",
        "-e", "mlopslab_verify_prometheus_access=none",
        "-e", "mlopslab_verify_grafana_access=none",
        "-e", "mlopslab_verify_student_access=false",
        check=False,
    )  # fmt: skip
    assert run.returncode != 0
    assert run.recap["user03"]["failed"] == 1 and run.recap["user01"]["failed"] == 0
    # Why the cluster did not answer is said once, for the cluster; its students point to it.
    assert run.text.count(f"{second.kubeconfig} did not answer (") == 1, run.output[-4000:]
    # Not as a failed loop item either, which would print the cluster with every student of it.
    assert "...ignoring" not in run.text and "ansible_loop_var" not in run.text
    assert "its 1 students were not checked (cluster_unreachable)" in run.text
    assert "user03: cluster_unreachable: its cluster did not answer (said above)" in run.text
    report = json.loads(sorted(course.folder.glob("verify-*.json"))[-1].read_text())
    assert [s["namespace"] for s in report["students"]] == ["user01", "user02", "user03"]
    assert [c["checked"] for c in report["clusters"]] == [True, False]


def test_the_students_of_a_cluster_that_does_not_answer_fail_once_in_full(kube, course, tmp_path):
    # The repository's stdout callback (mlopslab.monitoring.cohort): the cluster's failure is the
    # same for each of its students, so it is printed in full for one and in a line for the other.
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(kube.kubeconfig.read_text().replace(kube.url, "http://127.0.0.1:9"))
    course.place("user02", dead)
    course.place("user03", dead)
    kube.seed(*student_objects("user01"))
    run = course("verify", "-e", "mlopslab_verify_prometheus_access=none", "-e", "mlopslab_verify_grafana_access=none",
                 "-e", "mlopslab_verify_student_access=false", check=False)  # fmt: skip
    assert run.returncode != 0
    assert {host: counts["failed"] for host, counts in run.recap.items()} == {"user01": 0, "user02": 1, "user03": 1}
    assert "its 2 students were not checked (cluster_unreachable)" in run.text
    full = re.findall(r"^fatal: \[(user0[23])\]: FAILED! =>", run.output, re.M)
    assert len(full) == 1 and run.output.count("cluster_unreachable: its cluster did not answer") == 2, run.output
    other = ({"user02", "user03"} - set(full)).pop()
    assert f"fatal: [{other}]: FAILED! the same as [{full[0]}] above" in run.output.splitlines(), run.output


def test_kubeconfigs_a_cluster_could_not_issue_fail_its_own_students_only(kube, second, course):
    second.emulator["get /api/v1/serviceaccounts"] << 503 << UNAVAILABLE
    run = course("deploy", check=False)
    assert run.returncode != 0
    assert run.recap["user03"]["failed"] == 1
    assert run.recap["user01"]["failed"] == 0 and run.recap["user02"]["failed"] == 0
    assert f"kubeconfig not issued: {second.kubeconfig}: cannot list the students' ServiceAccounts" in run.text
    assert (course.folder / "kubeconfigs" / "user01.yaml").exists()
    assert not (course.folder / "kubeconfigs" / "user03.yaml").exists()
    # The summary and the sheet still say it for user03.
    user03 = run.summary()["user03"]
    said = (user03["result"], user03["kubeconfig"], user03["token expires"])
    assert said == ("FAILED", "failed", "NOT ISSUED"), user03
    assert "cohort mlops-demo: 3 students applied to 2 clusters, 1 FAILED" in run.text


def test_a_cluster_that_refuses_teardown_keeps_its_students_and_the_other_is_emptied(kube, second, course):
    course("deploy")
    refusal = api_status(403, "Forbidden", 'namespaces "user03" is forbidden: the course admin holds it')
    second.refuse("DELETE", "/api/v1/namespaces/user03", refusal)
    run = course("teardown", "-e", f"mlopslab_teardown_confirm={COHORT}", check=False)
    assert run.returncode != 0 and run.recap["user03"]["failed"] == 1 and run.recap["user01"]["failed"] == 0
    assert "user03: not deleted:" in run.text and "the course admin holds it" in run.text
    assert labs(kube) == [] and labs(second) == ["user03"]
