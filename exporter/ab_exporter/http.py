"""HTTP: /metrics (Prometheus exposition) and /healthz (for the kubelet's probes).

A small HTTP/1.1 server on asyncio, from the standard library (the exporter's dependencies are
prometheus-client and numpy only). One event loop serves every connection in turn, so 50
concurrent scrapers share the CPU fairly; http.server's thread per connection left some
waiting a second behind the GIL (p99 1 s at 50 connections, measured by bench/exporter.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, generate_latest

# The classic text format, which every Prometheus release parses (2.x predates "version=1.0.0").
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4 as METRICS_CONTENT_TYPE

log = logging.getLogger(__name__)

# Scrapes that arrive within this many seconds of a render share it. Prometheus scrapes every
# 15 s, so a real scraper always gets a fresh collect; a burst (HA pairs, a dashboard refresh
# storm, a class running curl loops) costs one collect (~0.4 ms of CPU) instead of one each.
COALESCE_SECONDS = 0.25
MAX_HEADER_LINES = 100
TEXT = "text/plain; charset=utf-8"


class CoalescingRenderer:
    """Renders the registry at most once per `window` seconds, however many ask."""

    def __init__(
        self, registry: CollectorRegistry, window: float = COALESCE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._registry = registry
        self._window = window
        self._clock = clock
        self._body = b""
        self._rendered_at = float("-inf")

    def __call__(self) -> bytes:
        # Runs on the event loop thread only: no lock needed.
        if self._clock() - self._rendered_at >= self._window:
            self._body = generate_latest(self._registry)
            self._rendered_at = self._clock()
        return self._body


def route(method: str, path: str, render: Callable[[], bytes]) -> tuple[int, str, bytes, str]:
    """(status, reason, body, content type) for a request."""
    if method not in ("GET", "HEAD"):
        return 405, "Method Not Allowed", b"only GET and HEAD\n", TEXT
    if path == "/metrics":
        return 200, "OK", render(), METRICS_CONTENT_TYPE
    if path == "/healthz":
        # Liveness and readiness: we answer as soon as we serve. Nothing to warm up.
        return 200, "OK", b"ok\n", TEXT
    if path == "/":
        return 200, "OK", b'<a href="/metrics">/metrics</a>\n', "text/html; charset=utf-8"
    return 404, "Not Found", b"not found: try /metrics or /healthz\n", TEXT


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bool] | None:
    """(method, path, keep_alive), or None when the client closed the connection."""
    request_line = await reader.readline()
    if not request_line:
        return None
    method, target, version = request_line.decode("latin-1").split()
    keep_alive = version == "HTTP/1.1"
    content_length = 0
    for _line in range(MAX_HEADER_LINES):
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _colon, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "connection":
            keep_alive = value == "keep-alive" if version == "HTTP/1.0" else value != "close"
        elif name == "content-length":
            content_length = int(value)
    else:
        raise ValueError("too many header lines")
    if content_length:
        await reader.readexactly(content_length)
    return method, target.split("?", 1)[0], keep_alive


def make_handler(registry: CollectorRegistry):
    render = CoalescingRenderer(registry)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while request := await _read_request(reader):
                method, path, keep_alive = request
                status, reason, body, content_type = route(method, path, render)
                head = (
                    f"HTTP/1.1 {status} {reason}\r\nServer: ab_exporter\r\nContent-Type: {content_type}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
                )
                writer.write(head.encode("latin-1") + (b"" if method == "HEAD" else body))
                await writer.drain()
                if not keep_alive:
                    break
        except (ConnectionError, ValueError, asyncio.IncompleteReadError) as err:
            # A scraper that hangs up mid-answer, or sends garbage, is not our error.
            log.debug("connection ended: %s", err)
        finally:
            writer.close()

    return handle


async def serve(registry: CollectorRegistry, address: str, port: int, stop: asyncio.Event) -> None:
    server = await asyncio.start_server(make_handler(registry), address, port, backlog=512)
    async with server:
        await stop.wait()
