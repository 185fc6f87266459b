"""A real SQS API on 127.0.0.1, for the sandbox's notifications: moto's server mode.

Amazon delivers SP-API notifications to an SQS queue. In production that is AWS; on a laptop,
in tests and in CI the sandbox starts moto's threaded server on a free local port and creates
the queue there, so the watchdog's consumer talks boto3 to an SQS endpoint exactly as it does
in production (no AWS account, no Docker). moto keeps its queues in this process's memory:
another process reaches them only through `endpoint` while this one runs.

Clients come from engine.live.sqs (moto's placeholder keys, never AWS credentials).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from engine.live.sqs import DEFAULT_REGION as REGION
from engine.live.sqs import client

log = logging.getLogger(__name__)

LOCALHOST = "127.0.0.1"
MOTO_ACCOUNT = "123456789012"  # moto's default account id
QUEUE_NAME = "sellersync-notifications"


class _QuietHandler(MotoRequestHandler):
    """moto's request handler without an access-log line per request (a night of
    long-polls would drown the real output)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s", self.requestline, code)


def queue_arn(name: str = QUEUE_NAME, region: str = REGION, account: str = MOTO_ACCOUNT) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


def arn_parts(arn: str) -> tuple[str, str, str]:
    """(region, account, queue name) of an SQS queue ARN; ValueError when it is not one."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"] or not all(parts[3:]):
        raise ValueError(f"{arn!r} is not an SQS queue ARN")
    return parts[3], parts[4], parts[5]


class LocalSqs:
    """moto's SQS API (its server mode's WSGI app) in a background thread, bound to
    127.0.0.1 on a free port. The same as moto's ThreadedMotoServer, without its
    per-request log lines."""

    def __init__(self) -> None:
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.endpoint: str | None = None

    def start(self) -> str:
        if self._server is None:
            app = DomainDispatcherApplication(create_backend_app)
            server = make_server(LOCALHOST, 0, app, threaded=True, request_handler=_QuietHandler)
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"local-sqs-{server.port}",
                daemon=True,
            )
            self._thread.start()
            self._server = server
            self.endpoint = f"http://{LOCALHOST}:{server.port}"
        assert self.endpoint is not None
        return self.endpoint

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self.endpoint = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)

    def client(self) -> Any:
        return client(self.start())

    def create_queue(self, name: str = QUEUE_NAME, **attributes: str) -> str:
        """Create (or find) a queue; returns its URL."""
        return str(self.client().create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
