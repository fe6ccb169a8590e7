"""Students' access as pure functions: lifetimes, tokens on disk, the records handed out (the
sheet and the handout templates: tests/unit/plugins/action/test_write_access.py)."""

from __future__ import annotations

import base64
import json

import pytest
import yaml
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access import sheet, tokens
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import text

NOW = 1_800_000_000


def _part(claims):
    return base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")


def jwt(exp, uid="uid-1"):
    """A token shaped as kube-apiserver issues them (header.claims.signature, base64url)."""
    claims = {"exp": exp, "sub": "system:serviceaccount:user01:student",
              "kubernetes.io": {"namespace": "user01", "serviceaccount": {"name": "student", "uid": uid}}}  # fmt: skip
    return f"{_part({'alg': 'RS256'})}.{_part(claims)}.c2ln"


def on_disk(token):
    return tokens.dump(tokens.kubeconfig("user01", "user01", "https://k:6443", "Q0E=", False, token))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("16w", 9676800), ("90d", 7776000), ("12h", 43200), ("90m", 5400), ("600", 600), (3600, 3600), ("45s", 45),
     ("0", None), ("1.5h", None), ("soon", None), (True, None), ("", None), ("7 d", 604800)],
)  # fmt: skip
def test_lifetimes_in_the_units_an_instructor_writes(value, expected):
    assert tokens.seconds(value) == expected


def test_every_lifetime_problem_is_named_at_once():
    problems = tokens.lifetime_problems("5m", "soon")
    assert [(p[0], p[1]) for p in problems] == [
        ("mlopslab_student_token_ttl", "5m"),
        ("mlopslab_student_token_renew_before", "soon"),
    ]
    assert "10m" in problems[0][2]
    (margin,) = tokens.lifetime_problems("7d", "7d")
    assert margin[0] == "mlopslab_student_token_renew_before" and "every run would renew" in margin[2]
    assert tokens.lifetime_problems("16w", "7d") == []


def test_the_kubeconfig_names_the_students_namespace_and_embeds_the_ca():
    config = yaml.safe_load(on_disk("t"))
    assert config["contexts"][0]["context"] == {"cluster": "mlopslab", "user": "user01", "namespace": "user01"}
    assert config["clusters"][0]["cluster"] == {"server": "https://k:6443", "certificate-authority-data": "Q0E="}
    assert config["current-context"] == "user01"
    insecure = tokens.kubeconfig("user01", "user01", "https://k", None, True, "t")
    assert insecure["clusters"][0]["cluster"]["insecure-skip-tls-verify"] is True


def test_a_token_valid_beyond_the_margin_for_the_current_account_is_kept():
    keep, why = tokens.keep_or_renew(on_disk(jwt(NOW + 30 * 86400)), now=NOW, renew_before=7 * 86400, account="uid-1")
    assert keep and why.startswith("kept: its token expires 2027-")


@pytest.mark.parametrize(
    ("text", "account", "reason"),
    [
        (None, "uid-1", "issued"),
        (on_disk(jwt(NOW + 3 * 86400)), "uid-1", "within mlopslab_student_token_renew_before"),
        (on_disk(jwt(NOW - 60)), "uid-1", "its token expired"),
        (on_disk(jwt(NOW + 30 * 86400, uid="uid-0")), "uid-1", "ServiceAccount was recreated"),
        (on_disk(jwt(NOW + 30 * 86400)), None, "ServiceAccount does not exist"),
        (on_disk("not-a-jwt"), "uid-1", "does not say when it expires"),
        ("users: []\n", "uid-1", "held no token"),
        ("{{ not yaml", "uid-1", "held no token"),
    ],
)
def test_anything_else_is_renewed_and_says_why(text, account, reason):
    keep, why = tokens.keep_or_renew(text, now=NOW, renew_before=7 * 86400, account=account)
    assert not keep and reason in why


def test_records_join_the_lab_with_what_was_issued():
    accesses = {"user01": {"namespace": "user01", "grafana_password": "pw"}, "user02": {"namespace": "user02"}}
    issued = [{"student": "user01", "kubeconfig": "/b/c/kubeconfigs/user01.yaml",
               "token_expires": "2027-01-01 00:00 UTC", "action": "kept"},
              {"student": "user02", "kubeconfig": "", "action": "revoked"}]  # fmt: skip
    one, two = sheet.records(accesses, issued, "/b/c", "c")
    assert one["kubeconfig"].endswith("user01.yaml") and one["grafana_password"] == "pw"
    assert one["handout"] == "/b/c/handouts/user01.md" and one["cohort"] == "c"
    assert (two["kubeconfig"], two["token_expires"], two["access"]) == ("", "revoked", "revoked")
    (rendered,) = sheet.records({"user01": {"namespace": "user01"}}, None, "/b/c", "c")
    assert rendered["access"] == "not issued" and rendered["kubeconfig"] == ""


@pytest.mark.parametrize(
    ("own", "other", "problem"),
    [
        ((200, ""), (403, "forbidden"), None),
        ((401, "Unauthorized"), (401, "Unauthorized"), "token is refused"),
        ((403, "pods is forbidden"), (403, ""), "may not list pods in its own namespace"),
        ((0, "Connection refused"), (0, ""), "does not answer (Connection refused)"),
        ((200, ""), (200, ""), "not confined to user01"),
        ((200, ""), (500, "boom"), "is unknown"),
    ],
)
def test_what_the_api_answers_the_student_says_whether_the_kubeconfig_works(own, other, problem):
    problems = tokens.kubeconfig_answers_problems(own, other, "user01", "user02")
    assert problems == [] if problem is None else problem in " ".join(problems)


def test_grafana_login_with_the_handed_out_password():
    sent = []

    def grafana(path, body):  # Grafana's POST /login: 200 for the right password, 401 otherwise
        sent.append((path, body))
        ok = body == {"user": "admin", "password": "right"}
        return (200, {"message": "Logged in"}) if ok else (401, {"message": "Invalid username or password"})

    assert tokens.grafana_login_problems(grafana, "admin", "right") == []
    (problem,) = tokens.grafana_login_problems(grafana, "admin", "stale")
    assert "refuses the handed-out password" in problem and "Invalid username or password" in problem
    assert sent[0][0] == "/login"
    assert tokens.grafana_login_problems(grafana, "admin", "") == ["the access sheet has no Grafana password"]


def test_a_table_is_one_block_for_yaml_results_and_a_list_of_lines_for_json():
    table = "cohort c: 2 students\nstudent  namespace\nuser01   user01"
    assert text.shown(table, as_block=True) == table
    assert text.shown(table, as_block=False) == ["cohort c: 2 students", "student  namespace", "user01   user01"]
    assert text.shown(table.split("\n"), as_block=True) == table  # lines in, as the capacity table comes


def test_columns_stay_intact_lines():
    table = text.columns([["student", "Grafana"], ["user01", "kubectl -n user01 port-forward svc/grafana 3000:3000"]])
    assert table.splitlines() == ["student  Grafana", "user01   kubectl -n user01 port-forward svc/grafana 3000:3000"]
