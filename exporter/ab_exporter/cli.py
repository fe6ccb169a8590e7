"""Entry point: configuration, then the collector, then the HTTP server until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.process_collector import ProcessCollector

from ab_exporter import __version__, config
from ab_exporter.collector import ABMetricsCollector
from ab_exporter.http import serve
from ab_exporter.simulation import ABTrafficSimulator

log = logging.getLogger("ab_exporter")


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = config.load(sys.argv[1:] if argv is None else argv, os.environ)
    except config.ConfigError as err:
        print(f"ab_exporter: {err}", file=sys.stderr)
        return 2

    simulator = ABTrafficSimulator(cfg.profiles, cfg.request_rate, cfg.window, cfg.seed)
    registry = CollectorRegistry()
    registry.register(ABMetricsCollector(simulator, cfg.model_name))
    ProcessCollector(registry=registry)  # process_resident_memory_bytes & co.
    if cfg.startup_seconds:
        # Busy and deaf, as the original lab's exporter was while it pip-installed at start: no
        # /healthz answer and, as PID 1, no SIGTERM handler yet (the kernel ignores it).
        log.info("starting slowly: %.0f s before serving (startup_seconds)", cfg.startup_seconds)
        time.sleep(cfg.startup_seconds)
    try:
        asyncio.run(_run(cfg, registry))
    except OSError as err:
        print(
            f"ab_exporter: cannot listen on {cfg.listen_address}:{cfg.port} ({err.strerror}): "
            "set --port / EXPORTER_PORT to a free port",
            file=sys.stderr,
        )
        return 2
    return 0


async def _run(cfg: config.Config, registry: CollectorRegistry) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _stopper(signum, stop))
    versions = ", ".join(f"{p.name} ({p.share:.0%})" for p in cfg.profiles)
    log.info(
        "ab_exporter %s serving %s [%s] on http://%s:%d/metrics",
        __version__,
        cfg.model_name,
        versions,
        cfg.listen_address,
        cfg.port,
    )
    await serve(registry, cfg.listen_address, cfg.port, stop)


def _stopper(signum: int, stop: asyncio.Event):
    def handler() -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    return handler
