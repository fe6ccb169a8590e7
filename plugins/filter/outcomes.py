# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for deploy.yml's report; the logic lives in module_utils/outcomes.py (pure and
unit-tested), these only adapt it to Jinja."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.mlopslab.monitoring.plugins.module_utils import outcomes


def deploy_outcomes(outcome, students, manifests, deployments=None, wait_timeout=None, wait_error=None):
    """outcome | deploy_outcomes({student: namespace}, [[objects]], deployments, timeout, error)."""
    try:
        return outcomes.deploy_outcomes(
            dict(students),
            [list(objects) for objects in manifests],
            dict(outcome),
            None if deployments is None else list(deployments),
            None if wait_timeout is None else float(wait_timeout),
            None if wait_error is None else str(wait_error),
        )
    except (ValueError, TypeError, AttributeError) as e:
        raise AnsibleFilterError(f"deploy_outcomes: cannot attribute the results to students: {e}") from e


def deploy_summary(students, records, manifests, accesses=None, results=None, clusters=None):
    """ansible_play_hosts_all | deploy_summary(records, manifests, access, outcomes, clusters) -> rows."""
    return outcomes.summary_rows(
        list(students), dict(records), dict(manifests), dict(accesses or {}), dict(results or {}), list(clusters or [])
    )


def unavailable(deployments, namespaces):
    return outcomes.unavailable(list(deployments), list(namespaces))


class FilterModule:
    def filters(self):
        return {"deploy_outcomes": deploy_outcomes, "deploy_summary": deploy_summary, "unavailable": unavailable}
