"""Bench-only callback: every crossing from YAML into this collection's (or kubernetes.core's)
Python during a run, counted from the calls themselves (bench/house.py).

- a task whose action is a plugin of mlopslab.monitoring or kubernetes.core: one crossing per
  execution (a loop's items each count, a task per student counts per student);
- a filter of mlopslab.monitoring: one crossing per call, counted by wrapping each filter as
  Ansible's plugin loader loads its file (patched when the play starts: worker processes inherit it).
"""

import functools
import json
import os
import sys

from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import PluginLoader

DOCUMENTATION = """
name: bench_crossings
type: aggregate
short_description: YAML->Python crossings for bench/house.py
description: Appends one line per crossing to $BENCH_CROSSINGS_OUT.
"""

COLLECTIONS = ("mlopslab.monitoring.", "kubernetes.core.")
FILTERS = "ansible_collections.mlopslab.monitoring.plugins.filter."


def _record(kind: str, name: str) -> None:
    with open(os.environ["BENCH_CROSSINGS_OUT"], "a", encoding="utf-8") as out:  # O_APPEND: any process
        out.write(json.dumps([kind, name]) + "\n")


def _counted(name, function):
    @functools.wraps(function)
    def call(*args, **kwargs):
        _record("filter", f"mlopslab.monitoring.{name}")
        return function(*args, **kwargs)

    return call


def _wrap(module) -> None:
    plugin = getattr(module, "FilterModule", None)
    if plugin is not None and not getattr(plugin, "_bench_counted", False):
        filters = plugin.filters
        plugin.filters = lambda self: {n: _counted(n, f) for n, f in filters(self).items()}
        plugin._bench_counted = True


def _count_filters() -> None:
    """Wrap each of the collection's filters as Ansible's plugin loader loads its file (and any
    such file already imported). The loader runs in the worker processes too: they inherit this."""
    original = PluginLoader._load_module_source

    def load(self, *, python_module_name, path):
        module = original(self, python_module_name=python_module_name, path=path)
        if python_module_name.startswith(FILTERS):
            _wrap(module)
        return module

    PluginLoader._load_module_source = load
    for name, module in list(sys.modules.items()):
        if name.startswith(FILTERS):
            _wrap(module)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_crossings"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook):
        _count_filters()

    def _task(self, result):
        action = result._task.resolved_action or result._task.action
        if action.startswith(COLLECTIONS) and not result._result.get("skipped"):
            items = result._result.get("results")
            for _item in items if isinstance(items, list) and result._task.loop else [None]:
                _record("task", f"{action}: {result._task.get_name()}")

    v2_runner_on_ok = v2_runner_on_failed = _task
