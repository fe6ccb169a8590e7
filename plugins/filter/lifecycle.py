# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the cohort's lifecycle; the logic lives in module_utils/lifecycle.py (pure and
unit-tested), these only adapt it to Jinja (plain numbers instead of Decimals)."""

from __future__ import annotations

from decimal import Decimal

from ansible.errors import AnsibleFilterError
from ansible_collections.mlopslab.monitoring.plugins.module_utils import lifecycle


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def capacity(nodes, pods, students, replaced_namespaces=()):
    """nodes | capacity(pods, {student: objects}, [namespaces]) -> report with a printable table."""
    try:
        report = lifecycle.capacity_report(list(nodes), list(pods), dict(students), list(replaced_namespaces))
    except (ValueError, KeyError, TypeError) as e:
        raise AnsibleFilterError(f"capacity: cannot read the cluster's Nodes and Pods: {e}") from e
    return {**_plain(report), "table": lifecycle.capacity_table(report)}


def namespace_plan(namespaces, cohort, targets, inventory=None, include_orphans=False):
    inventory = None if inventory is None else list(inventory)
    return lifecycle.namespace_plan(list(namespaces), cohort, dict(targets), inventory, bool(include_orphans))


def terminating(namespaces, names):
    return lifecycle.terminating(list(namespaces), list(names))


class FilterModule:
    def filters(self):
        return {"capacity": capacity, "namespace_plan": namespace_plan, "terminating": terminating}
