# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters every verb shares (the preflight's, the output's); the logic lives in
module_utils/common/ (pure and unit-tested), these only adapt it to Jinja. The helpers below are
the other filter files' too."""

from __future__ import annotations

from decimal import Decimal

from ansible.errors import AnsibleFilterError
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access.sheet import csv_row
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access.tokens import seconds as lifetime_seconds
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import rights
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.text import shown


def plain(value):
    """Decimals as floats, for Jinja and JSON."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def results(value, what):
    """A loop's registered results (the task's `results`), each with its cluster as `item`."""
    found = list(value or [])
    for result in found:
        if not isinstance(result, dict) or not isinstance(result.get("item"), dict) or "name" not in result["item"]:
            raise AnsibleFilterError(f"{what}: expects a loop's results over the clusters (register: x; x.results)")
    return found


def rights_verdict(answers, playbook):
    """__rights.results | rights_verdict('deploy') -> {refusal, warnings, capacity_readable}."""
    return rights.clusters_verdict([dict(r) for r in answers], str(playbook))


def instructor_binding(user, role=rights.ROLE_NAME):
    """'alice' | instructor_binding -> the ClusterRoleBinding of a shipped ClusterRole to alice."""
    return rights.binding(str(user), str(role))


def seconds(value):
    result = lifetime_seconds(value)
    if result is None:
        raise AnsibleFilterError(f"{value!r} is not a lifetime such as 3600, 90m, 12h, 90d or 16w")
    return result


class FilterModule:
    def filters(self):
        return {
            "rights_verdict": rights_verdict,
            "instructor_binding": instructor_binding,
            "seconds": seconds,
            "csv_row": csv_row,
            "shown": shown,
        }
