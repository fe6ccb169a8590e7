# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue, keep, renew or revoke students' kubeconfigs (the runner of the module student_access,
which only wires its arguments to this): a TokenRequest per student for their ServiceAccount,
each kubeconfig written 0600; one student's trouble is reported on their line, never raised."""

from __future__ import annotations

import base64
import datetime
import os
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.mlopslab.monitoring.plugins.module_utils.access import tokens
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.lab_io import KubeApi
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.private_files import (
    make_private_dirs,
    read_text,
    write_private,
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
    def __init__(self, params: dict, kube: KubeApi, cluster: tuple[str, str | None, bool]) -> None:
        self.params = params
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


def issue_all(params: dict, api_client, kube: KubeApi) -> list[dict]:
    """One result per student (params: the module's). OSError when the ServiceAccounts cannot be
    listed (nothing was changed then)."""
    make_private_dirs(params["dest"])
    # The ServiceAccounts as they are now (one list): a kubeconfig issued for an older one is renewed.
    accounts = {}
    if params["state"] == "present":
        try:
            selector = {"fieldSelector": f"metadata.name={params['service_account']}"}
            items = kube.list_items("/api/v1/serviceaccounts", selector)
        except Exception as err:  # the cluster: one sentence, nothing changed
            raise OSError(f"cannot list the students' ServiceAccounts: {err}") from err
        accounts = {a["metadata"]["namespace"]: a["metadata"].get("uid") for a in items}
    worker = Access(params, kube, _cluster(api_client, params["api_server"]))

    def one(pair):
        student, namespace = pair
        try:
            return worker.one(student, namespace, accounts)
        except Exception as err:  # one student's trouble is reported on their line, never raised
            failed = {"kubeconfig": "", "action": "failed", "why": "", "error": str(err), "changed": False}
            return dict(failed, student=student, namespace=namespace, token_expires="", shortened=False)

    # Each student's requests and file are theirs alone: 8 at a time, in the students' order.
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, params["students"].items()))
