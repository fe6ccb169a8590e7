"""The real-node tier: the lab in real containers on a real kubelet (tests/support/node.py), against
the control plane `make test-node` starts with `--node real`. Skipped with one line when
MLOPSLAB_TEST_NODE_KUBECONFIG is unset."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.cluster import conftest as cluster_tier
from tests.cluster.conftest import Cluster
from tests.support import images
from tests.support.processes import REPO


def pytest_terminal_summary(terminalreporter):
    """The tier's timings and notes, as the real-cluster tier prints them."""
    cluster_tier.pytest_terminal_summary(terminalreporter)


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("MLOPSLAB_TEST_NODE_KUBECONFIG"):
        skip = pytest.mark.skip(
            reason="MLOPSLAB_TEST_NODE_KUBECONFIG is unset: real-node tier skipped (make test-node)"
        )
        for item in items:
            if "tests/node" in str(item.fspath):
                item.add_marker(skip)


def lab_cluster(tmp_path_factory, name: str, students, host_vars: dict | None = None) -> Cluster:
    """A cohort on the real node, its images (assembled here) set as group vars, as an instructor
    would set them for a cluster without registry access."""
    kubeconfig = os.environ["MLOPSLAB_TEST_NODE_KUBECONFIG"]
    cluster = Cluster(kubeconfig, tmp_path_factory.mktemp(name))
    group_vars = cluster.inventory.parent / "group_vars" / "cohort.yml"
    group_vars.write_text(
        group_vars.read_text()
        + "metrics_exporter_image: mlopslab.local/ab-exporter:1\n"
        + f"prometheus_image: mlopslab.local/prometheus:{images.prometheus_version()}\n"
    )
    cluster.inventory.write_text("cohort:\n  hosts:\n" + "".join(f"    {s}:\n" for s in students))
    for student, values in (host_vars or {}).items():
        folder = cluster.inventory.parent / "host_vars"
        folder.mkdir(exist_ok=True)
        (folder / f"{student}.yml").write_text(values)
    return cluster


@pytest.fixture(scope="session")
def kubectl() -> str:
    path = REPO / ".cache" / "controlplane" / "v1.36.3" / "bin" / "kubectl"
    return str(path) if path.exists() else shutil.which("kubectl") or "kubectl"
