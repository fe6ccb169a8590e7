"""Try the lab on this machine, no cluster needed: the real exporter, scraped by a real
Prometheus, and the A/B comparison read back through PromQL, as the Grafana dashboard does.

    python -m tests.support.local_lab            # print the comparison and stop
    python -m tests.support.local_lab --keep     # leave both running until Ctrl-C
"""

from __future__ import annotations

import argparse
import signal
import tempfile
import threading
from pathlib import Path

from tests.support.processes import Exporter, Prometheus

QUERIES = {
    # irate: the last two samples, right from the first scrapes (rate() over a range that holds
    # only a few seconds of samples reads far too low).
    "requests/s": "sum by (version) (irate(model_requests_total[30s]))",
    "MAE": "model_mae_score",
    "RMSE": "model_rmse_score",
    "R²": "model_r2_score",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--keep", action="store_true", help="keep the exporter and Prometheus running")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mlopslab-local-"))
    exporter = Exporter("--seed", "42", workdir=workdir / "exporter")
    (workdir / "exporter").mkdir()
    exporter.start()
    config = f"""
global: {{scrape_interval: 2s, evaluation_interval: 2s}}
scrape_configs:
  - job_name: metrics-exporter
    static_configs: [{{targets: ["127.0.0.1:{exporter.port}"]}}]
"""
    (workdir / "prometheus").mkdir()
    prometheus = Prometheus(config, workdir=workdir / "prometheus").start()
    try:
        print(f"exporter   {exporter.url}/metrics\nprometheus {prometheus.url}  (logs in {workdir})")
        print("waiting for the first scrapes (Prometheus discovers a new target after ~5 s)...")
        prometheus.wait_for_target("metrics-exporter", health="up")
        prometheus.wait_for_data("count(rate(model_requests_total[30s]) > 0) == 2", timeout=30)
        results = {
            name: {r["metric"]["version"]: float(r["value"][1]) for r in prometheus.query(q)}
            for name, q in QUERIES.items()
        }
        print(f"\n{'version':8}" + "".join(f"{name:>12}" for name in QUERIES))
        for version in sorted(results["MAE"]):
            print(f"{version:8}" + "".join(f"{results[name][version]:>12.3f}" for name in QUERIES))
        print("\nv1.0 degrades over time (its MAE rises every minute); v2.0 stays stable.")
        if args.keep:
            print("running; Ctrl-C to stop")
            stop = threading.Event()
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            stop.wait()
    finally:
        prometheus.stop()
        exporter.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
