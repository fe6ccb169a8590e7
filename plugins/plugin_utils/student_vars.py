# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each student's variables, read one way for every step that reads settings (validate_settings,
render_cohort): Ansible's own VariableManager for that student's task, so role defaults,
inventory group and host vars, play vars, role vars, set facts and extra vars come in Ansible's
precedence. Validation judges exactly what the render will use: a setting given as a play var
of the instructor's own playbook is checked like one from the inventory."""

from __future__ import annotations

from ansible_collections.mlopslab.monitoring.plugins.plugin_utils.ansible_core import running_inventory


class StudentVariables:
    """One student's variables: raw (as the VariableManager merged them) and, per name,
    templated on demand (AnsibleError when a value cannot be evaluated, as with hostvars)."""

    def __init__(self, raw: dict, templar) -> None:
        self.raw = raw
        self._templar = templar

    def keys(self):
        return self.raw.keys()

    def __contains__(self, name) -> bool:
        return name in self.raw

    def __getitem__(self, name):
        return self._templar.template(self.raw[name])

    def get(self, name, default=None):
        return self[name] if name in self.raw else default


class CohortVariables:
    """Every student's variables for one task (the action's own), each read once."""

    def __init__(self, action, task_vars: dict) -> None:
        task = action._task
        self._manager = task.get_variable_manager()
        self._play = task.get_play() if hasattr(task, "get_play") else task._parent._play
        self._task = task
        self._templar = action._templar
        self._running = running_inventory(task_vars)
        self._hosts = list(task_vars.get("ansible_play_hosts") or [])
        self._hosts_all = list(task_vars.get("ansible_play_hosts_all") or [])
        self._read: dict[str, StudentVariables] = {}

    @property
    def extra_vars(self) -> dict:
        return self._manager.extra_vars

    def __getitem__(self, student: str) -> StudentVariables:
        if student not in self._read:
            raw = self._manager.get_vars(play=self._play, host=self._running.get_host(student), task=self._task,
                                         _hosts=self._hosts, _hosts_all=self._hosts_all)  # fmt: skip
            self._read[student] = StudentVariables(raw, self._templar.copy_with_new_env(available_variables=raw))
        return self._read[student]
