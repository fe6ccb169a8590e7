# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the cohort's access sheet and every student's handout from one record per student.

An action plugin (the controller process), for the reason write_manifests gives: one task for
the cohort, no module process per student. Both files come from the same record, so the sheet
and a handout can never disagree."""

from __future__ import annotations

import json
import os

from ansible.plugins.action import ActionBase
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access import sheet as handed_out
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.private_files import (
    make_private_dirs,
    read_text,
    write_if_changed,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("dest", "records", "keep", "language"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(
            argument_spec={
                "dest": {"type": "path", "required": True},
                "records": {"type": "list", "elements": "dict", "required": True},
                "keep": {"type": "list", "elements": "str", "default": []},
                "language": {"type": "str", "choices": list(handed_out.LANGUAGES), "default": "ko"},
            }
        )
        records = json.loads(json.dumps(args["records"]))  # plain data, not Ansible's tagged types
        sheet_path = os.path.join(args["dest"], "access.csv")
        written = []
        if not self._task.check_mode:
            make_private_dirs(os.path.join(args["dest"], "handouts"))
        for record in records:
            path = record["handout"]
            if not self._task.check_mode and write_if_changed(path, handed_out.handout(record, args["language"])):
                written.append(path)
        sheet = handed_out.sheet(records, read_text(sheet_path), tuple(args["keep"]))
        if not self._task.check_mode and write_if_changed(sheet_path, sheet):
            written.append(sheet_path)
        result.update(changed=bool(written), written=written, sheet=sheet_path)
        return result
