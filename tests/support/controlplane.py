"""A real Kubernetes control plane on 127.0.0.1 for the real-cluster tier.

Upstream kube-apiserver and kube-controller-manager (built by `make cluster-tools` from the
Go module proxy, tests/cluster/controlplane/) on Debian's etcd, with x509 PKI made here, RBAC
and the default admission chain (PodSecurity, ResourceQuota, LimitRanger, ...) as in any
cluster. There is no scheduler, kubelet or container runtime; `FakeKubelet` does the three
things a kubelet would that the lab's lifecycle needs, and nothing else:

- binds each Pending pod to a fake node (round robin; no resource fit: the API's quota and
  admission already ran when the pod was created);
- once, marks a bound pod Running with every container running and ready and every init
  container completed, as a kubelet reports a healthy start. A pod whose status someone else
  wrote (a test injecting a failure) is never touched again;
- force-deletes a bound pod that is being deleted, as a kubelet does once its containers
  exit, so rollouts and namespace deletion finish.

Nothing here is copied from elsewhere; it uses only the standard library and `cryptography`
(already installed with ansible-core), so it runs from the project's .venv.

    python -m tests.support.controlplane start --workdir build/controlplane/a   # prints the kubeconfig
    python -m tests.support.controlplane stop --workdir build/controlplane/a
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import ipaddress
import itertools
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.node import RealNode

REPO = Path(__file__).resolve().parents[2]
DEFAULT_VERSION = "v1.36.3"
NODES = ("mlopslab-node-a", "mlopslab-node-b")
NODE_CAPACITY = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}
# A /16: a cohort needs three ClusterIPs per student (a /24 is full at 84 students).
SERVICE_CIDR = "10.96.0.0/16"


def binaries(version: str) -> Path:
    return REPO / ".cache" / "controlplane" / version / "bin"


def _own_proc() -> bool:
    """Whether /proc shows this process's pid namespace (`/proc/self` is our own pid)."""
    try:
        return os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- PKI
def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(directory: Path, name: str, private) -> None:
    path = directory / f"{name}.key"
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)


def _name(common, org=None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def issue(directory: Path, file: str, common: str, org: str | None = None, server: bool = False, sans=()) -> None:
    """<file>.crt/.key signed by the CA in `directory`: a client cert, or a serving cert for
    localhost, 127.0.0.1 and `sans` (IP addresses or DNS names)."""
    now = datetime.datetime.now(datetime.UTC)
    ca = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
    ca_key = load_pem_private_key((directory / "ca.key").read_bytes(), None)
    private = _key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common, org))
        .issuer_name(ca.subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    )
    if server:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        for san in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                names.append(x509.DNSName(san))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    _write_key(directory, file, private)
    cert = builder.sign(ca_key, hashes.SHA256())
    (directory / f"{file}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _pki(directory: Path) -> None:
    """A CA, the apiserver's serving cert, client certs, and the ServiceAccount signing key."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = _key()
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("mlopslab-test-ca"))
        .issuer_name(_name("mlopslab-test-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )  # digitalSignature, keyCertSign, cRLSign
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(directory, "ca", ca_key)
    (directory / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    service_ip = str(next(ipaddress.ip_network(SERVICE_CIDR).hosts()))
    issue(directory, "apiserver", "kube-apiserver", server=True, sans=("kubernetes.default.svc", service_ip))
    issue(directory, "admin", "mlopslab-test-admin", "system:masters")
    issue(directory, "controller-manager", "system:kube-controller-manager")
    # The API server's client certificate towards kubelets (logs, port-forward).
    issue(directory, "apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters")
    _write_key(directory, "sa", _key())
    sa = load_pem_private_key((directory / "sa.key").read_bytes(), None)
    (directory / "sa.pub").write_bytes(
        sa.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _kubeconfig(path: Path, server: str, pki: Path, user: str, context: str) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server, "certificate-authority": str(pki / "ca.crt")}}],
        "users": [
            {
                "name": f"{context}-{user}",
                "user": {
                    "client-certificate": str(pki / f"{user}.crt"),
                    "client-key": str(pki / f"{user}.key"),
                },
            }
        ],
        "contexts": [{"name": context, "context": {"cluster": context, "user": f"{context}-{user}"}}],
        "current-context": context,
    }
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML: no PyYAML needed here
    path.chmod(0o600)


# ---------------------------------------------------------------- HTTP as the admin
def _body(raw: bytes):
    """JSON, or plain text (/readyz answers `ok`) as {"message": text}."""
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return {"message": raw.decode(errors="replace")}


class Api:
    """JSON over HTTPS with the admin's client certificate; no client library needed."""

    def __init__(self, server: str, pki: Path) -> None:
        self.server = server
        self._ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self._ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))

    def call(self, method, path, body=None, content_type="application/json", timeout=10):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.server + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, context=self._ctx, timeout=timeout) as response:
                return response.status, _body(response.read())
        except urllib.error.HTTPError as err:
            return err.code, _body(err.read())


# ---------------------------------------------------------------- the fake kubelet
def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def running_status(pod: dict, pod_ip: str, host_ip: str) -> dict:
    """The status a kubelet reports for a pod whose containers all started and passed their probes."""
    now = _now()
    spec = pod.get("spec") or {}

    def container(c, init=False):
        base = {"name": c["name"], "image": c.get("image", ""), "imageID": "", "restartCount": 0}
        if init:
            state = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}}
            return {**base, "ready": True, "started": False, "state": state, "lastState": {}}
        return {**base, "ready": True, "started": True, "state": {"running": {"startedAt": now}}, "lastState": {}}

    conditions = [
        {"type": t, "status": "True", "lastTransitionTime": now}
        for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
    ]
    status = {
        "phase": "Running",
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": now,
        "containerStatuses": [container(c) for c in spec.get("containers") or []],
    }
    if spec.get("initContainers"):
        status["initContainerStatuses"] = [container(c, init=True) for c in spec["initContainers"]]
    return status


class FakeKubelet:
    """Binds, starts once, and reaps pods on the fake nodes (see the module's docstring)."""

    def __init__(self, api: Api, nodes=NODES, interval: float = 0.3) -> None:
        self.api = api
        self.nodes = list(nodes)
        self.interval = interval
        self._next_node = itertools.cycle(self.nodes)
        self._ips = (f"10.244.{i // 250}.{i % 250 + 2}" for i in itertools.count())
        self._started: set[str] = set()  # uids this kubelet marked Running: never again

    def step(self) -> None:
        status, pods = self.api.call("GET", "/api/v1/pods")
        if status != 200:
            return
        for pod in pods.get("items") or []:
            meta, spec = pod["metadata"], pod.get("spec") or {}
            path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
            node = spec.get("nodeName")
            if meta.get("deletionTimestamp"):
                if node in self.nodes:  # the containers "exited": the kubelet confirms the deletion
                    self.api.call(
                        "DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0}
                    )
                continue
            if not node:
                node = next(self._next_node)
                binding = {
                    "apiVersion": "v1",
                    "kind": "Binding",
                    "metadata": {"name": meta["name"]},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": node},
                }
                if self.api.call("POST", path + "/binding", binding)[0] not in (200, 201):
                    continue
            if node not in self.nodes or meta["uid"] in self._started:
                continue
            current = pod.get("status") or {}
            # Someone else wrote this pod's status (a test injecting a failure): leave it alone.
            if current.get("phase") not in (None, "Pending") or current.get("containerStatuses"):
                self._started.add(meta["uid"])
                continue
            host_ip = f"10.255.0.{self.nodes.index(node) + 1}"
            patch = {"status": running_status(pod, next(self._ips), host_ip)}
            if self.api.call("PATCH", path + "/status", patch, "application/merge-patch+json")[0] == 200:
                self._started.add(meta["uid"])

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):  # the API restarting: try again on the next round
                self.step()
            stop.wait(self.interval)


def register_nodes(api: Api, nodes=NODES) -> None:
    now = _now()
    for index, name in enumerate(nodes, start=1):
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
        }
        api.call("POST", "/api/v1/nodes", node)
        status = {
            "status": {
                "capacity": NODE_CAPACITY,
                "allocatable": NODE_CAPACITY,
                "addresses": [{"type": "InternalIP", "address": f"10.255.0.{index}"}],
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "message": "fake kubelet of the mlopslab test tier",
                        "lastHeartbeatTime": now,
                        "lastTransitionTime": now,
                    }
                ],
                "nodeInfo": {"kubeletVersion": "v0.0.0-fake", "operatingSystem": "linux", "architecture": "amd64"},
            }
        }
        api.call("PATCH", f"/api/v1/nodes/{name}/status", status, "application/merge-patch+json")
        # Admission (TaintNodesByCondition) taints a new node not-ready; the node-lifecycle
        # controller, which is off here (no heartbeats), would lift it once the node is Ready.
        api.call("PATCH", f"/api/v1/nodes/{name}", {"spec": {"taints": None}}, "application/merge-patch+json")


# ---------------------------------------------------------------- processes
class ControlPlane:
    """One instance: etcd, kube-apiserver, kube-controller-manager and the fake kubelet."""

    def __init__(self, workdir: Path, version: str = DEFAULT_VERSION) -> None:
        self.workdir = Path(workdir).resolve()
        self.version = version
        self.pki = self.workdir / "pki"
        self.logs = self.workdir / "logs"
        self.kubeconfig = self.workdir / "kubeconfig"
        self.state = self.workdir / "instance.json"
        # The processes this object started: while it waits for them, their own exit status is
        # the truth, whatever /proc shows.
        self._children: dict[str, subprocess.Popen] = {}
        self._started = time.monotonic()

    def _spawn(self, name: str, argv: list[str]) -> int:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it open
        env = {**os.environ, "PYTHONPATH": str(REPO)}  # the fake kubelet is this module
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.workdir, env=env
        )
        self._children[name] = proc
        (self.workdir / "run" / f"{name}.pid").write_text(str(proc.pid))
        return proc.pid

    def _controller_flag(self) -> str:
        # The node-lifecycle controller would mark the fake nodes NotReady (no heartbeats) and
        # evict every pod; its name changed in 1.28.
        minor = int(self.version.split(".")[1])
        return "*,-node-lifecycle-controller" if minor >= 28 else "*,-nodelifecycle"

    def start(self, fresh: bool = False, node: str = "fake") -> Path:
        """Start (or find running) and return the admin kubeconfig. node="fake": two Node objects
        and the fake kubelet; node="real": a real kubelet, containerd, kube-proxy and
        kube-scheduler (tests/support/node.py)."""
        if self.running():
            return self.kubeconfig
        bins = binaries(self.version)
        for tool in ("kube-apiserver", "kube-controller-manager"):
            if not (bins / tool).exists():
                raise SystemExit(f"controlplane: {bins / tool} is missing: run `make cluster-tools` first")
        etcd = shutil.which("etcd")
        if not etcd:
            raise SystemExit("controlplane: etcd is missing: run `make cluster-tools` (apt-get install etcd-server)")
        if fresh and self.workdir.exists():
            shutil.rmtree(self.workdir)
        for sub in ("logs", "run", "etcd"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        if not (self.pki / "ca.crt").exists():
            _pki(self.pki)
        if not (self.pki / "apiserver-kubelet-client.crt").exists():  # a PKI made before real nodes
            issue(self.pki, "apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters")
        self._started = time.monotonic()
        ports = {k: free_port() for k in ("api", "etcd", "peer", "kcm")}
        server = f"https://127.0.0.1:{ports['api']}"
        _kubeconfig(self.kubeconfig, server, self.pki, "admin", f"mlopslab-{self.workdir.name}")
        kcm_config = self.workdir / "controller-manager.kubeconfig"
        _kubeconfig(kcm_config, server, self.pki, "controller-manager", f"mlopslab-{self.workdir.name}")
        self.state.write_text(json.dumps({"version": self.version, "ports": ports, "server": server, "node": node}))

        self._spawn(
            "etcd",
            [
                etcd,
                "--name=mlopslab",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{ports['etcd']}",
                f"--advertise-client-urls=http://127.0.0.1:{ports['etcd']}",
                f"--listen-peer-urls=http://127.0.0.1:{ports['peer']}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{ports['peer']}",
                f"--initial-cluster=mlopslab=http://127.0.0.1:{ports['peer']}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        pki = self.pki
        self._spawn(
            "kube-apiserver",
            [
                str(bins / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{ports['etcd']}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={ports['api']}",
                f"--cert-dir={self.workdir / 'run'}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc",
                # As managed clusters cap them: students' tokens get 30 days, not the 16 weeks asked.
                "--service-account-max-token-expiration=720h",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=false",
                "--profiling=false",
                "--endpoint-reconciler-type=none",  # 127.0.0.1 is no address for a Service endpoint
                # Towards a real node's kubelet (logs, port-forward): the node's own address first.
                f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
                "--kubelet-preferred-address-types=InternalIP,Hostname",
            ],
        )
        api = Api(server, pki)
        self._wait(lambda: api.call("GET", "/readyz", timeout=2)[0] == 200, 60, "kube-apiserver /readyz")
        self._spawn(
            "kube-controller-manager",
            [
                str(bins / "kube-controller-manager"),
                f"--kubeconfig={kcm_config}",
                f"--authentication-kubeconfig={kcm_config}",
                f"--authorization-kubeconfig={kcm_config}",
                "--bind-address=127.0.0.1",
                f"--secure-port={ports['kcm']}",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                "--use-service-account-credentials=true",
                "--leader-elect=false",
                f"--controllers={self._controller_flag()}",
                "--profiling=false",
            ],
        )
        self._wait(
            lambda: api.call("GET", "/api/v1/namespaces/default/serviceaccounts/default", timeout=2)[0] == 200,
            60,
            "the default ServiceAccount (the controllers at work)",
        )
        if node == "real":
            real = RealNode(self.workdir, server, pki, bins, self._spawn, self._wait)
            real.start(
                free_port,
                lambda path, user: _kubeconfig(path, server, pki, user, f"mlopslab-{self.workdir.name}"),
                api,
            )
            real.images()
            return self.kubeconfig
        register_nodes(api)
        self._spawn("fake-kubelet", [sys.executable, "-m", "tests.support.controlplane", "kubelet", str(self.workdir)])
        return self.kubeconfig

    def _wait(self, ready, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        exited: dict[str, int] = {}
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except OSError:
                pass
            exited = {name: proc.returncode for name, proc in self._children.items() if proc.poll() is not None}
            if exited:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - self._started
        self.stop()
        if exited:
            why = "; ".join(f"{name} exited with {code}" for name, code in sorted(exited.items()))
            headline = f"controlplane: {what} not ready: {why}, {elapsed:.1f} s after the start"
        else:
            headline = f"controlplane: {what} not ready within {seconds:.0f} s (all processes running)"
        tails = "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted(self.logs.glob("*.log")))
        raise SystemExit(f"{headline}\n{tails}")

    def _pids(self) -> dict[str, int]:
        run = self.workdir / "run"
        return {p.stem: int(p.read_text()) for p in run.glob("*.pid")} if run.exists() else {}

    def _alive(self, pid: int) -> bool:
        # A recorded pid counts only while its command line still names this instance or its
        # binaries: a recycled pid of another program is never signalled. That check needs a
        # /proc of our own pid namespace; a sandbox that unshares the pid namespace without
        # mounting a new /proc (CI's, seen: every process looked dead at once) shows another
        # namespace's pids there, and then only the signal test is left.
        if not _own_proc():
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return False
        return str(self.workdir) in cmdline or str(binaries(self.version)) in cmdline

    def running(self) -> bool:
        pids = self._pids()
        return bool(pids) and all(self._alive(pid) for pid in pids.values())

    def stop(self) -> None:
        order = ("fake-kubelet", "kube-controller-manager", "kube-apiserver", "etcd")
        pids = self._pids()
        if (self.workdir / "node").exists():  # a real node: its pods and processes go first
            RealNode(self.workdir, "", self.pki, binaries(self.version), self._spawn, self._wait).stop(
                pids, self._alive
            )
            (self.workdir / "run" / "node.pid").unlink(missing_ok=True)
            pids.pop("node", None)
        for name in sorted(pids, key=lambda n: order.index(n) if n in order else -1):
            pid = pids[name]
            if self._alive(pid):
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 15
                while self._alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
                if self._alive(pid):
                    os.kill(pid, signal.SIGKILL)
            (self.workdir / "run" / f"{name}.pid").unlink(missing_ok=True)


def _run_kubelet(workdir: Path) -> None:
    state = json.loads((workdir / "instance.json").read_text())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    FakeKubelet(Api(state["server"], workdir / "pki")).run(stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start (or find running) and print the admin kubeconfig's path")
    start.add_argument("--workdir", type=Path, required=True)
    start.add_argument("--version", default=os.environ.get("MLOPSLAB_CONTROLPLANE_VERSION", DEFAULT_VERSION))
    start.add_argument("--fresh", action="store_true", help="empty etcd and new PKI")
    start.add_argument("--node", choices=("fake", "real"), default="fake", help="the fake kubelet, or a real node")
    stop = sub.add_parser("stop")
    stop.add_argument("--workdir", type=Path, required=True)
    kubelet = sub.add_parser("kubelet", help=argparse.SUPPRESS)
    kubelet.add_argument("workdir", type=Path)
    args = parser.parse_args()
    if args.command == "start":
        print(ControlPlane(args.workdir, args.version).start(fresh=args.fresh, node=args.node))
    elif args.command == "stop":
        state = args.workdir / "instance.json"
        version = json.loads(state.read_text())["version"] if state.exists() else DEFAULT_VERSION
        ControlPlane(args.workdir, version).stop()
    else:
        _run_kubelet(args.workdir.resolve())


if __name__ == "__main__":
    main()
