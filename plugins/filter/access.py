# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for students' access; the logic lives in module_utils/access.py (pure, unit-tested)."""

from __future__ import annotations

import json
import os

from ansible.errors import AnsibleFilterError
from ansible_collections.mlopslab.monitoring.plugins.module_utils import access


def seconds(value):
    result = access.seconds(value)
    if result is None:
        raise AnsibleFilterError(f"{value!r} is not a lifetime such as 3600, 90m, 12h, 90d or 16w")
    return result


def access_records(accesses, results, folder, cohort):
    return access.records(json.loads(json.dumps(accesses)), json.loads(json.dumps(results or [])), folder, cohort)


def student_files(students, credentials, folder):
    """The files deploy wrote for these students that exist: the Grafana password (under
    `credentials`), the kubeconfig and the handout (under the cohort's `folder`)."""
    paths = []
    for student in students:
        if not student:
            continue
        paths += [
            os.path.join(credentials, f"{student}-grafana-admin"),
            os.path.join(folder, "kubeconfigs", f"{student}.yaml"),
            os.path.join(folder, "handouts", f"{student}.md"),
        ]
    return [p for p in paths if os.path.isfile(p)]


class FilterModule:
    def filters(self):
        return {
            "seconds": seconds,
            "access_records": access_records,
            "columns": access.columns,
            "student_files": student_files,
        }
