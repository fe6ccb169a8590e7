# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""teardown.yml's work in one task: the pipeline of module_utils/teardown/pipeline.py, wired to
Ansible as deploy_cohort wires deploy's (the same controller side, the same in-process cluster
work and hold)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible_collections.mlopslab.monitoring.plugins.action.deploy_cohort import (
    PIPELINE_ARGS,
    Controller,
    api_client_factory,
)
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.errors import Refused
from ansible_collections.mlopslab.monitoring.plugins.module_utils.teardown.pipeline import Teardown

ARGUMENT_SPEC = {
    **PIPELINE_ARGS,
    "credentials_dir": {"type": "path", "required": True},
    "confirm": {"type": "str", "default": ""},
    "only": {"type": "raw", "default": []},
    "timeout": {"type": "int", "default": 300},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        play = list(task_vars.get("ansible_play_hosts") or [])
        params = {
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
        controller = Controller(self, task_vars, params)
        pipeline = Teardown(params, controller, api_client_factory)
        try:
            said = pipeline.run()
        except Refused as refused:  # the one place a refusal becomes the task's failure
            return {**result, "failed": True, "changed": False, "msg": str(refused)}
        result.update(changed=False, **said)
        if pipeline.unreleased():
            result["warnings"] = pipeline.unreleased()
        # Lines only: no password, no token, nothing of another namespace but the names it refuses.
        result["_ansible_no_log"] = False
        return result
