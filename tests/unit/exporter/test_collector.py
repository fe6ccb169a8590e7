import math

from ab_exporter.collector import ABMetricsCollector
from ab_exporter.config import load
from ab_exporter.simulation import ABTrafficSimulator
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def registry_for(seconds=60.0, seed=5):
    cfg = load([], {})
    clock = Clock()
    sim = ABTrafficSimulator(cfg.profiles, cfg.request_rate, cfg.window, seed=seed, clock=clock)
    registry = CollectorRegistry()
    registry.register(ABMetricsCollector(sim, "california-housing"))
    clock.now += seconds
    return registry, clock


def value(registry, name, version, **extra):
    return registry.get_sample_value(name, {"model_name": "california-housing", "version": version, **extra})


def test_every_contract_metric_is_present_for_both_versions():
    registry, _clock = registry_for()
    for version in ("v1.0", "v2.0"):
        assert 0 < value(registry, "model_mae_score", version) < 1
        assert value(registry, "model_rmse_score", version) > value(registry, "model_mae_score", version)
        assert 0 < value(registry, "model_r2_score", version) < 1
        assert value(registry, "model_requests_total", version) > 1000
        assert value(registry, "model_traffic_split_ratio", version) == 0.5
        assert value(registry, "model_prediction_error_count", version) == value(
            registry, "model_requests_total", version
        )
        assert value(registry, "model_prediction_error_bucket", version, le="+Inf") == value(
            registry, "model_requests_total", version
        )
    assert value(registry, "model_info", "v1.0", profile="degrading") == 1
    assert value(registry, "model_info", "v2.0", profile="stable") == 1
    assert registry.get_sample_value("ab_exporter_build_info", {**_build_labels(registry)}) == 1


def _build_labels(registry):
    family = next(f for f in registry.collect() if f.name == "ab_exporter_build_info")
    return family.samples[0].labels


def test_each_scrape_yields_fresh_values():
    registry, clock = registry_for()
    first = value(registry, "model_requests_total", "v1.0")
    clock.now += 5
    assert value(registry, "model_requests_total", "v1.0") > first


def test_exposition_parses_and_names_follow_conventions():
    registry, _clock = registry_for()
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    assert families["model_requests"].type == "counter"
    assert families["model_prediction_error"].type == "histogram"
    assert families["model_mae_score"].type == "gauge"
    assert all(not math.isnan(s.value) for f in families.values() for s in f.samples)
