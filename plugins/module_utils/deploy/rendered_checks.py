# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy pipeline's check of every student's rendered objects, after the render and before
anything is written or applied: the lab against its own ResourceQuota and LimitRange
(module_utils/deploy/fit.py, from the rendered pods), and what the programs will read by their own
rules (module_utils/deploy/program_checks.py). Prometheus's files go to Prometheus's own parser,
promtool: one process for the whole cohort (a file per student and kind, in a private temporary
folder), on the controller."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import settings
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy import program_checks
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.fit import fit_problems

PROMTOOL_MISSING = (
    "promtool is not installed: the students' Prometheus configuration and alert rules were not checked by "
    "Prometheus's own parser (make setup installs it: apt-get install prometheus); a file Prometheus refuses "
    "would make every student's Prometheus crash-loop"
)


def promtool_problems(files: dict[str, dict[str, str]], promtool: str) -> dict[str, list[str]]:
    """Each student's Prometheus files as the pod mounts them, judged by promtool in one run."""
    with tempfile.TemporaryDirectory(prefix="mlopslab-promtool-") as root:
        configs = []
        for student, texts in files.items():
            os.makedirs(os.path.join(root, student), mode=0o700)
            for name, text in texts.items():
                with open(os.path.join(root, student, name), "w", encoding="utf-8") as handle:
                    handle.write(text)
            configs.append(os.path.join(root, student, program_checks.PROMETHEUS_FILES[0]))
        if not configs:
            return {}
        # --lint=none: lint findings are advice, not refusals; stderr holds the FAILED lines.
        run = subprocess.run(
            [promtool, "check", "config", "--lint=none", *configs],
            capture_output=False,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            timeout=300,
        )
        # Paths said as the pod mounts them, so one problem of 100 students reads as one line.
        output = re.sub(re.escape(root) + r"/[^/\s]+/", "/etc/prometheus/", run.stdout)
        found = program_checks.promtool_problems(run.stdout, lambda path: os.path.relpath(path, root).split(os.sep)[0])
        found = {s: [re.sub(re.escape(root) + r"/[^/\s]+/", "/etc/prometheus/", line) for line in lines]
                 for s, lines in found.items()}  # fmt: skip
        if run.returncode != 0 and not found:  # refused, and nothing we can attribute: said whole
            found = {"(promtool)": [f"exited {run.returncode}: {output.strip()[-2000:]}"]}
        return found


def check_manifests(manifests: dict[str, list[dict]], promtool_name: str = "promtool") -> dict:
    """{checked, msg, warnings?}, or {failed, msg} naming every problem of every student."""
    result: dict = {}
    # The lab's pods as rendered, against its own quota and LimitRange: named by setting.
    fits = {student: found for student, objects in manifests.items() if (found := fit_problems(objects))}
    problems: dict[str, list[str]] = {}
    checked = ["the namespace's quota and LimitRange", "containers' environment",
               "Grafana's provisioning and dashboards"]  # fmt: skip
    checked.append("Ingress hosts and the ingress controller's way in")
    found_all = (program_checks.env_problems(manifests), program_checks.grafana_problems(manifests),
                 program_checks.ingress_problems(manifests))  # fmt: skip
    for found in found_all:
        for student, lines in found.items():
            problems.setdefault(student, []).extend(lines)
    promtool = shutil.which(promtool_name)
    if promtool:
        for student, lines in promtool_problems(program_checks.prometheus_files(manifests), promtool).items():
            problems.setdefault(student, []).extend(f"Prometheus refuses {line}" for line in lines)
        checked.insert(0, "Prometheus's configuration and rules (promtool)")
    else:
        result["warnings"] = [PROMTOOL_MISSING]
    result.update(changed=False, checked=checked)
    if problems or fits:
        # One line per problem, its students compressed into ranges (user01 to user30).
        sharing: dict[str, list[str]] = {}
        for student, found in problems.items():
            for line in found:
                sharing.setdefault(line, []).append(student)
        lines = settings.report(fits)
        lines += sorted(f"{settings.compress(students)}: {line}" for line, students in sharing.items())
        result.update(
            failed=True,
            msg=f"{len(lines)} problem{'s' if len(lines) != 1 else ''} in the students' rendered labs (their "
            "namespaces' guard rails, what their programs would read); nothing was written or applied:"
            + "".join(f"\n  - {line}" for line in lines),
        )
    else:
        result["msg"] = f"{len(manifests)} students: checked {', '.join(checked)}"
    return result
