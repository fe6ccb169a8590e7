"""Time from deploy to every exporter and Prometheus ready on the real node (issue 20, item 7),
for cohorts of a few sizes, one after the other on the same node; each cohort is torn down after.

Needs the real-node tier's control plane (root, Go >= 1.26; see `make test-node`):

    kubeconfig=$(.venv/bin/python -m tests.support.controlplane start --fresh --node real \
        --version v1.36.3 --workdir build/controlplane/v1.36.3-node)
    MLOPSLAB_TEST_NODE_KUBECONFIG=$kubeconfig .venv/bin/python bench/node.py 3 10
    .venv/bin/python -m tests.support.controlplane stop --workdir build/controlplane/v1.36.3-node
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.node.conftest import lab_cluster
from tests.node.test_real_node import pods, ready


class Folders:
    """What lab_cluster asks of pytest's tmp_path_factory: a fresh folder by name."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def mktemp(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.root))


def main(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            students = [f"user{i:02d}" for i in range(1, size + 1)]
            cluster = lab_cluster(Folders(Path(folder)), f"bench{size}", students)
            try:
                started = time.monotonic()
                proc, _seconds = cluster.playbook("deploy", "-e", "mlopslab_wait=false")  # Grafana never starts here
                if proc.returncode != 0:
                    raise SystemExit(f"deploy of {size} students failed:\n{proc.stdout[-3000:]}")
                applied = time.monotonic() - started

                def all_ready(cluster=cluster, size=size) -> bool:
                    found = {c: pods(cluster, c) for c in ("metrics-exporter", "prometheus")}
                    return all(len(p) == size and all(ready(x) for x in p) for p in found.values())

                cluster.wait_for(f"{size} students: every exporter and Prometheus ready", all_ready, 600)
                restarts = sum(s.restart_count for c in ("metrics-exporter", "prometheus")
                               for p in pods(cluster, c) for s in p.status.container_statuses)  # fmt: skip
                total = time.monotonic() - started
                print(f"{size:3d} students: deploy {applied:5.1f} s, every exporter and Prometheus ready after "
                      f"{total:5.1f} s ({2 * size} pods on one node, 2 cores), restarts {restarts}")  # fmt: skip
            finally:
                cluster.cleanup()
                # The next size starts on an empty node: the pods of this one gone first.
                cluster.wait_for(f"{size} students' namespaces gone", lambda c=cluster: not c.ours(), 300)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [3, 10])
