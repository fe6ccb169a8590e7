# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""access.yml's work in one task: the pipeline of module_utils/access/pipeline.py, wired to
Ansible as deploy_cohort wires deploy's (the same controller side, the same in-process cluster
work and hold)."""

from __future__ import annotations

from ansible_collections.mlopslab.monitoring.plugins.action.deploy_cohort import PIPELINE_ARGS, PipelineAction
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access.pipeline import Access

ARGUMENT_SPEC = {**PIPELINE_ARGS, "state": {"type": "str", "choices": ["revoked", "renewed"], "required": True}}


class ActionModule(PipelineAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    PIPELINE = Access
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def params(self, args: dict, task_vars: dict) -> dict:
        return {**args, "check_mode": bool(self._task.check_mode), "diff": False, "render_dir": ""}
