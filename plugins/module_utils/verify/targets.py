# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a student's Prometheus says about its scrape targets and series. Pure functions over the
JSON of its HTTP API."""

from __future__ import annotations

from ansible_collections.mlopslab.monitoring.plugins.module_utils.verify.findings import ERROR, finding


def _finding(code, severity, message, hint):
    return finding(code, severity, None, None, message, hint)


def summarize_targets(api_response: dict) -> list[dict]:
    """/api/v1/targets to one {job, instance, health, last_error, last_scrape} per active target."""
    data = (api_response or {}).get("data") or {}
    return [
        {
            "job": (t.get("labels") or {}).get("job") or t.get("scrapePool"),
            "instance": (t.get("labels") or {}).get("instance") or t.get("scrapeUrl"),
            "health": t.get("health", "unknown"),
            "last_error": t.get("lastError") or "",
            "last_scrape": t.get("lastScrape"),
        }
        for t in data.get("activeTargets") or []
    ]


def target_findings(targets: list[dict], expected_jobs: list[str]) -> list[dict]:
    """A finding per expected job that has no target, and per target that is not up."""
    findings = []
    jobs = {t["job"] for t in targets}
    for job in expected_jobs:
        if job not in jobs:
            findings.append(
                _finding(
                    "target_missing",
                    ERROR,
                    f"Prometheus has no scrape target for job {job}",
                    "the scrape config lacks the job: rerun deploy.yml (it renders the static scrape config)",
                )
            )
    for target in targets:
        # "unknown" is a target not scraped yet (Prometheus batches new targets every ~5 s).
        if target["health"] == "down":
            findings.append(
                _finding(
                    "target_down",
                    ERROR,
                    f"target {target['job']}/{target['instance']} is down: {target['last_error'] or 'no error given'}",
                    "connection refused: the exporter is not running (see the pod findings); timeout or no route: "
                    "a NetworkPolicy or the address; HTTP status: the endpoint",
                )
            )
    return findings


def series_present(api_response: dict, required: list[str]) -> dict[str, bool]:
    """`count by (__name__) ({__name__=~"a|b"})` answer to {series: present}."""
    found = {r.get("metric", {}).get("__name__") for r in ((api_response or {}).get("data") or {}).get("result") or []}
    return {name: name in found for name in required}


def series_query(required: list[str]) -> str:
    names = "|".join(required)
    return f'count by (__name__) ({{__name__=~"{names}"}})'


def series_findings(series: dict[str, bool]) -> list[dict]:
    missing = [name for name, present in series.items() if not present]
    if not missing:
        return []
    return [
        _finding(
            "series_missing",
            ERROR,
            f"Prometheus has no {', '.join(missing)}",
            "the exporter is not scraped or exports other names: check the targets above and the exporter's /metrics",
        )
    ]
