"""boto3 SQS clients for SP-API notifications: AWS itself, or a local SQS API (moto).

Amazon delivers notifications to an SQS queue; the watchdog long-polls it (engine.watch.follow)
and the sandbox publishes to a local one (engine.sandbox.sqs). `endpoint` None is AWS with
boto3's default credential chain (an instance role, AWS_PROFILE, ...); sellersync never reads
or stores AWS keys itself. A local endpoint gets moto's documented placeholder keys, which
moto accepts and which grant nothing on AWS.
"""

from __future__ import annotations

from typing import Any

import boto3

DEFAULT_REGION = "us-east-1"
PLACEHOLDER_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def client(endpoint: str | None = None, region: str | None = None) -> Any:
    """An SQS client for AWS (`endpoint` None) or for a local SQS API at `endpoint`."""
    if endpoint is None:
        return boto3.client("sqs", region_name=region) if region else boto3.client("sqs")
    return boto3.client(
        "sqs", region_name=region or DEFAULT_REGION, endpoint_url=endpoint, **PLACEHOLDER_KEYS
    )


def region_of_queue_url(url: str) -> str | None:
    """The region in an AWS queue URL (https://sqs.eu-west-1.amazonaws.com/123/name)."""
    host = url.split("://", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    if len(parts) >= 3 and parts[0] == "sqs" and parts[-1] == "com":
        return parts[1]
    return None
