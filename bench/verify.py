"""verify benchmark: lab_health_info over 100 students (the kmock API emulator seeded with three
pods each, one real Prometheus scraping the real exporter standing in for every student's),
through ansible-playbook as an instructor runs it.

Prints the wall time, the time per student and the API requests made.

    make bench      # or: .venv/bin/python bench/verify.py [--students 100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.support.cohort_pods import LIVENESS_KILLED, OOM_KILLED, student_objects  # noqa: E402
from tests.support.kube_emulator import EmulatedCluster  # noqa: E402
from tests.support.processes import Exporter, Prometheus, free_port  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--students", type=int, default=100)
    count = parser.parse_args().students
    names = [f"user{i:03d}" for i in range(1, count + 1)]
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        workdir = Path(tmp)
        (workdir / "exporter").mkdir()
        (workdir / "prometheus").mkdir()
        exporter = Exporter(workdir=workdir / "exporter").start()
        port = free_port()
        prom = Prometheus(
            "global: {scrape_interval: 1s}\nscrape_configs:\n"
            f"  - job_name: metrics-exporter\n    static_configs: [{{targets: ['127.0.0.1:{exporter.port}']}}]\n"
            f"  - job_name: prometheus\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n",
            workdir=workdir / "prometheus",
            port=port,
        ).start()
        try:
            prom.wait_for_data("model_r2_score")
            prom.wait_for_target("prometheus")
            with EmulatedCluster(workdir / "kubeconfig") as cluster:
                for i, name in enumerate(names):
                    case = OOM_KILLED if i % 10 == 1 else LIVENESS_KILLED if i % 10 == 2 else None
                    cluster.seed(*(student_objects(name, case) if case else student_objects(name)))
                before = cluster.requests_made()
                out = workdir / "health.json"
                args = {
                    "health_args": {
                        "namespaces": names,
                        "prometheus_access": "url",
                        "prometheus_url_template": prom.url,
                        "grafana_access": "none",
                    },
                    "health_out": str(out),
                }
                began = time.monotonic()
                proc = subprocess.run(
                    [
                        str(Path(sys.executable).parent / "ansible-playbook"),
                        "tests/integration/playbooks/lab_health.yml",
                        "-e",
                        json.dumps(args),
                    ],
                    cwd=REPO,
                    capture_output=True,
                    text=True,
                    check=False,
                    env={
                        **os.environ,
                        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
                        "K8S_AUTH_KUBECONFIG": str(cluster.kubeconfig),
                    },
                )
                wall = time.monotonic() - began
                requests = cluster.requests_made() - before
            result = json.loads(out.read_text())
        finally:
            prom.stop()
            exporter.stop()
    if proc.returncode or "students" not in result:
        print(proc.stdout[-3000:], result.get("msg"), file=sys.stderr)
        return 1
    summary = result["summary"]
    print(f"{'students':>8} {'wall s':>7} {'ms/student':>10} {'API requests':>12} {'Prometheus requests':>19}  causes")
    print(f"{count:>8} {wall:>7.2f} {1000 * wall / count:>10.1f} {requests:>12} {2 * count:>19}  {summary['causes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
