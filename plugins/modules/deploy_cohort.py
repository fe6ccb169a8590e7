# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller; this file holds
# its documentation (as ansible.builtin.set_fact's module file does).

DOCUMENTATION = r"""
module: deploy_cohort
short_description: Provision, heal or render every student's lab in one transaction (internal to the role deploy)
description:
  - Internal to the role C(mlopslab.monitoring.deploy), whose one task it is; use that role or
    C(playbooks/deploy.yml).
  - One pipeline in Python for the play's students (C(--limit) honoured). Every setting checked; each cluster's
    version, the instructor's rights and whose namespaces exist; the Grafana passwords the cluster holds read back;
    the four lab roles rendered; the programs' own checks (promtool); the cohort against the nodes' free capacity;
    the API server's dry run (C(dryRun=All)) of one student of each shape; a Lease per student so one run at a time
    changes a student; passwords created only where none exists; server-side apply; what the render no longer
    contains removed (an ApplySet per student, KEP-3659); the wait; each student's kubeconfig, handout and the
    access sheet.
  - Nothing is written (no file, no object) before every check and the server's dry run passed. A refusal is one
    message naming every problem.
  - Cluster-wide reads keep only the fields their check needs; nothing of another namespace is returned.
version_added: 1.2.0
author: mlopslab.monitoring contributors (@mlopslab)
options:
  apply:
    description: Apply to the clusters; V(false) writes each student's objects under O(render_dir).
    type: bool
    default: true
  render_dir:
    description: Where render mode writes C(<student>/lab.yaml).
    type: path
    required: true
  capacity_check:
    description: C(mlopslab_capacity_check).
    type: str
    choices: [fail, warn, skip]
    default: fail
  wait:
    description: Wait until every student's Deployments are available.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 300
  ingress:
    description: Whether the lab has an Ingress (C(mlopslab_ingress_domain) set).
    type: bool
    default: false
  inventory_sources:
    description: The inventory's sources, for the teardown command the run suggests.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - mlopslab.monitoring.pipeline
  - mlopslab.monitoring.controller
attributes:
  check_mode:
    support: full
    description: The server's dry run of every object and what would be removed; nothing is written anywhere.
  diff_mode:
    support: full
    description: Each object's change as the server answered the apply, removals included; a Secret's values never.
"""

EXAMPLES = r"""
- name: Provision, heal or render every student's lab
  mlopslab.monitoring.deploy_cohort:
    cohort: "{{ mlopslab_cohort }}"
    render_dir: "{{ mlopslab_render_dir }}"
    cohort_dir: "{{ mlopslab_build_dir }}/{{ mlopslab_cohort }}"
  run_once: true
  register: deployed

- name: Show the summary
  ansible.builtin.debug:
    msg: "{{ deployed.summary }}"
  run_once: true
"""

RETURN = r"""
students:
  description: Student to what deploy says of them, C({message, changed, failed}).
  returned: success
  type: dict
  sample: {"user01": {"message": "user01: 20 objects, 0 changed.", "changed": false, "failed": false}}
notes:
  description: The clusters' versions, warnings and the capacity table, before the summary; empty when none.
  returned: success
  type: raw
  sample: "Kubernetes v1.36.3. No Prometheus Operator (no ServiceMonitor CRD); ..."
summary:
  description: The cohort's table and where its outputs went.
  returned: success
  type: raw
  sample: "cohort mlops-demo: 3 students applied to the cluster"
diff:
  description: With C(--diff), each changed or removed object's diff; empty otherwise.
  returned: success
  type: raw
  sample: ""
failed_students:
  description: The students whose objects, wait or kubeconfig failed.
  returned: success
  type: list
  elements: str
  sample: []
reported:
  description: The students whose line the play prints at the default verbosity (changed or failed).
  returned: success
  type: list
  elements: str
  sample: [user03]
"""
