# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep the Grafana passwords render_cohort generated for students who had none, and those read
back from the cluster that the credentials folder lacks or holds another of (a new clone, an AWX
job: the folder is a cache of what the cluster holds), once every check that can refuse the run
has passed (a refused run leaves no file behind), and before anything is applied (a Secret on the
cluster always has its password kept here). In check mode nothing is written."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.private_files import write_private


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("rendered",))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec={"rendered": {"type": "str", "required": True}})
        result.update(keep(task_vars[args["rendered"]].get("credentials") or {}, self._task.check_mode))
        result["_ansible_no_log"] = False  # paths only; the passwords stay in the registered render
        return result


def keep(credentials: dict[str, dict], check_mode: bool) -> dict:
    """Write the passwords generated now and those read back that the folder lacks (none in check
    mode): {written, new, restored}. AnsibleActionFail when one cannot be written."""
    new = {student: c for student, c in credentials.items() if c["source"] == "new"}
    restored = {s: c for s, c in credentials.items() if c["source"] == "cluster" and not c.get("in_file")}
    written = []
    for student, credential in {**new, **restored}.items():
        if check_mode:
            continue
        try:
            write_private(credential["path"], credential["password"])
        except OSError as err:
            raise AnsibleActionFail(f"{student}: cannot keep the Grafana password in {credential['path']}: "
                                    f"{err.strerror}; nothing was applied") from err  # fmt: skip
        written.append(credential["path"])
    return {"changed": False, "written": written, "new": sorted(new), "restored": sorted(restored)}
