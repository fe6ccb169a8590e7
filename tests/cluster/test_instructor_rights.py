"""The instructor as a shared cluster has them: not cluster-admin, but bound (by
playbooks/instructor_rights.yml, run by the administrator) to exactly the ClusterRole this
collection ships. On the real API server's RBAC: the whole lifecycle passes as that instructor
(the students' Role included: RBAC refuses a Role granting what its writer does not hold), and
taking any one rule out of the role makes the preflight name it."""

from __future__ import annotations

import copy
import time

import pytest
import yaml
from kubernetes import client

from plugins.module_utils.common import rights
from plugins.module_utils.common.lab_io import KubeApi
from plugins.modules.instructor_rights_info import ask
from tests.cluster.conftest import Cluster, note, recap, text, timed
from tests.cluster.test_lifecycle import VERIFY
from tests.support import instructor_roles

STUDENTS = ("user01", "user02")
PLAYBOOKS = ("deploy", "access", "verify", "teardown")


@pytest.fixture(scope="module")
def instructor(cluster, tmp_path_factory):
    """A ServiceAccount bound to the shipped ClusterRole by the administrator's playbook, and the
    lifecycle's Cluster as that instructor (same cohort and prefix)."""
    staff = f"{cluster.cohort}-staff"  # outside the cohort's prefix: never taken for a student's
    cluster.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=staff)))
    cluster.core.create_namespaced_service_account(staff, client.V1ServiceAccount(metadata={"name": "instructor"}))
    user = f"system:serviceaccount:{staff}:instructor"
    proc, _seconds = cluster.playbook("../playbooks/instructor_rights", "-e", f"mlopslab_instructor={user}")
    assert proc.returncode == 0, proc.stdout[-3000:]
    token = cluster.core.create_namespaced_service_account_token(
        "instructor", staff, client.AuthenticationV1TokenRequest(spec={"expirationSeconds": 7200})
    ).status.token
    with open(cluster.kubeconfig, encoding="utf-8") as handle:
        admin = yaml.safe_load(handle)
    context = {c["name"]: c["context"] for c in admin["contexts"]}[admin["current-context"]]
    config = copy.deepcopy(admin)
    config["users"] = [{"name": "instructor", "user": {"token": token}}]
    config["contexts"] = [{"name": "instructor", "context": {**context, "user": "instructor"}}]
    config["current-context"] = "instructor"
    path = tmp_path_factory.mktemp("instructor") / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    acting = Cluster(str(path), tmp_path_factory.mktemp("as-instructor"))
    acting.cohort, acting.prefix = cluster.cohort, cluster.prefix
    hosts = "".join(f"    {s}:\n" for s in STUDENTS)
    acting.inventory.write_text(f"cohort:\n  hosts:\n{hosts}")
    yield acting, user
    rbac = client.RbacAuthorizationV1Api(cluster.api)
    rbac.delete_cluster_role_binding(rights.binding(user)["metadata"]["name"])
    for role in rights.cluster_roles():
        rbac.delete_cluster_role(role["metadata"]["name"])
    cluster.core.delete_namespace(staff)


def test_the_whole_lifecycle_passes_as_an_instructor_bound_to_the_shipped_role(cluster, instructor):
    acting, user = instructor
    proc, seconds = acting.playbook("deploy", "-e", "mlopslab_wait_timeout=180")
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert all(r["failed"] == 0 for r in recap(proc).values())
    timed("deploy 2 students as the least-privileged instructor", seconds)
    for name, args in (("verify", VERIFY), ("access", ("-e", "mlopslab_access=renew", "--limit", "user02"))):
        proc, seconds = acting.playbook(name, *args)
        assert proc.returncode == 0, (name, text(proc)[-3000:])
        timed(f"{name} as the least-privileged instructor", seconds)
    proc, seconds = acting.playbook("teardown", "-e", f"mlopslab_teardown_confirm={acting.cohort}")
    assert proc.returncode == 0, proc.stdout[-6000:]
    timed("teardown as the least-privileged instructor", seconds)
    acting.wait_for("the cohort's namespaces gone", lambda: not acting.ours() or None, 90)
    note(f"{user}, bound to {rights.ROLE_NAME} only: deploy, verify, access, teardown passed")


def _without(role: dict, index: int) -> dict:
    smaller = copy.deepcopy(role)
    del smaller["rules"][index]
    smaller.pop("status", None)
    return smaller


def _denied(kube: KubeApi, right: dict, namespace: str) -> bool:
    return (ask(kube, [right], namespace)[0] or {}).get("allowed") is False


def _verdicts(kube: KubeApi, namespace: str) -> tuple[str, list[str]]:
    refusals, warnings = [], []
    for playbook in PLAYBOOKS:
        needed = rights.needed(playbook, ingress=True)  # every setting that adds a right
        judged = rights.judge(needed, ask(kube, needed, namespace))
        refusals.append(rights.refusal([{"name": "", "namespace": namespace, "user": "", "missing": judged["missing"]}],
                                       playbook))  # fmt: skip
        warnings += [rights.said(r, namespace) for r in judged["unchecked"]]
    return "\n".join(refusals), warnings


def test_taking_any_rule_out_of_the_role_makes_the_preflight_name_it(cluster, instructor):
    acting, _user = instructor
    rbac = client.RbacAuthorizationV1Api(cluster.api)
    shipped = rights.cluster_roles()[0]
    kube = KubeApi(acting.api, 10)
    namespace = acting.ns("user01")
    refusal, warnings = _verdicts(kube, namespace)
    assert refusal.strip() == "" and warnings == [], (refusal, warnings)
    started = time.monotonic()
    for index, rule in enumerate(shipped["rules"]):
        rbac.replace_cluster_role(shipped["metadata"]["name"], _without(shipped, index))
        group = rule["apiGroups"][0]
        probe = rights.right(group, rule["resources"][0], rule["verbs"][0], rights.CLUSTER, "")
        # RBAC's authorizer follows the role through an informer: wait until it has seen the change.
        acting.wait_for(f"rule {index} taken out", lambda p=probe: _denied(kube, p, namespace), 20)
        refusal, warnings = _verdicts(kube, namespace)
        scopes = (rights.CLUSTER, rights.NAMESPACE)
        named = [rights.said(rights.right(group, r, v, s, ""), namespace)
                 for r in rule["resources"] for v in rule["verbs"] for s in scopes]  # fmt: skip
        assert any(n in refusal or n in warnings for n in named), (rule, refusal, warnings)
    rbac.replace_cluster_role(shipped["metadata"]["name"], shipped)
    timed(f"each of the {len(shipped['rules'])} rules taken out in turn", time.monotonic() - started)
    note(f"{len(shipped['rules'])} rules of {rights.ROLE_NAME}: taking any one out makes the preflight name it")


def test_a_missing_right_is_refused_by_deploy_with_the_api_servers_answer(cluster, instructor):
    acting, user = instructor
    rbac = client.RbacAuthorizationV1Api(cluster.api)
    shipped = rights.cluster_roles()[0]
    index = next(i for i, r in enumerate(shipped["rules"]) if "resourcequotas" in r["resources"])
    rbac.replace_cluster_role(shipped["metadata"]["name"], _without(shipped, index))
    try:
        kube = KubeApi(acting.api, 10)
        probe = rights.right("", "resourcequotas", "create", rights.NAMESPACE, "")
        acting.wait_for("quota rights gone", lambda: _denied(kube, probe, acting.ns("user01")))
        before = acting.ours()
        proc, _seconds = acting.playbook("deploy")
        assert proc.returncode != 0
        message = text(proc)
        assert f"{user} may not do what deploy.yml needs" in message
        assert f"create resourcequotas in {acting.ns('user01')}: to apply the lab's objects" in message
        assert acting.ours() == before, "something was created although a right was missing"
        note("deploy without create resourcequotas: " + message.split("may not do what", 1)[1][:160] + " ...")
    finally:
        rbac.replace_cluster_role(shipped["metadata"]["name"], shipped)
    assert instructor_roles.text().count("kind: ClusterRole") == 2
