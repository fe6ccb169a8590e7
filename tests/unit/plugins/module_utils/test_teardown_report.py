"""teardown's per-student lines and closing line, decided in one pure function."""

from __future__ import annotations

import pytest

from plugins.module_utils.teardown.report import closing, plan_text, student_report, teardown_report

PLAN = {
    "delete": [{"namespace": "user01", "student": "user01"}, {"namespace": "user02", "student": "user02"}],
    "refuse": [{"namespace": "user03", "why": "it has no label mlopslab.io/cohort=fall26"}],
    "absent": [{"namespace": "user04"}],
    "orphans": [],
}
STUCK = {"namespace": "user02", "phase": "Terminating", "finalizers": ["example.com/hold"],
         "conditions": ["NamespaceFinalizersRemaining: some content remains"]}  # fmt: skip


@pytest.mark.parametrize(
    ("namespace", "confirmed", "outcome", "message", "changed", "failed"),
    [
        ("user03", True, None, "user03: left alone, it has no label mlopslab.io/cohort=fall26.", False, False),
        ("user04", True, None, "user04: no such namespace, nothing to delete.", False, False),
        ("user05", True, None, "user05: not selected (mlopslab_teardown_only).", False, False),
        ("user01", False, None, "user01: would be deleted (dry run).", False, False),
        ("user01", True, {"errors": {"user01": "Forbidden"}}, "user01: not deleted: Forbidden. "
         "Rerun teardown.yml --limit user01 once fixed.", False, True),
        ("user01", True, {"wait_errors": {"user01": "connection refused"}}, "user01: deletion requested, but whether "
         "it finished could not be checked: connection refused. Rerun teardown.yml --limit user01 once the API "
         "answers.", True, True),
        ("user02", True, {"stuck": [STUCK]}, "user02: still Terminating after 300 s, held by finalizer "
         "example.com/hold; NamespaceFinalizersRemaining: some content remains. Remove what holds it (kubectl get "
         "namespace user02 -o yaml), then rerun teardown.yml --limit user02.", False, True),
        ("user01", True, {"stuck": [STUCK]}, "user01: deleted.", True, False),
    ],
)  # fmt: skip
def test_each_student_gets_one_decision(namespace, confirmed, outcome, message, changed, failed):
    said = student_report(namespace, namespace, PLAN, outcome, confirmed, 300)
    assert said == {"message": message, "changed": changed, "failed": failed}


def test_a_stuck_namespace_that_names_nothing_says_so():
    bare = {"namespace": "user02", "phase": "", "finalizers": [], "conditions": []}
    said = student_report("user02", "user02", PLAN, {"stuck": [bare]}, True, 60)["message"]
    assert said.startswith("user02: still present after 60 s, held by nothing it names.")


def test_the_closing_line_says_how_to_confirm_or_how_many_went():
    assert closing(PLAN, None, False, "fall26") == (
        "Dry run: nothing was deleted. To delete the 2 namespaces above, add -e mlopslab_teardown_confirm=fall26."
    )
    assert closing({"delete": []}, None, False, "fall26") == "Dry run: nothing was deleted."
    assert closing(PLAN, {"stuck": [STUCK]}, True, "fall26", "/b/archive/T") == (
        "Deleted 1 of 2 namespaces. Credentials archived under /b/archive/T."
    )


def test_the_report_covers_the_play_students_only():
    report = teardown_report(PLAN, None, {"user01": "fall26-user01", "user03": "user03"}, "fall26", False, 300)
    assert set(report["students"]) == {"user01", "user03"}
    # Another student's namespace name is never taken for this one's.
    assert report["students"]["user01"]["message"] == "fall26-user01: not selected (mlopslab_teardown_only)."


def test_check_mode_says_so_instead_of_asking_for_the_confirmation_given():
    assert closing(PLAN, None, False, "fall26", check=True) == (
        "--check: nothing was deleted; 2 namespaces would be deleted with the confirmation."
    )


def test_the_closing_line_counts_neither_a_refused_delete_nor_an_unchecked_one():
    outcome = {"errors": {"user01": "Forbidden"}, "wait_errors": {"user02": "connection refused"}, "stuck": []}
    assert closing(PLAN, outcome, True, "fall26") == "Deleted 0 of 2 namespaces."


def test_the_plan_names_each_namespace_with_what_is_done_and_why():
    plan = {**PLAN, "orphans": [{"namespace": "user09", "student": "user09", "cluster": "a"}], "several": False}
    assert plan_text(plan, "fall26", confirmed=False).splitlines() == [
        "teardown of cohort fall26 (dry run: nothing is deleted without -e mlopslab_teardown_confirm=fall26)",
        "would delete user01                   student user01",
        "would delete user02                   student user02",
        "refuse       user03                   it has no label mlopslab.io/cohort=fall26",
        "absent       user04                   no such namespace",
        "keep         user09                   this cohort, no longer in the inventory; not selected (--limit / "
        "mlopslab_teardown_only)",
    ]
    assert plan_text(PLAN, "fall26", confirmed=False, check=True).splitlines()[0] == (
        "teardown of cohort fall26 (--check: nothing is deleted)"
    )
    several = {"delete": [{"namespace": "user01", "student": "user01", "cluster": "b"}], "several": True}
    assert plan_text(several, "fall26", confirmed=True).splitlines() == [
        "teardown of cohort fall26",
        "delete       user01                   student user01 on b",
    ]
    assert plan_text({"delete": []}, "fall26", True).splitlines()[-1] == "nothing of cohort fall26 to delete"
