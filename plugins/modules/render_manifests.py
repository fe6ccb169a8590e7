# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller; this file holds
# its documentation (as ansible.builtin.set_fact's module file does).

DOCUMENTATION = r"""
module: render_manifests
short_description: Render a role's template into Kubernetes objects and set them as a fact (internal to the lab roles)
description:
  - Renders O(template) (searched in the role's C(templates/) folder, as M(ansible.builtin.template) does) with
    the host's variables, parses the result as multi-document YAML and sets the objects as the fact O(fact).
    Every document must be a Kubernetes object (it has a C(kind)); empty documents are left out.
  - First validates the calling role's variables against its C(meta/argument_specs.yml) entry point
    O(entry_point), as the task Ansible prepends to a role does, so a role can be imported with
    C(rolespec_validate=false) and cost one task per host instead of two.
  - When the objects hold a C(Secret) the result is never displayed (as with C(no_log)); failures, which hold
    no objects, stay visible.
  - Runs in the controller process; no module is executed.
version_added: 1.0.0
author: mlopslab.monitoring contributors (@mlopslab)
options:
  template:
    description: The template file, relative to the role's C(templates/) folder.
    type: str
    required: true
  fact:
    description: The name of the fact that receives the list of objects.
    type: str
    required: true
  entry_point:
    description: The argument spec entry point the role's variables are validated against.
    type: str
    default: main
extends_documentation_fragment:
  - mlopslab.monitoring.controller
attributes:
  check_mode:
    support: full
    description: Renders the same in check mode; nothing is changed either way.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
"""

EXAMPLES = r"""
- name: Render the exporter's ConfigMap, Deployment and Service
  mlopslab.monitoring.render_manifests:
    template: exporter.yaml.j2
    fact: _metrics_exporter_manifests
"""

RETURN = r"""
ansible_facts:
  description: The fact named by O(fact), holding the rendered objects in the template's order.
  returned: success
  type: dict
  sample: {"_metrics_exporter_manifests": [{"apiVersion": "v1", "kind": "ConfigMap"}]}
"""
