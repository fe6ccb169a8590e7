# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""teardown.yml's work in one task: the pipeline of module_utils/teardown/pipeline.py, wired to
Ansible as deploy_cohort wires deploy's (the same controller side, the same in-process cluster
work and hold)."""

from __future__ import annotations

from ansible_collections.mlopslab.monitoring.plugins.action.deploy_cohort import PIPELINE_ARGS, PipelineAction
from ansible_collections.mlopslab.monitoring.plugins.module_utils.teardown.pipeline import Teardown

ARGUMENT_SPEC = {
    **PIPELINE_ARGS,
    "credentials_dir": {"type": "path", "required": True},
    "confirm": {"type": "str", "default": ""},
    "only": {"type": "raw", "default": []},
    "timeout": {"type": "int", "default": 300},
}


class ActionModule(PipelineAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    PIPELINE = Teardown
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def params(self, args: dict, task_vars: dict) -> dict:
        play = list(task_vars.get("ansible_play_hosts") or [])
        return {
            **args,
            "check_mode": bool(self._task.check_mode),
            "diff": False,
            "render_dir": "",
            "clusters_only": True,
            "play_students": play,
            # No --limit and no mlopslab_teardown_only: the cohort's namespaces whose students left
            # the inventory go too.
            "whole_cohort": len(task_vars.get("ansible_play_hosts_all") or play) == len(args["inventory_students"]),
        }
