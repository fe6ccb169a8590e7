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
  - mlopslab.monitoring contributors
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

import base64
import copy
import datetime
import os
import time

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access import tokens
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.lab_io import KubeApi
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.private_files import (
    make_private_dirs,
    read_text,
    write_private,
)

ARGUMENT_SPEC = dict(
    copy.deepcopy(AUTH_ARG_SPEC),
    students=dict(type="dict", required=True),
    dest=dict(type="path", required=True),
    service_account=dict(type="str", default="student"),
    token_seconds=dict(type="int", default=16 * 604800),
    renew_before_seconds=dict(type="int", default=604800),
    api_server=dict(type="str", default=""),
    state=dict(type="str", choices=["present", "renewed", "revoked"], default="present"),
)
# Only the Kubernetes fields a client may set: what is recreated on renewal.
_KEEP = ("name", "namespace", "labels", "annotations")


def _message(answer: dict) -> str:
    return answer.get("message") or answer.get("reason") or "no reason given"


def _cluster(api_client, api_server: str) -> tuple[str, str | None, bool]:
    """(server, CA as base64, insecure) from the instructor's connection."""
    conf = api_client.configuration
    ca = None
    if conf.ssl_ca_cert:
        with open(conf.ssl_ca_cert, "rb") as handle:
            ca = base64.b64encode(handle.read()).decode()
    return api_server or conf.host, ca, not conf.verify_ssl


def _expiry(answer: dict) -> float | None:
    stamp = (answer.get("status") or {}).get("expirationTimestamp")
    if not stamp:
        return None
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC).timestamp()


class Access:
    def __init__(self, module, kube: KubeApi, cluster: tuple[str, str | None, bool]) -> None:
        self.params = module.params
        self.kube = kube
        self.server, self.ca, self.insecure = cluster
        self.account = self.params["service_account"]

    def _account_path(self, namespace: str) -> str:
        return f"/api/v1/namespaces/{namespace}/serviceaccounts/{self.account}"

    def _recreate(self, namespace: str) -> str:
        """Delete and create the ServiceAccount again: every token issued for the old one stops
        working (tokens name their account's uid). Returns an error, or ''."""
        status, current = self.kube.call("GET", self._account_path(namespace))
        if status == 404:
            return f"ServiceAccount {self.account} is gone (revoked?): deploy.yml recreates it and issues a kubeconfig"
        if status != 200:
            return f"cannot read ServiceAccount {self.account}: HTTP {status}: {_message(current)}"
        meta = {k: v for k, v in current["metadata"].items() if k in _KEEP}
        status, answer = self.kube.call("DELETE", self._account_path(namespace))
        if status not in (200, 202, 404):
            return f"cannot delete ServiceAccount {self.account}: HTTP {status}: {_message(answer)}"
        body = {k: v for k, v in current.items() if k not in ("metadata", "secrets", "status")}
        status, answer = self.kube.post_json(
            f"/api/v1/namespaces/{namespace}/serviceaccounts", {**body, "metadata": meta}
        )
        if status not in (200, 201):
            return f"cannot recreate ServiceAccount {self.account}: HTTP {status}: {_message(answer)}"
        return ""

    def _issue(self, student: str, namespace: str, path: str, text_now: str | None) -> dict:
        status, answer = self.kube.post_json(
            self._account_path(namespace) + "/token",
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": self.params["token_seconds"]},
            },
        )
        if status not in (200, 201) or not (answer.get("status") or {}).get("token"):
            hint = " (deploy creates it: rerun deploy.yml)" if status == 404 else ""
            why = f"HTTP {status}: {_message(answer)}{hint}"
            return {"error": f"TokenRequest for ServiceAccount {self.account} failed: {why}"}
        token = answer["status"]["token"]
        expires = _expiry(answer) or tokens.claims(token).get("exp")
        text = tokens.dump(tokens.kubeconfig(student, namespace, self.server, self.ca, self.insecure, token))
        if text != text_now:
            write_private(path, text)
        asked = time.time() + self.params["token_seconds"]
        return {
            "token_expires": tokens.when(expires) if expires else "",
            # The server grants less than asked when its --service-account-max-token-expiration is lower.
            "shortened": bool(expires and expires < asked - 120),
        }

    def one(self, student: str, namespace: str, accounts: dict) -> dict:
        path = os.path.join(self.params["dest"], f"{student}.yaml")
        result = {"student": student, "namespace": namespace, "kubeconfig": path, "changed": False, "error": ""}
        result.update(token_expires="", shortened=False)
        text_now = read_text(path)
        state = self.params["state"]
        if state == "revoked":
            status, answer = self.kube.call("DELETE", self._account_path(namespace))
            if status not in (200, 202, 404):
                return dict(result, action="failed", why="", error=f"cannot delete ServiceAccount: {_message(answer)}")
            if text_now is not None:
                os.remove(path)
            changed = status != 404 or text_now is not None
            return dict(result, kubeconfig="", action="revoked", why="revoked", changed=changed)
        if state == "renewed":
            error = self._recreate(namespace)
            if error:
                return dict(result, action="failed", why="", error=error)
            keep, why = False, "renewed on request (the old token no longer works)"
        else:
            margin = self.params["renew_before_seconds"]
            keep, why = tokens.keep_or_renew(
                text_now, now=time.time(), renew_before=margin, account=accounts.get(namespace)
            )
        if keep:
            token = tokens.read_token(text_now)
            text = tokens.dump(tokens.kubeconfig(student, namespace, self.server, self.ca, self.insecure, token))
            if text == text_now:
                return dict(result, action="kept", why=why, token_expires=tokens.token_expiry(text_now))
            write_private(path, text)  # the same token, another server or CA (mlopslab_student_api_server)
            return dict(result, action="rewritten", why="rewritten: the server or CA changed", changed=True,
                        token_expires=tokens.token_expiry(text_now))  # fmt: skip
        issued = self._issue(student, namespace, path, text_now)
        if issued.get("error"):
            return dict(result, action="failed", why="", error=issued["error"])
        return dict(result, action="issued" if text_now is None else "renewed", why=why, changed=True, **issued)


def main():
    module = AnsibleK8SModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=False)
    params = module.params
    if params["token_seconds"] < tokens.MIN_TOKEN_SECONDS:
        module.fail_json(msg=f"token_seconds {params['token_seconds']} is below 600, the shortest token the API issues")
    api_client = get_api_client(module).client.client
    kube = KubeApi(api_client, 10)
    make_private_dirs(params["dest"])
    # The ServiceAccounts as they are now (one list): a kubeconfig issued for an older one is renewed.
    accounts = {}
    if params["state"] == "present":
        try:
            selector = {"fieldSelector": f"metadata.name={params['service_account']}"}
            items = kube.list_items("/api/v1/serviceaccounts", selector)
        except Exception as err:  # the cluster: one sentence, nothing changed
            module.fail_json(msg=f"cannot list the students' ServiceAccounts: {err}")
        accounts = {a["metadata"]["namespace"]: a["metadata"].get("uid") for a in items}
    worker = Access(module, kube, _cluster(api_client, params["api_server"]))
    results = []
    for student, namespace in params["students"].items():
        try:
            results.append(worker.one(student, namespace, accounts))
        except Exception as err:  # one student's trouble is reported on their line, never raised
            failed = {"kubeconfig": "", "action": "failed", "why": "", "error": str(err), "changed": False}
            results.append(dict(failed, student=student, namespace=namespace, token_expires="", shortened=False))
    module.exit_json(changed=any(r["changed"] for r in results), students=results)


if __name__ == "__main__":
    main()
