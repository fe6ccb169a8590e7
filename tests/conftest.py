"""Shared fixtures: real Prometheus, the real exporter process, the kmock API emulator, and
ansible-playbook runs against them. Processes are stopped by PID at teardown; their logs are
attached to the report of a failing test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.kube_emulator import CLUSTER_FIXTURES, EmulatedCluster
from tests.support.output import summary_table
from tests.support.processes import REPO, Exporter, Prometheus


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        for proc in getattr(item, "_lab_processes", []):
            report.sections.append((f"{proc.name} log ({proc.log_path})", proc.log()[-20000:]))
    return report


def _managed(request, factory):
    started = []
    # Both factories may serve one test: they share the list the failure report reads.
    request.node._lab_processes = getattr(request.node, "_lab_processes", [])

    def start(*args, **kwargs):
        workdir = kwargs.pop("workdir", None) or _workdir(request, f"{factory.__name__.lower()}{len(started)}")
        proc = factory(*args, workdir=workdir, **kwargs)
        request.node._lab_processes.append(proc)
        started.append(proc)
        return proc.start()

    yield start
    for proc in started:
        proc.stop()


def _workdir(request, name: str) -> Path:
    path = request.getfixturevalue("tmp_path") / name
    path.mkdir()
    return path


@pytest.fixture
def start_prometheus(request):
    """start_prometheus(config: str | Path) -> a ready Prometheus on a free port."""
    yield from _managed(request, Prometheus)


@pytest.fixture
def start_exporter(request):
    """start_exporter(*flags, env={...}) -> a ready exporter on a free port."""
    yield from _managed(request, Exporter)


@pytest.fixture
def kube(tmp_path):
    """A kmock-based Kubernetes API on 127.0.0.1 with a kubeconfig at kube.kubeconfig."""
    with EmulatedCluster(tmp_path / "kubeconfig", seed_files=[CLUSTER_FIXTURES / "nodes.yml"]) as cluster:
        yield cluster


class PlaybookRun:
    RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)

    def __init__(self, proc: subprocess.CompletedProcess):
        self.returncode = proc.returncode
        self.output = proc.stdout + proc.stderr
        self.recap = {
            host: {"ok": int(ok), "changed": int(ch), "unreachable": int(un), "failed": int(fa)}
            for host, ok, ch, un, fa in self.RECAP.findall(proc.stdout)
        }

    @property
    def text(self) -> str:
        """The output with line wrapping undone, for matching messages the callback folded."""
        return " ".join(self.output.split())

    def changed(self) -> int:
        return sum(h["changed"] for h in self.recap.values())

    def summary(self) -> dict[str, dict[str, str]]:
        return summary_table(self.output)


@pytest.fixture
def ansible_playbook(tmp_path):
    """ansible_playbook(playbook, *args, env={...}) -> PlaybookRun, through the real CLI."""

    def run(playbook: str | Path, *args: str, env: dict | None = None, check: bool = True) -> PlaybookRun:
        environment = {
            **os.environ,
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
            "ANSIBLE_NOCOLOR": "1",
            **(env or {}),
        }
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook), *args],
            check=False,
            cwd=REPO,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )
        result = PlaybookRun(proc)
        if check and result.returncode != 0:
            pytest.fail(f"ansible-playbook {playbook} exited {result.returncode}:\n{result.output[-8000:]}")
        return result

    return run
