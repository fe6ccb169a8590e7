"""Exporter benchmark: ours against the original lab's approach, in the same run.

Prints, per exporter, and the ratio ours/baseline:
  - resident memory (VmRSS) after 60 s, scraped every 5 s as a short-interval Prometheus would;
  - time from process start to the first successful /metrics scrape (median of 5 starts);
  - /metrics latency p50/p99 with 50 concurrent keep-alive scrapers for 10 s (wrk);
  - CPU used while idle between scrapes (20 s without a scrape).

Both run with OPENBLAS_NUM_THREADS=1: numpy's OpenBLAS otherwise starts one thread per core,
each with its own buffers (tens of MiB on large nodes), for matrix work a 1,000-number window
never does. The pod sets the same variable.

    make bench        # or: .venv/bin/python bench/exporter.py
Needs wrk (Debian) and .venv-bench (scikit-learn + pandas, for the baseline): `make bench` installs both.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.support.processes import free_port, http_get, poll  # noqa: E402

BASELINE_PYTHON = REPO / ".venv-bench/bin/python"
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "exporter")}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def ours(port: int) -> list[str]:
    return [sys.executable, "-m", "ab_exporter", "--port", str(port), "--listen-address", "127.0.0.1"]


def baseline(port: int) -> list[str]:
    return [str(BASELINE_PYTHON), str(REPO / "bench/baseline_exporter.py"), str(port)]


def start(command) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    began = time.monotonic()
    proc = subprocess.Popen(command(port), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/metrics"
    poll(lambda: http_get(url, timeout=1)[0] == 200 and b"model_requests_total{" in http_get(url)[1], 30, 0.005)
    return proc, url, time.monotonic() - began


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def startup_seconds(command, runs: int = 5) -> float:
    times = []
    for _run in range(runs):
        proc, _url, elapsed = start(command)
        times.append(elapsed)
        proc.terminate()
        proc.wait()
    return statistics.median(times)


def latency_ms(url: str) -> tuple[float, float, float]:
    out = subprocess.run(
        ["wrk", "-t2", "-c50", "-d10s", "--latency", url], capture_output=True, text=True, check=True
    ).stdout
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def percentile(p: str) -> float:
        value, suffix = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)$", out, re.M).groups()
        return float(value) * unit[suffix]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return percentile("50"), percentile("99"), rps


def main() -> int:
    if not shutil.which("wrk") or not BASELINE_PYTHON.exists():
        print("bench/exporter.py needs wrk and .venv-bench: run `make bench`", file=sys.stderr)
        return 2
    results = {}
    procs = {name: start(cmd) for name, cmd in (("ours", ours), ("baseline", baseline))}
    began = time.monotonic()
    # Idle CPU first (no scrapes for 20 s), then scrapes every 5 s until the 60 s mark.
    cpu_before = {name: cpu_seconds(p.pid) for name, (p, *_rest) in procs.items()}
    time.sleep(20)
    for name, (p, *_rest) in procs.items():
        results[name] = {"idle_cpu_pct": 100 * (cpu_seconds(p.pid) - cpu_before[name]) / 20}
    while time.monotonic() - began < 60:
        for _proc, url, _started in procs.values():
            http_get(url)
        time.sleep(5)
    for name, (p, *_rest) in procs.items():
        results[name]["rss_mib"] = rss_mib(p.pid)
    for name, (p, url, _started) in procs.items():
        results[name]["p50_ms"], results[name]["p99_ms"], results[name]["rps"] = latency_ms(url)
        p.terminate()
        p.wait()
    for name, cmd in (("ours", ours), ("baseline", baseline)):
        results[name]["startup_s"] = startup_seconds(cmd)

    rows = [
        ("resident memory after 60 s (MiB)", "rss_mib", "<= 40", "{:.1f}"),
        ("start to first scrape (s, median of 5)", "startup_s", "<= 1.5", "{:.2f}"),
        ("/metrics p50 latency, 50 scrapers (ms)", "p50_ms", "", "{:.2f}"),
        ("/metrics p99 latency, 50 scrapers (ms)", "p99_ms", "<= 20", "{:.2f}"),
        ("/metrics throughput (requests/s)", "rps", "", "{:.0f}"),
        ("CPU while idle between scrapes (%)", "idle_cpu_pct", "", "{:.2f}"),
    ]
    print(f"{'metric':42} {'ours':>10} {'baseline':>10} {'ours/base':>10}  target")
    for label, key, target, fmt in rows:
        a, b = results["ours"][key], results["baseline"][key]
        ratio = f"{a / b:.2f}" if b else "-"
        print(f"{label:42} {fmt.format(a):>10} {fmt.format(b):>10} {ratio:>10}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
