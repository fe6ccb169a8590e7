"""What one student's lab costs, for the README's sizing table: requests and limits, pods and
objects from the rendered objects, Prometheus series measured from the real exporter scraped by
a real Prometheus (the lab's two jobs), and, with --kubeconfig, the objects a real API server
stores for one deployed student (what deploy creates plus what the controllers add).

    .venv/bin/python bench/sizing.py [--kubeconfig K]

Students per node are computed from the requests (what the scheduler reserves) against a node's
cpu and memory and 110 pods (the kubelet's default), before what the node itself reserves.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / ".collections"))
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.quantities import (  # noqa: E402
    format_cpu,
    format_memory,
    manifests_resources,
)

from bench.deploy import inventory  # noqa: E402
from tests.support.processes import Exporter, Prometheus, free_port  # noqa: E402

PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
NODES = {"4 cpu / 16 GiB": (Decimal(4), Decimal(16 * 2**30)), "8 cpu / 32 GiB": (Decimal(8), Decimal(32 * 2**30))}
PODS_PER_NODE = 110


def render_one(workdir: Path, *extra: str) -> list[dict]:
    build = workdir / "build"
    subprocess.run(
        [
            PLAYBOOK,
            "-i",
            str(inventory(workdir, 1, "sizing")),
            "playbooks/deploy.yml",
            "-e",
            f"mlopslab_build_dir={build}",
            *extra,
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
    )
    return list(yaml.safe_load_all((build / "manifests" / "user01" / "lab.yaml").read_text()))


def series() -> dict[str, int]:
    """Series per job in a real Prometheus scraping the real exporter and itself, as the lab's does."""
    with tempfile.TemporaryDirectory() as tmp:
        exporter = Exporter("--seed", "1", workdir=Path(tmp) / "exporter")
        (Path(tmp) / "exporter").mkdir()
        exporter.start()
        port = free_port()
        config = (
            "global: {scrape_interval: 1s}\nscrape_configs:\n"
            f"  - job_name: metrics-exporter\n    static_configs: [{{targets: ['127.0.0.1:{exporter.port}']}}]\n"
            f"  - job_name: prometheus\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        )
        (Path(tmp) / "prom").mkdir()
        prometheus = Prometheus(config, port=port, workdir=Path(tmp) / "prom").start()
        try:
            for job in ("metrics-exporter", "prometheus"):
                prometheus.wait_for_target(job)
            prometheus.wait_for_data("model_r2_score")
            prometheus.wait_for_data('prometheus_tsdb_head_series{job="prometheus"}')
            counts = {r["metric"]["job"]: int(r["value"][1]) for r in prometheus.query("count by (job) ({job!=''})")}
        finally:
            prometheus.stop()
            exporter.stop()
    return counts


def stored(kubeconfig: str, workdir: Path) -> dict[str, int]:
    """Objects one deployed student has in a real API server, by kind (Events apart)."""
    from kubernetes import config  # noqa: PLC0415 - only with --kubeconfig
    from kubernetes.dynamic import DynamicClient  # noqa: PLC0415

    build = workdir / "build-real"
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "K8S_AUTH_KUBECONFIG": kubeconfig}
    args = [
        PLAYBOOK,
        "-i",
        str(inventory(workdir, 1, "sizing")),
        "-e",
        f"mlopslab_build_dir={build}",
        "-e",
        "mlopslab_namespace_prefix=sizing-",
    ]
    subprocess.run([*args, "playbooks/deploy.yml"], cwd=REPO, check=True, capture_output=True, env=env)
    try:
        api = DynamicClient(config.new_client_from_config(config_file=kubeconfig))
        counts: dict[str, int] = {}
        for resource in api.resources.search(namespaced=True):
            if "list" not in (resource.verbs or []) or "/" in resource.name or resource.group == "metrics.k8s.io":
                continue
            if resource.kind == "Event" or resource.kind.endswith("List") or resource.kind in counts:
                continue
            if resource.preferred is False:
                continue
            try:
                items = api.get(resource, namespace="sizing-user01").items
            except Exception:  # a kind we may not list is not counted
                continue
            if items:
                counts[resource.kind] = len(items)
        return {**counts, "Namespace": 1}
    finally:
        subprocess.run(
            [*args, "playbooks/teardown.yml", "-e", "mlopslab_teardown_confirm=sizing"],
            cwd=REPO,
            check=False,
            capture_output=True,
            env=env,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--kubeconfig", help="a real API server: count what one deployed student stores")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        objects = render_one(Path(tmp), "-e", "mlopslab_apply=false")
        totals = manifests_resources(objects)
        pods = sum((o.get("spec") or {}).get("replicas", 1) for o in objects if o["kind"] == "Deployment")
        kinds: dict[str, int] = {}
        for obj in objects:
            kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
        real = stored(str(Path(args.kubeconfig).resolve()), Path(tmp)) if args.kubeconfig else None
    by_job = series()
    requests, limits = totals["requests"], totals["limits"]
    print(
        f"per student: {pods} pods, {len(objects)} objects rendered ({', '.join(f'{n} {k}' for k, n in kinds.items())})"
    )
    print(f"  requests: cpu {format_cpu(requests['cpu'])}, memory {format_memory(requests['memory'])}")
    print(f"  limits:   cpu {format_cpu(limits['cpu'])}, memory {format_memory(limits['memory'])}")
    if real is not None:
        print(f"  stored in etcd (real API server, Events apart): {sum(real.values())} objects "
              f"({', '.join(f'{n} {k}' for k, n in sorted(real.items()))})")  # fmt: skip
    print(f"  Prometheus series (real exporter + real Prometheus): {sum(by_job.values())} "
          f"({', '.join(f'{job} {n}' for job, n in sorted(by_job.items()))})")  # fmt: skip
    for name, (cpu, memory) in NODES.items():
        fits = {
            "cpu": math.floor(cpu / requests["cpu"]),
            "memory": math.floor(memory / requests["memory"]),
            "pods": PODS_PER_NODE // pods,
        }
        bound = min(fits, key=fits.get)
        print(f"  a node of {name}: {fits[bound]} students by requests (bound by {bound}; "
              f"cpu {fits['cpu']}, memory {fits['memory']}, pods {fits['pods']})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
