# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller; this file holds
# its documentation (as ansible.builtin.set_fact's module file does).

DOCUMENTATION = r"""
module: render_cohort
short_description: Render the lab roles for every student of the play in one task (internal to deploy and access)
description:
  - Renders each listed role's template for every student of the play (C(--limit) honoured), with the variables
    that student's own task would see (Ansible's VariableManager), under the role's defaults and with its
    C(vars/main.yml); checks each role's C(main) argument spec per student.
  - Every problem of every student is named in one failure; nothing is returned then.
  - One task and no fork per student, and each distinct template is compiled once for the cohort.
  - Used by the roles C(deploy) (C(tasks/render.yml)) and C(access) (records only).
version_added: 1.0.0
author: mlopslab.monitoring contributors (@mlopslab)
options:
  roles:
    description: The roles to render, in apply order, each C({name, template}) (a role of this collection).
    type: list
    elements: dict
    default: []
  records:
    description:
      - A template of the role C(access) that renders one YAML mapping per student (what is handed out).
      - The access role owns what is handed out; deploy renders the same records with its objects.
    type: str
  role_vars:
    description:
      - The variable holding, per role name, the variables the playbook hands that role (as a role import's
        C(vars) would), e.g. the generated Grafana password. Rendered per student.
    type: str
    default: _mlopslab_role_vars
extends_documentation_fragment:
  - mlopslab.monitoring.controller
attributes:
  check_mode:
    support: full
    description: Renders; changes nothing.
  diff_mode:
    support: none
    description: Nothing is compared.
"""

EXAMPLES = r"""
- name: Render every student's lab
  mlopslab.monitoring.render_cohort:
    roles:
      - {name: student_namespace, template: namespace.yaml.j2}
      - {name: grafana, template: grafana.yaml.j2}
    records: record.yml.j2
  run_once: true
  register: rendered
"""

RETURN = r"""
manifests:
  description: Student name to that student's objects, in role order.
  returned: success
  type: dict
records:
  description: Student name to the mapping the records template rendered.
  returned: success, when O(records) is given
  type: dict
students:
  description: How many students were rendered.
  returned: success
  type: int
"""
