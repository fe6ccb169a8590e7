# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller; this file holds
# its documentation (as ansible.builtin.set_fact's module file does).

DOCUMENTATION = r"""
module: write_access
short_description: Write the access sheet and each student's handout, on the controller (internal to deploy and access)
description:
  - Writes C(<dest>/access.csv) and C(<dest>/handouts/<student>.md), each mode C(0600) in a C(0700)
    folder, both from the same per-student record, through the access role's templates
    (C(templates/access.csv.j2), C(templates/handout.<language>.md.j2)), which an instructor may edit.
  - Rows of students named in I(keep) (in the inventory, not in this run, e.g. C(--limit)) stay.
  - A file is rewritten only when its content changes.
version_added: 1.0.0
author: mlopslab.monitoring contributors (@mlopslab)
options:
  dest:
    description: The cohort's folder, C(build/<cohort>).
    type: path
    required: true
  records:
    description:
      - One record per student with the access sheet's columns (student, namespace, kubeconfig,
        token_expires, grafana_url, grafana_user, grafana_password, how_to_reach, handout) and
        C(cohort).
    type: list
    elements: dict
    required: true
  keep:
    description: Students whose existing rows stay in the sheet.
    type: list
    elements: str
    default: []
  language:
    description: The handouts' language (a C(handout.<language>.md.j2) template of the access role).
    type: str
    choices: [ko, en]
    default: ko
extends_documentation_fragment:
  - mlopslab.monitoring.controller
attributes:
  check_mode:
    support: full
    description: Writes nothing.
  diff_mode:
    support: none
    description: No diff is shown (the files hold passwords and tokens).
"""

EXAMPLES = r"""
- name: Write the access sheet and handouts
  mlopslab.monitoring.write_access:
    dest: build/mlops-2026
    records: "{{ records }}"
    language: ko
  run_once: true
  no_log: true
"""

RETURN = r"""
written:
  description: The files whose content changed.
  returned: always
  type: list
  elements: str
sheet:
  description: The access sheet's path.
  returned: always
  type: str
"""
