# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible's default screen output, said once per task instead of once per student."""

from __future__ import annotations

DOCUMENTATION = r"""
name: cohort
type: stdout
short_description: Ansible's default screen output, sized for a cohort of students
version_added: 1.1.0
author: mlopslab.monitoring contributors (@mlopslab)
description:
  - The default stdout callback (C(ansible.builtin.default)), for plays whose hosts are the students of a
    cohort. A task that does the same for 30 students says so in one line, not 30.
  - "Results that carry nothing but their status are said at the end of the task, one line per status,
    naming the hosts the way an inventory names a range of them, for example C(changed: user[01:30] (30 hosts))."
  - A failure that several hosts share (the same result, message and all, but for the host's own
    name) is printed in full for the first host, then in one line for the others.
  - Results with something to say are printed as the default callback prints them, host by host, when
    they arrive. These are the messages of C(ansible.builtin.debug) tasks, warnings, loop items, diffs,
    and every result at C(-v) or more.
  - The recap is the default callback's, one line per host.
  - Unlike the default callback, it shows neither V(ok) nor V(skipped) results unless asked to
    (O(display_ok_hosts), O(display_skipped_hosts)); a task with nothing to say prints no banner.
  - With the C(free) and C(host_pinned) strategies, whose tasks do not end together, it prints each
    result as the default callback does.
extends_documentation_fragment:
  - default_callback
  - result_format_callback
options:
  display_ok_hosts:
    name: Show 'ok' hosts
    description:
      - Show the hosts of tasks that ran and changed nothing. The messages of C(ansible.builtin.debug)
        tasks and warnings are shown either way.
    type: bool
    default: false
    env:
      - name: ANSIBLE_DISPLAY_OK_HOSTS
    ini:
      - key: display_ok_hosts
        section: defaults
  display_skipped_hosts:
    name: Show skipped hosts
    description:
      - Show the hosts for which a task was skipped.
    type: bool
    default: false
    env:
      - name: ANSIBLE_DISPLAY_SKIPPED_HOSTS
    ini:
      - key: display_skipped_hosts
        section: defaults
requirements:
  - set as the stdout callback in the configuration, for example C(stdout_callback = mlopslab.monitoring.cohort)
    in the [defaults] section of C(ansible.cfg)
"""

import json
import re
from collections import defaultdict

from ansible import constants as C
from ansible.playbook.task_include import TaskInclude
from ansible.plugins.callback.default import CallbackModule as DefaultCallback
from ansible.utils.fqcn import add_internal_fqcns

_NUMBERED = re.compile(r"^(.*?)(\d+)$")
_SAYS = frozenset(add_internal_fqcns(("debug",)))  # a task whose result is its message
_INTERLEAVED = frozenset(add_internal_fqcns(("free", "host_pinned")))  # tasks that do not end together


def _follows(previous: str, digits: str) -> bool:
    """Whether a numbered name comes right after another in one inventory range: the next number,
    written as wide (user09, user10) or with no leading zero at all (user9, user10)."""
    padded = previous.startswith("0") or digits.startswith("0")
    return int(digits) == int(previous) + 1 and (len(digits) == len(previous) or not padded)


def _range(prefix: str, run: list[str]) -> list[str]:
    if len(run) < 3:
        return [prefix + digits for digits in run]
    return [f"{prefix}[{run[0]}:{run[-1]}]"]


def hosts_shown(names) -> str:
    """Hosts as an inventory writes a range of them: user01, ..., user30 as user[01:30].

    Runs of three or more numbered names become a range; other names are listed. Ansible's own
    range expansion gives the names back (tests/unit/plugins/callback/test_cohort.py)."""
    numbered, plain = defaultdict(list), []
    for name in dict.fromkeys(names):
        match = _NUMBERED.match(name)
        if match:
            numbered[match[1]].append(match[2])
        else:
            plain.append(name)
    parts = []
    for prefix in sorted(numbered):
        digits = sorted(numbered[prefix], key=lambda text: (int(text), len(text)))
        run = digits[:1]
        for number in digits[1:]:
            if _follows(run[-1], number):
                run.append(number)
            else:
                parts.extend(_range(prefix, run))
                run = [number]
        parts.extend(_range(prefix, run))
    return ", ".join(parts + sorted(plain))


def _hosts(names: list[str]) -> str:
    return f"[{names[0]}]" if len(names) == 1 else f"{hosts_shown(names)} ({len(names)} hosts)"


class CallbackModule(DefaultCallback):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "mlopslab.monitoring.cohort"

    def __init__(self):
        super().__init__()
        self._showing = False  # a result with something to say, shown whatever display_ok_hosts says
        self._task = None  # the task whose plain results wait to be said
        self._statuses = defaultdict(list)  # status -> hosts, for the task
        self._failures = {}  # (the task's failure, ignored) -> hosts, the first of whom was printed in full

    def get_option(self, k, hostvars=None):  # k: CallbackBase's name for it
        if k == "display_ok_hosts" and self._showing:
            return True
        return super().get_option(k, hostvars)

    # What each result says.

    def _grouping(self) -> bool:
        return self._play is not None and self._play.strategy not in _INTERLEAVED

    def _says_something(self, result) -> bool:
        return (
            result.task.action in _SAYS
            or bool(result.result.get("warnings") or result.result.get("deprecations"))
            or self._run_is_verbose(result)
        )

    def _show(self, method, result):
        """Print as the default callback does; a result with something to say even where ok is hidden."""
        self._showing = self._says_something(result)
        try:
            method(result)
        finally:
            self._showing = False

    def _wait(self, result) -> bool:
        """Keep a result that carries nothing but its status for the task's one line; False to print it now."""
        if not self._grouping() or isinstance(result.task, TaskInclude) or "results" in result.result:
            return False
        if self._says_something(result):
            return False
        status = "changed" if result.result.get("changed", False) else "ok"
        if status == "ok" and not self.get_option("display_ok_hosts"):
            return True  # not shown at all, as the default callback would not show it
        self._task = result.task
        self._statuses[status].append(self.host_label(result))
        return True

    def v2_runner_on_ok(self, result):
        if not self._wait(result):
            self._show(super().v2_runner_on_ok, result)

    def v2_runner_item_on_ok(self, result):
        self._show(super().v2_runner_item_on_ok, result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not self._grouping() or "results" in result.result or self._run_is_verbose(result):
            super().v2_runner_on_failed(result, ignore_errors)
            return
        # The same failure for several hosts: their own name is the only difference in what the
        # default callback would print of it (msg, and anything else such as module_stderr).
        host = result.host.get_name()
        shown = {key: value for key, value in result.result.items() if not key.startswith("_ansible")}
        text = json.dumps(shown, sort_keys=True, default=str)
        failure = re.sub(rf"(?<![\w-]){re.escape(host)}(?![\w-])", "\0", text)
        hosts = self._failures.setdefault((failure, ignore_errors), [])  # emptied when the task ends
        hosts.append(self.host_label(result))
        self._task = result.task
        if len(hosts) == 1:
            super().v2_runner_on_failed(result, ignore_errors)

    # The end of a task: its plain results, one line per status, and the rest of each shared failure.

    def _say_task(self):
        task, statuses, failures = self._task, self._statuses, self._failures
        self._task, self._statuses, self._failures = None, defaultdict(list), {}
        if task is None:
            return
        for (_failure, ignored), hosts in failures.items():
            if len(hosts) > 1:
                self._display.display(
                    f"fatal: {_hosts(hosts[1:])}: FAILED! the same as [{hosts[0]}] above",
                    color=C.COLOR_ERROR,
                    stderr=self.get_option("display_failed_stderr"),
                )
                if ignored:
                    self._display.display("...ignoring", color=C.COLOR_SKIP)
        for status, color in (("changed", C.COLOR_CHANGED), ("ok", C.COLOR_OK)):
            if statuses[status]:
                if self._last_task_banner != task._uuid:
                    self._print_task_banner(task)
                self._display.display(f"{status}: {_hosts(statuses[status])}", color=color)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._say_task()
        super().v2_playbook_on_task_start(task, is_conditional)

    def v2_playbook_on_handler_task_start(self, task):
        self._say_task()
        super().v2_playbook_on_handler_task_start(task)

    def v2_playbook_on_include(self, included_file):
        self._say_task()
        super().v2_playbook_on_include(included_file)

    def v2_playbook_on_no_hosts_remaining(self):
        self._say_task()
        super().v2_playbook_on_no_hosts_remaining()

    def v2_playbook_on_play_start(self, play):
        self._say_task()
        super().v2_playbook_on_play_start(play)

    def v2_playbook_on_stats(self, stats):
        self._say_task()
        super().v2_playbook_on_stats(stats)
