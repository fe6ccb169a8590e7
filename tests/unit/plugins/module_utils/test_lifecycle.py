"""Capacity and teardown planning on Nodes, Pods and Namespaces as the API returns them."""

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from plugins.module_utils.common.namespaces import namespace_plan
from plugins.module_utils.common.quantities import manifests_resources, parse_quantity, pod_resources
from plugins.module_utils.deploy.capacity import capacity_report, capacity_table
from plugins.module_utils.teardown.plan import terminating

CLUSTER = Path(__file__).parents[3] / "fixtures" / "cluster"
NODES = yaml.safe_load((CLUSTER / "nodes.yml").read_text())
UNUSABLE = yaml.safe_load((CLUSTER / "nodes-unusable.yml").read_text())
PODS = yaml.safe_load((CLUSTER / "pods.yml").read_text())
MI = 2**20


@pytest.mark.parametrize(
    ("quantity", "value"),
    [
        ("250m", "0.25"),
        ("2", "2"),
        (4, "4"),
        ("0.5", "0.5"),
        ("128Mi", str(128 * MI)),
        ("16150676Ki", str(16150676 * 1024)),
        ("1G", "1000000000"),
        ("1e3", "1000"),
        ("100k", "100000"),
        ("1500u", "0.0015"),
    ],
)
def test_parse_quantity(quantity, value):
    assert parse_quantity(quantity) == Decimal(value)


def test_parse_quantity_names_a_bad_value():
    with pytest.raises(ValueError, match="'lots' is not a Kubernetes quantity"):
        parse_quantity("lots")


def test_an_init_container_larger_than_the_containers_sets_the_pod_request():
    cache = next(p for p in PODS if p["metadata"]["name"] == "dataset-cache-0")
    assert pod_resources(cache["spec"])["requests"] == {"cpu": Decimal(2), "memory": Decimal(1024 * MI)}


def student(cpu="150m", memory="320Mi", replicas=1):
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "lab"},
        "spec": {
            "replicas": replicas,
            "template": {
                "spec": {"containers": [{"name": "lab", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}
            },
        },
    }
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}, deployment]


def test_manifests_resources_count_replicas():
    assert manifests_resources(student(replicas=2))["requests"] == {"cpu": Decimal("0.3"), "memory": Decimal(640 * MI)}


def test_used_capacity_counts_scheduled_running_pods_on_usable_nodes_only():
    report = capacity_report(NODES + UNUSABLE, PODS, {"user01": student()}, [])
    # Two workers: the control plane is tainted, worker3 cordoned, worker4 NotReady.
    assert report["nodes"] == ["mlops-worker", "mlops-worker2"]
    assert [n["name"] for n in report["skipped_nodes"]] == ["mlops-control-plane", "mlops-worker3", "mlops-worker4"]
    assert "cordoned" in report["skipped_nodes"][1]["why"] and "not Ready" in report["skipped_nodes"][2]["why"]
    assert report["allocatable"] == {"cpu": Decimal(8), "memory": Decimal(2 * 16150676 * 1024)}
    # kindnet 2x100m/50Mi, notebooks 2x1/2Gi, the cache's init container 2/1Gi; not coredns (control
    # plane), kube-proxy (no requests), the Succeeded Job pod or the Pending pod.
    assert report["used"] == {"cpu": Decimal("4.2"), "memory": Decimal(5220 * MI)}


def test_a_cohort_that_fits_and_one_that_does_not_names_how_many_would():
    fits = capacity_report(NODES, PODS, {f"user{i:02d}": student() for i in range(1, 4)}, [])
    assert fits["fits"] and fits["short_of"] is None
    assert fits["students_that_fit"] == 25  # 3.8 CPU free / 150m
    big = capacity_report(NODES, PODS, {f"user{i:02d}": student() for i in range(1, 31)}, [])
    assert not big["fits"] and big["short_of"] == "cpu" and big["students_that_fit"] == 25


def test_memory_can_be_the_short_resource():
    report = capacity_report(NODES, PODS, {f"user{i:02d}": student("10m", "2Gi") for i in range(1, 21)}, [])
    assert report["short_of"] == "memory"
    assert report["students_that_fit"] == 12  # 26324 MiB free / 2048 MiB


def test_a_rerun_does_not_count_the_students_own_pods_as_used():
    lab_pod = {
        "metadata": {"name": "prometheus-7d9f-abcde", "namespace": "user01"},
        "spec": {"nodeName": "mlops-worker", "containers": [{"name": "p", "resources": {"requests": {"cpu": "3.7"}}}]},
        "status": {"phase": "Running"},
    }
    students = {"user01": student()}
    assert capacity_report(NODES, [*PODS, lab_pod], students, ["user01"])["fits"]
    assert not capacity_report(NODES, [*PODS, lab_pod], students, [])["fits"]


def test_no_usable_node_means_nothing_fits():
    report = capacity_report(UNUSABLE, [], {"user01": student()}, [])
    assert not report["fits"] and report["students_that_fit"] == 0


def test_the_table_shows_each_student_the_cohort_and_what_is_free():
    report = capacity_report(NODES, PODS, {f"user{i:02d}": student() for i in range(1, 4)}, [])
    table = "\n".join(capacity_table(report))
    assert "each student (requests)        150m      320Mi" in table
    assert "cohort of 3                    450m      960Mi" in table
    assert "free                          3800m     25.7Gi" in table
    assert "skipped node mlops-control-plane: tainted node-role.kubernetes.io/control-plane:NoSchedule" in table


def namespace(name, labels=None, **extra):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}, **extra}


def ours(name, cohort="fall26", student=None):
    return namespace(
        name,
        {
            "app.kubernetes.io/managed-by": "mlopslab",
            "mlopslab.io/cohort": cohort,
            "mlopslab.io/student": student or name,
            "kubernetes.io/metadata.name": name,
        },
    )


NAMESPACES = [
    ours("user01"),
    namespace("user02", {"kubernetes.io/metadata.name": "user02"}),  # same name, someone else's
    ours("user03", cohort="spring26"),
    ours("user04"),  # left the inventory
    namespace("kube-system"),
]


def test_teardown_deletes_only_this_cohorts_labelled_namespaces():
    plan = namespace_plan(
        NAMESPACES, "fall26", {"user01": "user01", "user02": "user02", "user03": "user03", "user05": "user05"}
    )
    assert [e["namespace"] for e in plan["delete"]] == ["user01"]
    assert {e["namespace"]: e["why"] for e in plan["refuse"]} == {
        "user02": "not created by mlopslab (no app.kubernetes.io/managed-by=mlopslab label)",
        "user03": "belongs to cohort 'spring26', not 'fall26'",
    }
    assert [e["namespace"] for e in plan["absent"]] == ["user05"]
    assert [e["namespace"] for e in plan["orphans"]] == ["user04"]
    assert plan["delete_objects"] == [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "user01"}}]


def test_a_whole_cohort_teardown_takes_students_who_left_the_inventory():
    inventory = ["user01", "user02", "user03"]
    plan = namespace_plan(NAMESPACES, "fall26", {"user01": "user01"}, inventory, include_orphans=True)
    assert [(e["namespace"], e["student"]) for e in plan["delete"]] == [("user01", "user01"), ("user04", "user04")]


def test_a_limited_teardown_keeps_the_other_students_and_names_only_real_orphans():
    plan = namespace_plan(
        [ours("user01"), ours("user02"), ours("user04")], "fall26", {"user01": "user01"}, ["user01", "user02"]
    )
    assert [e["namespace"] for e in plan["delete"]] == ["user01"]
    assert [e["namespace"] for e in plan["orphans"]] == ["user04"]


def test_the_student_label_names_whose_credentials_go():
    plan = namespace_plan([ours("f26-user07", student="user07")], "fall26", {"f26-user07": "f26-user07"})
    assert plan["delete"][0]["student"] == "user07"


def test_terminating_names_what_holds_a_namespace():
    stuck = namespace(
        "user01",
        spec={"finalizers": ["kubernetes"]},
        status={
            "phase": "Terminating",
            "conditions": [
                {"type": "NamespaceDeletionDiscoveryFailure", "status": "False", "reason": "ResourcesDiscovered",
                 "message": "All resources successfully discovered"},
                {"type": "NamespaceContentRemaining", "status": "True", "reason": "SomeResourcesRemain",
                 "message": "Some resources are remaining: persistentvolumeclaims. has 1 resource instances"},
                {"type": "NamespaceFinalizersRemaining", "status": "True", "reason": "SomeFinalizersRemain",
                 "message": "Some content in the namespace has finalizers remaining: "
                            "kubernetes.io/pvc-protection in 1 resource instances"},
            ],
        },
    )  # fmt: skip
    stuck["metadata"]["deletionTimestamp"] = "2026-11-22T10:02:11Z"
    [entry] = terminating([stuck, ours("user02")], ["user01", "user03"])
    assert entry["phase"] == "Terminating" and entry["finalizers"] == ["kubernetes"]
    assert entry["conditions"] == [
        "NamespaceContentRemaining: Some resources are remaining: persistentvolumeclaims. has 1 resource instances",
        "NamespaceFinalizersRemaining: Some content in the namespace has finalizers remaining: "
        "kubernetes.io/pvc-protection in 1 resource instances",
    ]


def with_empty_dir(objects, size):
    pod_spec = objects[1]["spec"]["template"]["spec"]
    pod_spec["volumes"] = [{"name": "data", "emptyDir": {"sizeLimit": size}}]
    return objects


def test_pods_are_counted_against_each_nodes_allocatable_pods():
    # Two workers of 110 pods each hold 220; 100 students of 3 pods are 300.
    report = capacity_report(NODES, PODS, {f"user{i:03d}": student("1m", "1Mi", replicas=3) for i in range(100)}, [])
    assert report["pods"]["allocatable"] == 220
    assert report["pods"]["cohort"] == 300 and report["short_of"] == "pods"
    assert report["students_that_fit"] == report["pods"]["free"] // 3
    assert "needs more pods (each node's allocatable pods) than the cluster has free" in report["verdict"]


def test_empty_dir_size_limits_are_counted_against_ephemeral_storage():
    students = {f"user{i:02d}": with_empty_dir(student("1m", "1Mi"), "300Gi") for i in range(2)}
    report = capacity_report(NODES, PODS, students, [])
    assert report["ephemeral_storage"]["cohort"] == 600 * 2**30
    assert report["short_of"] == "ephemeral-storage" and report["students_that_fit"] == 1
    # Nodes that report no ephemeral storage leave it unjudged rather than "enough".
    bare = [{**n, "status": {**n["status"], "allocatable": {k: v for k, v in n["status"]["allocatable"].items()
                                                            if k != "ephemeral-storage"}}} for n in NODES]  # fmt: skip
    assert capacity_report(bare, PODS, students, [])["ephemeral_storage"]["free"] is None


def test_the_largest_pod_must_fit_one_node_not_only_the_sums():
    # Each worker has 4 CPU allocatable: 5 CPU fit the cluster's sum (8) but no node.
    report = capacity_report(NODES, [], {"user01": student("5", "1Gi")}, [])
    assert report["free"]["cpu"] >= 5
    assert not report["fits"] and report["short_of"] == "node" and report["students_that_fit"] == 0
    assert "fits on no single schedulable node's free room" in report["verdict"]
    assert "largest lab pod fits on no single node's free room" in capacity_table(report)
    assert capacity_report(NODES, [], {"user01": student("3", "1Gi")}, [])["fits"]
