# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a cohort's outputs live, in one place (the role _common's vars say the same for YAML):

<mlopslab_build_dir>/<cohort>/access.csv                   the access sheet (0600)
<mlopslab_build_dir>/<cohort>/handouts/<student>.md        each student's handout (0600)
<mlopslab_build_dir>/<cohort>/kubeconfigs/<student>.yaml   each student's kubeconfig (0600)
<mlopslab_build_dir>/<cohort>/verify-<time>.{json,md,xml}  verify's reports
<mlopslab_credentials_dir>/<cohort>/<student>-grafana-admin  each Grafana password (0600)
<mlopslab_credentials_dir>/<cohort>/render-cache.json      the last render of each student (0600)
<mlopslab_credentials_dir>/<cohort>/archive/<time>/          what teardown moved aside
<mlopslab_render_dir>/<student>/lab.yaml                    render mode's objects
"""

from __future__ import annotations

import os

SHEET = "access.csv"
HANDOUTS = "handouts"
KUBECONFIGS = "kubeconfigs"
RENDER_CACHE = "render-cache.json"


def sheet(cohort_dir: str) -> str:
    return os.path.join(cohort_dir, SHEET)


def handout(cohort_dir: str, student: str) -> str:
    return os.path.join(cohort_dir, HANDOUTS, f"{student}.md")


def kubeconfig(cohort_dir: str, student: str) -> str:
    return os.path.join(cohort_dir, KUBECONFIGS, f"{student}.yaml")


def grafana_password(credentials_dir: str, student: str) -> str:
    return os.path.join(credentials_dir, f"{student}-grafana-admin")


def render_cache(credentials_dir: str) -> str:
    """The students' last renders (module_utils/deploy/render_cache.py), passwords taken out."""
    return os.path.join(credentials_dir, RENDER_CACHE)


def student_files(students, credentials_dir: str, cohort_dir: str) -> list[str]:
    """Every file the cohort's runs wrote for these students (that teardown archives)."""
    paths = []
    for student in students:
        if student:
            paths += [grafana_password(credentials_dir, student), kubeconfig(cohort_dir, student),
                      handout(cohort_dir, student)]  # fmt: skip
    return paths
