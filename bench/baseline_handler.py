"""The cold-start baseline: a handler module that only imports boto3 and creates the clients
(and resources) named in BENCH_CLIENTS, e.g. "client:dynamodb,client:sns" — the same set the
measured handler creates, so the difference is what the handler itself adds."""

from __future__ import annotations

import os
from typing import Any

import boto3

clients: list[Any] = []
for spec in filter(None, os.environ.get("BENCH_CLIENTS", "").split(",")):
    kind, _, service = spec.partition(":")
    factory = boto3.resource if kind == "resource" else boto3.client
    clients.append(factory(service))


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    return None
