# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller; this file holds
# its documentation (as ansible.builtin.set_fact's module file does).

DOCUMENTATION = r"""
module: access_cohort
short_description: Revoke or renew students' kubeconfigs in one run (internal to the role access)
description:
  - Internal to the role C(mlopslab.monitoring.access), whose one task it is; use that role or C(playbooks/access.yml).
  - One pipeline in Python for the play's students (C(--limit) honoured). Every setting checked; each cluster's
    version, the instructor's rights and whose namespaces exist; the Grafana passwords the cluster holds read back;
    each student's record rendered; the students held (a Lease each, one run at a time); each kubeconfig revoked (its
    ServiceAccount deleted) or renewed (recreated, a new token); the handouts and the access sheet rewritten.
  - The labs are not touched. Nothing is written before every check passed.
version_added: 1.2.0
author: mlopslab.monitoring contributors (@mlopslab)
options:
  state:
    description: What becomes of the students' kubeconfigs.
    type: str
    choices: [revoked, renewed]
    required: true
extends_documentation_fragment:
  - mlopslab.monitoring.pipeline
  - mlopslab.monitoring.controller
attributes:
  check_mode:
    support: full
    description: Asks the cluster and says what would be done; nothing is written anywhere.
  diff_mode:
    support: none
    description: Nothing is compared.
"""

EXAMPLES = r"""
- name: Revoke one student's kubeconfig
  mlopslab.monitoring.access_cohort:
    cohort: "{{ mlopslab_cohort }}"
    state: revoked
    cohort_dir: "{{ mlopslab_build_dir }}/{{ mlopslab_cohort }}"
  run_once: true
  register: handed_out
"""

RETURN = r"""
students:
  description: Student to what access says of them, C({message, changed, failed}).
  returned: success
  type: dict
  sample: {"user07": {"message": "user07: kubeconfig revoked.", "changed": true, "failed": false}}
notes:
  description: The clusters' versions and warnings; empty when none.
  returned: success
  type: raw
  sample: ""
summary:
  description: What else the instructor must know of the run (passwords read back, --check's words); empty when none.
  returned: success
  type: raw
  sample: ""
failed_students:
  description: The students whose kubeconfig could not be revoked or renewed.
  returned: success
  type: list
  elements: str
  sample: []
"""
