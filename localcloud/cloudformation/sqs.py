"""AWS::SQS::QueuePolicy, which moto's CloudFormation skips."""

from __future__ import annotations

import contextlib
from typing import Any

from moto.sqs.models import sqs_backends

from localcloud.cloudformation.base import Handler, json_text


class SqsQueuePolicy(Handler):
    """AWS::SQS::QueuePolicy: the queues' Policy attribute (Queues are queue URLs)."""

    TYPE = "AWS::SQS::QueuePolicy"

    @staticmethod
    def _queue_name(queue_url: str) -> str:
        return queue_url.rstrip("/").rsplit("/", 1)[-1]

    def _set(self, queue_urls: list[str], policy: str) -> None:
        backend = sqs_backends[self.account_id][self.region]
        for url in queue_urls:
            with contextlib.suppress(Exception):  # a deleted queue has no policy to clear
                backend.set_queue_attributes(self._queue_name(url), {"Policy": policy})

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> SqsQueuePolicy:
        handler = cls(name, properties, account_id, region)
        backend = sqs_backends[account_id][region]
        for url in properties["Queues"]:
            backend.set_queue_attributes(
                cls._queue_name(url), {"Policy": json_text(properties["PolicyDocument"])}
            )
        return handler

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        self._set(sorted(set(self.properties["Queues"]) - set(properties["Queues"])), "")
        return self.create(self.physical_id, properties, self.account_id, self.region)

    def delete(self, account_id: str, region_name: str) -> None:
        self._set(self.properties["Queues"], "")
