# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The small I/O layer of lab_health_info: JSON over the Kubernetes API (kubernetes.core's
client, so every connection option behaves as in kubernetes.core) or over plain URLs."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from ansible.module_utils.urls import open_url

PROXY = "/api/v1/namespaces/{namespace}/services/http:{service}:{port}/proxy"


class KubeApi:
    """GET JSON through the API server, without discovery: plain paths, label selectors."""

    def __init__(self, api_client, timeout: float) -> None:
        self._api = api_client
        self._timeout = timeout

    def get_json(self, path: str, query: dict | None = None) -> dict:
        params = {
            "query_params": list((query or {}).items()),
            "header_params": {"Accept": "application/json"},
            "auth_settings": ["BearerToken"],
        }
        if hasattr(self._api, "param_serialize"):  # kubernetes >= 31: the new generator's client
            method, url, headers, body, _ = self._api.param_serialize("GET", path, **params)
            response = self._api.call_api(method, url, header_params=headers, body=body, _request_timeout=self._timeout)
            response.read()
        else:  # kubernetes 24-30, which kubernetes.core still accepts
            response = self._api.call_api(
                path,
                "GET",
                _preload_content=False,
                _return_http_data_only=True,
                _request_timeout=self._timeout,
                **params,
            )
        if response.status >= 400:
            raise OSError(f"HTTP {response.status} from {path}: {response.data[:300]!r}")
        return json.loads(response.data)

    def list_items(self, path: str, query: dict) -> list[dict]:
        return self.get_json(path, query).get("items") or []

    def via_proxy(self, namespace: str, service: str, port: int):
        base = PROXY.format(namespace=namespace, service=service, port=port)
        return lambda path, query: self.get_json(base + path, query)


def via_url(template: str, namespace: str, timeout: float, validate_certs: bool):
    """A fetch(path, query) for http://…{namespace}… (e.g. an Ingress per student)."""
    base = template.format(namespace=namespace, student=namespace).rstrip("/")

    def fetch(path: str, query: dict) -> dict:
        url = base + path + (f"?{urlencode(query)}" if query else "")
        with open_url(url, timeout=timeout, validate_certs=validate_certs, headers={"Accept": "application/json"}) as r:
            return json.loads(r.read())

    return fetch
