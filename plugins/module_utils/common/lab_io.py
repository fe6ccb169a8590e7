# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The small I/O layer of lab_health_info: JSON over the Kubernetes API (kubernetes.core's
client, so every connection option behaves as in kubernetes.core) or over plain URLs."""

from __future__ import annotations

import json
import threading
from urllib.error import HTTPError
from urllib.parse import urlencode

from ansible.module_utils.urls import open_url
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.libraries import ApiException, kube_config

PROXY = "/api/v1/namespaces/{namespace}/services/http:{service}:{port}/proxy"


class KubeApi:
    """GET JSON through the API server, without discovery: plain paths, label selectors."""

    def __init__(self, api_client, timeout: float) -> None:
        self._api = api_client
        self._timeout = timeout

    def call(self, method: str, path: str, query: dict | None = None, body: dict | None = None,
             content_type: str = "application/json") -> tuple[int, dict]:  # fmt: skip
        """(HTTP status, JSON answer) of one request; an error status is returned, not raised.
        ``content_type``: application/merge-patch+json for a PATCH."""
        params = {
            "query_params": list((query or {}).items()),
            "header_params": {"Accept": "application/json", "Content-Type": content_type},
            "auth_settings": ["BearerToken"],
            "body": body,
        }
        if hasattr(self._api, "param_serialize"):  # kubernetes >= 31: the new generator's client
            method, url, headers, data, _auth = self._api.param_serialize(method, path, **params)
            response = self._api.call_api(method, url, header_params=headers, body=data, _request_timeout=self._timeout)
            response.read()
            status, raw = response.status, response.data
        else:  # kubernetes 24-30, which kubernetes.core still accepts
            try:
                response = self._api.call_api(
                    path,
                    method,
                    _preload_content=False,
                    _return_http_data_only=True,
                    _request_timeout=self._timeout,
                    **params,
                )
                status, raw = response.status, response.data
            except ApiException as err:
                status, raw = err.status, (err.body or b"").encode() if isinstance(err.body, str) else err.body or b""
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {"message": raw[:300].decode(errors="replace") if isinstance(raw, bytes) else str(raw)[:300]}
        return status, answer if isinstance(answer, dict) else {"value": answer}

    def get_json(self, path: str, query: dict | None = None) -> dict:
        status, answer = self.call("GET", path, query)
        if status >= 400:
            raise OSError(f"HTTP {status} from {path}: {json.dumps(answer)[:300]}")
        return answer

    def post_json(self, path: str, body: dict) -> tuple[int, dict]:
        return self.call("POST", path, None, body)

    def list_items(self, path: str, query: dict) -> list[dict]:
        return self.get_json(path, query).get("items") or []

    def via_proxy(self, namespace: str, service: str, port: int):
        base = PROXY.format(namespace=namespace, service=service, port=port)
        return lambda path, query: self.get_json(base + path, query)

    def poster_via_proxy(self, namespace: str, service: str, port: int):
        """post(path, body) -> (status, JSON) through the service proxy (e.g. Grafana's /login)."""
        base = PROXY.format(namespace=namespace, service=service, port=port)
        return lambda path, body: self.post_json(base + path, body)


def via_url(template: str, namespace: str, timeout: float, validate_certs: bool):
    """A fetch(path, query) for http://…{namespace}… (e.g. an Ingress per student)."""
    base = template.format(namespace=namespace, student=namespace).rstrip("/")

    def fetch(path: str, query: dict) -> dict:
        url = base + path + (f"?{urlencode(query)}" if query else "")
        with open_url(url, timeout=timeout, validate_certs=validate_certs, headers={"Accept": "application/json"}) as r:
            return json.loads(r.read())

    return fetch


def poster_via_url(template: str, namespace: str, timeout: float, validate_certs: bool):
    """A post(path, body) -> (status, JSON) for http://…{namespace}…; an error status is returned."""
    base = template.format(namespace=namespace, student=namespace).rstrip("/")

    def post(path: str, body: dict) -> tuple[int, dict]:
        try:
            with open_url(
                base + path,
                data=json.dumps(body),
                method="POST",
                timeout=timeout,
                validate_certs=validate_certs,
                headers={"Accept": "application/json", "Content-Type": "application/json"},
            ) as r:
                return r.status, json.loads(r.read() or b"{}")
        except HTTPError as err:
            try:
                return err.code, json.loads(err.read() or b"{}")
            except ValueError:
                return err.code, {}

    return post


# The kubernetes client writes a kubeconfig's CA data to a temporary file it shares between loads
# of the same data, and publishes the file's name before it writes the data: a second thread that
# loads a kubeconfig of the same cluster meanwhile gets an empty CA file ("X509:
# NO_CERTIFICATE_OR_CRL_FOUND", seen on CI with two students of one cluster checked at once).
_LOADING = threading.Lock()


def client_from_kubeconfig(path: str):
    """An API client from a kubeconfig file, one load at a time (see _LOADING)."""
    with _LOADING:
        return kube_config.new_client_from_config(config_file=path)


def as_kubeconfig(path: str, namespace: str, neighbour: str, timeout: float) -> tuple[tuple[int, str], tuple[int, str]]:
    """(own, other): the answers to listing pods in the student's namespace and in a neighbour's,
    with the student's kubeconfig file; (0, why) when there is no answer."""
    try:
        kube = KubeApi(client_from_kubeconfig(path), timeout)
    except Exception as err:
        return (0, f"unreadable kubeconfig {path}: {err}"), (0, "")
    answers = []
    for target in (namespace, neighbour):
        try:
            status, answer = kube.call("GET", f"/api/v1/namespaces/{target}/pods", {"limit": 1})
            answers.append((status, answer.get("message") or answer.get("reason") or ""))
        except Exception as err:  # no answer: connection refused, TLS, DNS
            answers.append((0, str(err)[:300]))
    return answers[0], answers[1]
