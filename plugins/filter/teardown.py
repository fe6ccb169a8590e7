# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""teardown's filters; the logic lives in module_utils/teardown/ (pure, unit-tested)."""

from __future__ import annotations

import os

from ansible_collections.mlopslab.monitoring.plugins.filter.common import results
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import layout
from ansible_collections.mlopslab.monitoring.plugins.module_utils.teardown import plan
from ansible_collections.mlopslab.monitoring.plugins.module_utils.teardown.report import teardown_report as report


def clusters_teardown_plan(listed, cohort, only, inventory, whole_cohort=False):
    return plan.teardown_plan(results(listed, "namespaces"), cohort, list(only or []), list(inventory),
                              bool(whole_cohort))  # fmt: skip


def clusters_teardown_outcome(deleted, remaining):
    return plan.teardown_outcome(results(deleted, "deleted"), results(remaining, "remaining"))


def terminating(namespaces, names):
    return plan.terminating(list(namespaces), list(names))


def teardown_report(planned, outcome, run):
    """plan | teardown_report(outcome, {students, cohort, confirmed, timeout, archive, check})."""
    run = dict(run)
    return report(dict(planned), None if outcome is None else dict(outcome), dict(run["students"]), str(run["cohort"]),
                  bool(run["confirmed"]), int(run["timeout"]), str(run.get("archive") or ""),
                  bool(run.get("check")))  # fmt: skip


def student_files(students, credentials, folder):
    """The files deploy wrote for these students that exist: the Grafana password (under
    `credentials`), the kubeconfig and the handout (under the cohort's `folder`)."""
    return [p for p in layout.student_files(list(students), credentials, folder) if os.path.isfile(p)]


class FilterModule:
    def filters(self):
        return {
            "clusters_teardown_plan": clusters_teardown_plan,
            "clusters_teardown_outcome": clusters_teardown_outcome,
            "terminating": terminating,
            "teardown_report": teardown_report,
            "student_files": student_files,
        }
