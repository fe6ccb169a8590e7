# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render the lab roles for every student of the play in one task, on the controller.

One render_manifests task per student and role cost a worker fork and ~35 ms of the controller
each: 100 students x 4 roles was 15 s of a 28 s render, and the per-student set_facts after it
another 6 s. This action renders the same templates with the same variables, for all students
at once: each student's variables come from Ansible's own VariableManager (inventory, group and
host vars, play vars, set facts, extra vars, exactly as that student's task would see them),
under each role's defaults and with its vars/main.yml, as importing the role gave. Each role's
argument spec is checked per student as before, and every problem of every student is named in
one failure, before anything is written or applied.

The roles stay the unit users know: their templates, defaults, vars and argument specs are the
ones rendered here, and each still renders on its own (its tasks/main.yml) outside deploy.yml.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible_collections.mlopslab.monitoring.plugins.action.render_manifests import (
    render_objects,
    render_record,
    role_options,
    running_inventory,
    validate_options,
)

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def compiling_once(templar):
    """The templar, compiling each distinct template or expression once for the cohort.

    ansible-core compiles every template string each time it is rendered (no cache): 100
    students x 43 strings was 4,300 Jinja compilations, 60% of the render. A compiled Jinja
    template holds no variables, so one compilation serves every student."""
    engine, cache = templar._engine, {}
    for method in ("_compile_template", "_compile_expression"):
        original = getattr(engine, method)

        def cached(text, options, _original=original, _method=method):
            try:
                key = (_method, str(text), options)
                compiled = cache.get(key)
            except TypeError:  # options that cannot be a key: compile as ansible-core does
                return _original(text, options)
            if compiled is None:
                compiled = cache[key] = _original(text, options)
            return compiled

        setattr(engine, method, cached)
    return templar


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("roles", "records", "role_vars"))

    def _role(self, name: str) -> dict:
        """A lab role's path, defaults, vars and main argument spec, read once for the cohort."""
        path = os.path.join(COLLECTION, "roles", name)

        def load(*parts):
            file = os.path.join(path, *parts)
            # Trusted as templates, as Ansible trusts a role's own defaults and vars files.
            return (self._loader.load_from_file(file, trusted_as_template=True) or {}) if os.path.exists(file) else {}

        return {
            "path": path,
            "defaults": load("defaults", "main.yml"),
            "vars": load("vars", "main.yml"),
            "options": role_options(self._loader, path) or {},
        }

    def _template(self, source: str):
        """A template's text and the templar that renders it for every student (its search
        path; each distinct template compiled once: see compiling_once)."""
        templar = self._templar.copy_with_new_env(searchpath=[os.path.dirname(source)], available_variables={})
        return self._loader.get_text_file_contents(source), compiling_once(templar)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(
            argument_spec={
                "roles": {"type": "list", "elements": "dict", "default": []},
                "records": {"type": "str"},
                "role_vars": {"type": "str", "default": "_mlopslab_role_vars"},
            }
        )
        manager = self._task.get_variable_manager()
        play = self._task.get_play() if hasattr(self._task, "get_play") else self._task._parent._play
        inventory = running_inventory(task_vars)
        hosts, hosts_all = list(task_vars["ansible_play_hosts"]), list(task_vars["ansible_play_hosts_all"])
        roles = {entry["name"]: {**self._role(entry["name"]), "template": entry["template"]} for entry in args["roles"]}
        records_source = self._find_needle("templates", args["records"]) if args["records"] else None
        # One templar per template, reused for every student.
        for role in roles.values():
            role["text"], role["templar"] = self._template(os.path.join(role["path"], "templates", role["template"]))
        if records_source:
            records_text, records_templar = self._template(records_source)
        manifests, records, problems = {}, {}, []
        for student in hosts:
            base = manager.get_vars(
                play=play, host=inventory.get_host(student), task=self._task, _hosts=hosts, _hosts_all=hosts_all
            )
            # What the playbook hands each role (as deploy.yml's role imports did): raw templates,
            # rendered with this student's variables below.
            handed = base.get(args["role_vars"]) or {}
            objects = []
            for name, role in roles.items():
                variables = {
                    **role["defaults"],
                    **base,
                    **role["vars"],
                    **(handed.get(name) or {}),
                    **manager.extra_vars,  # -e wins over everything, as in Ansible
                    "role_path": role["path"],
                    "role_name": f"mlopslab.monitoring.{name}",
                    "ansible_search_path": [role["path"], base.get("playbook_dir", "")],
                }
                templar = role["templar"]
                templar.available_variables = variables
                # The role's options templated once, for the check and then for the render (a
                # lookup such as the generated password is not run twice).
                try:
                    provided = templar.template({k: variables[k] for k in role["options"] if k in variables})
                except AnsibleError as err:  # e.g. a host var naming an undefined variable
                    problems.append(f"{student}: role {name}: {err.message}")
                    continue
                problem = validate_options(templar, name, "main", role["options"], variables, provided)
                if problem:
                    problems.append(f"{student}: {problem}")
                    continue
                variables.update(provided)
                templar.available_variables = variables
                try:
                    objects += render_objects(templar, role["text"], role["template"])
                except (ValueError, AnsibleError) as err:
                    problems.append(f"{student}: {err}")
            manifests[student] = objects
            if records_source:
                try:
                    records_templar.available_variables = base
                    records[student] = render_record(records_templar, records_text, args["records"])
                except (ValueError, AnsibleError) as err:
                    problems.append(f"{student}: {err}")
        if problems:
            return {
                **result,
                "failed": True,
                "msg": f"{len(problems)} students' labs did not render; nothing was written or applied:"
                + "".join(f"\n  - {p}" for p in problems),
            }
        # Returned, not set as facts: a run_once fact is copied to every student of the play, and
        # 100 copies of the cohort's 2,000 objects cost more than the render (measured: 60 s).
        result.update(changed=False, manifests=manifests, records=records, students=len(hosts))
        result["_ansible_no_log"] = True  # the objects hold Secrets, the records passwords
        return result
