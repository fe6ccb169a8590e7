"""A cohort's whole life on a real API server: deploy, wait, a rerun that changes nothing,
verify, failures injected as a kubelet and the controllers report them, verify naming each
cause, a rerun that heals, and a teardown among decoys that names a namespace held by a
finalizer.

Failures are injected the way the cluster itself would show them: a pod's status is written
through the status subresource (a JSON merge patch, as a kubelet reports), with the Events a
kubelet sends (involvedObject with uid and fieldPath); an exhausted quota and a deleted
Deployment need nothing injected, the real ReplicaSet and garbage-collector controllers do the
rest. The tests are ordered: each builds on the cohort the one before left."""

from __future__ import annotations

import base64
import datetime
import json
import re
import shutil
import time

import pytest
from kubernetes import client

from tests.cluster.conftest import STUDENTS, note, recap, text, timed
from tests.support.as_student import list_pods_status
from tests.support.output import summary_table


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def exporter_pod(cluster, student):
    pods = cluster.core.list_namespaced_pod(
        cluster.ns(student), label_selector="app.kubernetes.io/name=metrics-exporter"
    ).items
    return next(p for p in pods if not p.metadata.deletion_timestamp)


def inject(cluster, student, exporter_status, events=()):
    """Report the exporter's container as a kubelet would, and send the kubelet's Events."""
    pod = exporter_pod(cluster, student)
    name, namespace = pod.metadata.name, cluster.ns(student)
    init = [
        {
            "name": c.name,
            "ready": True,
            "restartCount": 0,
            "image": c.image,
            "imageID": "",
            "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now(), "finishedAt": now()}},
        }
        for c in pod.spec.init_containers or []
    ]
    status = {
        "phase": "Running",
        "conditions": [
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "lastTransitionTime": now()},
            {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady", "lastTransitionTime": now()},
        ],
        "initContainerStatuses": init,
        "containerStatuses": [{"name": "exporter", "image": pod.spec.containers[0].image, "imageID": "",
                               "ready": False, "started": False, **exporter_status}],
    }  # fmt: skip
    cluster.core.patch_namespaced_pod_status(
        name, namespace, {"status": status}, _content_type="application/merge-patch+json"
    )
    for reason, message, kind, count in events:
        cluster.core.create_namespaced_event(
            namespace,
            client.CoreV1Event(
                metadata=client.V1ObjectMeta(generate_name=name + "."),
                type=kind,
                reason=reason,
                message=message,
                count=count,
                first_timestamp=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=3),
                last_timestamp=datetime.datetime.now(datetime.UTC),
                involved_object=client.V1ObjectReference(
                    api_version="v1",
                    kind="Pod",
                    name=name,
                    namespace=namespace,
                    uid=pod.metadata.uid,
                    field_path="spec.containers{exporter}",
                ),
                source=client.V1EventSource(component="kubelet", host=pod.spec.node_name),
            ),
        )
    time.sleep(1.5)
    again = cluster.core.read_namespaced_pod_status(name, namespace)
    if again.status.container_statuses[0].ready:
        pytest.skip("a real kubelet runs these pods and overwrote the injected status: inject on a fake node")


def report(cluster) -> dict:
    [newest] = sorted((cluster.build / cluster.cohort).glob("verify-*.json"))[-1:]
    return json.loads(newest.read_text())


VERIFY = (
    "-e", "mlopslab_verify_prometheus_access=none",  # no kubelet behind the service proxy here
    "-e", "mlopslab_verify_grafana_access=none",
)  # fmt: skip


def test_00_check_first_runs_the_servers_dry_run_and_changes_nothing(cluster):
    # --check before anything exists: every object goes to the real server's dry run, or, in a
    # namespace the run would create, is reported as one that would be created.
    proc, seconds = cluster.playbook("deploy", "--check", "--diff")
    assert proc.returncode == 0, text(proc)[-4000:]
    timed("deploy --check --diff on an empty cluster (the server's dry run)", seconds)
    # --diff: every object would be new; the Secret's password is never shown.
    assert proc.stdout.count("Deployment/prometheus (new)") == len(STUDENTS), proc.stdout[-3000:]
    assert "admin-password: <hidden, digest" in proc.stdout
    for student in STUDENTS:
        assert summary_table(proc.stdout)[student]["result"] == "20 would change", text(proc)[-3000:]
    assert cluster.ours() == [], "--check created a namespace"
    assert not (cluster.build / cluster.cohort / "kubeconfigs").exists(), "--check issued kubeconfigs"
    note("deploy --check on an empty cluster: every object dry-run by the real server, nothing created")


def test_01_deploy_creates_every_student_and_waits_until_available(cluster):
    proc, seconds = cluster.playbook("deploy")
    assert proc.returncode == 0, text(proc)[-4000:]
    timed("deploy 5 students (apply + wait for Available)", seconds, f"changed per student {recap(proc)}")
    assert {h: r["changed"] for h, r in recap(proc).items()} == dict.fromkeys(STUDENTS, 1)
    for student in STUDENTS:
        deployments = cluster.apps.list_namespaced_deployment(cluster.ns(student)).items
        assert sorted(d.metadata.name for d in deployments) == ["grafana", "metrics-exporter", "prometheus"]
        assert all(d.status.available_replicas == 1 for d in deployments), student
    assert {row["kubeconfig"] for row in summary_table(proc.stdout).values()} == {"issued"}
    granted = re.search(
        r"granted shorter tokens than mlopslab_student_token_ttl \(16w\).*?expire from (\S+ \S+ UTC)", text(proc)
    )
    if granted:
        note(f"the API server capped the students' tokens (asked 16w): they expire from {granted.group(1)}")


def as_student(cluster, student, namespace):
    """List pods in `namespace` with the kubeconfig deploy handed to `student`: the HTTP status."""
    return list_pods_status(cluster.build / cluster.cohort / "kubeconfigs" / f"{student}.yaml", namespace)


def test_02_a_second_deploy_changes_nothing_and_the_secret_is_stored_as_rendered(cluster):
    secret = cluster.core.read_namespaced_secret("grafana-admin", cluster.ns("user01"))
    before = secret.metadata.resource_version
    proc, seconds = cluster.playbook("deploy")
    assert proc.returncode == 0, text(proc)[-4000:]
    changed = {h: r["changed"] for h, r in recap(proc).items()}
    timed("second deploy", seconds, f"changed {sum(changed.values())}")
    assert changed == dict.fromkeys(STUDENTS, 0), text(proc)[-3000:]
    table = summary_table(proc.stdout)
    assert {(row["result"], row["kubeconfig"]) for row in table.values()} == {("0 changed", "kept")}, table
    assert len(table) == len(STUDENTS)
    after = cluster.core.read_namespaced_secret("grafana-admin", cluster.ns("user01"))
    assert after.metadata.resource_version == before
    # The API keeps `data` only; what deploy renders is the same, so nothing differs on any version.
    assert set(after.data) == {"admin-user", "admin-password"}


def test_02b_check_after_deploy_says_nothing_would_change(cluster):
    proc, _seconds = cluster.playbook("deploy", "--check", "--diff")
    assert proc.returncode == 0, text(proc)[-4000:]
    assert "(after the apply)" not in proc.stdout and "(new)" not in proc.stdout, proc.stdout[-3000:]  # no diff
    assert {h: r["changed"] for h, r in recap(proc).items()} == dict.fromkeys(STUDENTS, 0), text(proc)[-3000:]
    assert summary_table(proc.stdout)["user01"]["result"] == "0 would change"
    note("deploy --check after deploy: the real server's dry run says 0 of 20 objects would change per student")
    # One setting changed: --diff shows exactly its line, as the real server lists the object and
    # dry-runs the apply (a list's items carry no apiVersion and kind there: not a change).
    proc, _seconds = cluster.playbook("deploy", "--check", "--diff", "-e", "prometheus_retention_time=3d")
    assert proc.returncode == 0, text(proc)[-4000:]
    # The diff's own lines (the YAML block indents them by 8), not its context or its headers.
    changed = [" ".join(line.split()) for line in proc.stdout.splitlines() if re.match(r" {8}[-+][^-+]", line)]
    expected = ["- - --storage.tsdb.retention.time=2d", "+ - --storage.tsdb.retention.time=3d"]
    assert changed == expected * len(STUDENTS), changed
    assert summary_table(proc.stdout)["user01"]["result"] == "1 would change"
    note("deploy --check --diff with prometheus_retention_time=3d: one line per student, in Deployment/prometheus")


def test_02c_a_deploy_from_an_empty_build_folder_hands_out_what_the_cluster_holds(cluster):
    # The cluster is the source of truth, build/ a cache: a new clone, another machine or an AWX
    # job deploys again with nothing at hand. No object changes; each Grafana password is read back
    # from its Secret (Grafana keeps the one of its first start); kubeconfigs are issued anew.
    lost = cluster.build.with_name(cluster.build.name + "-lost")
    cluster.build.rename(lost)
    try:
        proc, seconds = cluster.playbook("deploy")
        assert proc.returncode == 0, text(proc)[-4000:]
        timed("deploy from an empty build folder", seconds)
        out = text(proc)
        assert f"{len(STUDENTS)} students' Grafana passwords were read back from their Secrets" in out, out[-3000:]
        for student in STUDENTS:
            assert summary_table(proc.stdout)[student]["result"] == "0 changed", out[-3000:]
            secret = cluster.core.read_namespaced_secret("grafana-admin", cluster.ns(student))
            password = base64.b64decode(secret.data["admin-password"]).decode()
            handout = (cluster.build / cluster.cohort / "handouts" / f"{student}.md").read_text()
            assert f"`{password}`" in handout, student
            kept = cluster.build / "credentials" / cluster.cohort / f"{student}-grafana-admin"
            assert kept.read_text() == password, student
            # The lost kubeconfig's token stays valid until it expires (access.yml renew ends it).
            old = lost / cluster.cohort / "kubeconfigs" / f"{student}.yaml"
            assert list_pods_status(old, cluster.ns(student)) == 200, student
        assert [row["kubeconfig"] for row in summary_table(proc.stdout).values()] == ["issued"] * len(STUDENTS)
    finally:
        shutil.rmtree(lost, ignore_errors=True)
    note(
        f"deploy from an empty build/: 0 objects changed, {len(STUDENTS)} Grafana passwords read back from their "
        f"Secrets, {len(STUDENTS)} kubeconfigs issued anew (the lost ones still valid until they expire)"
    )


def test_03_a_healthy_cohort_verifies_healthy_from_its_objects_and_pods(cluster):
    proc, seconds = cluster.playbook("verify", *VERIFY)
    assert proc.returncode == 0, text(proc)[-4000:]
    timed("verify, healthy cohort", seconds)
    result = report(cluster)
    assert result["summary"]["healthy"] == len(STUDENTS), json.dumps(result["students"][0]["findings"])[:2000]
    # verify logged in as every student with the kubeconfig handed out, against real RBAC.
    assert [s["access"] for s in result["students"]] == [{"checked": True, "problems": []}] * len(STUDENTS)


def test_03c_a_students_kubeconfig_works_and_is_revoked_and_renewed_for_real(cluster):
    assert as_student(cluster, "user05", cluster.ns("user05")) == 200
    assert as_student(cluster, "user05", cluster.ns("user04")) == 403
    assert as_student(cluster, "user05", "kube-system") == 403
    kubeconfigs = cluster.build / cluster.cohort / "kubeconfigs"
    old = kubeconfigs.parent / "user05-old.yaml"
    old.write_bytes((kubeconfigs / "user05.yaml").read_bytes())
    proc, seconds = cluster.playbook("access", "-e", "mlopslab_access=renew", "--limit", "user05")
    assert proc.returncode == 0, text(proc)[-3000:]
    timed("access.yml renew, one student", seconds)
    assert as_student(cluster, "user05", cluster.ns("user05")) == 200
    renewed = (kubeconfigs / "user05.yaml").read_bytes()
    (kubeconfigs / "user05.yaml").write_bytes(old.read_bytes())
    # kube-apiserver caches a token's successful authentication for 10 s (its token cache): the
    # renewed-away token stops working within that, not at once.
    started = time.monotonic()
    cluster.wait_for(
        "the renewed-away token refused", lambda: as_student(cluster, "user05", cluster.ns("user05")) == 401, 20
    )
    note(f"a renewed-away token was refused {time.monotonic() - started:.1f} s after access.yml renew finished")
    (kubeconfigs / "user05.yaml").write_bytes(renewed)

    proc, _seconds = cluster.playbook("access", "-e", "mlopslab_access=revoke", "--limit", "user05")
    assert proc.returncode == 0, text(proc)[-3000:]
    assert not (kubeconfigs / "user05.yaml").exists()
    (kubeconfigs / "user05.yaml").write_bytes(renewed)
    cluster.wait_for(
        "the revoked token refused", lambda: as_student(cluster, "user05", cluster.ns("user05")) == 401, 20
    )
    (kubeconfigs / "user05.yaml").unlink()
    proc, _seconds = cluster.playbook("verify", *VERIFY, "--limit", "user05", "-e", "verify_fail=false")
    (user05,) = report(cluster)["students"]
    assert user05["cause"] == "student_access_broken", user05["findings"]
    note("user05 after revoke: " + user05["findings"][0]["message"])
    proc, _seconds = cluster.playbook("deploy", "--limit", "user05")
    assert proc.returncode == 0 and recap(proc)["user05"]["changed"] == 1, text(proc)[-3000:]
    assert as_student(cluster, "user05", cluster.ns("user05")) == 200


# (verb, group, resource, subresource, namespace: None = the student's own, or another's)
ALLOWED = [
    ("list", "", "pods", "", None),
    ("get", "", "pods", "log", None),
    ("create", "", "pods", "portforward", None),
    ("delete", "", "pods", "", None),
    ("create", "apps", "deployments", "", None),
    ("delete", "apps", "deployments", "", None),
    ("patch", "apps", "deployments", "", None),
    ("update", "apps", "deployments", "scale", None),
    ("list", "apps", "replicasets", "", None),
    ("list", "", "events", "", None),
    ("list", "", "services", "", None),
    ("update", "", "configmaps", "", None),
    ("get", "", "resourcequotas", "", None),
    ("list", "networking.k8s.io", "networkpolicies", "", None),
]
DENIED = [
    ("delete", "networking.k8s.io", "networkpolicies", "", None),
    ("patch", "networking.k8s.io", "networkpolicies", "", None),
    ("create", "networking.k8s.io", "networkpolicies", "", None),
    ("delete", "", "resourcequotas", "", None), ("update", "", "resourcequotas", "", None),
    ("delete", "", "limitranges", "", None), ("patch", "", "limitranges", "", None),
    ("delete", "rbac.authorization.k8s.io", "rolebindings", "", None),
    ("create", "rbac.authorization.k8s.io", "rolebindings", "", None),
    ("update", "rbac.authorization.k8s.io", "roles", "", None),
    ("escalate", "rbac.authorization.k8s.io", "roles", "", None),
    ("patch", "", "namespaces", "", "cluster"), ("delete", "", "namespaces", "", "cluster"),
    ("get", "", "secrets", "", None), ("list", "", "secrets", "", None),
    ("create", "", "pods", "exec", None), ("create", "", "serviceaccounts", "token", None),
    ("list", "", "pods", "", "other"), ("get", "", "pods", "log", "other"),
]  # fmt: skip


def can(cluster, student, verb, group, resource, subresource, where):
    """A SubjectAccessReview as the student's ServiceAccount: what the API server's RBAC decides."""
    namespace = cluster.ns(student)
    target = {"cluster": None, "other": cluster.ns("user02"), None: namespace}[where]
    attributes = {"verb": verb, "group": group, "resource": resource, "subresource": subresource}
    if target:
        attributes["namespace"] = target
    if resource == "namespaces":
        attributes["name"] = namespace  # its own namespace: the Pod Security labels live there
    review = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=f"system:serviceaccount:{namespace}:student",
            groups=["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"],
            resource_attributes=client.V1ResourceAttributes(**attributes),
        )
    )
    return client.AuthorizationV1Api(cluster.api).create_subject_access_review(review).status.allowed


def test_03b_a_student_can_do_the_labs_work_and_never_remove_its_guard_rails(cluster):
    def show(rule):
        verb, group, resource, sub, where = rule
        what = f"{group + '/' if group else ''}{resource}{'/' + sub if sub else ''}"
        return (
            f"{verb} {what}"
            + {"cluster": " (its own Namespace object)", "other": " in user02's namespace", None: ""}[where]
        )

    allowed = {show(r): can(cluster, "user01", *r) for r in ALLOWED}
    denied = {show(r): can(cluster, "user01", *r) for r in DENIED}
    note("user01's ServiceAccount, allowed: " + "; ".join(k for k, v in allowed.items() if v))
    note("user01's ServiceAccount, denied: " + "; ".join(k for k, v in denied.items() if not v))
    assert [k for k, v in allowed.items() if not v] == [], "the lab's work must be allowed"
    assert [k for k, v in denied.items() if v] == [], "a guard rail is removable"


def test_04_verify_names_each_injected_cause(cluster):
    oom = {
        "restartCount": 5,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s restarting failed container"}},
        "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": now(), "finishedAt": now()}},
    }
    inject(cluster, "user01", oom, [("BackOff", "Back-off restarting failed container exporter", "Warning", 5)])
    liveness = {
        "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting failed container"}},
        "lastState": {"terminated": {"exitCode": 137, "reason": "Error", "startedAt": now(), "finishedAt": now()}},
    }
    inject(
        cluster,
        "user02",
        liveness,
        [
            ("Unhealthy", 'Liveness probe failed: Get "http://10.244.0.9:8000/healthz": context deadline exceeded',
             "Warning", 12),
            ("Killing", "Container exporter failed liveness probe, will be restarted", "Normal", 4),
        ],
    )  # fmt: skip
    lost = {"restartCount": 7, "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {}}
    inject(cluster, "user03", lost)
    # user04: the quota is used up (a student's own pods would do it); the ReplicaSet controller
    # then cannot recreate the exporter's pod and says so in a FailedCreate Event.
    cluster.core.patch_namespaced_resource_quota("lab-quota", cluster.ns("user04"), {"spec": {"hard": {"pods": "2"}}})
    cluster.wait_for(
        "the quota's new limit in force",
        lambda: (
            cluster.core.read_namespaced_resource_quota("lab-quota", cluster.ns("user04")).status.hard.get("pods")
            == "2"
        ),
    )
    pod = exporter_pod(cluster, "user04")
    cluster.core.delete_namespaced_pod(pod.metadata.name, cluster.ns("user04"), grace_period_seconds=0)
    cluster.wait_for(
        "FailedCreate of user04's exporter",
        lambda: [
            e
            for e in cluster.core.list_namespaced_event(cluster.ns("user04")).items
            if e.reason == "FailedCreate" and "exceeded quota" in e.message
        ],
    )
    # user05: the original lab's own instructions delete the exporter's Deployment.
    cluster.apps.delete_namespaced_deployment("metrics-exporter", cluster.ns("user05"))

    proc, seconds = cluster.playbook("verify", *VERIFY)
    timed("verify, 5 injected failures", seconds)
    assert proc.returncode != 0  # broken students fail verify
    students = {s["namespace"].removeprefix(cluster.prefix): s for s in report(cluster)["students"]}
    causes = {name: (s["status"], s["cause"]) for name, s in students.items()}
    assert causes == {
        "user01": ("failing", "oom_killed"),
        "user02": ("failing", "liveness_probe_kill"),
        "user03": ("failing", "crash_loop"),
        "user04": ("failing", "quota_exceeded"),
        "user05": ("failing", "object_missing"),
    }, json.dumps({n: s["findings"][:2] for n, s in students.items()})[:4000]
    assert "not an OOM kill" in students["user02"]["findings"][0]["message"]
    assert students["user03"]["certainty"] == "low"
    assert "requested pods=1" in students["user04"]["findings"][0]["message"]
    assert "limited pods=2" in students["user04"]["findings"][0]["message"]
    assert students["user05"]["findings"][0]["message"] == (
        f"Deployment metrics-exporter is missing from {cluster.ns('user05')}"
    )
    for name in STUDENTS:
        assert proc.stdout.count(f"{name}: ") >= 1
    table = text(proc)
    for name, cause in (("user01", "oom_killed"), ("user04", "quota_exceeded"), ("user05", "object_missing")):
        assert f"{name} failing {cause}" in table


def test_05_a_second_deploy_heals_what_deploy_owns(cluster):
    proc, seconds = cluster.playbook("deploy", "--limit", "user04,user05")
    assert proc.returncode == 0, text(proc)[-4000:]
    timed("deploy --limit user04,user05 (heal)", seconds, f"changed {recap(proc)}")
    assert recap(proc)["user04"]["changed"] == 1 and recap(proc)["user05"]["changed"] == 1
    cluster.wait_for(
        "user05's exporter back",
        lambda: (
            cluster.apps.read_namespaced_deployment("metrics-exporter", cluster.ns("user05")).status.available_replicas
        ),
    )
    proc, _seconds = cluster.playbook("verify", "--limit", "user04,user05", *VERIFY)
    students = {s["namespace"].removeprefix(cluster.prefix): s for s in report(cluster)["students"]}
    assert {n: s["status"] for n, s in students.items()} == {"user04": "healthy", "user05": "healthy"}, json.dumps(
        {n: s["findings"][:2] for n, s in students.items()}
    )[:3000]


def test_06_teardown_deletes_only_this_cohort_and_names_a_namespace_held_by_a_finalizer(cluster):
    decoys = {
        cluster.prefix + "decoy-unlabelled": {},
        cluster.prefix + "decoy-other-cohort": {
            "app.kubernetes.io/managed-by": "mlopslab",
            "mlopslab.io/cohort": cluster.cohort + "-other",
            "mlopslab.io/student": "user01",
        },
    }
    for name, labels in decoys.items():
        cluster.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels)))
    held = cluster.ns("user03")
    cluster.core.create_namespaced_config_map(
        held,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="held", finalizers=["mlopslab.io/test-hold"]), data={"a": "b"}
        ),
    )
    dry, _seconds = cluster.playbook("teardown")
    assert dry.returncode == 0, text(dry)[-3000:]
    assert "Dry run: nothing was deleted" in text(dry)
    assert set(cluster.ours()) >= {cluster.ns(s) for s in STUDENTS} | set(decoys)

    proc, seconds = cluster.playbook(
        "teardown", "-e", f"mlopslab_teardown_confirm={cluster.cohort}", "-e", "mlopslab_teardown_timeout=30"
    )
    timed("teardown (confirmed, one namespace held)", seconds)
    assert proc.returncode != 0 and recap(proc)["user03"]["failed"] == 1, text(proc)[-3000:]
    out = text(proc)
    assert "user03: still Terminating after 30 s" in out and "mlopslab.io/test-hold" in out, out[-3000:]
    gone = {cluster.ns(s) for s in STUDENTS} - {held}
    cluster.wait_for("the other students' namespaces gone", lambda: not gone & set(cluster.ours()), 60)
    assert set(cluster.ours()) == {held} | set(decoys)
    # Lift the finalizer: the namespace controller then finishes, as it would for the instructor.
    cluster.core.patch_namespaced_config_map("held", held, {"metadata": {"finalizers": None}})
    cluster.wait_for("user03's namespace gone", lambda: held not in cluster.ours(), 60)
