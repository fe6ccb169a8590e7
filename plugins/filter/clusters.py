# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that put a cohort's per-cluster results back together; the logic lives in
module_utils/clusters.py (pure and unit-tested), these only adapt it to Jinja."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.mlopslab.monitoring.plugins.filter.lifecycle import _plain
from ansible_collections.mlopslab.monitoring.plugins.module_utils import clusters


def _results(value, what):
    """A loop's registered results (the task's `results`), each with its cluster as `item`."""
    results = list(value or [])
    for result in results:
        if not isinstance(result, dict) or not isinstance(result.get("item"), dict) or "name" not in result["item"]:
            raise AnsibleFilterError(f"{what}: expects a loop's results over the clusters (register: x; x.results)")
    return results


def clusters_capacity(nodes, pods, lab):
    try:
        return _plain(clusters.capacity(_results(nodes, "nodes"), _results(pods, "pods"), dict(lab)))
    except (ValueError, KeyError, TypeError) as e:
        raise AnsibleFilterError(f"clusters_capacity: cannot read the clusters' Nodes and Pods: {e}") from e


def clusters_deploy_outcomes(applied, manifests, waited=None, wait_timeout=None):
    try:
        return clusters.deploy_outcomes(
            _results(applied, "applied"),
            {k: list(v) for k, v in dict(manifests).items()},
            None if waited is None else _results(waited, "waited"),
            None if wait_timeout is None else float(wait_timeout),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise AnsibleFilterError(f"clusters_deploy_outcomes: cannot attribute the results to students: {e}") from e


def clusters_health(results):
    return clusters.health(_results(results, "health"))


def clusters_issued(results):
    return clusters.issued(_results(results, "student_access"))


def clusters_shared(listed):
    return clusters.same_cluster_problems(_results(listed, "namespaces"))


def clusters_teardown_plan(listed, cohort, only, inventory, whole_cohort=False):
    return clusters.teardown_plan(_results(listed, "namespaces"), cohort, list(only or []), list(inventory),
                                  bool(whole_cohort))  # fmt: skip


def clusters_teardown_outcome(deleted, remaining):
    return clusters.teardown_outcome(_results(deleted, "deleted"), _results(remaining, "remaining"))


class FilterModule:
    def filters(self):
        return {
            "clusters_capacity": clusters_capacity,
            "clusters_deploy_outcomes": clusters_deploy_outcomes,
            "clusters_health": clusters_health,
            "clusters_issued": clusters_issued,
            "clusters_shared": clusters_shared,
            "clusters_teardown_plan": clusters_teardown_plan,
            "clusters_teardown_outcome": clusters_teardown_outcome,
        }
