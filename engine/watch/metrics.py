"""What `sync watch --follow` exposes on 127.0.0.1: /metrics (Prometheus) and /healthz.

Each follower has a registry of its own (tests run several in one process). /healthz answers
200 while the queue was polled successfully within `stale_after`, else 503, so a supervisor
(systemd's watchdog script, a container health check) restarts a follower that is stuck.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

LOCALHOST = "127.0.0.1"


class FollowMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.trips = Counter(
            "sellersync_watch_breaker_trips", "Breakers tripped.", ["seller"], registry=r
        )
        self.detections = Counter(
            "sellersync_watch_detections", "Rule detections.", ["seller", "rule"], registry=r
        )
        self.messages = Counter(
            "sellersync_watch_messages", "Notifications by outcome.", ["outcome"], registry=r
        )
        self.order_reads = Counter(
            "sellersync_watch_order_reads", "Orders read to confirm a price.", registry=r
        )
        self.fallback_passes = Counter(
            "sellersync_watch_fallback_passes", "Polling fallback passes run.", registry=r
        )
        self.exposure_passes = Counter(
            "sellersync_watch_exposure_passes",
            "Passes run on the exposure cycle (holds and refills of capped listings).",
            registry=r,
        )
        self.refills = Counter(
            "sellersync_watch_refills", "Capped listings refilled by a pass.", registry=r
        )
        self.queue_errors = Counter(
            "sellersync_watch_queue_errors", "Failed receives from the queue.", registry=r
        )
        self.queue_lag = Gauge(
            "sellersync_watch_queue_lag_seconds",
            "Time from Amazon publishing the last notification to handling it.",
            registry=r,
        )
        self.last_poll = Gauge(
            "sellersync_watch_last_successful_poll_timestamp_seconds",
            "Unix time of the last successful receive from the queue.",
            registry=r,
        )
        self.detection_latency = Histogram(
            "sellersync_watch_detection_latency_seconds",
            "Time from the first order a detection names to the detection.",
            buckets=(60, 120, 300, 600, 900, 1800, 3600, 7200),
            registry=r,
        )

        self.last_poll_at: float | None = None

    def polled(self, at: float) -> None:
        self.last_poll_at = at
        self.last_poll.set(at)

    def healthy(self, stale_after: float, now: Callable[[], float] = time.time) -> bool:
        last = self.last_poll_at
        return last is not None and now() - last <= stale_after


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class HealthServer:
    """/healthz and /metrics on 127.0.0.1 in a background thread; port 0 picks one."""

    def __init__(self, metrics: FollowMetrics, stale_after: float, port: int = 0) -> None:
        self.metrics = metrics
        self.stale_after = stale_after
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == "/metrics":
            response = Response(generate_latest(self.metrics.registry), mimetype=None)
            response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        elif request.path == "/healthz":
            ok = self.metrics.healthy(self.stale_after)
            body = {"status": "ok" if ok else "stale", "stale_after_seconds": self.stale_after}
            response = Response(json.dumps(body), 200 if ok else 503, mimetype="application/json")
        else:
            response = Response("not found\n", 404, mimetype="text/plain")
        return response(environ, start_response)

    def start(self) -> str:
        if self._server is None:
            server = make_server(
                LOCALHOST, self._port, self.app, threaded=True, request_handler=_QuietHandler
            )
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
            )
            self._thread.start()
            self._server = server
        return f"http://{LOCALHOST}:{self._server.port}"

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)
