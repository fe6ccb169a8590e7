"""The Prometheus collector: fresh metric families from a simulator snapshot on every scrape."""

from __future__ import annotations

import platform
from collections.abc import Iterator

import numpy as np
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from ab_exporter import __version__
from ab_exporter.simulation import ERROR_BUCKETS, ABTrafficSimulator

LABELS = ["model_name", "version"]


class ABMetricsCollector(Collector):
    """Per version of the model, labelled model_name and version, on each scrape::

        model_requests_total{model_name="california-housing",version="v1.0"} 1193.0
        model_mae_score{model_name="california-housing",version="v1.0"} 0.412
        model_rmse_score{model_name="california-housing",version="v1.0"} 0.519
        model_r2_score{model_name="california-housing",version="v1.0"} 0.803
        model_window_predictions{model_name="california-housing",version="v1.0"} 500.0
        model_traffic_split_ratio{model_name="california-housing",version="v1.0"} 0.5
        model_prediction_error_bucket{model_name="california-housing",version="v1.0",le="0.25"} 431.0
        model_prediction_error_sum{model_name="california-housing",version="v1.0"} 489.7
        model_prediction_error_count{model_name="california-housing",version="v1.0"} 1193.0
        model_info{model_name="california-housing",version="v1.0",profile="degrading"} 1.0
        ab_exporter_build_info{version="1.0.0",python_version="3.11.7",numpy_version="2.4.6"} 1.0

    The quality gauges are absent for a version until its window holds a few predictions.
    """

    def __init__(self, source: ABTrafficSimulator, model_name: str) -> None:
        self._source = source
        self._model_name = model_name

    def collect(self) -> Iterator:
        requests = CounterMetricFamily("model_requests", "Predictions served, per model version.", labels=LABELS)
        mae = GaugeMetricFamily(
            "model_mae_score", "Mean absolute error over the sliding window, in $100k.", labels=LABELS
        )
        rmse = GaugeMetricFamily(
            "model_rmse_score", "Root mean squared error over the sliding window, in $100k.", labels=LABELS
        )
        r2 = GaugeMetricFamily("model_r2_score", "Coefficient of determination over the sliding window.", labels=LABELS)
        window = GaugeMetricFamily(
            "model_window_predictions", "Predictions in the sliding window the scores are computed on.", labels=LABELS
        )
        split = GaugeMetricFamily(
            "model_traffic_split_ratio", "Share of the traffic routed to the version (0-1).", labels=LABELS
        )
        errors = HistogramMetricFamily("model_prediction_error", "Absolute prediction errors, in $100k.", labels=LABELS)
        info = InfoMetricFamily("model", "The model versions under test.", labels=[*LABELS, "profile"])

        for version in self._source.snapshot():
            profile = version.profile
            labels = [self._model_name, profile.name]
            requests.add_metric(labels, version.requests_total)
            window.add_metric(labels, version.window_predictions)
            split.add_metric(labels, profile.share)
            for family, value in ((mae, version.mae), (rmse, version.rmse), (r2, version.r2)):
                if value is not None:
                    family.add_metric(labels, value)
            buckets = [
                (str(bound), count) for bound, count in zip(ERROR_BUCKETS, version.error_bucket_counts, strict=False)
            ]
            buckets.append(("+Inf", version.error_bucket_counts[-1]))
            errors.add_metric(labels, buckets, version.error_sum)
            info.add_metric([*labels, "degrading" if profile.drift_per_minute > 0 else "stable"], {})
        yield from (requests, mae, rmse, r2, window, split, errors, info)

        build = GaugeMetricFamily(
            "ab_exporter_build_info",
            "Exporter build information.",
            labels=["version", "python_version", "numpy_version"],
        )
        build.add_metric([__version__, platform.python_version(), np.__version__], 1)
        yield build
