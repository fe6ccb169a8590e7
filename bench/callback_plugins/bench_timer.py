"""Bench-only callback: task durations and module executions, written as JSON at the end.

A "module execution" is a result from an action that runs a module process (k8s, copy, file,
...), as opposed to the actions Ansible evaluates on the controller (set_fact, debug, assert).
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bench_timer
type: aggregate
short_description: task timings for bench/deploy.py
description: Writes task durations and module execution counts to $BENCH_TIMER_OUT.
"""

CONTROLLER_ONLY = {
    "set_fact",
    "debug",
    "assert",
    "fail",
    "include_role",
    "import_role",
    "meta",
    "validate_argument_spec",
    # This collection's action plugins: they run in the controller, no module process.
    "render_manifests",
    "write_manifests",
    "validate_settings",
    "write_access",
    "render_cohort",
    # The deploy pipeline: its cluster work runs in the controller's process too.
    "deploy_cohort",
}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.tasks = {}
        self.modules = {}
        self.steps = {}  # the deploy pipeline's own step timings (deploy_cohort's result)
        self._started = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = (task.get_name(), time.monotonic())

    def _result(self, result):
        name, started = self._started.get(result._task._uuid, (result._task.get_name(), time.monotonic()))
        self.tasks[name] = max(self.tasks.get(name, 0.0), time.monotonic() - started)
        action = result._task.action.split(".")[-1]
        self.steps.update(result._result.get("timings") or {})
        if action not in CONTROLLER_ONLY:
            self.modules[action] = self.modules.get(action, 0) + 1

    v2_runner_on_ok = v2_runner_on_failed = _result

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["BENCH_TIMER_OUT"], "w") as out:
            json.dump({"tasks": self.tasks, "modules": self.modules, "steps": self.steps}, out)
