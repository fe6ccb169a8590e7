"""A cohort across two real API servers (two control planes side by side): students are
grouped by their connection settings, and each is deployed, handed a kubeconfig, verified and
removed on their own cluster, one call per cluster. The emulator tests
(tests/integration/test_two_clusters.py) cover the refusals; this proves the grouping where the
servers are real: their own controllers, their own token signers, their own RBAC."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.cluster.conftest import note, recap, text, timed
from tests.support.as_student import list_pods_status

FIRST, SECOND = ("user01", "user02"), ("user03", "user04")


def labs(cluster):
    return sorted(n.removeprefix(cluster.prefix) for n in cluster.ours())


def test_a_cohort_across_two_clusters_lives_and_leaves_on_each_student_s_own(two_clusters):
    a, b = two_clusters
    inventory = a.inventory.parent / "two.yml"
    inventory.write_text("cohort:\n  hosts:\n" + "".join(f"    {s}:\n" for s in FIRST + SECOND))
    (inventory.parent / "host_vars").mkdir()
    for student in SECOND:
        (inventory.parent / "host_vars" / f"{student}.yml").write_text(
            yaml.safe_dump({"mlopslab_kubeconfig": b.kubeconfig})
        )

    proc, seconds = a.playbook("deploy", inventory=inventory)
    assert proc.returncode == 0, text(proc)[-4000:]
    timed("deploy 2+2 students on two clusters (apply + wait)", seconds, f"changed {recap(proc)}")
    assert labs(a) == list(FIRST) and labs(b) == list(SECOND)
    for cluster, students in ((a, FIRST), (b, SECOND)):
        for student in students:
            deployments = cluster.apps.list_namespaced_deployment(cluster.ns(student)).items
            assert all(d.status.available_replicas == 1 for d in deployments), (student, deployments)
    assert "4 students applied to 2 clusters" in text(proc)

    # Each kubeconfig names its student's own server and works there; the other server's
    # signer never issued it (real token authentication: 401).
    statuses = {}
    for student, here, there in (("user01", a, b), ("user03", b, a)):
        path = a.build / a.cohort / "kubeconfigs" / f"{student}.yaml"
        server = yaml.safe_load(path.read_text())["clusters"][0]["cluster"]["server"]
        assert server == here.api.configuration.host
        moved = path.with_name(f"{student}-elsewhere.yaml")
        config = yaml.safe_load(path.read_text())
        # The other server's address and CA, the student's token unchanged.
        config["clusters"][0]["cluster"] = yaml.safe_load(Path(there.kubeconfig).read_text())["clusters"][0]["cluster"]
        moved.write_text(yaml.safe_dump(config))
        statuses[student] = (list_pods_status(path, here.ns(student)), list_pods_status(moved, here.ns(student)))
    assert statuses == {"user01": (200, 401), "user03": (200, 401)}
    note(f"two clusters: each student's token works on their own server and gets 401 on the other: {statuses}")

    again, seconds = a.playbook("deploy", inventory=inventory)
    assert again.returncode == 0, text(again)[-4000:]
    changed = {h: r["changed"] for h, r in recap(again).items()}
    timed("second deploy on two clusters", seconds, f"changed {sum(changed.values())}")
    assert set(changed.values()) == {0}, text(again)[-3000:]

    checked, seconds = a.playbook(
        "verify", "-e", "mlopslab_verify_prometheus_access=none", "-e", "mlopslab_verify_grafana_access=none",
        inventory=inventory,
    )  # fmt: skip
    assert checked.returncode == 0, text(checked)[-4000:]
    timed("verify on two clusters", seconds)
    [newest] = sorted((a.build / a.cohort).glob("verify-*.json"))[-1:]
    report = json.loads(newest.read_text())
    assert {s["namespace"].removeprefix(a.prefix): s["cluster"] for s in report["students"]} == {
        "user01": "default (K8S_AUTH_KUBECONFIG or ~/.kube/config)",
        "user02": "default (K8S_AUTH_KUBECONFIG or ~/.kube/config)",
        "user03": b.kubeconfig,
        "user04": b.kubeconfig,
    }
    assert {s["status"] for s in report["students"]} == {"healthy"}, report["students"]

    removed, seconds = a.playbook("teardown", "-e", f"mlopslab_teardown_confirm={a.cohort}", inventory=inventory)
    assert removed.returncode == 0, text(removed)[-4000:]
    timed("teardown on two clusters", seconds)
    assert f"delete {b.ns('user03')}" in text(removed)
    a.wait_for("the first cluster's namespaces gone", lambda: not a.ours(), 90)
    b.wait_for("the second cluster's namespaces gone", lambda: not b.ours(), 90)
