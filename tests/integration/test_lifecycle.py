"""A cohort's life on a shared cluster, against the kmock emulator through kubernetes.core:
teardown (dry run, confirmed, --limit, refusals, stuck namespaces, archived credentials), the
capacity preflight, adding a student, students who left the inventory, and bad input that
must change nothing."""

from __future__ import annotations

import pytest
import yaml

from tests.support.cohort_inventory import inventory, lifecycle_args
from tests.support.kube_emulator import CLUSTER_FIXTURES, UNAVAILABLE, is_write

COHORT = "mlops-demo"
LABELS = {"app.kubernetes.io/managed-by": "mlopslab", "mlopslab.io/cohort": COHORT}


@pytest.fixture
def play(kube, ansible_playbook, tmp_path):
    def run(playbook, *args, students=("user01", "user02", "user03"), check=True, env=None):
        return ansible_playbook(
            f"playbooks/{playbook}.yml",
            "-i",
            str(inventory(tmp_path, students)),
            *lifecycle_args(tmp_path),
            *args,
            env={"K8S_AUTH_KUBECONFIG": str(kube.kubeconfig), **(env or {})},
            check=check,
        )

    return run


def namespaces(kube):
    return sorted(o["metadata"]["name"] for o in kube.request("GET", "/api/v1/namespaces")["items"])


def namespace(name, labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def ours(*students):
    """Namespaces as deploy.yml labels them (cheaper than deploying when only they matter)."""
    return [namespace(s, {**LABELS, "mlopslab.io/student": s, "kubernetes.io/metadata.name": s}) for s in students]


def deletes(kube):
    """What was deleted of the labs: every DELETE but a run letting go of its hold (the Lease each
    deploy, access and teardown run deletes at its end)."""
    return [r for r in kube.emulator._requests if r.method == "DELETE" and "/leases/" not in r.url.path]


def test_dry_run_lists_exactly_the_labelled_namespaces_and_changes_nothing(kube, play):
    kube.seed(
        *ours("user01"),
        namespace("user02", {"kubernetes.io/metadata.name": "user02"}),  # another course's
        namespace("user03", {**LABELS, "mlopslab.io/cohort": "spring-26", "mlopslab.io/student": "user03"}),
    )
    before = namespaces(kube)
    run = play("teardown")
    assert "would delete user01 student user01" in run.text
    assert "refuse user02 not created by mlopslab" in run.text
    assert "refuse user03 belongs to cohort 'spring-26', not 'mlops-demo'" in run.text
    assert (
        "Dry run: nothing was deleted. To delete the 1 namespaces above, add -e mlopslab_teardown_confirm=mlops-demo"
        in run.text
    )
    assert run.changed() == 0 and namespaces(kube) == before and deletes(kube) == []


def test_a_confirmed_teardown_deletes_this_cohort_only_and_archives_credentials(kube, play, tmp_path):
    play("deploy", "--limit", "user01")
    kube.seed(
        namespace("user02", {"kubernetes.io/metadata.name": "user02"}),
        namespace("user03", {**LABELS, "mlopslab.io/cohort": "spring-26"}),
    )
    credentials = tmp_path / "build" / "credentials" / COHORT
    password = (credentials / "user01-grafana-admin").read_text()

    run = play("teardown", "-e", f"mlopslab_teardown_confirm={COHORT}")
    assert run.recap["user01"]["changed"] == 1 and run.recap["user02"]["changed"] == 0
    assert "user02: left alone, not created by mlopslab" in run.text
    assert namespaces(kube) == ["user02", "user03"]
    [archived] = list((credentials / "archive").glob("*/user01-grafana-admin"))
    assert archived.read_text() == password and oct(archived.stat().st_mode & 0o777) == "0o600"
    assert not (credentials / "user01-grafana-admin").exists()
    # Nothing left that hands out a removed student's password: the sheet's row went with them.
    sheet = (tmp_path / "build" / COHORT / "access.csv").read_text()
    assert password not in sheet and "user01" not in sheet
    assert sheet.startswith("student,namespace,")
    assert not (tmp_path / "build" / COHORT / "handouts" / "user01.md").exists()


def test_check_mode_teardown_is_a_dry_run_even_when_confirmed(kube, play, tmp_path):
    play("deploy", "--limit", "user01")
    run = play("teardown", "--check", "-e", f"mlopslab_teardown_confirm={COHORT}")
    assert "teardown of cohort mlops-demo (--check: nothing is deleted)" in run.text
    assert "user01: would be deleted (dry run)." in run.text
    assert "--check: nothing was deleted; 1 namespaces would be deleted with the confirmation." in run.text
    assert run.changed() == 0 and namespaces(kube) == ["user01"] and deletes(kube) == []
    assert (tmp_path / "build" / "credentials" / COHORT / "user01-grafana-admin").is_file()  # nothing archived
    access = play("access", "--check", "-e", "mlopslab_access=revoke", "--limit", "user01")
    assert "--check: the kubeconfigs of user01 would be revoked; nothing was changed." in access.text
    assert access.changed() == 0 and (tmp_path / "build" / COHORT / "kubeconfigs" / "user01.yaml").is_file()


def test_limit_removes_one_student(kube, play):
    kube.seed(*ours("user01", "user02", "user03"))
    run = play("teardown", "--limit", "user02", "-e", f"mlopslab_teardown_confirm={COHORT}")
    assert run.recap == {"user02": {"ok": run.recap["user02"]["ok"], "changed": 1, "unreachable": 0, "failed": 0}}
    assert namespaces(kube) == ["user01", "user03"]
    # The others are not orphans: they are still in the inventory.
    assert "no longer in the inventory" not in run.text


def test_a_namespace_stuck_in_terminating_is_named_with_what_holds_it(kube, play):
    [stuck] = ours("user01")
    stuck["metadata"]["finalizers"] = ["backup.example.com/snapshot"]
    kube.seed(stuck)
    run = play("teardown", "-e", f"mlopslab_teardown_confirm={COHORT}", check=False)
    assert run.returncode != 0 and run.recap["user01"]["failed"] == 1
    assert "user01: still Terminating after 5 s, held by finalizer backup.example.com/snapshot" in run.text
    assert "kubectl get namespace user01 -o yaml" in run.text


def test_a_wrong_confirmation_deletes_nothing_and_says_why(kube, play):
    kube.seed(*ours("user01", "user02", "user03"))
    run = play("teardown", "-e", "mlopslab_teardown_confirm=mlops-dem", check=False)
    assert run.returncode != 0
    assert (
        'mlopslab_teardown_confirm "mlops-dem" is not this cohort\'s name "mlops-demo": nothing was deleted' in run.text
    )
    assert namespaces(kube) == ["user01", "user02", "user03"] and deletes(kube) == []


def test_a_student_who_left_is_listed_by_deploy_and_removed_by_name(kube, play):
    play("deploy", students=("user01", "user02", "user03", "user04"))
    run = play("deploy")
    assert run.changed() == 0
    assert "1 namespaces of cohort mlops-demo belong to no student of the inventory any more: user04" in run.text
    assert "-e mlopslab_teardown_only=user04 -e mlopslab_teardown_confirm=mlops-demo" in run.text
    play("teardown", "-e", "mlopslab_teardown_only=user04", "-e", f"mlopslab_teardown_confirm={COHORT}")
    assert namespaces(kube) == ["user01", "user02", "user03"]


def test_a_whole_cohort_teardown_takes_the_students_who_left_too(kube, play):
    kube.seed(*ours("user01", "user02"))
    run = play("teardown", "-e", f"mlopslab_teardown_confirm={COHORT}", students=("user01",))
    assert "delete user02 no longer in the inventory" in run.text
    assert namespaces(kube) == []


def test_adding_a_student_changes_only_the_new_one(kube, play):
    play("deploy")
    run = play("deploy", students=("user01", "user02", "user03", "user04"))
    assert {h: r["changed"] for h, r in run.recap.items()} == {"user01": 0, "user02": 0, "user03": 0, "user04": 1}
    assert "user04" in namespaces(kube)


def test_deploy_refuses_a_namespace_it_did_not_create(kube, play):
    kube.seed(namespace("user02", {"team": "data-eng"}))
    run = play("deploy", check=False)
    assert run.returncode != 0
    assert "student user02: namespace user02 already exists and not created by mlopslab" in run.text
    assert "Nothing was changed" in run.text
    assert namespaces(kube) == ["user02"]


def shrink_workers(kube, cpu):
    for node in ("mlops-worker", "mlops-worker2"):
        kube.request("PATCH", f"/api/v1/nodes/{node}/status", {"status": {"allocatable": {"cpu": cpu}}})


def test_a_cohort_that_fits_passes_with_the_table(kube, play):
    kube.seed(*yaml.safe_load((CLUSTER_FIXTURES / "pods.yml").read_text()))
    run = play("deploy")
    assert "cohort of 3 450m 960Mi" in run.text
    # 8 CPU allocatable on two workers, 4.2 requested by kube-system and another course.
    assert "requested by others 4200m 5220Mi" in run.text
    assert "free 3800m" in run.text
    assert namespaces(kube) == ["user01", "user02", "user03"]


def test_a_cohort_that_does_not_fit_fails_with_how_many_would(kube, play):
    shrink_workers(kube, "200m")  # 400m: room for two students at 150m each
    run = play("deploy", check=False)
    assert run.returncode != 0
    assert "The cohort of 3 needs more cpu than the cluster has free: 2 of these students would fit" in run.text
    assert "Nothing was changed" in run.text and namespaces(kube) == []


def test_warn_goes_on_when_the_cohort_does_not_fit(kube, play):
    shrink_workers(kube, "200m")
    run = play("deploy", "-e", "mlopslab_capacity_check=warn")
    assert "WARNING (mlopslab_capacity_check=warn): The cohort of 3 needs more cpu" in run.text
    assert namespaces(kube) == ["user01", "user02", "user03"]


def test_a_server_older_than_we_support_is_refused(kube, play):
    kube.server_version("v1.24.17")
    run = play("deploy", check=False)
    assert run.returncode != 0
    assert "The cluster runs Kubernetes v1.24.17; mlopslab.monitoring needs 1.25 or newer" in run.text
    assert namespaces(kube) == []


@pytest.mark.parametrize("playbook", ["deploy", "teardown"])
@pytest.mark.parametrize(
    ("kubeconfig", "message"),
    [
        ("missing", "Cannot reach the Kubernetes API (kubeconfig: {path}"),
        ("garbage", "Cannot reach the Kubernetes API (kubeconfig: {path}"),
        ("unreachable", "Connection refused"),
    ],
)
def test_bad_cluster_access_gives_one_clear_message_and_changes_nothing(
    kube, play, tmp_path, playbook, kubeconfig, message
):
    kube.seed(*ours("user01"))
    path = tmp_path / f"{kubeconfig}.kubeconfig"
    if kubeconfig == "garbage":
        path.write_text("this is not: [a kubeconfig")
    elif kubeconfig == "unreachable":
        path.write_text(kube.kubeconfig.read_text().replace(kube.url, "http://127.0.0.1:9"))
    before = namespaces(kube)
    args = ("-e", f"mlopslab_teardown_confirm={COHORT}") if playbook == "teardown" else ()
    run = play(playbook, *args, check=False, env={"K8S_AUTH_KUBECONFIG": str(path)})
    assert run.returncode != 0
    assert message.format(path=path) in run.text
    assert "Point mlopslab_kubeconfig / mlopslab_context (or K8S_AUTH_KUBECONFIG) at the course cluster" in run.text
    assert namespaces(kube) == before and deletes(kube) == []


def test_a_bad_cohort_name_stops_teardown_before_the_cluster_is_touched(kube, play):
    before = kube.requests_made()
    run = play(
        "teardown", "-e", "mlopslab_cohort=Spring_2026", "-e", "mlopslab_teardown_confirm=Spring_2026", check=False
    )
    assert run.returncode != 0
    assert 'mlopslab_cohort "Spring_2026" is not a DNS-1123 label' in run.text
    assert kube.requests_made() == before


def test_deletion_that_cannot_be_checked_is_not_reported_as_done(kube, play):
    kube.seed(*ours("user01"))
    # The preflight's list (no selector) answers; the wait's lists (by label) fail.
    (
        kube.emulator["get /api/v1/namespaces"][lambda request: "labelSelector" in (request.params or {})]
        << 503
        << UNAVAILABLE
    )
    run = play("teardown", "-e", f"mlopslab_teardown_confirm={COHORT}", students=("user01",), check=False)
    assert run.returncode != 0 and run.recap["user01"]["failed"] == 1
    assert "user01: deletion requested, but whether it finished could not be checked" in run.text
    assert "unable to handle the request" in run.text
    assert "user01: deleted." not in run.text


@pytest.mark.parametrize("playbook", ["deploy", "verify", "teardown"])
def test_an_inventory_without_students_fails_instead_of_doing_nothing_silently(kube, play, playbook):
    kube.seed(*ours("user01"))
    requests_before = kube.requests_made()
    run = play(playbook, "-e", f"mlopslab_teardown_confirm={COHORT}", students=(), check=False)
    assert run.returncode != 0
    assert "has no hosts in group 'cohort': there is no student to work on, and nothing was done" in run.text
    assert kube.requests_made() == requests_before
    assert namespaces(kube) == ["user01"]


def grouped_inventory(tmp_path, prefix_b):
    """Two groups of students; the second group's namespaces get their own prefix (a group var)."""
    path = inventory(tmp_path, ())
    path.write_text(
        "cohort:\n  children:\n    morning:\n      hosts: {user01: }\n"
        f"    evening:\n      hosts: {{user02: }}\n      vars: {{mlopslab_namespace_prefix: {prefix_b}}}\n"
    )
    return path


def test_a_prefix_given_to_one_group_is_every_steps_namespace(kube, ansible_playbook, tmp_path):
    # Another course owns othercourse-user02: the ownership check must look at the namespace the
    # student's own prefix makes (it once looked at the first student's, and deploy relabelled
    # the other course's namespace as this cohort's).
    kube.seed(namespace("othercourse-user02", {"team": "other-course"}))
    seeded = len(kube.emulator._requests)
    args = ["-i", str(grouped_inventory(tmp_path, "othercourse-")), *lifecycle_args(tmp_path)]
    env = {"K8S_AUTH_KUBECONFIG": str(kube.kubeconfig)}
    run = ansible_playbook("playbooks/deploy.yml", *args, env=env, check=False)
    assert run.returncode != 0
    assert "student user02: namespace othercourse-user02 already exists and not created by mlopslab" in run.text
    assert [r for r in kube.emulator._requests[seeded:] if is_write(r)] == []
    held = kube.request("GET", "/api/v1/namespaces/othercourse-user02")
    assert held["metadata"]["labels"] == {"team": "other-course", "kubernetes.io/metadata.name": "othercourse-user02"}

    # With a prefix of its own the group deploys into it, and teardown finds it there.
    args = ["-i", str(grouped_inventory(tmp_path, "evening-")), *lifecycle_args(tmp_path)]
    ansible_playbook("playbooks/deploy.yml", *args, env=env)
    assert {"user01", "evening-user02"} <= set(namespaces(kube))
    secret = kube.request("GET", "/api/v1/namespaces/evening-user02/secrets/grafana-admin")
    assert secret["metadata"]["labels"]["mlopslab.io/student"] == "user02"
    handout = (tmp_path / "build" / COHORT / "handouts" / "user02.md").read_text()
    assert "evening-user02" in handout
    run = ansible_playbook("playbooks/teardown.yml", *args, "-e", f"mlopslab_teardown_confirm={COHORT}", env=env)
    assert "evening-user02: deleted." in run.text and "user01: deleted." in run.text
    assert namespaces(kube) == ["othercourse-user02"]


def secret_password(kube, namespace_name):
    import base64  # noqa: PLC0415 - only here

    secret = kube.request("GET", f"/api/v1/namespaces/{namespace_name}/secrets/grafana-admin")
    return base64.b64decode(secret["data"]["admin-password"]).decode()


def handed_out(tmp_path, student):
    import csv  # noqa: PLC0415 - only here

    with open(tmp_path / "build" / COHORT / "access.csv", encoding="utf-8") as sheet:
        row = next(r for r in csv.DictReader(sheet) if r["student"] == student)
    handout = (tmp_path / "build" / COHORT / "handouts" / f"{student}.md").read_text()
    return row["grafana_password"], handout


@pytest.mark.parametrize("given", ["host var", "extra var"])
def test_the_handout_hands_out_the_password_the_secret_holds(kube, ansible_playbook, tmp_path, given):
    # One record per student: a password given in the inventory or with -e is the Secret's, the
    # handout's and the access sheet's alike (it used to be replaced by a generated one in the
    # Secret, or written into every Secret while the handouts carried generated ones).
    host_vars = {"user02": {"grafana_admin_password": "given-by-host-var-1"}} if given == "host var" else None
    extra = ["-e", "grafana_admin_password=given-for-the-cohort"] if given == "extra var" else []
    path = inventory(tmp_path, ("user01", "user02"), host_vars=host_vars)
    env = {"K8S_AUTH_KUBECONFIG": str(kube.kubeconfig)}
    ansible_playbook("playbooks/deploy.yml", "-i", str(path), *lifecycle_args(tmp_path), *extra, env=env)
    for student in ("user01", "user02"):
        password = secret_password(kube, student)
        sheet, handout = handed_out(tmp_path, student)
        assert sheet == password and f"`{password}`" in handout, student
    expected = {"host var": {"user02": "given-by-host-var-1"}, "extra var": dict.fromkeys(("user01", "user02"),
                "given-for-the-cohort")}[given]  # fmt: skip
    for student, password in expected.items():
        assert secret_password(kube, student) == password
    credentials = tmp_path / "build" / "credentials" / COHORT
    kept = sorted(p.name for p in credentials.iterdir()) if credentials.exists() else []
    generated = [s for s in ("user01", "user02") if s not in expected]
    # A given password is not copied to disk; the renders remembered for the next run hold none.
    assert kept == sorted([f"{s}-grafana-admin" for s in generated] + ["render-cache.json"])
    remembered = (credentials / "render-cache.json").read_text()
    assert not [s for s in ("user01", "user02") if secret_password(kube, s) in remembered]
    for student in generated:
        assert (credentials / f"{student}-grafana-admin").read_text() == secret_password(kube, student)


# ---- the instructor's rights, asked of the cluster first (refusals staged through the emulator's
# access reviews, GAP 14; real RBAC decides in tests/cluster/test_instructor_rights.py)
def test_a_missing_right_is_named_before_anything_is_written(kube, play, tmp_path):
    kube.deny("create", "resourcequotas")
    kube.deny("delete", "serviceaccounts")
    before = len(kube.emulator._requests)
    run = play("deploy", check=False)
    assert run.returncode != 0
    assert "kubernetes-admin may not do what deploy.yml needs (2 rights missing):" in run.text
    assert "create resourcequotas in user01: to apply the lab's objects" in run.text
    assert "delete serviceaccounts in user01: to revoke a student's access" in run.text
    assert "kubectl create clusterrolebinding mlopslab-instructor-<you> --clusterrole=mlopslab-instructor" in run.text
    assert [r for r in kube.emulator._requests[before:] if is_write(r)] == []
    assert not (tmp_path / "build").exists()


def test_a_grafana_password_the_cluster_will_not_show_stops_deploy_before_anything_is_written(kube, play, tmp_path):
    # The cluster is the source of truth for each Grafana password (build/ is a cache): one that
    # cannot be read back could only be replaced by a new one that Grafana does not know.
    from kmock._internal.rendering import Response  # noqa: PLC0415 - only here

    forbidden = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Forbidden",
                 "message": 'secrets "grafana-admin" is forbidden: User "kubernetes-admin" cannot get resource '
                            '"secrets" in API group "" in the namespace "user02"',
                 "details": {"name": "grafana-admin", "kind": "secrets"}, "code": 403}  # fmt: skip
    kube.emulator["get", "/api/v1/namespaces/user02/secrets/grafana-admin"] << Response(status=403, payload=forbidden)
    before = len(kube.emulator._requests)
    run = play("deploy", check=False)
    assert run.returncode != 0
    assert "Nothing was written or applied: Grafana passwords already on the cluster could not be read back" in run.text
    assert "user02: cannot read Secret user02/grafana-admin (HTTP 403: secrets" in run.text
    assert [r for r in kube.emulator._requests[before:] if is_write(r)] == []
    assert not (tmp_path / "build").exists()


def test_the_capacity_check_without_node_rights_fails_or_warns_as_set(kube, play):
    kube.deny("list", "nodes")
    refused = play("deploy", check=False)
    assert refused.returncode != 0 and "list nodes (cluster-wide): to the capacity preflight reads" in refused.text
    warned = play("deploy", "-e", "mlopslab_capacity_check=warn")
    assert (
        "WARNING: you may not list nodes (cluster-wide): the capacity preflight (whether the cohort fits the nodes) "
        "is not checked" in warned.text
    )
    assert "requested by others" not in warned.text  # the capacity table: not computed without the nodes
    assert warned.changed() == 3


def test_verify_without_event_rights_goes_on_and_says_what_it_did_not_check(kube, play):
    play("deploy")
    kube.deny("list", "events")
    run = play("verify", "-e", "verify_fail=false")
    # (the callback doubles the apostrophe of "verify's" inside its quotes)
    assert "WARNING: you may not list events (cluster-wide): verify" in run.text and "event evidence (an" in run.text
    assert run.returncode == 0
