"""summarize_targets and friends on /api/v1/targets and /api/v1/query answers as Prometheus
2.x returns them."""

from plugins.module_utils.verify.targets import (
    series_findings,
    series_present,
    series_query,
    summarize_targets,
    target_findings,
)

TARGETS = {
    "status": "success",
    "data": {
        "activeTargets": [
            {
                "discoveredLabels": {"__address__": "metrics-exporter:8000", "job": "metrics-exporter"},
                "labels": {"instance": "metrics-exporter:8000", "job": "metrics-exporter"},
                "scrapePool": "metrics-exporter",
                "scrapeUrl": "http://metrics-exporter:8000/metrics",
                "globalUrl": "http://metrics-exporter:8000/metrics",
                "lastError": (
                    'Get "http://metrics-exporter:8000/metrics": dial tcp 10.96.12.4:8000: connect: connection refused'
                ),
                "lastScrape": "2026-11-20T09:21:14.331Z",
                "lastScrapeDuration": 0.000812,
                "health": "down",
                "scrapeInterval": "15s",
                "scrapeTimeout": "10s",
            },
            {
                "discoveredLabels": {"__address__": "localhost:9090", "job": "prometheus"},
                "labels": {"instance": "localhost:9090", "job": "prometheus"},
                "scrapePool": "prometheus",
                "scrapeUrl": "http://localhost:9090/metrics",
                "lastError": "",
                "lastScrape": "2026-11-20T09:21:12.008Z",
                "lastScrapeDuration": 0.004,
                "health": "up",
                "scrapeInterval": "15s",
                "scrapeTimeout": "10s",
            },
        ],
        "droppedTargets": [],
    },
}


def test_summarize_targets():
    assert summarize_targets(TARGETS) == [
        {
            "job": "metrics-exporter",
            "instance": "metrics-exporter:8000",
            "health": "down",
            "last_error": TARGETS["data"]["activeTargets"][0]["lastError"],
            "last_scrape": "2026-11-20T09:21:14.331Z",
        },
        {
            "job": "prometheus",
            "instance": "localhost:9090",
            "health": "up",
            "last_error": "",
            "last_scrape": "2026-11-20T09:21:12.008Z",
        },
    ]


def test_a_down_target_and_a_missing_job_are_findings():
    findings = target_findings(summarize_targets(TARGETS), ["metrics-exporter", "prometheus", "node"])
    assert [f["code"] for f in findings] == ["target_missing", "target_down"]
    assert "connection refused" in findings[1]["message"]


def test_no_targets_at_all():
    assert summarize_targets({"status": "success", "data": {"activeTargets": []}}) == []
    assert [f["code"] for f in target_findings([], ["metrics-exporter"])] == ["target_missing"]


def test_series():
    answer = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": {"__name__": "model_mae_score"}, "value": [1795374397.176, "2"]},
                {"metric": {"__name__": "model_requests_total"}, "value": [1795374397.176, "2"]},
            ],
        },
    }
    required = ["model_mae_score", "model_r2_score", "model_requests_total"]
    present = series_present(answer, required)
    assert present == {"model_mae_score": True, "model_r2_score": False, "model_requests_total": True}
    assert series_findings(present)[0]["message"] == "Prometheus has no model_r2_score"
    assert (
        series_query(required)
        == 'count by (__name__) ({__name__=~"model_mae_score|model_r2_score|model_requests_total"})'
    )
