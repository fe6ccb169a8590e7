# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: requirements_info
short_description: Resolve a requirements file with pip's own resolver; explain a conflict in one sentence
description:
  - Runs C(pip install --dry-run --ignore-installed --report) on a requirements file, so nothing is
    installed and the interpreter's own packages do not matter; the resolving is pip's, not ours.
  - Returns the resolved set, or the conflict in one sentence naming both requirements, e.g.
    "kfp 1.8.22 requires pydantic<2,>=1.8.2, but requirements.txt (line 2) pins pydantic==2.5.2.".
  - Read-only. Needs the package index (PyPI or a mirror pip is configured for).
version_added: 1.0.0
author: mlopslab.monitoring contributors (@mlopslab)
options:
  path:
    description: The requirements file, as students' pipeline repositories have it.
    type: path
    required: true
  constraints:
    description: A constraints file applied while resolving (C(pip -c)).
    type: path
  python:
    description:
      - The interpreter whose pip resolves, e.g. the Python version the students' CI uses.
      - Defaults to the interpreter running the module.
    type: path
  timeout:
    description: Seconds pip may take before the module gives up and says so.
    type: int
    default: 300
  fail_on_conflict:
    description: Fail the task when the file does not resolve (the result still carries the explanation).
    type: bool
    default: false
notes:
  - Supports check mode (it never changes anything).
"""

EXAMPLES = r"""
- name: Check the cohort's pipeline requirements
  mlopslab.monitoring.requirements_info:
    path: lab-template/requirements.txt
    constraints: lab-template/constraints.txt
  register: requirements

- name: Fail with the conflict in one sentence
  mlopslab.monitoring.requirements_info:
    path: "{{ student_repo }}/requirements.txt"
    fail_on_conflict: true
"""

RETURN = r"""
ok:
  description: Whether the file resolves.
  returned: always
  type: bool
  sample: false
explanation:
  description: Why it does not resolve, in one sentence naming both requirements; empty when it does.
  returned: always
  type: str
  sample: "kfp 1.8.22 requires pydantic<2,>=1.8.2, but requirements.txt (line 2) pins pydantic==2.5.2."
summary:
  description: One line, C(resolves (N packages)) or C(does not resolve:) and the explanation.
  returned: always
  type: str
  sample: "resolves (84 packages)"
resolved:
  description: The packages pip would install, with versions, sorted by name; empty on a conflict.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "kfp", "version": "1.8.22"}, {"name": "pydantic", "version": "1.10.26"}]
pip:
  description: The pip that resolved (its C(--version) line).
  returned: always
  type: str
  sample: pip 23.2.1 from /usr/lib/python3/dist-packages/pip (python 3.11)
"""

import json
import os
import subprocess
import sys
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlopslab.monitoring.plugins.module_utils.verify.requirements import explain, resolved


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "constraints": {"type": "path"},
            "python": {"type": "path"},
            "timeout": {"type": "int", "default": 300},
            "fail_on_conflict": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    name = os.path.basename(params["path"])
    # Read it ourselves first: pip's message for a missing file is a traceback-like line.
    for option in ("path", "constraints"):
        if params[option] is None:
            continue
        try:
            with open(params[option], encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as e:
            module.fail_json(
                msg=f"cannot read the {'requirements' if option == 'path' else 'constraints'} file {params[option]}: "
                f"{getattr(e, 'strerror', None) or e}. Give the path of a readable text file ({option}=...).",
                ok=False,
            )
        if option == "path":
            lines = text.splitlines()
    python = params["python"] or sys.executable
    with tempfile.TemporaryDirectory(prefix="requirements-info-") as tmp:
        report_path = os.path.join(tmp, "report.json")
        command = [python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-input"]
        command += ["--disable-pip-version-check", "--progress-bar", "off", "--report", report_path]
        command += ["-r", params["path"]] + (["-c", params["constraints"]] if params["constraints"] else [])
        version = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True, check=False)
        try:
            proc = subprocess.run(
                command, capture_output=True, text=True, timeout=params["timeout"], check=False, cwd=tmp
            )
        except subprocess.TimeoutExpired:
            module.fail_json(
                msg=f"pip did not resolve {params['path']} within {params['timeout']} s (timeout=...)", ok=False
            )
        except OSError as e:
            module.fail_json(
                msg=f"cannot run {python} -m pip: {e.strerror}. Set python= to an interpreter with pip.", ok=False
            )
        result = {"changed": False, "pip": version.stdout.strip(), "ok": proc.returncode == 0}
        if proc.returncode == 0:
            with open(report_path, encoding="utf-8") as handle:
                result.update(resolved=resolved(json.load(handle)), explanation="")
        else:
            result.update(resolved=[], explanation=explain(proc.stdout + "\n" + proc.stderr, name, lines))
    count = len(result["resolved"])
    result["summary"] = f"resolves ({count} packages)" if result["ok"] else f"does not resolve: {result['explanation']}"
    if not result["ok"] and params["fail_on_conflict"]:
        module.fail_json(msg=result["explanation"], **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
