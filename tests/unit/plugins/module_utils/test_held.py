"""The cluster as the source of truth for each student's Grafana password (module_utils/access/held.py)
and the order render_cohort decides it in."""

from __future__ import annotations

import base64
import copy
import re
from pathlib import Path

import pytest
from ansible_collections.mlopslab.monitoring.plugins.action.render_cohort import grafana_password
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access import held

from tests.support import rendered_fixture

REPO = Path(__file__).parents[4]
TEMPLATE = REPO / "roles" / "grafana" / "templates" / "grafana.yaml.j2"


def rendered_secret() -> dict:
    """The Grafana admin Secret as deploy renders it: the rendered fixture leaves the Secret out (no
    password in git), so its name, key and labels come from the lab's other objects and the template."""
    [namespace] = [d for d in rendered_fixture.objects() if d["kind"] == "Namespace"]
    labels = {k: v for k, v in namespace["metadata"]["labels"].items() if not k.startswith("pod-security")}
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": held.SECRET, "namespace": namespace["metadata"]["name"],
                         "labels": {**labels, "app.kubernetes.io/component": "grafana"}},
            "data": {held.KEY: ""}}  # fmt: skip


def as_served(secret: dict, password: str) -> dict:
    """The Secret as the API server returns a GET of it: the metadata it adds, `data` base64."""
    served = copy.deepcopy(secret)
    served["metadata"].update(uid="0b5c2f1e-6a0c-4d55-9f3e-1f2a3b4c5d6e", resourceVersion="4711",
                              creationTimestamp="2026-12-03T09:00:00Z")  # fmt: skip
    served["data"] = {held.KEY: base64.b64encode(password.encode()).decode()}
    return served


FORBIDDEN = {
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403,
    "message": 'secrets "grafana-admin" is forbidden: User "alice" cannot get resource "secrets" in API group "" '
               'in the namespace "user03"',
    "details": {"name": "grafana-admin", "kind": "secrets"},
}  # fmt: skip
NOT_FOUND = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
             "message": 'secrets "grafana-admin" not found'}  # fmt: skip


def test_the_secret_and_key_are_the_ones_the_grafana_role_renders():
    text = TEMPLATE.read_text()
    secret = text[text.index("kind: Secret") : text.index("---", text.index("kind: Secret"))]
    assert f"name: {held.SECRET}\n" in secret
    assert f"  {held.KEY}: " in secret


def test_a_cohort_secret_gives_its_password_and_any_other_says_why_it_gives_none():
    cohort = rendered_secret()["metadata"]["labels"]["mlopslab.io/cohort"]
    served = as_served(rendered_secret(), "Zq9…pässwort")
    assert held.held_password(served, cohort) == "Zq9…pässwort"
    unlabelled = copy.deepcopy(served)
    del unlabelled["metadata"]["labels"]["app.kubernetes.io/managed-by"]
    broken = copy.deepcopy(served)
    broken["data"][held.KEY] = "not base64!"
    for secret, in_cohort, why in (
        (served, "another-cohort", "is not this cohort's (its labels do not say managed-by mlopslab, cohort another"),
        (unlabelled, cohort, "is not this cohort's"),
        (broken, cohort, "holds an admin-password that is not base64 of UTF-8 text"),
        ({**served, "data": {}}, cohort, "holds no admin-password"),
    ):
        with pytest.raises(ValueError, match=re.escape(why)):
            held.held_password(secret, in_cohort)


def test_read_held_asks_each_namespace_and_names_every_refusal():
    cohort = rendered_secret()["metadata"]["labels"]["mlopslab.io/cohort"]
    answers = {
        "/api/v1/namespaces/user01/secrets/grafana-admin": (200, as_served(rendered_secret(), "first")),
        "/api/v1/namespaces/user02/secrets/grafana-admin": (404, NOT_FOUND),
        "/api/v1/namespaces/user03/secrets/grafana-admin": (403, FORBIDDEN),
        "/api/v1/namespaces/user04/secrets/grafana-admin": (200, {**as_served(rendered_secret(), "x"), "data": {}}),
    }
    asked = []

    def call(method, path):
        asked.append((method, path))
        return answers[path]

    students = {name: name for name in ("user01", "user02", "user03", "user04")}
    passwords, errors, unusable = held.read_held(call, students, cohort)
    assert passwords == {"user01": "first"}
    assert list(errors) == ["user03"] and "HTTP 403" in errors["user03"] and "forbidden" in errors["user03"]
    assert unusable == {"user04": {"namespace": "user04", "why": "holds no admin-password"}}
    assert sorted(asked) == sorted(("GET", path) for path in answers)


def test_combine_names_a_failed_cluster_with_its_students_and_never_a_password():
    results = [
        {"item": {"name": "a", "students": ["user01"]}, "passwords": {"user01": "s3cret"}, "errors": {}},
        {"item": {"name": "b", "students": ["user02", "user03"]}, "failed": True, "msg": "connection refused"},
        {
            "item": {"name": "c", "students": ["user04", "user06"]},
            "passwords": {},
            "errors": {"user04": "HTTP 500: boom"},
            "unusable": {"user06": {"namespace": "lab-user06", "why": "holds no admin-password"}},
        },
        {"item": {"name": "d", "students": ["user05"]}, "skipped": True},
    ]
    passwords, problems, unusable = held.combine(results)
    assert passwords == {"user01": "s3cret"}
    assert unusable == {"user06": {"namespace": "lab-user06", "why": "holds no admin-password"}}
    assert problems == ["b (user02, user03): connection refused", "user04: HTTP 500: boom"]
    assert not any("s3cret" in p for p in problems)


@pytest.mark.parametrize(
    ("given", "on_cluster", "kept", "expected"),
    [
        ("given", "held", "kept", ("given", "given")),
        ("", "held", "kept", ("held", "cluster")),  # the cluster over a stale copy in build/
        ("", None, "kept\n", ("kept", "kept")),
        ("", None, None, (None, "new")),
    ],
)
def test_the_password_is_given_then_the_clusters_then_the_kept_copy_then_new(given, on_cluster, kept, expected):
    password, source = grafana_password(given, on_cluster, kept)
    assert source == expected[1]
    if expected[0] is not None:
        assert password == expected[0]
    else:
        assert len(password) == 24 and password.isalnum()


def test_a_secret_that_gives_no_password_is_one_sentence_with_the_way_out():
    problem = held.unusable_problem("user06", {"namespace": "lab-user06", "why": "holds no admin-password"})
    assert problem.startswith("user06: Secret lab-user06/grafana-admin holds no admin-password, and no password")
    assert "grafana_admin_password for user06" in problem
    assert "kubectl -n lab-user06 rollout restart deployment/grafana" in problem
