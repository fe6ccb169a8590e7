"""The real-cluster tier: the whole lifecycle against whatever cluster MLOPSLAB_TEST_KUBECONFIG
points at (the control plane `make test-cluster` starts here, a kind cluster, a course cluster).

It works under a cohort and namespace prefix of its own (random per run), and never touches
anything else on that cluster; what it created is removed at the end, whatever happened.
Skipped with one line when MLOPSLAB_TEST_KUBECONFIG is unset."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.support.processes import REPO

STUDENTS = ("user01", "user02", "user03", "user04", "user05")
_TIMINGS: list[tuple[str, float, str]] = []
_NOTES: list[str] = []


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("MLOPSLAB_TEST_KUBECONFIG"):
        skip = pytest.mark.skip(reason="MLOPSLAB_TEST_KUBECONFIG is unset: real-cluster tier skipped")
        for item in items:
            if "tests/cluster" in str(item.fspath):
                item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    if _TIMINGS:
        terminalreporter.section("real-cluster tier: timings")
        for what, seconds, note in _TIMINGS:
            terminalreporter.write_line(f"{what:<58} {seconds:6.1f} s  {note}")
    if _NOTES:
        terminalreporter.section("real-cluster tier: what the API server decided")
        for line in _NOTES:
            terminalreporter.write_line(line)


def timed(what: str, seconds: float, note: str = "") -> None:
    _TIMINGS.append((what, seconds, note))


def note(line: str) -> None:
    _NOTES.append(line)


RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def recap(proc) -> dict[str, dict[str, int]]:
    return {h: {"changed": int(c), "failed": int(f)} for h, _ok, c, _unreachable, f in RECAP.findall(proc.stdout)}


def text(proc) -> str:
    """The output with line wrapping undone, for matching messages the callback folded."""
    return " ".join((proc.stdout + proc.stderr).split())


class Cluster:
    """The cluster under test, this run's cohort, and the Python client as the instructor."""

    def __init__(self, kubeconfig: str, tmp: Path) -> None:
        self.kubeconfig = kubeconfig
        self.api = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        run = secrets.token_hex(2)
        self.cohort = f"mlt-{run}"
        self.prefix = f"mlt{run}-"
        self.build = tmp / "build"
        self.inventory = tmp / "inventory" / "cohort.yml"
        shutil.copytree(REPO / "inventory" / "group_vars", self.inventory.parent / "group_vars")
        hosts = "".join(f"    {s}:\n" for s in STUDENTS)
        self.inventory.write_text(f"cohort:\n  hosts:\n{hosts}")

    def playbook(self, name: str, *args: str, inventory: Path | None = None, cohort: str = "", prefix: str = ""):
        """ansible-playbook playbooks/<name>.yml for this run's cohort: (process, seconds)."""
        started = time.monotonic()
        proc = subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible-playbook"),
                "-i",
                str(inventory or self.inventory),
                f"playbooks/{name}.yml",
                "-e",
                f"mlopslab_cohort={cohort or self.cohort}",
                "-e",
                f"mlopslab_namespace_prefix={prefix or self.prefix}",
                "-e",
                f"mlopslab_build_dir={self.build}",
                *args,
            ],
            cwd=REPO,
            env={
                **os.environ,
                "K8S_AUTH_KUBECONFIG": self.kubeconfig,
                "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
                "ANSIBLE_NOCOLOR": "1",
            },
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        return proc, time.monotonic() - started

    def ns(self, student: str) -> str:
        return self.prefix + student

    def ours(self) -> list[str]:
        """Every namespace this run may have created (by name prefix), whatever its labels."""
        return sorted(
            n.metadata.name for n in self.core.list_namespace().items if n.metadata.name.startswith(self.prefix)
        )

    def wait_for(self, what: str, check, seconds: float = 60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.5)
        raise AssertionError(f"{what}: not within {seconds:.0f} s")

    def cleanup(self) -> None:
        for name in self.ours():
            # Finalizers a test put on objects would hold the namespace: lift them first.
            for cm in self.core.list_namespaced_config_map(name).items:
                if cm.metadata.finalizers:
                    self.core.patch_namespaced_config_map(cm.metadata.name, name, {"metadata": {"finalizers": None}})
            self.core.delete_namespace(name, body=client.V1DeleteOptions(grace_period_seconds=0))


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    kubeconfig = os.environ.get("MLOPSLAB_TEST_KUBECONFIG")
    if not kubeconfig:
        pytest.skip("MLOPSLAB_TEST_KUBECONFIG is unset: real-cluster tier skipped")
    target = Cluster(kubeconfig, tmp_path_factory.mktemp("cluster-tier"))
    yield target
    target.cleanup()


@pytest.fixture(scope="module")
def two_clusters(tmp_path_factory):
    """This run's cohort on two API servers: the tier's cluster and MLOPSLAB_TEST_KUBECONFIG_B's
    (`make test-cluster` starts a second control plane for it), one cohort and prefix on both."""
    kubeconfig, other = os.environ.get("MLOPSLAB_TEST_KUBECONFIG"), os.environ.get("MLOPSLAB_TEST_KUBECONFIG_B")
    if not (kubeconfig and other):
        pytest.skip("MLOPSLAB_TEST_KUBECONFIG_B is unset: the two-cluster test needs a second cluster")
    first = Cluster(kubeconfig, tmp_path_factory.mktemp("two-clusters"))
    second = Cluster(other, tmp_path_factory.mktemp("two-clusters-b"))
    second.cohort, second.prefix = first.cohort, first.prefix
    yield first, second
    first.cleanup()
    second.cleanup()
