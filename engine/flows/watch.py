"""`sync watch`: one pass of the order watchdog with its report and webhook, or (`--follow`)
the long-running service fed by the notification queue (engine.watch.follow)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from engine.config import load_config
from engine.desired.render import render
from engine.flows.session import live_session
from engine.live.sqs import client, region_of_queue_url
from engine.watch.follow import Follower, FollowSettings, SellerAccount
from engine.watch.metrics import HealthServer
from engine.watch.notify import post_summary
from engine.watch.run import WatchReport, watch_once


def watch_pass(config_dir: Path, env: Mapping[str, str] = os.environ) -> WatchReport:
    """Read new orders in every marketplace, trip the breaker of each listing affected, and
    post the summary to the webhook the config names (`env` holds its URL); a webhook that
    failed or is misconfigured is the report's `notify_error`."""
    config = load_config(config_dir)
    with live_session(config, "watch") as (backend, db):
        now = backend.now()
        desired = render(config, now).resources
        report = watch_once(config, backend, db, desired, now)
    url, problem = config.project.watch.webhook(env)
    if url is not None:
        report.notify_error = post_summary(url, report.to_dict())
    elif problem is not None:
        report.notify_error = problem
    return report


def follow(
    config_dir: Path,
    queue_url: str,
    *,
    endpoint: str | None,
    port: int,
    dead_letter_url: str | None,
    stop: threading.Event,
    started: Callable[[str], None],
) -> None:
    """Serve the notification queue until `stop` is set, with /healthz and /metrics on
    `port`; `started` is told where they are served."""
    config = load_config(config_dir)
    settings = FollowSettings()
    with live_session(config, "watch") as (backend, db):
        account = SellerAccount(config, backend, db)
        follower = Follower(
            {account.seller_id: account},
            client(endpoint, region_of_queue_url(queue_url)),
            queue_url,
            settings=settings,
            dead_letter_url=dead_letter_url,
        )
        stale = 3 * settings.wait_seconds + settings.fallback_after.total_seconds()
        server = HealthServer(follower.metrics, stale_after=stale, port=port)
        started(server.start())
        try:
            follower.run(stop)
        finally:
            server.stop()
