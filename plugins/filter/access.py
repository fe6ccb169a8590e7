# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""access's filters; the logic lives in module_utils/access/ (pure, unit-tested)."""

from __future__ import annotations

import json

from ansible_collections.mlopslab.monitoring.plugins.filter.common import results
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access import held, sheet


def access_records(accesses, issued, folder, cohort):
    return sheet.records(json.loads(json.dumps(accesses)), json.loads(json.dumps(issued or [])), folder, cohort)


def clusters_issued(answers):
    return sheet.issued(results(answers, "student_access"))


def held_problems(answers):
    """Why a student's Grafana password on the cluster could not be read, over the clusters."""
    return held.combine(results(answers, "lab_credentials_info"))[1]


class FilterModule:
    def filters(self):
        return {"access_records": access_records, "clusters_issued": clusters_issued, "held_problems": held_problems}
