# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller; this file holds
# its documentation (as ansible.builtin.set_fact's module file does).

DOCUMENTATION = r"""
module: write_manifests
short_description: Write students' rendered Kubernetes objects to files, on the controller (internal to deploy)
description:
  - Writes each student's objects to C(<dest>/<student>/lab.yaml) as one multi-document YAML file,
    mode C(0600) in a C(0700) folder (the file holds the Grafana Secret).
  - Runs in the controller process (an action plugin), so a whole cohort costs one task and no
    module process per student.
  - Rewrites a file only when its content changes; reports which objects changed, one result per
    object in order, as M(kubernetes.core.k8s) does for a list of definitions.
  - Used by C(deploy.yml) with C(mlopslab_apply=false).
version_added: 1.0.0
author: mlopslab.monitoring contributors (@mlopslab)
options:
  dest:
    description: The render folder; one sub-folder per student is created in it.
    type: path
    required: true
  students:
    description: Student name to the list of that student's objects, in apply order.
    type: dict
  rendered:
    description:
      - Instead of O(students), the name of a registered M(mlopslab.monitoring.render_cohort) result whose
        C(manifests) are written (read without templating them as an argument).
    type: str
extends_documentation_fragment:
  - mlopslab.monitoring.controller
attributes:
  check_mode:
    support: full
    description: Reports what would change, writes nothing.
  diff_mode:
    support: none
    description: No diff is shown (the files hold a Secret).
"""

EXAMPLES = r"""
- name: Write the cohort's manifests for review
  mlopslab.monitoring.write_manifests:
    dest: build/manifests
    students:
      user01: "{{ hostvars['user01']._mlopslab_manifests }}"
  run_once: true
  register: __written

- name: Show which files changed
  ansible.builtin.debug:
    msg: "{{ __written.result.results | selectattr('changed') | map(attribute='path') | unique }}"
"""

RETURN = r"""
result:
  description: One entry per object, in the order given, students one after the other.
  returned: always
  type: dict
  contains:
    results:
      description: Per object, whether it changed and the file it is in.
      type: list
      elements: dict
      sample: [{"changed": true, "path": "build/manifests/user01/lab.yaml"}]
dry_run:
  description: Whether this was check mode, which writes nothing.
  returned: always
  type: bool
  version_added: 1.1.0
"""
