"""The pure parts of deploy's transaction: a Lease per student (who holds it, when it expired),
each student's ApplySet (its id as kubectl computes it, what it prunes), the shapes the server's
dry run needs, and what the capacity check keeps of other tenants' Pods and Nodes."""

import base64
import hashlib
import json
from pathlib import Path

import pytest
import yaml

from plugins.module_utils.common.settings import compress
from plugins.module_utils.deploy import applyset, lease, shapes
from plugins.module_utils.deploy.capacity import capacity_report, node_usage, pod_usage

CLUSTER = Path(__file__).parents[3] / "fixtures" / "cluster"
RENDERED = Path(__file__).parents[3] / "fixtures" / "rendered" / "lab.yaml"
NOW = 1_796_000_000.0


def lab(student: str) -> list[dict]:
    """The rendered fixture's objects (user01's, as deploy renders them) as another student's,
    with the Grafana Secret the fixture leaves out, as the API returns it (data, never stringData)."""
    objects = yaml.safe_load(RENDERED.read_text().replace("user01", student))["items"]
    labels = dict(objects[1]["metadata"]["labels"])
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "grafana-admin", "namespace": student, "labels": labels},
              "data": {"admin-password": base64.b64encode(f"{student}-pw-0123456789".encode()).decode()}}  # fmt: skip
    return [*objects, secret]


# ---------------------------------------------------------------- the Lease
def test_a_lease_round_trips_its_times_as_the_api_writes_microtime():
    taken = lease.body("user01", {"a": "b"}, "me run 1", "alice@host (pid 1)", NOW)
    assert taken["spec"]["renewTime"].endswith("Z") and "." in taken["spec"]["renewTime"]
    assert lease.parse_time(taken["spec"]["renewTime"]) == pytest.approx(NOW, abs=1e-5)
    assert lease.parse_time("2026-12-07T19:16:58Z") is not None and lease.parse_time("garbage") is None


@pytest.mark.parametrize(
    ("holder", "renewed_ago", "expected"),
    [
        (None, 0, "free"),  # released: the holder was emptied
        ("me run 1", 5, "ours"),
        ("other run 2", 5, "held"),
        ("other run 2", lease.DURATION - 1, "held"),
        ("other run 2", lease.DURATION + 1, "expired"),  # a run that died lets go on its own
    ],
)
def test_a_hold_is_free_ours_held_or_expired(holder, renewed_ago, expected):
    found = lease.body("user01", {}, holder or "x", "x", NOW - renewed_ago)
    if holder is None:
        found["spec"]["holderIdentity"] = None
    assert lease.state(found, "me run 1", NOW) == expected
    assert lease.state(None, "me run 1", NOW) == "free"


def test_a_release_deletes_only_the_version_this_run_wrote():
    assert lease.delete_options("42") == {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "preconditions": {"resourceVersion": "42"},
    }


def test_the_refusal_names_who_holds_which_students_and_how_to_take_over():
    theirs = lease.body("user01", {}, "bob run 9", "bob@ci (pid 7, AWX job 31)", NOW - 3600)
    theirs["spec"]["renewTime"] = lease.microtime(NOW - 4)
    said = lease.refusal("fall26", {"user01": theirs, "user02": theirs}, NOW, compress)
    assert "Another run is changing cohort fall26" in said and "nothing was written" in said
    assert f"{compress(['user01', 'user02'])}: held by bob@ci (pid 7, AWX job 31) since " in said
    assert "renewed 4 s ago" in said and "-e mlopslab_lock_takeover=true" in said


# ---------------------------------------------------------------- the ApplySet
def test_the_set_id_is_the_kep_s_and_kubectl_s():
    # KEP-3659 / kubectl (pkg/cmd/apply/applyset.go ID()): base64url(sha256(name.namespace.kind.group)),
    # unpadded, between "applyset-" and "-v1".
    digest = hashlib.sha256(b"mlopslab-applyset.user01.Secret.").digest()
    assert applyset.set_id("user01") == f"applyset-{base64.urlsafe_b64encode(digest).decode().rstrip('=')}-v1"
    assert len(applyset.set_id("user01")) <= 63  # a label value


def test_members_are_labelled_and_the_render_is_left_as_it_was():
    objects = lab("user01")
    before = json.dumps(objects, sort_keys=True)
    labelled = applyset.members(objects, "user01")
    assert json.dumps(objects, sort_keys=True) == before
    namespace = next(o for o in labelled if o["kind"] == "Namespace")
    assert applyset.PART_OF not in namespace["metadata"]["labels"]  # the set's container, not a member
    others = [o for o in labelled if o["kind"] != "Namespace"]
    assert others and all(o["metadata"]["labels"][applyset.PART_OF] == applyset.set_id("user01") for o in others)
    deployment = next(o for o in labelled if o["kind"] == "Deployment")
    # Pods copy the template's labels: they never carry the set's label, so they are never pruned.
    assert applyset.PART_OF not in deployment["spec"]["template"]["metadata"]["labels"]


def test_the_parent_names_the_kinds_kubectl_reads():
    parent = applyset.parent("user01", {"mlopslab.io/cohort": "c"}, {"Deployment.apps", "ConfigMap"})
    assert parent["kind"] == "Secret" and parent["metadata"]["labels"][applyset.ID_LABEL] == applyset.set_id("user01")
    assert parent["metadata"]["annotations"][applyset.KINDS] == "ConfigMap,Deployment.apps"
    assert parent["metadata"]["annotations"][applyset.TOOLING_ANNOTATION] == "mlopslab/v1"
    assert applyset.recorded_kinds(parent) == {"ConfigMap", "Deployment.apps"}
    assert applyset.recorded_kinds(None) == set()


def listed(obj: dict, **labels) -> dict:
    """An object as a label-selected list returns it (with the apiVersion and kind the caller adds)."""
    out = json.loads(json.dumps(obj))
    out["metadata"]["labels"] = {**(out["metadata"].get("labels") or {}), **labels}
    out["metadata"]["uid"] = "0e43e3bb-0000-0000-0000-000000000001"
    out["metadata"].setdefault("managedFields", [{"manager": "mlopslab", "operation": "Apply"}])
    return out


def test_prune_takes_what_the_render_dropped_and_nothing_else():
    objects = applyset.members(lab("user01"), "user01")
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "grafana", "namespace": "user01", "labels": dict(objects[1]["metadata"]["labels"])},
    }
    legacy = listed(ingress)  # applied by a release before ApplySets: no part-of label
    legacy["metadata"]["labels"].pop(applyset.PART_OF)
    legacy["metadata"]["name"] = "grafana-old"
    neighbour = listed({**ingress, "metadata": {**ingress["metadata"], "namespace": "user02"}})
    foreign = listed({**ingress, "metadata": {"name": "x", "namespace": "user01", "labels": {"team": "other"}}})
    parent = applyset.parent("user01", {"app.kubernetes.io/managed-by": "mlopslab", "mlopslab.io/cohort": "c"}, set())
    ours = {"app.kubernetes.io/managed-by": "mlopslab", "mlopslab.io/cohort": "c"}
    replicaset = listed(
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "rs", "namespace": "user01", "labels": ours},
        }
    )
    # A student's copy of the lab's Deployment: the same labels (part-of too), written by kubectl.
    copy = listed(next(o for o in objects if o["kind"] == "Deployment"))
    copy["metadata"]["name"] = "my-exporter"
    copy["metadata"]["managedFields"] = [{"manager": "kubectl-client-side-apply", "operation": "Update"}]
    live = [listed(o) for o in objects] + [listed(ingress), legacy, neighbour, foreign, parent, replicaset, copy]
    cohort = objects[1]["metadata"]["labels"]["mlopslab.io/cohort"]
    # Another cohort's object without the set's label is not this cohort's.
    assert [(o["kind"], o["metadata"]["name"]) for o in applyset.to_prune(live, objects, "user01", "other")] == [
        ("Ingress", "grafana")
    ]
    gone = applyset.to_prune(live, objects, "user01", cohort)
    assert [(o["kind"], o["metadata"]["name"]) for o in gone] == [("Ingress", "grafana"), ("Ingress", "grafana-old")]
    # The whole render applied again: nothing to prune.
    assert applyset.to_prune([listed(o) for o in objects], objects, "user01", cohort) == []


# ---------------------------------------------------------------- shapes for the server's dry run
def test_students_who_differ_in_names_and_secrets_are_one_shape():
    manifests = {s: lab(s) for s in ("user01", "user02", "user03")}
    for obj in manifests["user02"]:
        if obj["kind"] == "Secret":
            obj["data"] = {"admin-password": base64.b64encode(b"another-password-123").decode()}
    namespaces = {s: s for s in manifests}
    assert shapes.representatives(manifests, namespaces) == {"user01": ["user01", "user02", "user03"]}
    # A setting changed for one student makes a shape of its own, checked by the server too.
    quota = next(o for o in manifests["user03"] if o["kind"] == "ResourceQuota")
    quota["spec"]["hard"]["services"] = "2"
    reps = shapes.representatives(manifests, namespaces, prefer=lambda s: s == "user02")
    assert reps == {"user02": ["user01", "user02"], "user03": ["user03"]}


def test_a_refusal_names_the_students_of_its_shape_the_object_and_the_setting():
    limits = {"kind": "LimitRange", "metadata": {"name": "lab-limits"}}
    message = 'LimitRange "lab-limits" is invalid: spec.limits[0].defaultRequest[cpu]: Invalid value: "300m"'
    lines = shapes.refusal_lines({"user01": [(limits, message)]}, {"user01": ["user01", "user02"]}, compress)
    assert lines == [
        f"{compress(['user01', 'user02'])}: LimitRange/lab-limits (from student_namespace_container_default_request, "
        f"student_namespace_container_default_limit, student_namespace_container_max): {message}"
    ]


# ---------------------------------------------------------------- what is kept of other tenants
def test_another_tenants_pod_keeps_only_what_the_scheduler_counts():
    pods = yaml.safe_load((CLUSTER / "pods.yml").read_text())
    for pod in pods:
        pod["spec"]["containers"][0]["env"] = [{"name": "POSTGRES_PASSWORD", "value": "marked-secret-8c1f"}]
        pod["spec"]["containers"][0]["command"] = ["psql", "--password=marked-secret-8c1f"]
    kept = [pod_usage(p) for p in pods]
    text = json.dumps(kept)
    assert "marked-secret-8c1f" not in text and "image" not in text and "labels" not in text
    nodes = yaml.safe_load((CLUSTER / "nodes.yml").read_text())
    # The capacity check decides the same from what is kept as from the whole objects.
    whole = capacity_report(nodes, pods, {"user01": lab("user01")}, ["user01"])
    cut = capacity_report([node_usage(n) for n in nodes], kept, {"user01": lab("user01")}, ["user01"])
    assert cut == whole
    assert "annotations" not in json.dumps([node_usage(n) for n in nodes])


def test_a_binding_of_a_role_the_render_creates_is_not_a_refusal_of_the_dry_run():
    # kube-apiserver 1.36's answer to a least-privileged instructor's dry run of the students'
    # RoleBinding before its Role is stored (the real-cluster tier, test_instructor_rights).
    objects = lab("user01")
    binding = next(o for o in objects if o["kind"] == "RoleBinding")
    quota = next(o for o in objects if o["kind"] == "ResourceQuota")
    message = f'rolebindings.rbac.authorization.k8s.io "{binding["roleRef"]["name"]}" not found'
    refused = [(binding, message), (quota, 'ResourceQuota "lab-quota" is invalid')]
    assert shapes.without_unborn_roles(refused, objects) == [(quota, 'ResourceQuota "lab-quota" is invalid')]
    # A binding of a Role the render does not create is the server's refusal as it is.
    assert shapes.without_unborn_roles(refused, [o for o in objects if o["kind"] != "Role"]) == refused


# ---------------------------------------------------------------- leaving an unchanged student out
def on_the_cluster(obj: dict) -> dict:
    """An object as the server returns it: the server's defaults and fields added, this manager's
    apply entry in its managedFields."""
    out = json.loads(json.dumps(obj))
    meta = out["metadata"]
    meta.update(
        uid="0e43e3bb-0000-0000-0000-000000000002", resourceVersion="812", creationTimestamp="2026-12-07T19:40:00Z"
    )
    meta["managedFields"] = [{"manager": "mlopslab", "operation": "Apply", "apiVersion": obj["apiVersion"]}]
    if obj["kind"] == "Deployment":
        out["spec"].setdefault("progressDeadlineSeconds", 600)
        for container in out["spec"]["template"]["spec"]["containers"]:
            container.update(terminationMessagePath="/dev/termination-log", imagePullPolicy="IfNotPresent")
        out["status"] = {"replicas": 1, "availableReplicas": 1}
    return out


def owned(metadata: dict) -> bool:
    return any(
        m.get("manager") == "mlopslab" and m.get("operation") == "Apply" for m in metadata.get("managedFields") or []
    )


def test_a_student_whose_objects_would_not_change_is_left_out_and_any_drift_is_not():
    objects = applyset.members(lab("user01"), "user01")
    live = {applyset.key(o): on_the_cluster(o) for o in objects}
    parent = applyset.parent("user01", {}, applyset.kinds(objects, "user01"), applyset.digest(objects))
    assert applyset.unchanged(objects, live, parent, owned)
    # The last complete apply sent something else (a field the render dropped is removed only by an apply).
    assert not applyset.unchanged(objects, live, applyset.parent("user01", {}, set(), "0" * 64), owned)
    assert not applyset.unchanged(objects, live, None, owned)
    # Someone (a student) changed a value the render sets: healed by an apply.
    drifted = {k: json.loads(json.dumps(v)) for k, v in live.items()}
    deployment = next(k for k in drifted if k[0] == "Deployment.apps")
    drifted[deployment]["spec"]["template"]["spec"]["containers"][0]["image"] = "evil:1"
    assert not applyset.unchanged(objects, drifted, parent, owned)
    # An object gone, or no longer this manager's: applied again.
    gone = {k: v for k, v in live.items() if k[0] != "ConfigMap"}
    assert not applyset.unchanged(objects, gone, parent, owned)
    foreign = {k: json.loads(json.dumps(v)) for k, v in live.items()}
    foreign[deployment]["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Update"}]
    assert not applyset.unchanged(objects, foreign, parent, owned)


@pytest.mark.parametrize(
    ("want", "have", "expected"),
    [
        ({"a": 1}, {"a": 1, "b": 2}, True),  # the server's defaults and others' fields beside ours
        ({"a": [1, 2]}, {"a": [1, 2, 3]}, False),  # a list holds exactly what the render sets
        ({"a": [{"n": 1}]}, {"a": [{"n": 1, "d": 0}]}, True),
        ({"cpu": "500m"}, {"cpu": "0.5"}, False),  # written otherwise: applied again (never left out wrongly)
        ({"a": None}, {}, False),
    ],
)
def test_contained(want, have, expected):
    assert applyset.contained(want, have) is expected
