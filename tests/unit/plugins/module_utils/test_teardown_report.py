"""teardown's per-student lines and closing line, decided in one pure function."""

from __future__ import annotations

import pytest

from plugins.module_utils.teardown.report import closing, student_report, teardown_report

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
