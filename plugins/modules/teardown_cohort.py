# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller; this file holds
# its documentation (as ansible.builtin.set_fact's module file does).

DOCUMENTATION = r"""
module: teardown_cohort
short_description: Remove a cohort's labs in one run (internal to the role teardown)
description:
  - Internal to the role C(mlopslab.monitoring.teardown), whose one task it is; use that role or
    C(playbooks/teardown.yml).
  - One pipeline in Python. The confirmation checked; the students named and grouped by cluster; each cluster reached
    and the instructor's rights asked; the plan made (only a namespace carrying this cohort's labels is ever deleted,
    another's is listed as refused). Without the confirmation it ends there, a dry run.
  - Confirmed, the students are held (a Lease each, one run at a time), their namespaces deleted, each removed
    student's password, kubeconfig and handout moved to an archive and their row taken out of the access sheet, and
    the run waits until the namespaces are gone, naming what holds any that stays.
version_added: 1.2.0
author: mlopslab.monitoring contributors (@mlopslab)
options:
  credentials_dir:
    description: The cohort's credentials folder; removed students' files are archived under it.
    type: path
    required: true
  confirm:
    description: Deletes only when this equals O(cohort) (C(mlopslab_teardown_confirm)); otherwise a dry run.
    type: str
    default: ""
  only:
    description:
      - These namespaces only, in the inventory or not (C(mlopslab_teardown_only)); a list or a comma-separated string.
    type: raw
    default: []
  timeout:
    description: Seconds to wait for deleted namespaces to be gone (C(mlopslab_teardown_timeout)).
    type: int
    default: 300
extends_documentation_fragment:
  - mlopslab.monitoring.pipeline
  - mlopslab.monitoring.controller
attributes:
  check_mode:
    support: full
    description: Asks the cluster and lists what would be deleted; nothing is held, deleted or moved.
  diff_mode:
    support: none
    description: Nothing is compared.
"""

EXAMPLES = r"""
- name: List what teardown would delete
  mlopslab.monitoring.teardown_cohort:
    cohort: "{{ mlopslab_cohort }}"
    cohort_dir: "{{ mlopslab_build_dir }}/{{ mlopslab_cohort }}"
    credentials_dir: "{{ mlopslab_credentials_dir }}/{{ mlopslab_cohort }}"
  run_once: true
  register: teardown
"""

RETURN = r"""
students:
  description: Student to what teardown says of their namespace, C({message, changed, failed}).
  returned: success
  type: dict
  sample: {"user07": {"message": "user07: deleted.", "changed": true, "failed": false}}
notes:
  description: The clusters' versions and warnings, then the plan, one line per namespace.
  returned: success
  type: raw
  sample: ""
closing:
  description: The run's last line, what a dry run would do and how to confirm, or how many went.
  returned: success
  type: str
  sample: "Deleted 3 of 3 namespaces."
failed_students:
  description: The students whose namespace could not be deleted or did not go in time.
  returned: success
  type: list
  elements: str
  sample: []
"""
