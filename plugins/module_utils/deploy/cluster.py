# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy pipeline's requests to one cluster: one client, one discovery, for the whole run
(the I/O of module_utils/deploy/pipeline.py; every decision over what comes back is a pure
function elsewhere).

Cluster-wide reads keep only the fields their decision needs, here, where they are read: another
tenant's Pods (their environment, their commands) and Namespaces (their annotations) never leave
this file, so they reach no task result, log or AWX job record."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.mlopslab.monitoring.plugins.module_utils.access import held as held_secrets
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import rights as rights_table
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.lab_io import KubeApi
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy import applyset, capacity, lease
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.apply import (
    REQUEST_TIMEOUT,
    apply_body,
    apply_objects,
    reason,
)
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.errors import Refused, Unreachable

WORKERS = 8
REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
# SelfSubjectReview: GA in 1.28, beta from 1.27, alpha before (not served by default).
WHO = ("/apis/authentication.k8s.io/v1/selfsubjectreviews", "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews")
# Where each kind a lab renders is listed (prune reads the members of the students' sets).
PATHS = {
    "ConfigMap": "/api/v1/configmaps",
    "Deployment.apps": "/apis/apps/v1/deployments",
    "Ingress.networking.k8s.io": "/apis/networking.k8s.io/v1/ingresses",
    "LimitRange": "/api/v1/limitranges",
    "NetworkPolicy.networking.k8s.io": "/apis/networking.k8s.io/v1/networkpolicies",
    "ResourceQuota": "/api/v1/resourcequotas",
    "Role.rbac.authorization.k8s.io": "/apis/rbac.authorization.k8s.io/v1/roles",
    "RoleBinding.rbac.authorization.k8s.io": "/apis/rbac.authorization.k8s.io/v1/rolebindings",
    "Secret": "/api/v1/secrets",
    "Service": "/api/v1/services",
    "ServiceAccount": "/api/v1/serviceaccounts",
}
API_VERSIONS = {
    "Deployment.apps": "apps/v1",
    "Ingress.networking.k8s.io": "networking.k8s.io/v1",
    "NetworkPolicy.networking.k8s.io": "networking.k8s.io/v1",
    "Role.rbac.authorization.k8s.io": "rbac.authorization.k8s.io/v1",
    "RoleBinding.rbac.authorization.k8s.io": "rbac.authorization.k8s.io/v1",
}


def _why(status: int, answer: dict) -> str:
    return f"HTTP {status}: {answer.get('message') or answer.get('reason') or 'no reason given'}"


def object_path(obj: dict) -> str:
    """The API path of one object (the kinds deploy writes)."""
    meta = obj.get("metadata") or {}
    api_version = obj.get("apiVersion") or "v1"
    base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    plural = {"Lease": "leases", "Secret": "secrets", "Namespace": "namespaces"}.get(obj.get("kind"))
    if plural is None:
        plural = PATHS[applyset.group_kind(obj)].rsplit("/", 1)[-1]
    where = f"/namespaces/{meta['namespace']}" if meta.get("namespace") else ""
    return f"{base}{where}/{plural}"


class Cluster:
    """One cluster of the cohort (validate_settings' group: name, kubeconfig, context, students,
    namespaces, api_server), connected once."""

    def __init__(self, entry: dict, timeout: float = 10) -> None:
        self.entry = entry
        self.name = entry["name"]
        self.students = dict(zip(entry["students"], entry["namespaces"], strict=True))
        self.timeout = timeout
        self.svc = None
        self.kube: KubeApi | None = None

    # ------------------------------------------------------------ connection and preflight reads
    def connect(self, get_api_client) -> None:
        """One client for the run (kubernetes.core's, so every connection option and K8S_AUTH_*
        variable behaves as in its modules). Unreachable with why."""
        auth = {k: self.entry.get(k) or None for k in ("kubeconfig", "context")}
        try:
            self.svc = get_api_client(**auth)
            self.kube = KubeApi(self.svc.client.client, self.timeout)
        except Refused:  # not the cluster's fault (no kubernetes client): said as it is
            raise
        except Exception as err:  # an unreadable kubeconfig, an unknown context
            raise Unreachable(str(err) or type(err).__name__) from err

    def call(self, method: str, path: str, query: dict | None = None, body: dict | None = None,
             content_type: str = "application/json") -> tuple[int, dict]:  # fmt: skip
        try:
            return self.kube.call(method, path, query, body, content_type)
        except Exception as err:  # connection refused, TLS, a timeout: the API did not answer
            raise Unreachable(str(err) or type(err).__name__) from err

    def get(self, path: str, query: dict | None = None) -> dict:
        status, answer = self.call("GET", path, query)
        if status >= 400:
            raise Unreachable(f"{path}: {_why(status, answer)}")
        return answer

    def version(self) -> tuple[str, set[str]]:
        """(the server's gitVersion, the API group versions it serves)."""
        version = self.get("/version").get("gitVersion") or ""
        groups = self.get("/apis").get("groups") or []
        return version, {v.get("groupVersion") for g in groups for v in g.get("versions") or []}

    def rights(self, playbook: str, namespace: str, **settings) -> dict:
        """instructor_rights_info's answer (user, missing, unchecked), asked here."""
        needed = rights_table.needed(playbook, **settings)

        def one(r):
            try:
                status, answer = self.call("POST", REVIEWS, body=rights_table.review(r, namespace))
            except Unreachable:
                return None  # no answer: missing (judge), never allowed
            return answer.get("status") if status < 300 else None

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            judged = rights_table.judge(needed, list(pool.map(one, needed)))
        user = ""
        for path in WHO:
            group_version = "/".join(path.split("/")[2:4])
            try:
                review = {"apiVersion": group_version, "kind": "SelfSubjectReview"}
                status, answer = self.call("POST", path, body=review)
            except Unreachable:
                continue
            if status < 300:
                user = ((answer.get("status") or {}).get("userInfo") or {}).get("username") or ""
                break
        return {"user": user, "missing": judged["missing"], "unchecked": judged["unchecked"]}

    def namespaces(self) -> list[dict]:
        """Every Namespace of the cluster, as the ownership and same-cluster checks need them:
        name, uid, labels."""
        items = self.get("/api/v1/namespaces").get("items") or []
        return [
            {
                "metadata": {k: (i.get("metadata") or {}).get(k) for k in ("name", "uid", "labels")},
                "status": {"phase": (i.get("status") or {}).get("phase")},
            }
            for i in items
        ]

    def gone(self, path: str, seconds: float) -> bool:
        """Wait until the object at ``path`` is gone (a namespace being deleted empties first)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            status, _answer = self.call("GET", path)
            if status == 404:
                return True
            time.sleep(0.5)
        return False

    def held(self, cohort: str) -> tuple[dict, dict, dict]:
        """(passwords, errors, unusable) of the students' Grafana Secrets."""
        return held_secrets.read_held(self.call, self.students, cohort, WORKERS)

    def capacity_inputs(self) -> tuple[list[dict], list[dict]]:
        """(Nodes, Pods that hold resources), each cut to what the scheduler counts (capacity.py)."""
        nodes = self.get("/api/v1/nodes").get("items") or []
        pods = self.get("/api/v1/pods", {"fieldSelector": "status.phase!=Succeeded,status.phase!=Failed"})
        return [capacity.node_usage(n) for n in nodes], [capacity.pod_usage(p) for p in pods.get("items") or []]

    # ------------------------------------------------------------ writes
    def create(self, obj: dict, dry_run: bool = False) -> tuple[int, dict]:
        """POST: 201 created, 409 when it exists already (never overwritten)."""
        query = {"fieldManager": "mlopslab", **({"dryRun": "All"} if dry_run else {})}
        return self.call("POST", object_path(obj), query, obj)

    def apply(self, definitions: list[dict], field_manager: str, selectors: list[str], dry_run: bool,
              diff: bool, listed: tuple[list[dict], set] | None = None) -> list[dict]:  # fmt: skip
        results, _requests = apply_objects(self.svc, definitions, field_manager, True, selectors, WORKERS,
                                           dry_run=dry_run, diff=diff, listed=listed)  # fmt: skip
        return results

    def dry_run(self, definitions: list[dict], field_manager: str) -> list[tuple[dict, str]]:
        """The objects the server refuses in a dry run of their apply, with its words."""

        def one(obj):
            try:
                resource = self.svc.resource(obj["kind"], obj["apiVersion"])
                meta = obj["metadata"]
                self.svc.client.server_side_apply(
                    resource, body=apply_body(obj), name=meta["name"], namespace=meta.get("namespace"),
                    field_manager=field_manager, force_conflicts=True, dry_run="All", _request_timeout=REQUEST_TIMEOUT,
                )  # fmt: skip
            except Exception as err:
                return obj, reason(err)
            return None

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            return [r for r in pool.map(one, definitions) if r]

    def delete(self, obj: dict, dry_run: bool = False) -> str:
        """Delete one object; '' when done (or already gone), else why."""
        path = f"{object_path(obj)}/{obj['metadata']['name']}"
        status, answer = self.call("DELETE", path, {"dryRun": "All"} if dry_run else None)
        return "" if status < 300 or status == 404 else _why(status, answer)

    def members(self, contains: set[str], selector: str) -> tuple[list[dict], set[tuple[str, str]], list[str]]:
        """The cohort's objects of the given kinds and its Namespaces (one label-selected list per
        kind), each with its apiVersion and kind (a list's items carry neither on a real server);
        the (apiVersion, kind) listed; the kinds that could not be listed, with why."""
        found, listed, errors = [], set(), []
        for group_kind in ["Namespace", *sorted(k for k in contains if k in PATHS)]:
            path = "/api/v1/namespaces" if group_kind == "Namespace" else PATHS[group_kind]
            items, why = self._list(path, selector, namespaced=group_kind != "Namespace")
            if why:
                errors.append(f"{group_kind}: {why}")
                continue
            kind = group_kind.split(".")[0]
            api_version = API_VERSIONS.get(group_kind, "v1")
            listed.add((api_version, kind))
            found += [{**i, "apiVersion": api_version, "kind": kind} for i in items]
        return found, listed, errors

    def _list(self, path: str, selector: str, namespaced: bool) -> tuple[list[dict], str]:
        """One label-selected list across the cluster, or, for an instructor bound in the students'
        namespaces only (403 across the cluster), one in each student's namespace."""
        status, answer = self.call("GET", path, {"labelSelector": selector})
        if status < 400:
            return answer.get("items") or [], ""
        if status != 403 or not namespaced:
            return [], _why(status, answer)
        group, _sep, plural = path.rpartition("/")
        items = []
        for namespace in self.students.values():
            status, answer = self.call("GET", f"{group}/namespaces/{namespace}/{plural}", {"labelSelector": selector})
            if status >= 400:
                return [], _why(status, answer)
            items += answer.get("items") or []
        return items, ""

    def list_json(self, path: str, query: dict) -> list[dict]:
        """For the waiter: OSError when the list fails (it retries until its deadline)."""
        try:
            status, answer = self.call("GET", path, query)
        except Unreachable as err:
            raise OSError(str(err)) from err
        if status >= 400:
            raise OSError(f"HTTP {status} from {path}: {json.dumps(answer)[:300]}")
        return answer.get("items") or []


class Hold:
    """This run's Leases on one cluster's students: taken in one order (so two runs over the same
    students never each hold a part and wait for the other), renewed by a thread while the run
    lives, let go at the end. ``lost`` names the students another run took over."""

    def __init__(self, cluster: Cluster, identity: str, who: str, labels_of, clock=time.time) -> None:
        self.cluster = cluster
        self.identity = identity
        self.who = who
        self.labels_of = labels_of
        self.clock = clock
        self.held: dict[str, dict] = {}  # namespace -> our Lease as last written
        self.lost: dict[str, str] = {}  # namespace -> who took it
        self.unreleased: dict[str, str] = {}  # namespace -> why its Lease could not be deleted
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _path(self, namespace: str, name: str = "") -> str:
        return lease.LEASES.format(namespace=namespace) + (f"/{name}" if name else "")

    def _write(self, namespace: str, body: dict) -> tuple[int, dict]:
        """A merge patch carrying the resourceVersion read: the server applies it only over that
        version (409 Conflict otherwise), so of two runs writing one Lease, one wins."""
        return self.cluster.call("PATCH", self._path(namespace, lease.NAME), body=body,
                                 content_type="application/merge-patch+json")  # fmt: skip

    def take(self, takeover: bool, skip_missing: bool = False, only: set[str] | None = None) -> dict[str, dict]:
        """Take every student's hold; stop at one held by a live run (unless ``takeover``).
        Returns the Lease that refused us (namespace -> Lease, the first in namespace order); on a
        refusal, what was taken is let go. The first namespace in order is taken alone, then the
        rest 8 at a time: of two runs over the same students, the one refused at the first takes
        nothing, and none ever waits for another (a refusal lets go at once), so no order of the
        rest can deadlock. ``skip_missing``: a namespace that does not exist has nothing to hold
        (access, teardown); ``only``: these namespaces only."""
        wanted = [n for n in sorted(self.cluster.students.values()) if only is None or n in only]

        def one(namespace):
            if skip_missing and self.cluster.call("GET", f"/api/v1/namespaces/{namespace}")[0] == 404:
                return namespace, None
            return namespace, self._take_one(namespace, takeover)

        try:
            answers = [one(n) for n in wanted[:1]]
            if not any(refused for _n, refused in answers):
                with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                    answers += list(pool.map(one, wanted[1:]))
        except Unreachable:
            self.release()
            raise
        refusals = [(namespace, refused) for namespace, refused in answers if refused is not None]
        if refusals:
            self.release()
            return dict(refusals[:1])
        return {}

    def _take_one(self, namespace: str, takeover: bool) -> dict | None:
        now = self.clock()
        labels = self.labels_of(namespace)
        status, answer = self.cluster.call(
            "POST", self._path(namespace), body=lease.body(namespace, labels, self.identity, self.who, now)
        )
        if status in (200, 201):
            self.held[namespace] = answer
            return None
        if status != 409:
            raise Unreachable(f"cannot take the hold of {namespace} (Lease {lease.NAME}): {_why(status, answer)}")
        status, current = self.cluster.call("GET", self._path(namespace, lease.NAME))
        if status != 200:
            raise Unreachable(f"cannot read the hold of {namespace} (Lease {lease.NAME}): {_why(status, current)}")
        if lease.state(current, self.identity, now) == "held" and not takeover:
            return current
        version = (current.get("metadata") or {}).get("resourceVersion")
        mine = lease.body(namespace, labels, self.identity, self.who, now, resource_version=version)
        status, answer = self._write(namespace, mine)
        if status == 409:  # another run wrote it between our read and our write: theirs
            _status, current = self.cluster.call("GET", self._path(namespace, lease.NAME))
            return current
        if status >= 300:
            raise Unreachable(f"cannot take the hold of {namespace} (Lease {lease.NAME}): {_why(status, answer)}")
        self.held[namespace] = answer
        return None

    def check(self) -> None:
        """Read every hold now (8 at a time); one another run has taken is lost (named in ``lost``)."""

        def one(namespace):
            return namespace, self.cluster.call("GET", self._path(namespace, lease.NAME))

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            answers = list(pool.map(one, list(self.held)))
        with self._lock:
            for namespace, (status, current) in answers:
                if namespace in self.held and ((current.get("spec") or {}).get("holderIdentity")) != self.identity:
                    self.lost[namespace] = lease.holder_said(current, self.clock()) if status == 200 else "deleted"
                    del self.held[namespace]

    def renew(self) -> None:
        """Renew every hold once, each a patch over the version this run last wrote (one request);
        a hold another run has taken (or deleted) is lost, named in ``lost``."""
        with self._lock:
            for namespace, mine in list(self.held.items()):
                version = (mine.get("metadata") or {}).get("resourceVersion")
                acquired = lease.parse_time((mine.get("spec") or {}).get("acquireTime"))
                body = lease.body(namespace, self.labels_of(namespace), self.identity, self.who, self.clock(),
                                  acquired=acquired, resource_version=version)  # fmt: skip
                status, answer = self._write(namespace, body)
                if status < 300:
                    self.held[namespace] = answer
                    continue
                if status in (404, 409):
                    status, current = self.cluster.call("GET", self._path(namespace, lease.NAME))
                    self.lost[namespace] = lease.holder_said(current, self.clock()) if status == 200 else "deleted"
                    del self.held[namespace]

    def start(self) -> None:
        def loop():
            while not self._stop.wait(lease.RENEW):
                try:
                    self.renew()
                except Unreachable:
                    continue  # an outage: the next round tries again; the hold may expire meanwhile

        self._thread = threading.Thread(target=loop, name=f"mlopslab-hold-{self.cluster.name}", daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Let every hold go: its Lease deleted, only over the version this run last wrote (a hold
        another run took over stays theirs); 8 at a time, best effort: a hold not let go expires on
        its own."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.cluster.timeout * 2)

        def one(item):
            namespace, mine = item
            with contextlib.suppress(Unreachable):
                version = (mine.get("metadata") or {}).get("resourceVersion")
                if version is None:  # not written by this process (cohort_hold's second task): read it
                    status, mine = self.cluster.call("GET", self._path(namespace, lease.NAME))
                    if status != 200 or (mine.get("spec") or {}).get("holderIdentity") != self.identity:
                        return
                    version = mine["metadata"].get("resourceVersion")
                status, answer = self.cluster.call(
                    "DELETE", self._path(namespace, lease.NAME), body=lease.delete_options(version)
                )
                if status >= 300 and status not in (404, 409):  # 409: taken over, theirs now
                    self.unreleased[namespace] = _why(status, answer)

        with self._lock, ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(one, list(self.held.items())))
            self.held.clear()
