# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write every student's rendered objects to <dest>/<student>/lab.yaml, on the controller.

An action plugin, not a module: it runs inside the controller process. A module process per
student costs ~0.3 CPU-seconds of start-up (100 students: 31 s for one `copy` task, measured),
which is the whole render budget. Results come back in kubernetes.core.k8s's shape (one entry
per object, in order), so deploy.yml attributes changes to students the same way in both modes.
"""

from __future__ import annotations

import json
import os

import yaml
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.private_files import (
    read_text,
    write_private,
)

try:  # libyaml when present: 100 students' files are ~6 MB of YAML
    from yaml import CSafeDumper as Dumper
    from yaml import CSafeLoader as Loader
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as Dumper
    from yaml import SafeLoader as Loader

SEPARATOR = "---\n"


def _key(obj: dict) -> tuple[str, str, str]:
    meta = obj.get("metadata", {})
    return obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", "")


def dump(objects: list[dict]) -> str:
    return SEPARATOR.join(yaml.dump(o, Dumper=Dumper, sort_keys=False, default_flow_style=False) for o in objects)


def object_changes(old_text: str | None, objects: list[dict]) -> list[bool]:
    """Per object: does it differ from (or is it missing in) the file as it stands?"""
    if old_text is None:
        return [True] * len(objects)
    try:
        old = {_key(o): o for o in yaml.load_all(old_text, Loader=Loader) if isinstance(o, dict)}
    except yaml.YAMLError:
        return [True] * len(objects)  # a hand-edited, broken file is rewritten whole
    return [old.get(_key(o)) != o for o in objects]


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("dest", "students", "rendered"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(
            argument_spec={
                "dest": {"type": "path", "required": True},
                "students": {"type": "dict"},
                "rendered": {"type": "str"},
            },
            mutually_exclusive=[("students", "rendered")],
            required_one_of=[("students", "rendered")],
        )
        # Ansible hands over its own tagged dict/str types, which yaml's safe dumper refuses:
        # a JSON round trip gives plain data (and it is what the API would receive anyway).
        # `rendered` names render_cohort's registered result, read as it is stored: templating
        # 2,000 objects as a task argument cost 1 s of a 100-student render, the write 0.4 s.
        source = task_vars[args["rendered"]]["manifests"] if args["rendered"] else args["students"]
        students = json.loads(json.dumps(source))
        changed, results = write_all(args["dest"], students, self._task.check_mode)
        # --check: what would change, nothing written; the summary says so as for the server's dry run.
        result.update(changed=changed, result={"results": results}, dry_run=bool(self._task.check_mode))
        return result


def write_all(dest: str, students: dict[str, list[dict]], check_mode: bool) -> tuple[bool, list[dict]]:
    """Write each student's objects to <dest>/<student>/lab.yaml (none in check mode): (whether
    anything changed, one result per object in kubernetes.core.k8s's shape, students in order)."""
    results, changed = [], False
    for student, objects in students.items():
        if not isinstance(objects, list):
            raise AnsibleActionFail(f"students.{student} must be a list of objects, got {type(objects).__name__}")
        path = os.path.join(dest, student, "lab.yaml")
        old_text = read_text(path)
        text = dump(objects)
        changes = object_changes(old_text, objects) if text != old_text else [False] * len(objects)
        if text != old_text and not check_mode:
            try:
                write_private(path, text)
            except OSError as err:
                raise AnsibleActionFail(f"cannot write {path}: {err.strerror}") from err
        changed |= any(changes) or text != old_text
        results.extend({"changed": c, "path": path} for c in changes)
    return changed, results
