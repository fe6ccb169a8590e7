# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The instructor's rights, per cluster, as one verdict; the logic lives in module_utils/rights.py
(pure and unit-tested), this only adapts it to Jinja."""

from __future__ import annotations

from ansible_collections.mlopslab.monitoring.plugins.module_utils import rights


def rights_verdict(results, playbook):
    """__rights.results | rights_verdict('deploy') -> {refusal, warnings, capacity_readable}."""
    return rights.clusters_verdict([dict(r) for r in results], str(playbook))


def instructor_binding(user, role=rights.ROLE_NAME):
    """'alice' | instructor_binding -> the ClusterRoleBinding of a shipped ClusterRole to alice."""
    return rights.binding(str(user), str(role))


class FilterModule:
    def filters(self):
        return {"rights_verdict": rights_verdict, "instructor_binding": instructor_binding}
