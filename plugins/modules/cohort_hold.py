# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller; this file holds
# its documentation (as ansible.builtin.set_fact's module file does).

DOCUMENTATION = r"""
module: cohort_hold
short_description: Hold the run's students, one run at a time (internal to the role teardown)
description:
  - Internal to the role C(mlopslab.monitoring.teardown), which takes the hold before it deletes (the holds go with
    the namespaces). C(deploy) and C(access) hold their students inside their own pipelines.
  - Each student is held with a C(coordination.k8s.io) Lease C(mlopslab-run) in their namespace, taken in namespace
    order. A student another live run holds (a deploy, an access or a teardown) refuses, naming who holds them and
    since when. A student whose namespace does not exist has nothing to hold.
  - A hold not let go expires 60 seconds after it was taken (deploy renews its own while it runs).
version_added: 1.2.0
author: mlopslab.monitoring contributors (@mlopslab)
options:
  clusters:
    description: The run's students grouped by cluster, as C(validate_settings) returns them.
    type: list
    elements: dict
    required: true
  cohort:
    description: The cohort (its label on each Lease).
    type: str
    required: true
  state:
    description: V(held) takes the hold; V(released) lets go of what this run holds.
    type: str
    choices: [held, released]
    default: held
  takeover:
    description: Take over students another run holds (C(mlopslab_lock_takeover)).
    type: bool
    default: false
extends_documentation_fragment:
  - mlopslab.monitoring.controller
attributes:
  check_mode:
    support: full
    description: Nothing is held in check mode.
  diff_mode:
    support: none
    description: Nothing is compared.
"""

EXAMPLES = r"""
- name: Hold the students
  mlopslab.monitoring.cohort_hold:
    clusters: "{{ __mlopslab_settings.clusters }}"
    cohort: mlops-2026
  run_once: true
"""

RETURN = r"""
msg:
  description: Who holds the students, when another run does (the task fails then).
  returned: failure
  type: str
  sample: "Another run is changing cohort mlops-2026 (Lease mlopslab-run in each student's namespace); ..."
"""
