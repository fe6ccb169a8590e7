# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every name of ansible-core this collection needs beyond the plugin API, in one place.

Two are private, kept because the render needs them (tests/unit/plugins/plugin_utils/
test_ansible_core.py fails on a core where either moved, naming it):
- the play's own inventory, which ansible-core hands an action plugin only through hostvars
  (`HostVars._inventory`): validate_settings and render_cohort read group and host variables
  as Ansible merged them, per student;
- the templar's compile step (`Templar._engine._compile_template` / `_compile_expression`):
  ansible-core compiles every template string each time it renders one, and 100 students x 43
  strings compiled once each instead of 4,300 times is 60% of the render (bench/deploy.py).

The other two are public from ansible-core 2.19 on (the data-tagging API): `trust_as_template`
and `DataLoader.load_from_file(trusted_as_template=True)`. Hence `requires_ansible: >=2.19.0`.
"""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.template import trust_as_template

__all__ = ["compiling_once", "load_trusted", "running_inventory", "trust_as_template"]


def running_inventory(task_vars: dict):
    """The play's own inventory (groups with their vars, hosts), as ansible-playbook parsed it."""
    inventory = getattr(task_vars.get("hostvars"), "_inventory", None)
    if inventory is None or not hasattr(inventory, "get_host"):
        raise AnsibleError("this ansible-core keeps the inventory where mlopslab.monitoring does not look for it")
    return inventory


def compiling_once(templar):
    """The templar, compiling each distinct template or expression once for the cohort.

    A compiled Jinja template holds no variables, so one compilation serves every student."""
    engine, cache = getattr(templar, "_engine", None), {}
    if engine is None:
        return templar  # a core without the engine: correct, only slower
    for method in ("_compile_template", "_compile_expression"):
        original = getattr(engine, method, None)
        if original is None:
            continue

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


def load_trusted(loader, path: str):
    """A role's own YAML file (defaults, vars), trusted as templates as Ansible trusts it."""
    return loader.load_from_file(path, trusted_as_template=True)
