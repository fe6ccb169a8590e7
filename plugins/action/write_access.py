# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the cohort's access sheet and every student's handout from one record per student.

An action plugin (the controller process), for the reason write_manifests gives: one task for
the cohort, no module process per student. Both files come from the same record, so the sheet
and a handout can never disagree. Their text is the access role's templates
(templates/handout.<language>.md.j2, templates/access.csv.j2), which an instructor can read and
edit; what goes into them is decided in module_utils/access/sheet.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible_collections.mlopslab.monitoring.plugins.action.render_manifests import render_text
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access import sheet as handed_out
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import layout
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.private_files import (
    make_private_dirs,
    read_text,
    write_if_changed,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "roles" / "access" / "templates"
# One handout template per language (handout.<language>.md.j2).
LANGUAGES = tuple(sorted(p.name.split(".")[1] for p in TEMPLATES.glob("handout.*.md.j2")))
# Each language's readers' time zone, for the handouts' times when mlopslab_handout_timezone is empty.
TIMEZONES = {"ko": "Asia/Seoul", "en": "UTC"}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("dest", "records", "keep", "language"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(
            argument_spec={
                "dest": {"type": "path", "required": True},
                "records": {"type": "list", "elements": "dict", "required": True},
                "keep": {"type": "list", "elements": "str", "default": []},
                "language": {"type": "str", "choices": list(LANGUAGES), "default": "ko"},
            }
        )
        records = json.loads(json.dumps(args["records"]))  # plain data, not Ansible's tagged types
        result.update(write_access(self._templar, args["dest"], records, args["keep"], args["language"],
                                   self._task.check_mode))  # fmt: skip
        return result


def write_access(templar, dest: str, records: list[dict], keep: list[str], language: str, check_mode: bool,
                 timezone: str = "") -> dict:  # fmt: skip
    """Write the handouts and the access sheet from the records (nothing in check mode):
    {changed, written, sheet}, or {failed, msg} when a template no longer renders."""
    result: dict = {}
    args = {"dest": dest, "keep": keep, "language": language}
    sheet_path = layout.sheet(args["dest"])
    written = []
    if not check_mode:
        make_private_dirs(os.path.join(args["dest"], layout.HANDOUTS))
    templar = templar.copy_with_new_env(available_variables={})
    handout = (TEMPLATES / f"handout.{args['language']}.md.j2").read_text(encoding="utf-8")
    try:
        texts = {}
        for record in records:
            templar.available_variables = handed_out.handout_values(record, timezone or TIMEZONES[language])
            texts[record["handout"]] = render_text(templar, handout, f"handout.{args['language']}.md.j2")
        templar.available_variables = {
            "rows": handed_out.sheet_rows(records, read_text(sheet_path), tuple(args["keep"]))
        }
        sheet = render_text(templar, (TEMPLATES / "access.csv.j2").read_text(encoding="utf-8"), "access.csv.j2")
    except (ValueError, AnsibleError) as err:  # an edited template that no longer renders
        result.update(failed=True, msg=f"the handouts and the access sheet were not written: {err}")
        return result
    for path, text in texts.items():
        if not check_mode and write_if_changed(path, text):
            written.append(path)
    if not check_mode and write_if_changed(sheet_path, sheet):
        written.append(sheet_path)
    result.update(changed=bool(written), written=written, sheet=sheet_path)
    return result
