"""Real processes for tests and benches: Prometheus (Debian's binary) and the exporter.

Each runs on a free 127.0.0.1 port, logs to a file, is polled until it answers (never a fixed
sleep), and is stopped by PID: SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_BIN = shutil.which("prometheus") or "/usr/bin/prometheus"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def poll(check, timeout: float, interval: float = 0.05, what: str = "condition") -> Any:
    """Call `check` until it returns something truthy; raise with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except (OSError, ValueError) as err:  # not listening yet, half-written answer
            last_error = err
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout} s (last error: {last_error})")


class ManagedProcess:
    """A child process with a log file, a readiness URL and a clean stop."""

    def __init__(self, name: str, argv: list[str], ready_url: str, workdir: Path, env: dict | None = None):
        self.name = name
        self.argv = argv
        self.ready_url = ready_url
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None

    def start(self, ready_timeout: float = 15.0) -> ManagedProcess:
        self.started_at = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=REPO)

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            return http_get(self.ready_url, timeout=1)[0] == 200

        poll(ready, ready_timeout, what=f"{self.name} ready at {self.ready_url}")
        self.ready_after = time.monotonic() - self.started_at
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, sig: int = signal.SIGTERM, grace: float = 5.0) -> int:
        if self.proc is None or self.returncode is not None:
            return self.returncode if self.returncode is not None else 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.returncode = self.proc.returncode
        return self.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Prometheus(ManagedProcess):
    """The real Prometheus server with a given config and a throw-away TSDB."""

    def __init__(self, config: str | Path, workdir: Path | None = None, port: int | None = None):
        workdir = Path(workdir or tempfile.mkdtemp(prefix="prometheus-"))
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A file is used where it is, so the rule files it names relative to itself load.
        self.config_path = config if isinstance(config, Path) else workdir / "prometheus.yml"
        if not isinstance(config, Path):
            self.config_path.write_text(config)
        argv = [
            PROMETHEUS_BIN,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
        ]
        super().__init__("prometheus", argv, f"{self.url}/-/ready", workdir)

    def api(self, path: str, **params: str) -> dict:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        status, body = http_get(f"{self.url}{path}{query}")
        data = json.loads(body)
        if status != 200 or data.get("status") != "success":
            raise ValueError(f"{path} answered {status}: {data}")
        return data["data"]

    def targets(self) -> list[dict]:
        return self.api("/api/v1/targets")["activeTargets"]

    def wait_for_target(self, job: str, health: str = "up", timeout: float = 20.0) -> dict:
        # Target discovery batches every 5 s, so a new target shows after ~5-6 s.
        def found() -> dict | None:
            return next((t for t in self.targets() if t["labels"].get("job") == job and t["health"] == health), None)

        return poll(found, timeout, interval=0.25, what=f"target job={job} health={health}")

    def query(self, expr: str) -> list[dict]:
        return self.api("/api/v1/query", query=expr)["result"]

    def wait_for_data(self, expr: str, timeout: float = 20.0) -> list[dict]:
        return poll(lambda: self.query(expr), timeout, interval=0.25, what=f"data for {expr!r}")


class Exporter(ManagedProcess):
    """The A/B model-metrics exporter, run as `python -m ab_exporter` exactly as in the pod."""

    def __init__(self, *args: str, workdir: Path | None = None, env: dict | None = None):
        workdir = Path(workdir or tempfile.mkdtemp(prefix="exporter-"))
        # The port the pod's environment gives it (EXPORTER_PORT, as rendered), else a free one.
        given = (env or {}).get("EXPORTER_PORT")
        self.port = int(given) if given else free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        port = [] if given else ["--port", str(self.port)]
        argv = [sys.executable, "-m", "ab_exporter", *port, "--listen-address", "127.0.0.1", *args]
        env = {"PYTHONPATH": str(REPO / "exporter"), "OPENBLAS_NUM_THREADS": "1", **(env or {})}
        super().__init__("exporter", argv, f"{self.url}/healthz", workdir, env)

    def metrics(self) -> str:
        status, body = http_get(f"{self.url}/metrics")
        assert status == 200, f"/metrics answered {status}"
        return body.decode()
