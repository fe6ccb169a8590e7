# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check every setting of every role for every student, once, before anything is rendered,
written, generated or applied; fail once, naming every problem (module_utils/common/settings.py).

A student's settings are the roles' defaults overlaid with what that student's own task sees
(plugin_utils/student_vars.py, the one reader render_cohort uses too: inventory, play and role
vars, facts and -e, in Ansible's precedence). The roles' declared options are
read from their meta/argument_specs.yml, so the typo check and the type check know exactly what
Ansible would accept; the exporter's options are judged by the exporter's own parser, imported
from this collection's exporter/ package (standard library only)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.vars.plugins import get_vars_from_inventory_sources, get_vars_from_path
from ansible_collections.mlopslab.monitoring.plugins.action.render_manifests import role_options
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import clusters as cluster_groups
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import settings as rules
from ansible_collections.mlopslab.monitoring.plugins.plugin_utils.ansible_core import running_inventory
from ansible_collections.mlopslab.monitoring.plugins.plugin_utils.student_vars import CohortVariables

COLLECTION = Path(__file__).resolve().parents[2]
# Every role that declares settings: the four lab roles, the shared one and the four verbs.
ROLES = (
    "student_namespace", "metrics_exporter", "prometheus", "grafana",
    "_common", "deploy", "access", "verify", "teardown",
)  # fmt: skip
# Set by the playbooks themselves, or given to one of them (access.yml: -e mlopslab_access=revoke).
# mlopslab_namespace is made from this action's own answer: never read here.
PLAY_VARIABLES = {"mlopslab_namespace", "mlopslab_labels", "mlopslab_access"}
# The settings that say which cluster a student is on.
CONNECTION = ("mlopslab_kubeconfig", "mlopslab_context")


def _exporter_parser():
    """(load, OPTIONS) of the exporter's own configuration parser."""
    path = str(COLLECTION / "exporter")
    if path not in sys.path:
        sys.path.insert(0, path)
    from ab_exporter import config  # noqa: PLC0415 - importable only once the path is known

    return config.load, list(config.OPTIONS)


def _given(theirs) -> tuple[dict, list[dict]]:
    """A student's settings as given, and a problem for each one that cannot be evaluated
    (e.g. "{{ no_such_variable }}"), said with the student instead of failing the task."""
    given, unusable = {}, []
    names = [n for n in theirs.keys() if n.startswith(rules.PREFIXES) and n not in PLAY_VARIABLES]  # noqa: SIM118
    for name in names:
        try:
            given[name] = theirs[name]
        except AnsibleError as err:
            unusable.append(
                rules.problem(name, None, f"cannot be evaluated: {err.message}", "a value", "a defined variable")
            )
    return given, unusable


def given_values(cohort, students: list[str], names: set[str]) -> list:
    """The values the students' settings give these variables (those that can be evaluated)."""
    values = []
    for student in students:
        for name in names:
            try:
                values.append(cohort[student].get(name))
            except AnsibleError:
                continue
    return values


def _writable(path: str) -> bool:
    """Whether files can be made in a folder (the output rules get this injected: they stay pure)."""
    return os.access(path, os.W_OK | os.X_OK)


def _prefix(theirs, defaults: dict) -> str:
    """A student's own mlopslab_namespace_prefix (a group var may give each group another)."""
    try:
        value = theirs.get("mlopslab_namespace_prefix", defaults.get("mlopslab_namespace_prefix"))
    except AnsibleError:
        return ""  # cannot be evaluated: said with the student by _given
    return str(value or "")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("students", "clusters_only", "outputs"))

    def _roles(self) -> tuple[dict[str, dict], dict]:
        """Each role's options (its main entry point) and the constant defaults of all roles."""
        specs, defaults = {}, {}
        for role in ROLES:
            options = role_options(self._loader, str(COLLECTION / "roles" / role))
            if options is None:  # every setting is judged by these: no spec is no check, never a pass
                raise AnsibleError(f"role {role} has no main entry point in meta/argument_specs.yml")
            specs[role] = options
            for name, option in specs[role].items():
                default = option.get("default")
                # Defaults that are templates (build paths, -e shortcuts) are not settings to judge.
                if "default" in option and not (isinstance(default, str) and "{{" in default):
                    defaults[name] = default
        return specs, defaults

    def _membership_conflicts(self, task_vars: dict, students: list[str]) -> dict[str, list[tuple[str, tuple]]]:
        """Students in two inventory groups that set different clusters, where neither group is
        the other's child (a child's value wins by design) and nothing closer decides (a host var,
        -e): Ansible's merge picks one group's value without a word."""
        if any(name in self._task.get_variable_manager().extra_vars for name in CONNECTION):
            return {}
        inventory = running_inventory(task_vars)
        sources = list(task_vars.get("ansible_inventory_sources") or [])
        basedir = self._loader.get_basedir()
        cache: dict[tuple, dict] = {}

        def own(entity) -> dict:
            """The connection settings this group or host sets itself (inline, *_vars/ files)."""
            key = (type(entity).__name__, entity.name)
            if key not in cache:
                found = dict(entity.get_vars())
                found.update(get_vars_from_inventory_sources(self._loader, sources, [entity], "inventory"))
                found.update(get_vars_from_path(self._loader, basedir, [entity], "playbook"))
                cache[key] = {name: str(found[name] or "") for name in CONNECTION if name in found}
            return cache[key]

        conflicts = {}
        for student in students:
            host = inventory.get_host(student)
            if host is None or own(host):
                continue
            setting = [g for g in host.get_groups() if own(g)]
            parents = {a.name for g in setting for a in g.get_ancestors()}
            leaves = sorted((g for g in setting if g.name not in parents), key=lambda g: g.name)
            if any(len({own(g)[n] for g in leaves if n in own(g)}) > 1 for n in CONNECTION):
                conflicts[student] = [(g.name, tuple(own(g).get(n, "") for n in CONNECTION)) for g in leaves]
        return conflicts

    def _exporter_problems(self, checked: dict) -> list[dict]:
        """metrics_exporter_settings judged by the exporter's own parser, loaded once per run."""
        exporter_settings = checked.get("metrics_exporter_settings")
        if not exporter_settings:
            return []
        if self._parser is None:
            try:
                self._parser = _exporter_parser()
            except Exception as err:  # an unreadable collection: said, never skipped
                self._parser = err
        if isinstance(self._parser, Exception):
            return [
                rules.problem(
                    "metrics_exporter_settings",
                    exporter_settings,
                    f"cannot be checked: the exporter's parser did not load ({self._parser})",
                    "settings the exporter's parser can read",
                    "{}",
                )
            ]
        if rules.port(checked.get("metrics_exporter_port")) is not None:
            return []  # a bad port is said by value_problems
        load, options = self._parser
        return rules.exporter_problems(exporter_settings, checked["metrics_exporter_port"], load, options)

    def _coherence_problems(self, checked: dict) -> list[dict]:
        """The settings that must agree (settings.coherence_problems), with the model versions the
        exporter's own parser reads from its settings."""
        if self._parser is None:
            try:
                self._parser = _exporter_parser()
            except Exception as err:  # said by _exporter_problems when settings are given
                self._parser = err
        versions = None
        if not isinstance(self._parser, Exception) and rules.port(checked.get("metrics_exporter_port")) is None:
            versions = rules.exporter_versions(checked.get("metrics_exporter_settings"),
                                               checked["metrics_exporter_port"], self._parser[0])  # fmt: skip
        return rules.coherence_problems(checked, versions)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(
            argument_spec={
                "students": {"type": "list", "elements": "str"},
                "clusters_only": {"type": "bool", "default": False},
                "outputs": {"type": "dict", "default": {}},
            }
        )
        return {**result, **self.validate(task_vars, args["students"], args["clusters_only"], args["outputs"])}

    def validate(self, task_vars: dict, students=None, clusters_only: bool = False, outputs=None) -> dict:
        """Every setting of every student judged: {clusters, namespaces, inventory_namespaces, msg},
        or {failed, msg} naming every problem (deploy_cohort's first step calls this too)."""
        args = {"clusters_only": clusters_only, "outputs": outputs or {}}
        result = {}
        students = students or list(task_vars.get("ansible_play_hosts") or [])
        specs, defaults = self._roles()
        declared = set().union(*(set(s) for s in specs.values())) | PLAY_VARIABLES
        cohort = CohortVariables(self, task_vars)
        self._parser = None
        by_student: dict[str, list[dict]] = {}
        connections = {}
        # Each student's namespace, once, from their own prefix; every step reads these. The
        # whole inventory's too: a student outside --limit may already hold the same namespace.
        inventory_students = list(task_vars.get("groups", {}).get("cohort") or students)
        prefixes = {s: _prefix(cohort[s], defaults) for s in dict.fromkeys(inventory_students + students)}
        namespaces = {s: rules.namespace(s, prefix) for s, prefix in prefixes.items()}
        for student, problems in rules.identity_problems(namespaces, prefixes).items():
            by_student.setdefault(student, []).extend(problems)
        outputs = {name: str(path) for name, path in args["outputs"].items()}
        for found in rules.output_problems(outputs, os.path.exists, os.path.isdir, _writable):
            for student in students:
                by_student.setdefault(student, []).append(found)
        for student, problems in rules.membership_problems(self._membership_conflicts(task_vars, students)).items():
            by_student.setdefault(student, []).extend(problems)
        cohorts: dict[str, str] = {}
        for student in students:
            theirs = cohort[student]
            given, unusable = _given(theirs)
            values = {**defaults, **given}
            cohorts[student] = str(values.get("mlopslab_cohort") or "")
            connections[student] = tuple(
                str(values.get(name) or "")
                for name in ("mlopslab_kubeconfig", "mlopslab_context", "mlopslab_student_api_server")
            )
            if args["clusters_only"]:
                continue
            own = set(values.get("mlopslab_own_variables") or [])
            problems = unusable + rules.unknown_variables(given, declared, own)
            for spec in specs.values():
                problems += rules.type_problems(values, spec)
            typed_badly = {p["variable"] for p in problems}
            checked = {k: v for k, v in values.items() if k not in typed_badly}
            problems += rules.value_problems(checked)
            problems += rules.host_problems(student, checked)
            problems += rules.access_problems(checked)
            problems += self._exporter_problems(checked)
            problems += self._coherence_problems(checked)
            if problems:
                by_student.setdefault(student, []).extend(problems)
        for student, found in rules.cohort_problems(cohorts).items():
            by_student.setdefault(student, []).append(found)
        for student, wrong in cluster_groups.api_server_problems(connections).items():
            server = connections[student][2]
            by_student.setdefault(student, []).append(
                rules.problem(
                    "mlopslab_student_api_server",
                    server,
                    wrong,
                    "one address per cluster: set it for the cluster's group of students",
                    "group_vars/<the cluster's group>.yml",
                )
            )
        if not by_student:
            # The students grouped by cluster: every cluster-side task loops over the groups.
            groups = cluster_groups.group(connections, namespaces)
            where = f" on {len(groups)} clusters" if len(groups) > 1 else ""
            return {
                **result,
                "changed": False,
                "clusters": groups,
                "namespaces": {s: namespaces[s] for s in students},
                "inventory_namespaces": [namespaces[s] for s in inventory_students],
                "msg": f"{len(students)} students' settings{where}: no problems",
            }
        # A no_log setting's value is never echoed, however its problem is worded.
        hidden = {name for spec in specs.values() for name, option in spec.items() if option.get("no_log")}
        secrets = rules.secret_texts(given_values(cohort, students, hidden))
        lines = [rules.scrub(line, secrets) for line in rules.report(by_student, hidden)]
        return {
            **result,
            "failed": True,
            "changed": False,
            "msg": f"{len(lines)} problem{'s' if len(lines) != 1 else ''} in the settings; nothing was rendered, "
            "written or applied:" + "".join(f"\n  - {line}" for line in lines),
        }
