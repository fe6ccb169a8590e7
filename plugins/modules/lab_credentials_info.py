# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: lab_credentials_info
short_description: Read back what each student's lab holds on the cluster (the Grafana admin password)
description:
  - The cluster is the source of truth and the build folder a cache. For each student, the Grafana admin
    password in the Secret C(grafana-admin) of their namespace, when it is labelled as this cohort's.
  - Used before the render when the credentials folder may be empty (a new clone, another machine, an AWX
    job). Grafana keeps the password of its first start, so the handouts must say what the Secret holds.
  - One GET per student's namespace (8 at a time), with the instructor's right to read Secrets there; no
    cluster-wide list of Secrets. A missing Secret is a new lab; any other refusal is returned per student,
    and so is a Secret that is there but gives no password to believe.
version_added: 1.0.0
author: mlopslab.monitoring contributors (@mlopslab)
options:
  students:
    description: Student name to the student's namespace.
    type: dict
    required: true
  cohort:
    description: The cohort whose Secrets are believed (the label C(mlopslab.io/cohort)).
    type: str
    required: true
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only.
notes:
  - The result holds passwords; register it under C(no_log).
"""

EXAMPLES = r"""
- name: Read back the Grafana passwords the cluster holds
  mlopslab.monitoring.lab_credentials_info:
    students: {user01: user01, user02: user02}
    cohort: mlops-2026
  register: __held
  no_log: true
"""

RETURN = r"""
passwords:
  description: Student to the password their Secret holds (students without one are left out).
  returned: always
  type: dict
errors:
  description: Student to why their Secret could not be read.
  returned: always
  type: dict
  sample: {"user02": "cannot read Secret user02/grafana-admin (HTTP 403: secrets is forbidden ...)"}
unusable:
  description:
    - Student to why the Secret that is there gives no password to believe (not labelled as this cohort's,
      no C(admin-password), or one that is not base64). Never the value.
    - The render stops for such a student unless their password is given or kept in the credentials folder.
  returned: always
  type: dict
  sample: {"user04": {"namespace": "user04", "why": "holds no admin-password"}}
"""

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access.held import read_held
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.lab_io import KubeApi

ARGUMENT_SPEC = dict(
    copy.deepcopy(AUTH_ARG_SPEC),
    students=dict(type="dict", required=True),
    cohort=dict(type="str", required=True),
)


def main():
    module = AnsibleK8SModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    kube = KubeApi(get_api_client(module).client.client, 10)
    passwords, errors, unusable = read_held(kube.call, module.params["students"], module.params["cohort"])
    module.exit_json(changed=False, passwords=passwords, errors=errors, unusable=unusable)


if __name__ == "__main__":
    main()
