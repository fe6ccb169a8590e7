# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller; this file holds
# its documentation (as ansible.builtin.set_fact's module file does).

DOCUMENTATION = r"""
module: check_rendered
short_description: Check students' rendered labs against their guard rails and their programs' rules
description:
  - The lab must fit its own namespace, weighed from the rendered objects themselves (no model of the pods
    written by hand). The ResourceQuota must hold the Deployments' pods at their peak (a RollingUpdate surges
    one pod), init containers counted as the API counts them, and the LimitRange's maximum must allow every
    container's limits. Each problem names the setting to change.
  - After M(mlopslab.monitoring.render_cohort) and before anything is written or applied, checks what
    each student's programs will read. The API server accepts a ConfigMap whatever it holds; a
    Prometheus that cannot parse its configuration crash-loops in every student's namespace.
  - Prometheus's configuration and alert rules go to Prometheus's own parser, C(promtool check config)
    (one process for the cohort). Without promtool the run goes on with a warning that says so.
  - An environment variable set twice in one container is refused (the runtime keeps the last one
    without a word), and so are Grafana provisioning files and dashboards that Grafana would refuse
    (datasource URL and access, more than one default, a panel's datasource uid not provisioned).
  - Every problem of every student is named in one failure.
version_added: 1.0.0
author: mlopslab.monitoring contributors (@mlopslab)
options:
  rendered:
    description: The name of a registered M(mlopslab.monitoring.render_cohort) result.
    type: str
    required: true
  promtool:
    description: The promtool command (a name looked up on C(PATH), or a path).
    type: str
    default: promtool
extends_documentation_fragment:
  - mlopslab.monitoring.controller
attributes:
  check_mode:
    support: full
    description: Writes nothing either way (promtool reads a private temporary copy).
  diff_mode:
    support: none
    description: Nothing changes.
"""

EXAMPLES = r"""
- name: Check what each student's programs will read
  mlopslab.monitoring.check_rendered:
    rendered: __rendered
  run_once: true
  register: __checked

- name: Say what was checked
  ansible.builtin.debug:
    msg: "{{ __checked.checked | join(', ') }}"
"""

RETURN = r"""
checked:
  description: What was checked (promtool's part only where promtool is installed).
  returned: always
  type: list
  elements: str
  sample: ["Prometheus's configuration and rules (promtool)", "containers' environment"]
"""
