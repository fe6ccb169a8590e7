"""A real node for the real-cluster tier: upstream kubelet, kube-proxy and kube-scheduler of the
control plane's release (built from the same k8s.io/kubernetes module by `make cluster-tools`),
Debian's containerd and runc, and the CNI reference plugins (bridge, host-local, loopback,
portmap). Pods get addresses on a bridge of their own on this machine; no traffic leaves it.

What these machines needed (measured; ../shared/ENVIRONMENT.md, "A real kubelet ran here"):
- cgroups v1: the kubelet refuses them unless failCgroupV1 is false (KEP-5573).
- No CAP_SYS_RESOURCE: every sandbox fails writing /proc/self/oom_score_adj. runc is reached
  through a small wrapper that drops process.oomScoreAdj from the bundle's config.json, and
  only where the capability is missing.
- No registry: images are assembled here (tests/support/images.py) and imported into
  containerd's k8s.io namespace; the pause image is one of them.
- The node's address: the pods' bridge, made with its gateway address before the first pod (a
  loopback node IP is refused; these machines have no dummy interfaces), reachable from the API
  server (logs, port-forward) and from every pod.

Everything lives under <controlplane workdir>/node; stop() leaves no container, mount, cgroup,
network interface, iptables rule or network namespace behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

NODE = "mlopslab-node"
BRIDGE = "mlopslab-br0"
POD_CIDR = "10.244.0.0/24"
# The pods' gateway on the bridge, made before the first pod (no dummy interfaces here): the
# node's address, reachable from the API server on this machine and from every pod.
NODE_IP = "10.244.0.1"
DNS_IP = NODE_IP  # CoreDNS, when the tier runs one, listens on the node's address
CAP_SYS_RESOURCE = 24
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PARENT = "mlopslab-kubepods"


def _capability(bit: int) -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> bit & 1)
    return False


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check)


# The runtime wrapper: runc, minus process.oomScoreAdj (which needs CAP_SYS_RESOURCE to lower).
WRAPPER = """#!/usr/bin/python3
import json, os, sys
args = sys.argv[1:]
if "--bundle" in args:
    path = os.path.join(args[args.index("--bundle") + 1], "config.json")
    with open(path) as f:
        spec = json.load(f)
    if spec.get("process", {}).pop("oomScoreAdj", None) is not None:
        with open(path, "w") as f:
            json.dump(spec, f)
os.execv("/usr/sbin/runc", ["runc", *args])
"""


class RealNode:
    def __init__(self, workdir: Path, server: str, pki: Path, bins: Path, spawn, wait) -> None:
        self.dir = Path(workdir) / "node"
        self.server, self.pki, self.bins = server, pki, bins
        self._spawn, self._wait = spawn, wait
        self.sock = self.dir / "containerd.sock"

    # ------------------------------------------------------------ configuration
    def _containerd_config(self) -> Path:
        runtime = "/usr/sbin/runc"
        if not _capability(CAP_SYS_RESOURCE):
            runtime = str(self.dir / "runc-wrapper")
            Path(runtime).write_text(WRAPPER)
            Path(runtime).chmod(0o755)
        config = f"""version = 2
root = "{self.dir / "containerd" / "root"}"
state = "{self.dir / "containerd" / "state"}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "{self.sock}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "mlopslab.local/pause:1"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{runtime}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{self.dir / "cni"}"
"""
        path = self.dir / "containerd.toml"
        path.write_text(config)
        cni = {
            "cniVersion": "0.4.0",
            "name": "mlopslab",
            "plugins": [
                {"type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": False, "hairpinMode": True,
                 "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_CIDR}]],
                          "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(self.dir / "ipam")}},
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }  # fmt: skip
        (self.dir / "cni").mkdir(exist_ok=True)
        (self.dir / "cni" / "10-mlopslab.conflist").write_text(json.dumps(cni, indent=2))
        return path

    def _kubelet_config(self, port: int) -> Path:
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": f"/{CGROUP_PARENT}",
            "failSwapOn": False,
            "enforceNodeAllocatable": [],
            "port": port,
            "readOnlyPort": 0,
            "healthzPort": 0,
            "address": NODE_IP,
            "resolvConf": "",
            "clusterDNS": [DNS_IP],
            "clusterDomain": "cluster.local",
            "containerRuntimeEndpoint": f"unix://{self.sock}",
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                               "x509": {"clientCAFile": str(self.pki / "ca.crt")}},
            "authorization": {"mode": "Webhook"},
            "tlsCertFile": str(self.pki / "kubelet-serving.crt"),
            "tlsPrivateKeyFile": str(self.pki / "kubelet-serving.key"),
            "serializeImagePulls": False,
            "imageGCHighThresholdPercent": 100,
            "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
            "podPidsLimit": 4096,
            "maxPods": 110,
            "staticPodPath": "",
            "localStorageCapacityIsolation": True,
        }  # fmt: skip
        path = self.dir / "kubelet.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    # ------------------------------------------------------------ lifecycle
    def start(self, free_port, kubeconfig_for, api) -> None:
        from tests.support.controlplane import issue  # noqa: PLC0415 - the control plane imports this module

        for sub in ("containerd", "cni", "ipam", "kubelet", "logs"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self._network_up()
        self._cgroup_root()
        issue(self.pki, "node", f"system:node:{NODE}", "system:nodes")
        issue(self.pki, "kubelet-serving", NODE, server=True, sans=(NODE_IP, NODE))
        issue(self.pki, "scheduler", "system:kube-scheduler")
        issue(self.pki, "coredns", "mlopslab-coredns", "system:masters")  # reads Services and endpoints
        issue(self.pki, "kube-proxy", "system:kube-proxy")
        for user in ("node", "scheduler", "kube-proxy", "coredns"):
            kubeconfig_for(self.dir / f"{user}.kubeconfig", user)
        commands = [("containerd", ["/usr/bin/containerd", "--config", str(self._containerd_config())])]
        commands.append((
            "kube-scheduler",
            [str(self.bins / "kube-scheduler"), f"--kubeconfig={self.dir / 'scheduler.kubeconfig'}",
             f"--authentication-kubeconfig={self.dir / 'scheduler.kubeconfig'}",
             f"--authorization-kubeconfig={self.dir / 'scheduler.kubeconfig'}",
             "--leader-elect=false", "--bind-address=127.0.0.1", f"--secure-port={free_port()}"],
        ))  # fmt: skip
        proxy = {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(self.dir / "kube-proxy.kubeconfig")},
            "mode": "iptables",
            "hostnameOverride": NODE,
            "clusterCIDR": POD_CIDR,
            # Pod to ClusterIP to a pod on the same bridge: SNAT, so the answer comes back the way
            # the request went (the bridge would otherwise deliver it around the DNAT).
            "iptables": {"masqueradeAll": True},
            "conntrack": {"maxPerCore": 0},  # leave the machine's sysctls alone
            "metricsBindAddress": f"127.0.0.1:{free_port()}",
            "healthzBindAddress": f"127.0.0.1:{free_port()}",
        }
        (self.dir / "kube-proxy.json").write_text(json.dumps(proxy))
        commands.append(("kube-proxy", [str(self.bins / "kube-proxy"), f"--config={self.dir / 'kube-proxy.json'}"]))
        # The cluster's DNS on the node's address: Service names resolve as in any cluster; nothing
        # is forwarded outside (names it does not serve get no answer).
        corefile = self.dir / "Corefile"
        corefile.write_text(
            f".:53 {{\n  bind {DNS_IP}\n  errors\n"
            f"  kubernetes cluster.local in-addr.arpa ip6.arpa {{\n"
            f"    kubeconfig {self.dir / 'coredns.kubeconfig'}\n    pods insecure\n  }}\n  cache 30\n}}\n"
        )
        commands.append(("coredns", [str(self.bins / "coredns"), "-conf", str(corefile)]))
        commands.append((
            "kubelet",
            [str(self.bins / "kubelet"), f"--config={self._kubelet_config(free_port())}",
             f"--kubeconfig={self.dir / 'node.kubeconfig'}", f"--hostname-override={NODE}",
             f"--node-ip={NODE_IP}", f"--root-dir={self.dir / 'kubelet'}",
             f"--cert-dir={self.dir / 'kubelet' / 'pki'}", "--v=1"],
        ))  # fmt: skip
        (self.dir / "commands.json").write_text(json.dumps(commands))
        # The node in a mount and pid namespace of its own, with its own /proc (containerd makes
        # network namespaces through /proc/<pid>/task/<tid>/ns/net, which in CI's sandbox, a pid
        # namespace that kept the outer /proc, names nobody); the network is the machine's.
        self._spawn(
            "node",
            # unshare ignores SIGTERM while it waits; killed, it passes SIGTERM to the supervisor.
            ["unshare", "--mount", "--pid", "--fork", "--mount-proc", "--propagation", "private",
             "--kill-child=SIGTERM", sys.executable, "-m", "tests.support.node", "supervise", str(self.dir)],
        )  # fmt: skip
        self._wait(self.sock.exists, 30, "containerd's socket")
        self._wait(lambda: _ready(api), 90, f"node {NODE} Ready")
        # The node-lifecycle controller is off in this control plane: lift the taint it would.
        api.call("PATCH", f"/api/v1/nodes/{NODE}", {"spec": {"taints": None}}, "application/merge-patch+json")

    def _cgroup_root(self) -> None:
        """The kubelet's cgroupRoot in every v1 hierarchy (it refuses a root that does not exist);
        cpuset's needs its parent's cpus and mems before any child can take a task."""
        for hierarchy in CGROUP_ROOT.iterdir():
            if not hierarchy.is_dir() or hierarchy.is_symlink() or hierarchy.name == "unified":
                continue
            root = hierarchy / CGROUP_PARENT
            root.mkdir(exist_ok=True)
            for name in ("cpuset.cpus", "cpuset.mems"):
                if (root / name).exists() and not (root / name).read_text().strip():
                    (root / name).write_text((hierarchy / name).read_text())

    def _network_up(self) -> None:
        if _run("ip", "link", "show", BRIDGE, check=False).returncode != 0:
            _run("ip", "link", "add", BRIDGE, "type", "bridge")
            _run("ip", "addr", "add", f"{NODE_IP}/24", "dev", BRIDGE)
            _run("ip", "link", "set", BRIDGE, "up")
        Path("/proc/sys/net/ipv4/ip_forward").write_text("1")

    def images(self) -> list[str]:
        """Import every image archive tests/support/images.py assembled into containerd."""
        from tests.support import images  # noqa: PLC0415

        imported = []
        for archive in images.build_all():
            _run("ctr", "--address", str(self.sock), "--namespace", "k8s.io", "images", "import",
                 "--no-unpack", str(archive))  # fmt: skip
            imported.append(archive.name)
        return imported

    def _stop_tasks(self) -> None:
        if not self.sock.exists():
            return
        # Each task killed, then deleted: its shim exits once it has no task left (a shim
        # records no pid of its own to signal, and /proc may be another pid namespace's).
        ctr = ["ctr", "--address", str(self.sock), "-n", "k8s.io", "tasks"]
        tasks = _run(*ctr, "ls", "-q", check=False).stdout.split()
        for task in tasks:
            _run(*ctr, "kill", "-s", "SIGKILL", task, check=False)
        time.sleep(1)
        for task in tasks:
            _run(*ctr, "delete", "--force", task, check=False)

    def _kill_stray_shims(self) -> None:
        # A shim whose task could not be deleted outlives containerd by design: found by its
        # command line, but only where /proc is this pid namespace's own (in CI's sandbox it is
        # another's, and its pid numbers would name other processes here).
        from tests.support.controlplane import _own_proc  # noqa: PLC0415 - the control plane imports this module

        for proc in Path("/proc").iterdir() if _own_proc() else ():
            if proc.name.isdigit():
                try:
                    cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
                except OSError:
                    continue
                if "containerd-shim" in cmdline and str(self.sock) in cmdline:
                    os.kill(int(proc.name), signal.SIGKILL)

    def stop(self, pids: dict[str, int], alive) -> None:
        """Stop the node: its supervisor stops every process and container inside the node's
        namespaces (where their mounts live and vanish with them); what is machine-wide is
        removed here: left tasks in the node's cgroups, the cgroups, CNI's netns files, the
        bridge, the KUBE-* iptables chains."""
        pid = pids.get("node")
        stopped = self.dir / "stopped"
        if pid and alive(pid):
            os.kill(pid, signal.SIGKILL)  # unshare: its child, the supervisor, gets SIGTERM
            deadline = time.monotonic() + 60
            while not stopped.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
        _kill_cgroup_tasks(CGROUP_PARENT)
        _remove_cgroups(CGROUP_PARENT)
        for netns in Path("/run/netns").glob("cni-*") if Path("/run/netns").exists() else []:
            _run("umount", "-l", str(netns), check=False)
            netns.unlink(missing_ok=True)
        _run("ip", "link", "delete", BRIDGE, check=False)
        if (self.bins / "kube-proxy").exists():
            _run(str(self.bins / "kube-proxy"), "--cleanup", check=False)
        _drop_kube_chains()

    def supervise(self) -> None:
        """Inside the node's namespaces (pid 1 there): start its processes in order, and on
        SIGTERM stop them, every container first (/proc here is this namespace's own)."""
        children: list[tuple[str, subprocess.Popen]] = []
        stopping = []
        (self.dir / "stopped").unlink(missing_ok=True)
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        for name, argv in json.loads((self.dir / "commands.json").read_text()):
            log = open(self.dir.parent / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it open
            children.append((name, subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)))
            if name == "containerd":
                deadline = time.monotonic() + 30
                while not self.sock.exists() and time.monotonic() < deadline:
                    time.sleep(0.1)
        while not stopping and all(proc.poll() is None for _name, proc in children):
            time.sleep(0.5)
        for name, proc in reversed(children):
            if name == "containerd":
                self._stop_tasks()
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._kill_stray_shims()
        _kill_cgroup_tasks(CGROUP_PARENT)
        for mount in sorted(_mounts_under(self.dir), key=len, reverse=True):
            _run("umount", "-l", mount, check=False)
        (self.dir / "stopped").touch()


def _drop_kube_chains() -> None:
    """The KUBE-* chains the kubelet made (canaries, firewall) and any kube-proxy left, and every
    rule that jumps to them; nothing else of the machine's rules is touched."""
    saved = _run("iptables-save", check=False).stdout
    if "KUBE-" not in saved:
        return
    kept = [line for line in saved.splitlines() if "KUBE-" not in line]
    subprocess.run(["iptables-restore"], input="\n".join(kept) + "\n", text=True, check=False, capture_output=True)


def _ready(api) -> bool:
    status, node = api.call("GET", f"/api/v1/nodes/{NODE}", timeout=2)
    if status != 200:
        return False
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node.get("status", {}).get("conditions", []))


def _mounts_under(directory: Path) -> list[str]:
    mounts = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        target = line.split()[1].replace("\\040", " ")
        if target.startswith(str(directory)) or "/run/netns/cni-" in target:
            mounts.append(target)
    return mounts


def _kill_cgroup_tasks(parent: str, seconds: float = 10) -> None:
    """SIGKILL every process left in the node's cgroups (a container whose shim is gone lives on,
    orphaned) and wait until they are gone: a cgroup with a task cannot be removed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pids = set()
        for procs in (
            (CGROUP_ROOT / "pids" / parent).rglob("cgroup.procs") if (CGROUP_ROOT / "pids" / parent).is_dir() else []
        ):
            pids |= {int(p) for p in procs.read_text().split()}
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


def _remove_cgroups(parent: str) -> None:
    """The node's cgroups in every v1 hierarchy, deepest first (rmdir of an empty cgroup)."""
    for hierarchy in CGROUP_ROOT.iterdir():
        root = hierarchy / parent
        if not root.is_dir():
            continue
        for path in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with_tasks = (path / "cgroup.procs").exists() and (path / "cgroup.procs").read_text().strip()
            if not with_tasks:
                with contextlib.suppress(OSError):
                    path.rmdir()
        with contextlib.suppress(OSError):
            root.rmdir()


def have_tools(bins: Path) -> list[str]:
    """What the real node still lacks on this machine (empty: it can run)."""
    missing = [str(bins / b) for b in ("kubelet", "kube-proxy", "kube-scheduler", "coredns") if not (bins / b).exists()]
    missing += [t for t in ("containerd", "ctr", "runc", "iptables", "ip") if not shutil.which(t)]
    missing += [p for p in ("/usr/lib/cni/bridge", "/usr/lib/cni/host-local") if not Path(p).exists()]
    return missing


def leftovers(workdir: Path) -> list[str]:
    """What a stopped node left on this machine (empty when it left nothing)."""
    found = []
    if _run("ip", "link", "show", BRIDGE, check=False).returncode == 0:
        found.append(f"network interface {BRIDGE}")
    found += [f"mount {m}" for m in _mounts_under(Path(workdir) / "node")]
    found += [f"cgroup {h / CGROUP_PARENT}" for h in CGROUP_ROOT.iterdir() if (h / CGROUP_PARENT).is_dir()]
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(Path(workdir).resolve() / "node") in cmdline:
                found.append(f"process {proc.name}: {cmdline.replace(chr(0), ' ')[:80]}")
    rules = _run("iptables-save", check=False).stdout
    found += [f"iptables chain {line.split()[0][1:]}" for line in rules.splitlines() if line.startswith(":KUBE-")]
    found += (
        [f"network namespace {n.name}" for n in Path("/run/netns").glob("cni-*")] if Path("/run/netns").exists() else []
    )
    return found


if __name__ == "__main__":
    if sys.argv[1:2] == ["supervise"]:
        RealNode(Path(sys.argv[2]).parent, "", Path(sys.argv[2]).parent / "pki", Path(), None, None).supervise()
        sys.exit(0)
    if sys.argv[1:2] == ["check-clean"]:
        left = leftovers(Path(sys.argv[2]))
        print("node: nothing left behind" if not left else "node: left behind: " + "; ".join(left))
        sys.exit(1 if left else 0)
