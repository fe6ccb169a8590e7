# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: student_access
short_description: Issue, keep, renew or revoke each student's kubeconfig
description:
  - For the whole cohort in one call. Each student gets C(<dest>/<student>.yaml) (mode 0600) with the
    cluster's server and CA, a token of the student's ServiceAccount from the TokenRequest API,
    and the student's namespace as the default.
  - C(present) keeps a kubeconfig whose token is valid for longer than I(renew_before) and was
    issued for the ServiceAccount that exists now; anything else gets a new token (reported as a
    change, with the reason). The API server may shorten a token (its
    C(--service-account-max-token-expiration)); the expiry it granted is returned.
  - C(renewed) recreates the ServiceAccount (which invalidates every token issued for it) and
    issues a new one; C(revoked) deletes the ServiceAccount and the kubeconfig. Neither touches
    the rest of the lab; deploy recreates a revoked student's ServiceAccount and token.
  - One student's error never stops the others; it is returned in that student's result.
version_added: 0.4.0
options:
  students:
    description: Student name to the student's namespace.
    type: dict
    required: true
  dest:
    description: The folder the kubeconfigs are written to (created with mode 0700).
    type: path
    required: true
  service_account:
    description: The students' ServiceAccount, in each student's namespace.
    type: str
    default: student
  token_seconds:
    description: The token lifetime asked for, in seconds (at least 600).
    type: int
    default: 9676800
  renew_before_seconds:
    description: A token valid for less than this long is renewed.
    type: int
    default: 604800
  api_server:
    description: The server URL students reach the API by; empty means the instructor's.
    type: str
    default: ""
  state:
    description: C(present), C(renewed) or C(revoked), as above.
    type: str
    choices: [present, renewed, revoked]
    default: present
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
author:
  - mlopslab.monitoring contributors (@mlopslab)
"""

EXAMPLES = r"""
- name: Hand every student a kubeconfig
  mlopslab.monitoring.student_access:
    students: {user01: user01, user02: user02}
    dest: build/mlops-2026/kubeconfigs
    token_seconds: 9676800
  run_once: true
"""

RETURN = r"""
students:
  description: Per student, in the order given.
  returned: always
  type: list
  elements: dict
  sample: [{"student": "user01", "namespace": "user01", "kubeconfig": "build/c/kubeconfigs/user01.yaml",
            "action": "issued", "why": "issued", "token_expires": "2027-03-20 12:00 UTC", "changed": true,
            "error": "", "shortened": false}]
"""

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access.issue import issue_all
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access.tokens import MIN_TOKEN_SECONDS
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.lab_io import KubeApi

ARGUMENT_SPEC = dict(
    copy.deepcopy(AUTH_ARG_SPEC),
    students=dict(type="dict", required=True),
    dest=dict(type="path", required=True),
    service_account=dict(type="str", default="student"),
    token_seconds=dict(type="int", default=16 * 604800, no_log=False),  # a lifetime, not a secret
    renew_before_seconds=dict(type="int", default=604800),
    api_server=dict(type="str", default=""),
    state=dict(type="str", choices=["present", "renewed", "revoked"], default="present"),
)


def main():
    module = AnsibleK8SModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=False)
    params = module.params
    if params["token_seconds"] < MIN_TOKEN_SECONDS:
        module.fail_json(msg=f"token_seconds {params['token_seconds']} is below 600, the shortest token the API issues")
    api_client = get_api_client(module).client.client
    try:
        results = issue_all(params, api_client, KubeApi(api_client, 10))
    except OSError as err:
        module.fail_json(msg=str(err))
    module.exit_json(changed=any(r["changed"] for r in results), students=results)


if __name__ == "__main__":
    main()
