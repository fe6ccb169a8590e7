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
import base64
import copy
import datetime
import itertools
import json
import re
import signal
import threading
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import aiohttp.web
import kmock
import yaml
from kmock._internal import parsing
from kmock._internal.k8s import KubernetesError

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
    ("apps/v1", "replicasets", "ReplicaSet", True),
    ("discovery.k8s.io/v1", "endpointslices", "EndpointSlice", True),
    ("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", True),
    ("networking.k8s.io/v1", "ingresses", "Ingress", True),
    ("rbac.authorization.k8s.io/v1", "roles", "Role", True),
    ("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", True),
    ("apiextensions.k8s.io/v1", "customresourcedefinitions", "CustomResourceDefinition", False),
]
# Real API objects the emulator can start with (nodes.yml: a 3-node kind cluster).
CLUSTER_FIXTURES = Path(__file__).parents[1] / "fixtures" / "cluster"
VERBS = {"create", "delete", "get", "list", "patch", "update", "watch"}
KINDS = {plural: kind for _group_version, plural, kind, _namespaced in RESOURCES}


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


# ---------------------------------------------------------------- a real server's storage
# GAP 7-10: kmock stores what it is sent. A real API server stores something else, and what
# deploy.yml reports (changed or not) depends on it: the apply compares the object before and
# after, so anything the server adds, drops or bumps shows up as a change. What the glue does,
# each as kube-apiserver 1.36 does it (checked against the real server in tests/cluster):
#
# GAP 7 (Secret stringData): write-only; merged into `data` (base64) and never returned.
# GAP 8 (defaults): the fields the server fills in when they are absent (`_defaults`):
#   Deployment strategy, revisionHistoryLimit, progressDeadlineSeconds, the pod template's
#   restartPolicy, terminationGracePeriodSeconds, dnsPolicy, schedulerName, securityContext,
#   containers' terminationMessagePath/Policy, imagePullPolicy, probe timings, port protocols;
#   Service type, clusterIP(s), sessionAffinity, ipFamilies, ipFamilyPolicy,
#   internalTrafficPolicy, targetPort; Secret type; Namespace finalizers, phase and name label.
# GAP 9 (metadata): uid and creationTimestamp on create; resourceVersion moves only when the
#   stored object really changes (a no-op apply keeps it, and keeps managedFields); generation,
#   only for the kinds whose storage strategy keeps one (not Namespace, Service, ResourceQuota,
#   LimitRange, ConfigMap, Secret), starts at 1 and moves when the spec changes; managedFields
#   name each field manager.
# GAP 10 (apply): server-side apply by the one manager sets exactly the fields it sends
#   (fields it no longer sends are removed), merge patches merge (RFC 7386: null deletes).
_SERVICE_IPS = (f"10.96.{i // 250}.{i % 250 + 10}" for i in itertools.count())
_RESOURCE_VERSIONS = itertools.count(1000)
_GENERATION_KINDS = {
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "NetworkPolicy",
    "Ingress",
}
_SYSTEM_METADATA = ("uid", "creationTimestamp", "resourceVersion", "generation", "managedFields", "deletionTimestamp")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _merge(base: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


def _pod_defaults(spec: dict) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        image = container.get("image", "")
        latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
        container.setdefault("imagePullPolicy", "Always" if latest and "@" not in image else "IfNotPresent")
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if probe in container:
                for key, value in (
                    ("timeoutSeconds", 1),
                    ("periodSeconds", 10),
                    ("successThreshold", 1),
                    ("failureThreshold", 3),
                ):
                    container[probe].setdefault(key, value)
                if "httpGet" in container[probe]:
                    container[probe]["httpGet"].setdefault("scheme", "HTTP")


def _defaults(obj: dict, current: dict | None) -> None:
    kind, spec = obj.get("kind"), obj.get("spec")
    if kind == "Deployment" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        _pod_defaults(spec.setdefault("template", {}).setdefault("spec", {}))
    elif kind == "Pod" and isinstance(spec, dict):
        _pod_defaults(spec)
    elif kind == "Service" and isinstance(spec, dict):
        old = (current or {}).get("spec") or {}
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec.get("clusterIP") != "None":
            spec["clusterIP"] = old.get("clusterIP") or spec.get("clusterIP") or next(_SERVICE_IPS)
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            obj["data"] = {
                **(obj.get("data") or {}),
                **{k: base64.b64encode(str(v).encode()).decode() for k, v in string_data.items()},
            }
    elif kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
        labels = obj.setdefault("metadata", {}).setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"].get("name")


def _fields(value: Any) -> Any:
    """managedFields' FieldsV1 for what a manager sent (maps only, as the real server's for maps)."""
    if not isinstance(value, dict):
        return {}
    return {f"f:{k}": _fields(v) for k, v in value.items() if k not in ("apiVersion", "kind")}


def _comparable(obj: dict | None) -> dict | None:
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    for key in ("resourceVersion", "managedFields", "generation"):
        out.get("metadata", {}).pop(key, None)
    return out


def stored_form(body: dict, current: dict | None, *, apply: bool, manager: str, subresource: str | None) -> dict:
    """What a real API server stores (and returns) for this write (GAP 7-10)."""
    if current is None:
        obj = copy.deepcopy(body)
    elif apply and subresource is None:
        # The one manager's applied configuration, plus what the server and others own.
        obj = copy.deepcopy(body)
        if "status" in current:
            obj["status"] = copy.deepcopy(current["status"])
    else:
        obj = _merge(current, body)
    meta = obj.setdefault("metadata", {})
    old_meta = (current or {}).get("metadata") or {}
    if current is None:
        for key in ("resourceVersion", "managedFields", "uid"):  # the server's to assign, not the client's
            meta.pop(key, None)
    else:
        for key in _SYSTEM_METADATA:
            if key in old_meta:
                meta[key] = copy.deepcopy(old_meta[key])
    _defaults(obj, current)
    operation = "Apply" if apply else "Update"
    owned = {(m.get("manager"), m.get("operation"), m.get("subresource")) for m in old_meta.get("managedFields") or []}
    if current is not None and _comparable(obj) == _comparable(current) and (manager, operation, subresource) in owned:
        return current  # a no-op: nothing moves, not even resourceVersion or managedFields
    # A manager's first apply of values it set by create or update records its Apply entry beside the
    # Update one (measured on kube-apiserver 1.36: [mlopslab Apply, mlopslab Update], a new resourceVersion).
    meta.setdefault("uid", str(uuid.uuid4()))
    meta.setdefault("creationTimestamp", _now())
    meta["resourceVersion"] = str(next(_RESOURCE_VERSIONS))
    if obj.get("kind") in _GENERATION_KINDS and (current is None or obj.get("spec") != current.get("spec")):
        meta["generation"] = int(old_meta.get("generation") or 0) + 1
    entry = {
        "manager": manager,
        "operation": operation,
        "apiVersion": obj.get("apiVersion"),
        "time": _now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": _fields(body),
    }
    if subresource:
        entry["subresource"] = subresource
    others = [
        m
        for m in meta.get("managedFields") or []
        if (m.get("manager"), m.get("operation"), m.get("subresource")) != (manager, operation, subresource)
    ]
    meta["managedFields"] = [*others, entry]
    return obj


# GAP 12 (ServiceAccount tokens): kmock has no TokenRequest and no authentication. The emulator
# issues a token (a JWT shaped as the API server's: exp, sub, kubernetes.io.serviceaccount.uid;
# its signature is not checked by anyone here) and then judges requests that carry it as the real
# server would in two respects only: the token works while it has not expired and its
# ServiceAccount still exists with the uid it names (else 401), and it acts in its own namespace
# only (else 403, with the real server's message). The Role's rules are NOT emulated: the
# real-cluster tier checks those against real RBAC. Nor is kube-apiserver's 10 s cache of
# successful token authentications: here a revoked token fails at once, there within 10 s (the
# tier waits for it). `max_token_seconds` emulates the server's
# --service-account-max-token-expiration (a longer request is shortened to it).
_TOKEN_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/serviceaccounts/([^/]+)/token$")
_NAMESPACED = re.compile(r"^/apis?/(?:[^/]+/)?v1/namespaces/([^/]+)/([^/]+)")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unauthorized() -> KubernetesError:
    return KubernetesError(status=401, reason="Unauthorized", message="Unauthorized", details={})


# GAP 14 (access reviews): kmock has no authorization API. A real server answers a
# SelfSubjectAccessReview with status.allowed (and a reason when denied) and a SelfSubjectReview
# with the caller's userInfo, both 201, storing nothing. The emulator's kubeconfig is the
# cluster's administrator: every review is allowed, except the rights set with deny(), which are
# refused as RBAC refuses them (allowed false, empty reason). Real RBAC decisions are the
# real-cluster tier's (tests/cluster/test_instructor_rights.py).
_REVIEW_PATHS = (
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
)


# GAP 17 (optimistic concurrency): kmock writes whatever it is sent. A real server given a write
# (an update or a patch) that carries metadata.resourceVersion, or a delete whose DeleteOptions
# carry preconditions.resourceVersion, carries it out only over that version,
# and answers 409 Conflict ("the object has been modified; please apply your changes to the latest
# version and try again") otherwise: of two clients that read one version, one wins. deploy's
# Lease per student relies on it (tests/cluster/test_transaction.py takes holds on the real one).
def _conflict(kind: str, name: str) -> KubernetesError:
    return KubernetesError(
        status=409, reason="Conflict", details={"name": name, "kind": kind},
        message=f'Operation cannot be fulfilled on {kind} "{name}": the object has been modified; please apply '
        "your changes to the latest version and try again",
    )  # fmt: skip


def _precondition(action, metadata: dict, current: dict | None, kind: str, name: str) -> None:
    """An update (a patch) carrying a resourceVersion: refused unless it is the stored one."""
    wanted = metadata.get("resourceVersion")
    if action != kmock.action.UPDATE or current is None or not wanted:
        return
    if wanted != (current.get("metadata") or {}).get("resourceVersion"):
        raise _conflict(kind, name)


# GAP 15 (dry run): kmock stores every write. A real server given dryRun=All runs the write
# (admission, defaults, the field manager's entry) and answers with the object it would store,
# storing nothing; an object in a namespace that does not exist is refused as NamespaceLifecycle
# refuses it (404 namespaces "x" not found). What a real server answers is checked by the
# real-cluster tier (tests/cluster/test_lifecycle.py: deploy --check).


def is_write(request) -> bool:
    """A request that could change something: not a read, and not an access review (a POST that
    asks and stores nothing, GAP 14)."""
    dry_run = bool(request.url.query.get("dryRun"))  # GAP 15: answered, never stored
    return request.method not in ("GET", "HEAD") and request.url.path not in _REVIEW_PATHS and not dry_run


class LabEmulator(kmock.KubernetesEmulator):
    """kmock's KubernetesEmulator with the gaps kubernetes.core trips over filled in."""

    # GAP 6 (server version): kmock answers /version with a fixed v1.26.4; the preflight's
    # version floor needs tests to set it. EmulatedCluster.server_version sets it.
    git_version = "v1.33.1"
    max_token_seconds: int | None = None

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
        self._tokens: dict[str, dict] = {}  # GAP 12: the tokens issued, by token, with their claims
        self._refusals: list[dict] = []  # GAP 13
        self._denied: set[tuple[str, str, str]] = set()  # GAP 14: (verb, group/resource, namespace or "")

    # GAP 13 (refusals): kmock carries out a write even when a reaction answers it with an error
    # (by design: the objects stay for assertions); a real API server that refuses a request
    # changes nothing. A refusal set with refuse() answers before anything is stored or deleted.
    def refuse(self, method: str, path: str, error: KubernetesError, times: int | None = None) -> None:
        self._refusals.append({"method": method.upper(), "path": path, "error": error, "left": times})

    def _check_refusals(self, request: kmock.Request) -> None:
        for refusal in self._refusals:
            if request.method == refusal["method"] and request.url.path == refusal["path"] and refusal["left"] != 0:
                if refusal["left"] is not None:
                    refusal["left"] -= 1
                raise refusal["error"]

    async def _delete(self, request: kmock.Request) -> Any:
        key = (request.resource, request.namespace, request.name)
        if key in self.objects and not self.objects[key].deleted and isinstance(request.data, dict):
            # GAP 17: a delete's preconditions too.
            wanted = {"resourceVersion": (request.data.get("preconditions") or {}).get("resourceVersion")}
            _precondition(kmock.action.UPDATE, wanted, self.objects[key].raw, request.resource.plural, request.name)
        response = await super()._handle(request)
        # GAP 11 (namespace deletion): a real server keeps a Namespace whose finalizers hold it,
        # in phase Terminating (the namespace controller empties it; there is none here, so a
        # Namespace without metadata finalizers goes at once, as an empty one would).
        if request.resource.plural == "namespaces" and key in self.objects and not self.objects[key].deleted:
            async with self._lock:
                self.objects[key].patch({"status": {"phase": "Terminating"}})
        return response

    async def _handle(self, request: kmock.Request) -> Any:
        self._check_refusals(request)
        path = request.url.path
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if token in self._tokens:
            self._authorize(self._tokens[token], request.method, path)
        if request.method == "POST" and (match := _TOKEN_PATH.match(path)):
            return self._token_request(*match.groups(), request.data or {})
        if request.method == "POST" and path in _REVIEW_PATHS:
            return self._review(path, request.data or {})
        # GAP 3 (server-side apply): an apply PATCH of an object that does not exist (or was
        # deleted) must create it; kmock answers 404. Store it first; kmock's own patch of the
        # same data then changes nothing and answers with the stored object.
        # GAP 7-10: every write is turned into what a real server stores before kmock sees it.
        if request.action == kmock.action.DELETE and request.resource is not None and request.name:
            return await self._delete(request)
        writes = (kmock.action.CREATE, kmock.action.UPDATE)
        content_type = request.headers.get("Content-Type", "")
        if request.resource is not None and request.action in writes and isinstance(request.data, dict):
            if content_type.startswith("application/json-patch"):
                return await super()._handle(request)  # not used by this project: kmock's own
            metadata = request.data.get("metadata") or {}
            namespace = request.namespace or metadata.get("namespace")
            name = request.name or metadata.get("name")
            key = (request.resource, namespace, name)
            is_apply = content_type.startswith("application/apply-patch")
            async with self._lock:
                existing = self.objects[key] if key in self.objects and not self.objects[key].deleted else None
                current = copy.deepcopy(existing.raw) if existing is not None else None
                body = dict(request.data)
                if namespace and request.resource.plural != "namespaces":
                    body["metadata"] = {**body.get("metadata", {}), "namespace": namespace}
                if request.action == kmock.action.UPDATE and current is None and not is_apply:
                    return await super()._handle(request)  # kmock's 404, as a real server
                _precondition(request.action, metadata, current, request.resource.plural, name)  # GAP 17
                if not (request.action == kmock.action.CREATE and current is not None):  # a 409 stays kmock's
                    stored = stored_form(
                        body,
                        current,
                        apply=is_apply,
                        manager=request.params.get("fieldManager") or "kubectl",
                        subresource=getattr(request, "subresource", None),
                    )
                    if request.params.get("dryRun"):
                        return self._dry_run(request.resource, namespace, stored, created=current is None)
                    if request.action == kmock.action.UPDATE:
                        self.objects[key] = stored
                    request.data.clear()
                    request.data.update(copy.deepcopy(stored))
        return await super()._handle(request)

    # GAP 14, as described above.
    def deny(self, verb: str, resource: str, namespace: str = "") -> None:
        """Refuse a right: ("create", "resourcequotas") or ("list", "apps/deployments", "user01")."""
        self._denied.add((verb, resource, namespace))

    def _review(self, path: str, body: dict) -> Any:
        wanted_version = "/".join(path.split("/")[2:4])
        if body.get("apiVersion") != wanted_version:  # as a real server refuses another group/version
            raise KubernetesError(status=400, reason="BadRequest", details={},
                                  message=f"the API version in the data ({body.get('apiVersion')}) does not match "
                                  f"the expected API version ({wanted_version})")  # fmt: skip
        answer = {**body, "metadata": {"creationTimestamp": None}}
        if path.endswith("selfsubjectreviews"):
            answer["status"] = {"userInfo": {"username": "kubernetes-admin", "groups": ["system:masters"]}}
        else:
            wanted = (body.get("spec") or {}).get("resourceAttributes") or {}
            resource = "/".join(p for p in (wanted.get("group"), wanted.get("resource")) if p)
            resource += f"/{wanted['subresource']}" if wanted.get("subresource") else ""
            denied = {(wanted.get("verb"), resource, n) for n in ("", wanted.get("namespace") or "")} & self._denied
            answer["status"] = {"allowed": not denied, **({"reason": ""} if denied else {})}
        return aiohttp.web.json_response(answer, status=201)

    # GAP 12, as described above.

    def _dry_run(self, resource, namespace: str | None, stored: dict, created: bool) -> Any:
        """GAP 15, as described above."""
        if namespace and resource.plural != "namespaces" and not self._namespace(namespace):
            raise KubernetesError(
                status=404, reason="NotFound", message=f'namespaces "{namespace}" not found',
                details={"name": namespace, "kind": "namespaces"},
            )  # fmt: skip
        return aiohttp.web.json_response(stored, status=201 if created else 200)

    def _namespace(self, name: str) -> bool:
        return any(
            key[0].plural == "namespaces" and key[2] == name and not obj.deleted for key, obj in self.objects.items()
        )

    def _account(self, namespace: str, name: str) -> dict | None:
        key = (kmock.resource(group="", version="v1", plural="serviceaccounts"), namespace, name)
        return self.objects[key].raw if key in self.objects and not self.objects[key].deleted else None

    def _token_request(self, namespace: str, name: str, body: dict) -> Any:
        account = self._account(namespace, name)
        if account is None:
            raise KubernetesError(
                status=404, reason="NotFound", message=f'serviceaccounts "{name}" not found',
                details={"name": name, "kind": "serviceaccounts"},
            )  # fmt: skip
        seconds = int((body.get("spec") or {}).get("expirationSeconds") or 3600)
        if self.max_token_seconds:
            seconds = min(seconds, self.max_token_seconds)
        now = int(datetime.datetime.now(datetime.UTC).timestamp())
        uid = account["metadata"]["uid"]
        claims = {
            "aud": ["https://kubernetes.default.svc.cluster.local"],
            "exp": now + seconds,
            "iat": now,
            "nbf": now,
            "iss": "https://kubernetes.default.svc.cluster.local",
            "jti": str(uuid.uuid4()),
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}},
            "sub": f"system:serviceaccount:{namespace}:{name}",
        }
        header = {"alg": "RS256", "kid": "emulated"}
        token = ".".join(_b64(json.dumps(part).encode()) for part in (header, claims)) + "." + _b64(uuid.uuid4().bytes)
        self._tokens[token] = claims
        expires = datetime.datetime.fromtimestamp(now + seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        answer = {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
            "spec": {"audiences": claims["aud"], "expirationSeconds": seconds, "boundObjectRef": None},
            "status": {"token": token, "expirationTimestamp": expires},
        }
        return aiohttp.web.json_response(answer, status=201)

    def _authorize(self, claims: dict, method: str, path: str) -> None:
        namespace = claims["kubernetes.io"]["namespace"]
        name = claims["kubernetes.io"]["serviceaccount"]["name"]
        account = self._account(namespace, name)
        expired = claims["exp"] <= datetime.datetime.now(datetime.UTC).timestamp()
        if account is None or account["metadata"]["uid"] != claims["kubernetes.io"]["serviceaccount"]["uid"] or expired:
            raise _unauthorized()
        if path in ("/version", "/api", "/apis", "/api/v1") or (path.startswith("/apis/") and path.count("/") <= 3):
            return  # discovery: every authenticated user may
        match = _NAMESPACED.match(path)
        if match and match.group(1) == namespace:
            return
        resource = match.group(2) if match else path.rstrip("/").rsplit("/", 1)[-1]
        verb = {"GET": "list", "POST": "create", "DELETE": "delete", "PATCH": "patch", "PUT": "update"}[method]
        where = f' in the namespace "{match.group(1)}"' if match else " at the cluster scope"
        raise KubernetesError(
            status=403, reason="Forbidden",
            message=f'{resource} is forbidden: User "{claims["sub"]}" cannot {verb} resource "{resource}" in API '
            f'group ""{where}',
            details={"kind": resource},
        )  # fmt: skip

    async def _serve_list(self, request: kmock.Request) -> Any:
        result = await super()._serve_list(request)
        items = result["items"]
        # GAP 4 (selectors): kmock ignores labelSelector and fieldSelector and returns everything.
        if selector := request.params.get("labelSelector"):
            items = [o for o in items if _label_selector_matches(selector, o.get("metadata", {}).get("labels") or {})]
        if selector := request.params.get("fieldSelector"):
            items = [o for o in items if _field_selector_matches(selector, o)]
        # GAP 16 (list items): kmock returns each item as stored, with its apiVersion and kind; a
        # real server's list items carry neither (the list's kind says what they are). Code that
        # read them from an item worked here and not on a real server (apply's --diff did).
        items = [{k: v for k, v in item.items() if k not in ("apiVersion", "kind")} for item in items]
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

    # Seeding goes through the HTTP API, exactly as a client would create the objects. The
    # server assigns each object its own uid (GAP 9); an Event seeded after its object is
    # re-pointed to that uid, as the kubelet's events carry the uid of the pod it runs.
    def seed(self, *objects: dict[str, Any]) -> None:
        assigned: dict[str, str] = {}
        for given in objects:
            obj = given
            if obj.get("kind") == "Event":
                involved = obj.get("involvedObject") or {}
                if involved.get("uid") in assigned:
                    obj = {**obj, "involvedObject": {**involved, "uid": assigned[involved["uid"]]}}
            stored = self.request("POST", collection_path(obj), obj)
            old_uid = (obj.get("metadata") or {}).get("uid")
            if old_uid and isinstance(stored, dict):
                assigned[old_uid] = stored["metadata"]["uid"]

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def max_token_expiration(self, seconds: int | None) -> None:
        """Emulate kube-apiserver --service-account-max-token-expiration (GAP 12)."""
        assert self.emulator is not None
        self.emulator.max_token_seconds = seconds

    def deny(self, verb: str, resource: str, namespace: str = "") -> None:
        """The caller may not: access reviews for this right answer allowed false (GAP 14)."""
        assert self.emulator is not None
        self.emulator.deny(verb, resource, namespace)

    def refuse(self, method: str, path: str, status: dict, times: int | None = None) -> None:
        """Answer `method path` with this Status (api_status), `times` times or from now on, and
        change nothing (GAP 13)."""
        assert self.emulator is not None
        error = KubernetesError(
            status=status["code"], reason=status["reason"], message=status["message"], details=status.get("details")
        )
        self.emulator.refuse(method, path, error, times)

    def requests_made(self) -> int:
        assert self.emulator is not None
        return len(self.emulator._requests)


def api_status(code: int, reason: str, message: str, details: dict | None = None) -> dict[str, Any]:
    """The Status object an API server answers a refused request with (for kmock reactions):
    `details` names the object and, for 422 Invalid, its `causes` (reason, message, field)."""
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "reason": reason,
        "code": code,
        "message": message,
    }
    if details:
        status["details"] = details
    return status


REFUSED_BY_WEBHOOK = api_status(
    422, "Invalid", 'admission webhook "quota.example.com" denied the request: exceeded quota'
)
UNAVAILABLE = api_status(503, "ServiceUnavailable", "the server is currently unable to handle the request")
# Exactly as kube-apiserver 1.36.3 refused a server-side apply of a container port 99999
# (captured with the real-cluster tier's control plane): 422 Invalid, the field in details.causes.
INVALID_PORT = api_status(
    422,
    "Invalid",
    'Deployment.apps "metrics-exporter" is invalid: spec.template.spec.containers[0].ports[0].containerPort: '
    "Invalid value: 99999: must be between 1 and 65535, inclusive",
    {
        "name": "metrics-exporter",
        "group": "apps",
        "kind": "Deployment",
        "causes": [
            {
                "reason": "FieldValueInvalid",
                "message": "Invalid value: 99999: must be between 1 and 65535, inclusive",
                "field": "spec.template.spec.containers[0].ports[0].containerPort",
            }
        ],
    },
)


def collection_path(obj: dict[str, Any]) -> str:
    """The URL a create of `obj` goes to, e.g. /apis/apps/v1/namespaces/user01/deployments."""
    group_version = obj["apiVersion"]
    plural = next(p for gv, p, kind, _namespaced in RESOURCES if gv == group_version and kind == obj["kind"])
    namespace = obj.get("metadata", {}).get("namespace")
    prefix = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    return f"{prefix}/namespaces/{namespace}/{plural}" if namespace else f"{prefix}/{plural}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
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
