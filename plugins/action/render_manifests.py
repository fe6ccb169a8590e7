# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a role's template into Kubernetes objects and set them as a fact, on the controller.

What `set_fact: x: "{{ lookup('template', t) | from_yaml_all | list }}"` did, for less (measured,
100 students, the four lab roles: 26 s, plus 7 s of validation tasks; now 13 s in all): the
template lookup deep-copies every variable of the host before rendering (ansible-core's own
FIXME says so), and from_yaml_all hands back Ansible's tagged types, which every later task
templating the objects walks again; here libyaml parses them into plain data, once.

It also validates the calling role's argument spec for its entry point, as the validation task
Ansible prepends to a role would, in the same worker: deploy.yml imports the lab roles with
`rolespec_validate: false` and saves one task (one fork, ~15 ms of the controller) per student
and role. Used on its own, a role is validated twice; the result is the same.
"""

from __future__ import annotations

import json
import os

import yaml
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible_collections.mlopslab.monitoring.plugins.plugin_utils.ansible_core import trust_as_template

try:  # libyaml when present: the four roles render ~60 KB of YAML per student
    from yaml import CSafeLoader as Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as Loader


def parse_objects(text: str, source: str) -> list[dict]:
    """The YAML documents of a rendered template, empty documents left out; each must be an object."""
    try:
        documents = [d for d in yaml.load_all(text, Loader=Loader) if d is not None]
    except yaml.YAMLError as err:
        raise ValueError(f"{source} did not render to valid YAML: {err}") from err
    for number, document in enumerate(documents, 1):
        if not isinstance(document, dict) or not document.get("kind"):
            raise ValueError(f"{source}: document {number} is not a Kubernetes object (no kind)")
    return documents


def validate_options(
    templar, role: str, entry_point: str, options: dict, variables: dict, provided: dict | None = None
) -> str | None:
    """A role's argument spec checked against the variables it would see, or None when they pass.
    `provided`: those variables already templated (render_cohort renders with them too)."""
    if provided is None:
        provided = templar.template({name: variables[name] for name in options if name in variables})
    # Plain data: the validator deep-copies what it is given, and Ansible's tagged and lazy
    # types copy ~5 times slower (1.3 s of 100 students' render). Values are YAML-typed data.
    provided = json.loads(json.dumps(provided, default=str))
    outcome = ArgumentSpecValidator(options).validate(provided, validate_role_argument_spec=True)
    if outcome.error_messages:
        return f"Validation of the arguments of role {role} (entry point {entry_point}) failed:\n" + "\n".join(
            outcome.error_messages
        )
    return None


def render_text(templar, text: str, name: str) -> str:
    """A template's text rendered with the templar's variables; ValueError says why not."""
    try:
        return str(templar.template(trust_as_template(text), escape_backslashes=False))
    except AnsibleError as err:  # an undefined variable, a failed lookup, the template's own refusal
        raise ValueError(f"{name}: {err.message}") from err


def render_objects(templar, text: str, name: str) -> list[dict]:
    """The Kubernetes objects a role's template renders to."""
    return parse_objects(render_text(templar, text, name), name)


def render_record(templar, text: str, name: str) -> dict:
    """A template that renders one YAML mapping (a record, not Kubernetes objects)."""
    record = yaml.load(render_text(templar, text, name), Loader=Loader)
    if not isinstance(record, dict):
        raise ValueError(f"{name} did not render to a mapping")
    return record


def role_options(loader, role_path: str, entry_point: str = "main") -> dict | None:
    """The options a role's meta/argument_specs declares for an entry point; None when it
    declares no such entry point (or has no argument specs)."""
    for ext in (".yml", ".yaml"):
        path = os.path.join(role_path, "meta", "argument_specs" + ext)
        if os.path.exists(path):
            spec = ((loader.load_from_file(path) or {}).get("argument_specs") or {}).get(entry_point)
            return (spec.get("options") or {}) if spec else None
    return None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("template", "fact", "entry_point"))

    def _role_argument_spec(self, task_vars: dict, entry_point: str) -> tuple[str, dict] | None:
        role_path = task_vars.get("role_path")
        options = role_options(self._loader, role_path, entry_point) if role_path else None
        return None if options is None else (os.path.basename(role_path), options)

    def _validate(self, task_vars: dict, entry_point: str) -> str | None:
        """The same check as ansible.builtin.validate_argument_spec on the role's variables."""
        found = self._role_argument_spec(task_vars, entry_point)
        if found is None:
            return None
        role, options = found
        return validate_options(self._templar, role, entry_point, options, task_vars)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(
            argument_spec={
                "template": {"type": "str", "required": True},
                "fact": {"type": "str", "required": True},
                "entry_point": {"type": "str", "default": "main"},
            }
        )
        problem = self._validate(task_vars, args["entry_point"])
        if problem:
            return {**result, "failed": True, "msg": problem}

        try:
            source = self._find_needle("templates", args["template"])
        except AnsibleError as err:
            return {**result, "failed": True, "msg": f"template {args['template']} not found: {err.message}"}
        # Like the template action: a plain copy of the variables, never a deep one.
        templar = self._templar.copy_with_new_env(searchpath=[os.path.dirname(source)], available_variables=task_vars)
        try:
            objects = render_objects(templar, self._loader.get_text_file_contents(source), args["template"])
        except ValueError as err:
            return {**result, "failed": True, "msg": str(err)}

        result.update(changed=False, ansible_facts={args["fact"]: objects})
        # Never display objects holding a Secret (at -v a fact is printed); errors above stay visible.
        if any(o.get("kind") == "Secret" for o in objects):
            result["_ansible_no_log"] = True
        return result
