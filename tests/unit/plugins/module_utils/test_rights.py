"""The instructor's rights (module_utils/rights.py): the table every playbook's preflight asks the
cluster about, the ClusterRoles shipped from it, and the refusal a person reads."""

import pytest

from plugins.module_utils.common import rights
from tests.support import instructor_roles, rendered_fixture
from tests.support.processes import REPO

RENDERED = rendered_fixture.objects()


def granted(role: dict) -> set[tuple[str, str, str]]:
    return {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
            for v in rule["verbs"]}  # fmt: skip


def test_the_shipped_clusterroles_are_the_table():
    assert (
        REPO / "roles" / "_common" / "files" / "instructor-clusterroles.yaml"
    ).read_text() == instructor_roles.text()


def test_the_students_role_is_the_table_and_the_instructor_holds_all_of_it():
    # RBAC refuses a Role that grants what its writer does not hold (escalation prevention).
    [role] = [o for o in RENDERED if o["kind"] == "Role"]
    student = granted(role)
    assert student == {(g, r, v) for g, rs, vs in rights.STUDENT_RULES for r in rs for v in vs}
    instructor, _student = rights.cluster_roles()
    assert student <= granted(instructor)
    assert not any(r.endswith("/rollback") for _group, r, _verbs in student)  # apps/v1 serves none


def test_every_kind_deploy_applies_needs_its_apply_rights():
    plural = {"NetworkPolicy": "networkpolicies", "ResourceQuota": "resourcequotas", "LimitRange": "limitranges",
              "ServiceAccount": "serviceaccounts", "RoleBinding": "rolebindings"}  # fmt: skip
    needed = {(r["group"], r["resource"], r["verb"]) for r in rights.needed("deploy")}
    for obj in RENDERED:
        group = obj["apiVersion"].rpartition("/")[0]
        resource = plural.get(obj["kind"], obj["kind"].lower() + "s")
        for verb in ("create", "patch"):  # server-side apply creates what is missing
            assert (group, resource, verb) in needed, (obj["kind"], verb)


@pytest.mark.parametrize(("mode", "nodes"), [("fail", "required"), ("warn", "optional"), ("skip", None)])
def test_the_capacity_reads_follow_the_capacity_setting(mode, nodes):
    found = [r for r in rights.needed("deploy", capacity=mode) if r["resource"] == "nodes"]
    if nodes is None:
        assert found == []
    else:
        assert bool(found[0]["optional"]) == (nodes == "optional")


def test_a_missing_right_is_refused_with_why_and_how_to_grant_it():
    needed = rights.needed("teardown")
    answers = [{"allowed": (r["verb"], r["resource"]) != ("delete", "namespaces")} for r in needed]
    judged = rights.judge(needed, answers)
    assert [r["verb"] for r in judged["missing"]] == ["delete"]
    message = rights.refusal([{"name": "a", "namespace": "user01", "user": "alice", "missing": judged["missing"]}],
                             "teardown")  # fmt: skip
    assert "alice may not do what teardown.yml needs (1 rights missing):" in message
    assert "delete namespaces (cluster-wide): to delete the cohort's namespaces" in message
    assert "--clusterrole=mlopslab-instructor --user=<you>" in message


def test_no_answer_is_never_allowed_and_an_optional_right_says_what_is_not_checked():
    needed = rights.needed("verify")
    judged = rights.judge(needed, [None] * len(needed))
    assert len(judged["missing"]) + len(judged["unchecked"]) == len(needed) and judged["allowed"] == []
    assert any("verify's event evidence" in r["optional"] for r in judged["unchecked"])


@pytest.mark.parametrize(
    "unasked",
    [{"failed": True, "msg": "connection refused"}, {"cluster_error": "connection refused"}],
    ids=["failed", "reported"],  # the module's two ways: unanswered=fail, unanswered=report
)
def test_a_cluster_that_cannot_be_asked_refuses_and_warnings_name_the_cluster(unasked):
    cluster = {"name": "course-a", "namespaces": ["user01"]}
    nodes = rights.needed("deploy", capacity="warn")[1]
    results = [
        {"item": cluster, **unasked},
        {"item": {"name": "course-b", "namespaces": ["user03"]}, "missing": [], "unchecked": [nodes], "user": "bob"},
    ]
    verdict = rights.clusters_verdict(results, "deploy")
    assert "could not ask the API server what you may do (connection refused)" in verdict["refusal"]
    assert "on course-a" in verdict["refusal"]
    assert verdict["warnings"] == [
        "on course-b, you may not list nodes (cluster-wide): the capacity preflight (whether the cohort fits the "
        "nodes) is not checked"
    ]
    assert verdict["capacity_readable"] is False


def test_a_review_asks_for_the_subresource_in_the_students_namespace():
    token = next(r for r in rights.needed("access") if r["resource"] == "serviceaccounts/token")
    attributes = rights.review(token, "user07")["spec"]["resourceAttributes"]
    assert attributes == {"group": "", "resource": "serviceaccounts", "subresource": "token", "verb": "create",
                          "namespace": "user07"}  # fmt: skip


@pytest.mark.parametrize(
    "unasked", [{"failed": True, "msg": "connection refused"}, {"cluster_error": "connection refused"}]
)
def test_verify_goes_on_past_a_cluster_that_cannot_be_asked(unasked):
    # verify fails that cluster's students itself (cluster_unreachable) and checks the others.
    results = [{"item": {"name": "course-a", "namespaces": ["user01"]}, **unasked}]
    verdict = rights.clusters_verdict(results, "verify")
    assert verdict["refusal"] == ""
    assert verdict["warnings"] == ["could not ask course-a what you may read (connection refused)"]
