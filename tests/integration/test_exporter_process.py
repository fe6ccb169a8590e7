"""The exporter as a real process over HTTP, and scraped by a real Prometheus."""

import signal
import subprocess
import sys
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import REPO, http_get

CONTRACT = {
    "model_mae_score": "gauge",
    "model_rmse_score": "gauge",
    "model_r2_score": "gauge",
    "model_requests": "counter",
    "model_prediction_error": "histogram",
    "model_traffic_split_ratio": "gauge",
    "model_info": "gauge",  # the text format has no info type: an info metric is a gauge of 1
}


def parse(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(families, name, suffix=""):
    return {s.labels["version"]: s.value for s in families[name].samples if s.name == name + suffix}


def test_serves_the_metric_contract_over_http(start_exporter):
    exporter = start_exporter("--request-rate", "200", "--seed", "1")
    time.sleep(0.5)  # let a few requests arrive so the windows hold enough predictions
    families = parse(exporter.metrics())
    for name, kind in CONTRACT.items():
        assert families[name].type == kind, name
        assert {s.labels["model_name"] for s in families[name].samples} == {"california-housing"}
        assert {s.labels["version"] for s in families[name].samples} == {"v1.0", "v2.0"}
    for version, mae in samples(families, "model_mae_score").items():
        assert 0.1 < mae < 1.0, version
    assert all(0 < r2 <= 1 for r2 in samples(families, "model_r2_score").values())
    assert set(samples(families, "model_traffic_split_ratio").values()) == {0.5}
    assert "process_resident_memory_bytes" in families
    assert http_get(f"{exporter.url}/healthz") == (200, b"ok\n")
    assert http_get(f"{exporter.url}/nope")[0] == 404


def test_requests_total_rises_between_scrapes(start_exporter):
    exporter = start_exporter()
    first = samples(parse(exporter.metrics()), "model_requests", "_total")
    time.sleep(2)
    second = samples(parse(exporter.metrics()), "model_requests", "_total")
    for version in ("v1.0", "v2.0"):
        assert second[version] > first[version]


def test_sigterm_stops_it_within_a_second_with_exit_0(start_exporter):
    exporter = start_exporter()
    started = time.monotonic()
    assert exporter.stop(signal.SIGTERM, grace=5) == 0
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--port", "0"], {}, "invalid --port / EXPORTER_PORT '0': expected a TCP port from 1 to 65535"),
        (["--traffic-split", "0.7,0.7"], {}, "expected shares from 0 to 1 that sum to 1 (they sum to 1.4)"),
        ([], {"EXPORTER_REQUEST_RATE": "-1"}, "invalid --request-rate / EXPORTER_REQUEST_RATE '-1'"),
        (["--bogus"], {}, "unrecognized arguments: --bogus"),
    ],
)
def test_bad_configuration_exits_2_with_one_line(args, env, expected):
    proc = subprocess.run(
        [sys.executable, "-m", "ab_exporter", *args],
        env={"PYTHONPATH": str(REPO / "exporter"), **env},
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ab_exporter: ")
    assert expected in lines[0]
    assert "Traceback" not in proc.stderr


def test_port_in_use_is_a_clear_error(start_exporter):
    exporter = start_exporter()
    proc = subprocess.run(
        [sys.executable, "-m", "ab_exporter", "--port", str(exporter.port), "--listen-address", "127.0.0.1"],
        env={"PYTHONPATH": str(REPO / "exporter")},
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{exporter.port}" in proc.stderr


def test_real_prometheus_scrapes_both_versions(start_exporter, start_prometheus):
    exporter = start_exporter("--request-rate", "50")
    prom = start_prometheus(
        f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: metrics-exporter
    static_configs: [{{targets: ["127.0.0.1:{exporter.port}"]}}]
"""
    )
    target = prom.wait_for_target("metrics-exporter", health="up")
    assert target["lastError"] == ""
    rates = prom.wait_for_data('rate(model_requests_total{job="metrics-exporter"}[1m]) > 0', timeout=30)
    assert {r["metric"]["version"] for r in rates} == {"v1.0", "v2.0"}
    mae = prom.query("model_mae_score")
    assert {r["metric"]["version"] for r in mae} == {"v1.0", "v2.0"}
