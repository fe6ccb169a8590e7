# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What teardown says for each student, and its closing line: one decision per student (left
alone, absent, not selected, dry run, not deleted, unknown, stuck, deleted) made once, here,
from the plan (teardown.plan.teardown_plan) and what the deletion and the wait said
(teardown.plan.teardown_outcome). The per-student task only prints the answer; its changed and
failed come from the same decision. Pure."""

from __future__ import annotations

NO_OUTCOME = {"errors": {}, "wait_errors": {}, "stuck": []}


def _held_by(stuck: dict) -> str:
    holders = [f"finalizer {f}" for f in stuck.get("finalizers") or []] + list(stuck.get("conditions") or [])
    return "; ".join(holders) or "nothing it names"


def student_report(student: str, namespace: str, plan: dict, outcome: dict | None, confirmed: bool,
                   timeout: int) -> dict:  # fmt: skip
    """{message, changed, failed} for one student's namespace."""
    outcome = outcome or NO_OUTCOME
    rerun = f"Rerun teardown.yml --limit {student}"
    refused = [e for e in plan.get("refuse") or [] if e["namespace"] == namespace]
    deleted = any(e["namespace"] == namespace for e in plan.get("delete") or [])
    stuck = [e for e in outcome.get("stuck") or [] if e["namespace"] == namespace]
    error = (outcome.get("errors") or {}).get(namespace, "")
    wait_error = (outcome.get("wait_errors") or {}).get(namespace, "")
    if refused:
        message = f"{namespace}: left alone, {refused[0]['why']}."
    elif any(e["namespace"] == namespace for e in plan.get("absent") or []):
        message = f"{namespace}: no such namespace, nothing to delete."
    elif not deleted:
        message = f"{namespace}: not selected (mlopslab_teardown_only)."
    elif not confirmed:
        message = f"{namespace}: would be deleted (dry run)."
    elif error:
        message = f"{namespace}: not deleted: {error}. {rerun} once fixed."
    elif wait_error:
        message = (f"{namespace}: deletion requested, but whether it finished could not be checked: {wait_error}. "
                   f"{rerun} once the API answers.")  # fmt: skip
    elif stuck:
        message = (f"{namespace}: still {stuck[0].get('phase') or 'present'} after {timeout} s, held by "
                   f"{_held_by(stuck[0])}. Remove what holds it (kubectl get namespace {namespace} -o yaml), "
                   f"then rerun teardown.yml --limit {student}.")  # fmt: skip
    else:
        message = f"{namespace}: deleted."
    acted = deleted and confirmed and not refused
    return {
        "message": message,
        "changed": acted and not stuck and not error,
        "failed": acted and bool(stuck or error or wait_error),
    }


def closing(plan: dict, outcome: dict | None, confirmed: bool, cohort: str, archive: str = "",
            check: bool = False) -> str:  # fmt: skip
    """The run's last line: what a dry run would do and how to confirm, or how many went."""
    to_delete = len(plan.get("delete") or [])
    if check:
        return f"--check: nothing was deleted; {to_delete} namespaces would be deleted with the confirmation."
    if not confirmed:
        how = (
            f" To delete the {to_delete} namespaces above, add -e mlopslab_teardown_confirm={cohort}."
            if to_delete
            else ""
        )
        return "Dry run: nothing was deleted." + how
    outcome = outcome or NO_OUTCOME
    not_gone = {e["namespace"] for e in outcome.get("stuck") or []}
    not_gone |= set(outcome.get("errors") or {}) | set(outcome.get("wait_errors") or {})
    gone = [e for e in plan.get("delete") or [] if e["namespace"] not in not_gone]
    archived = f" Credentials archived under {archive}." if archive else ""
    return f"Deleted {len(gone)} of {to_delete} namespaces.{archived}"


def teardown_report(plan: dict, outcome: dict | None, students: dict[str, str], cohort: str, confirmed: bool,
                    timeout: int, archive: str = "", check: bool = False) -> dict:  # fmt: skip
    """{students: {student: {message, changed, failed}}, closing: line} for the play's students
    (``students``: student -> namespace)."""
    return {
        "students": {
            student: student_report(student, namespace, plan, outcome, confirmed, timeout)
            for student, namespace in students.items()
        },
        "closing": closing(plan, outcome, confirmed, cohort, archive, check),
    }


def plan_text(plan: dict, cohort: str, confirmed: bool, check: bool = False) -> str:
    """The plan as teardown shows it before it deletes (or instead, in a dry run): one line per
    namespace, what is done with it and why."""
    if confirmed:
        mode = ""
    elif check:
        mode = " (--check: nothing is deleted)"
    else:
        mode = f" (dry run: nothing is deleted without -e mlopslab_teardown_confirm={cohort})"
    orphans = {e["namespace"] for e in plan.get("orphans") or []}
    on = plan.get("several")

    def line(action: str, entry: dict, why: str) -> str:
        where = f" on {entry['cluster']}" if on and entry.get("cluster") else ""
        return f"{action:<12} {entry['namespace']:<24} {why}{where}"

    lines = [f"teardown of cohort {cohort}{mode}"]
    delete = plan.get("delete") or []
    for entry in delete:
        why = "no longer in the inventory" if entry["namespace"] in orphans else f"student {entry['student']}"
        lines.append(line("delete" if confirmed else "would delete", entry, why))
    lines += [line("refuse", e, e["why"]) for e in plan.get("refuse") or []]
    lines += [line("absent", {**e, "cluster": ""}, "no such namespace") for e in plan.get("absent") or []]
    kept = "this cohort, no longer in the inventory; not selected (--limit / mlopslab_teardown_only)"
    lines += [line("keep", e, kept) for e in plan.get("orphans") or [] if e["namespace"] not in
              {d["namespace"] for d in delete}]  # fmt: skip
    if not (delete or plan.get("refuse") or plan.get("absent")):
        lines.append(f"nothing of cohort {cohort} to delete")
    return "\n".join(lines)
