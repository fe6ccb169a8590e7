# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Take or let go of the run's hold on its students (a Lease per student, module_utils/deploy/
lease.py) for a verb whose work spans several tasks: teardown. deploy and access hold their
students inside their own pipelines, renewed for as long as they run; teardown takes the hold
before it deletes (the holds go with the namespaces; one not let go expires DURATION seconds after
it was taken). A student whose namespace does not exist has no
hold to take: nothing of theirs is there to change."""

from __future__ import annotations

import json
import time

from ansible.plugins.action import ActionBase
from ansible_collections.mlopslab.monitoring.plugins.action.deploy_cohort import api_client_factory
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import namespaces as ownership
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.settings import compress
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy import lease
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.cluster import Cluster, Hold
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.errors import Refused, Unreachable
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.pipeline import identity


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("clusters", "cohort", "state", "takeover"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(
            argument_spec={
                "clusters": {"type": "list", "elements": "dict", "required": True},
                "cohort": {"type": "str", "required": True},
                "state": {"type": "str", "choices": ["held", "released"], "default": "held"},
                "takeover": {"type": "bool", "default": False},
            }
        )
        result["changed"] = False
        if self._task.check_mode:  # --check writes nothing: no hold either
            return result
        # The same identity for both tasks of one run: ansible-playbook's own process (stable).
        ident, who = identity(stable=True)
        labels = {ownership.MANAGED_BY: ownership.MANAGER, ownership.COHORT: args["cohort"]}
        held = {}
        try:
            for entry in json.loads(json.dumps(args["clusters"])):
                cluster = Cluster(entry)
                cluster.connect(api_client_factory)
                hold = Hold(cluster, ident, who, lambda _ns: labels)
                if args["state"] == "released":
                    hold.held = {namespace: {} for namespace in cluster.students.values()}  # read, then deleted
                    hold.release()
                    continue
                refused = hold.take(args["takeover"], skip_missing=True)
                if refused:
                    by_ns = {ns: s for s, ns in cluster.students.items()}
                    held.update({by_ns[ns]: taken for ns, taken in refused.items()})
                    break
        except (Unreachable, Refused) as err:
            return {**result, "failed": True, "msg": f"{err}. Nothing was changed."}
        if held:
            return {**result, "failed": True, "msg": lease.refusal(args["cohort"], held, time.time(), compress)}
        return result
