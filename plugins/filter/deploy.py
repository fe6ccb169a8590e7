# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""deploy's filters; the logic lives in module_utils/deploy/ (pure and unit-tested), these only
adapt it to Jinja."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.mlopslab.monitoring.plugins.filter.common import plain, results
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy import capacity as fits
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy import outcomes


def capacity(nodes, pods, students, replaced_namespaces=()):
    """nodes | capacity(pods, {student: objects}, [namespaces]) -> report with a printable table."""
    try:
        report = fits.capacity_report(list(nodes), list(pods), dict(students), list(replaced_namespaces))
    except (ValueError, KeyError, TypeError) as e:
        raise AnsibleFilterError(f"capacity: cannot read the cluster's Nodes and Pods: {e}") from e
    return {**plain(report), "table": fits.capacity_table(report)}


def clusters_capacity(nodes, pods, lab):
    try:
        return plain(fits.capacity(results(nodes, "nodes"), results(pods, "pods"), dict(lab)))
    except (ValueError, KeyError, TypeError) as e:
        raise AnsibleFilterError(f"clusters_capacity: cannot read the clusters' Nodes and Pods: {e}") from e


def clusters_deploy_outcomes(applied, manifests, waited=None, wait_timeout=None):
    try:
        return outcomes.clusters_deploy_outcomes(
            results(applied, "applied"),
            {k: list(v) for k, v in dict(manifests).items()},
            None if waited is None else results(waited, "waited"),
            None if wait_timeout is None else float(wait_timeout),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise AnsibleFilterError(f"clusters_deploy_outcomes: cannot attribute the results to students: {e}") from e


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


def deploy_summary(students, records, manifests, accesses=None, answers=None, clusters=None):
    """ansible_play_hosts_all | deploy_summary(records, manifests, access, outcomes, clusters) -> rows."""
    return outcomes.summary_rows(
        list(students), dict(records), dict(manifests), dict(accesses or {}), dict(answers or {}), list(clusters or [])
    )


def deploy_report(answers, accesses=None):
    """outcomes | deploy_report(access results) -> {student: {message, changed, failed}}."""
    return outcomes.student_reports(dict(answers), dict(accesses or {}))


def unavailable(deployments, namespaces):
    return outcomes.unavailable(list(deployments), list(namespaces))


class FilterModule:
    def filters(self):
        return {
            "capacity": capacity,
            "clusters_capacity": clusters_capacity,
            "clusters_deploy_outcomes": clusters_deploy_outcomes,
            "deploy_outcomes": deploy_outcomes,
            "deploy_report": deploy_report,
            "deploy_summary": deploy_summary,
            "unavailable": unavailable,
        }
