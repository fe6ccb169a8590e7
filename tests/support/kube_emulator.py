"""A Kubernetes API on 127.0.0.1 for tests: kmock's emulator plus the glue it needs.

kmock (PyPI) stores objects and serves create/get/list/patch/delete over real HTTP. As shipped
(0.8) it misses a few things that kubernetes.core and the kubernetes client rely on; each gap
is one marked ``GAP`` below, and this file is all the glue there is. It has no controllers,
admission or validation: Deployments never get Pods, so tests seed Pods (with their status)
and Events as a cluster would return them.

Run it in-process (pytest fixture, ``EmulatedCluster``) or as a process for molecule and the
benches::

    python -m tests.support.kube_emulator --kubeconfig build/emulator/kubeconfig [--port N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import threading
import urllib.request
from pathlib import Path
from typing import Any

import kmock
import yaml
from kmock._internal import parsing

# The resources our lab and its checks use: (group/version, plural, kind, namespaced).
# GAP 1 (discovery): kmock guesses a kind from the plural ("Namespaces") and leaves
# `namespaced` empty unless told; kubernetes.core resolves kinds through discovery.
RESOURCES = [
    ("v1", "namespaces", "Namespace", False),
    ("v1", "nodes", "Node", False),
    ("v1", "pods", "Pod", True),
    ("v1", "events", "Event", True),
    ("v1", "configmaps", "ConfigMap", True),
    ("v1", "secrets", "Secret", True),
    ("v1", "services", "Service", True),
    ("v1", "serviceaccounts", "ServiceAccount", True),
    ("v1", "resourcequotas", "ResourceQuota", True),
    ("v1", "limitranges", "LimitRange", True),
    ("apps/v1", "deployments", "Deployment", True),
    ("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", True),
    ("networking.k8s.io/v1", "ingresses", "Ingress", True),
    ("rbac.authorization.k8s.io/v1", "roles", "Role", True),
    ("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", True),
    ("apiextensions.k8s.io/v1", "customresourcedefinitions", "CustomResourceDefinition", False),
]
# Real API objects the emulator can start with (nodes.yml: a 3-node kind cluster).
CLUSTER_FIXTURES = Path(__file__).parents[1] / "fixtures" / "cluster"
VERBS = {"create", "delete", "get", "list", "patch", "update", "watch"}
KINDS = {plural: kind for _, plural, kind, _ in RESOURCES}


# GAP 2 (Namespace URLs): kmock reads `/api/v1/namespaces/<x>` as "namespace x, no resource",
# so Namespace objects cannot be read or written (500 or misrouted). Namespaces are the one
# cluster-scoped resource whose plural is also the namespace path segment.
_kmock_parse_path = parsing.parse_path


def _parse_path(path: str) -> parsing.ParsedPath:
    parts = path.strip("/").split("/")
    if parts[:3] == ["api", "v1", "namespaces"] and (len(parts) <= 4 or parts[4] in ("status", "finalize")):
        name = parts[3] if len(parts) > 3 else None
        subresource = parts[4] if len(parts) > 4 else None
        return parsing.ParsedPath("", "v1", "namespaces", None, name, subresource)
    return _kmock_parse_path(path)


parsing.parse_path = _parse_path


def _label_selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """Equality-based and set-based selectors as kubectl and kubernetes.core send them."""
    return all(_term_matches(term.strip(), labels) for term in _split_selector(selector) if term.strip())


def _term_matches(term: str, labels: dict[str, str]) -> bool:
    if " notin " in term:
        key, values = term.split(" notin ", 1)
        return labels.get(key.strip()) not in _set(values)
    if " in " in term:
        key, values = term.split(" in ", 1)
        return labels.get(key.strip()) in _set(values)
    if "!=" in term:
        key, value = term.split("!=", 1)
        return labels.get(key.strip()) != value.strip()
    if "=" in term:
        key, value = term.replace("==", "=").split("=", 1)
        return labels.get(key.strip()) == value.strip()
    if term.startswith("!"):
        return term[1:] not in labels
    return term in labels


def _split_selector(selector: str) -> list[str]:
    # Commas separate terms, except inside the parentheses of `in (a,b)`.
    terms, depth, current = [], 0, ""
    for char in selector:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    return [*terms, current]


def _set(values: str) -> set[str]:
    return {v.strip() for v in values.strip().strip("()").split(",")}


def _field_selector_matches(selector: str, obj: dict[str, Any]) -> bool:
    # Only the fields our code selects on (metadata.name/namespace, involvedObject.*).
    for term in filter(None, selector.split(",")):
        negate = "!=" in term
        path, value = term.split("!=" if negate else "=", 1)
        node: Any = obj
        for key in path.replace("==", "").strip().split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if (str(node) == value.strip()) == negate:
            return False
    return True


class LabEmulator(kmock.KubernetesEmulator):
    """kmock's KubernetesEmulator with the gaps kubernetes.core trips over filled in."""

    # GAP 6 (server version): kmock answers /version with a fixed v1.26.4; the preflight's
    # version floor needs tests to set it. EmulatedCluster.server_version sets it.
    git_version = "v1.33.1"

    async def _serve_server_version(self, request: kmock.Request) -> Any:
        version = await super()._serve_server_version(request)
        major, minor = self.git_version.lstrip("v").split(".")[:2]
        return {**version, "major": major, "minor": minor, "gitVersion": self.git_version}

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        for group_version, plural, kind, namespaced in RESOURCES:
            info = self.resources[f"{group_version}/{plural}"]
            info.kind, info.namespaced, info.verbs = kind, namespaced, VERBS
            info.subresources = {"status"}

    async def _handle(self, request: kmock.Request) -> Any:
        # GAP 3 (server-side apply): an apply PATCH of an object that does not exist (or was
        # deleted) must create it; kmock answers 404. Store it first; kmock's own patch of the
        # same data then changes nothing and answers with the stored object.
        key = (request.resource, request.namespace, request.name)
        is_apply = request.action == kmock.action.UPDATE and request.headers.get("Content-Type", "").startswith(
            "application/apply-patch"
        )
        if is_apply and request.resource is not None and (key not in self.objects or self.objects[key].deleted):
            obj = dict(request.data)
            if request.namespace:
                obj["metadata"] = {**obj.get("metadata", {}), "namespace": request.namespace}
            async with self._lock:
                self.objects[key] = obj
        return await super()._handle(request)

    async def _serve_list(self, request: kmock.Request) -> Any:
        result = await super()._serve_list(request)
        items = result["items"]
        # GAP 4 (selectors): kmock ignores labelSelector and fieldSelector and returns everything.
        if selector := request.params.get("labelSelector"):
            items = [o for o in items if _label_selector_matches(selector, o.get("metadata", {}).get("labels") or {})]
        if selector := request.params.get("fieldSelector"):
            items = [o for o in items if _field_selector_matches(selector, o)]
        # GAP 5 (list kind): list responses carry no kind/apiVersion; the dynamic client (and so
        # k8s_info) needs them to build its ResourceList.
        resource = request.resource
        api_version = f"{resource.group}/{resource.version}" if resource.group else resource.version
        return {
            "kind": f"{KINDS.get(resource.plural, resource.plural.capitalize())}List",
            "apiVersion": api_version,
            "metadata": {"resourceVersion": "1"},
            "items": items,
        }


class EmulatedCluster:
    """The emulator serving in a background thread, with a kubeconfig that points at it."""

    def __init__(self, kubeconfig: Path, port: int | None = None, seed_files: list[Path] = ()) -> None:
        self.kubeconfig = Path(kubeconfig)
        self._port = port
        self._seed_files = list(seed_files)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._serve(),), daemon=True)
        self.emulator: LabEmulator | None = None
        self.url = ""

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with LabEmulator() as emulator, kmock.Server(emulator, port=self._port) as server:
            self.emulator = emulator
            self.url = str(server.url).rstrip("/")
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> EmulatedCluster:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the kmock emulator did not start within 10 s")
        self.write_kubeconfig()
        for path in self._seed_files:
            self.seed(*yaml.safe_load(Path(path).read_text()))
        return self

    def server_version(self, git_version: str) -> None:
        """What /version answers from now on, e.g. "v1.24.17"."""
        assert self.emulator is not None
        self.emulator.git_version = git_version

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def write_kubeconfig(self) -> None:
        self.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulated", "cluster": {"server": self.url}}],
            "users": [{"name": "instructor", "user": {"token": "emulated"}}],
            "contexts": [{"name": "emulated", "context": {"cluster": "emulated", "user": "instructor"}}],
            "current-context": "emulated",
        }
        self.kubeconfig.write_text(yaml.safe_dump(config))
        self.kubeconfig.chmod(0o600)

    # Seeding goes through the HTTP API, exactly as a client would create the objects.
    def seed(self, *objects: dict[str, Any]) -> None:
        for obj in objects:
            self.request("POST", collection_path(obj), obj)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def requests_made(self) -> int:
        assert self.emulator is not None
        return len(self.emulator._requests)


def api_status(code: int, reason: str, message: str) -> dict[str, Any]:
    """The Status object an API server answers a refused request with (for kmock reactions)."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "reason": reason,
        "code": code,
        "message": message,
    }


REFUSED_BY_WEBHOOK = api_status(
    422, "Invalid", 'admission webhook "quota.example.com" denied the request: exceeded quota'
)
UNAVAILABLE = api_status(503, "ServiceUnavailable", "the server is currently unable to handle the request")


def collection_path(obj: dict[str, Any]) -> str:
    """The URL a create of `obj` goes to, e.g. /apis/apps/v1/namespaces/user01/deployments."""
    group_version = obj["apiVersion"]
    plural = next(p for gv, p, kind, _ in RESOURCES if gv == group_version and kind == obj["kind"])
    namespace = obj.get("metadata", {}).get("namespace")
    prefix = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    return f"{prefix}/namespaces/{namespace}/{plural}" if namespace else f"{prefix}/{plural}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--seed", type=Path, action="append", default=[], help="a YAML list of objects to create")
    args = parser.parse_args()
    with EmulatedCluster(args.kubeconfig, args.port, args.seed) as cluster:
        print(f"kube emulator at {cluster.url}, kubeconfig {args.kubeconfig}", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()


if __name__ == "__main__":
    main()
