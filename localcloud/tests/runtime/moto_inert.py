"""Keeps moto's own event source mappings from running during these tests.

moto 5.2.5 runs an SQS mapping synchronously inside SendMessage (with a fake event) and a stream
mapping inside every write (clearing the stream). localcloud's patches own the real fix
(`localcloud.patches.apply_all`); when that module is not there yet, this minimal stand-in
detaches each new mapping from its queue/table so only localcloud's pollers consume them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.awslambda.models import LambdaBackend
from moto.dynamodb.models import dynamodb_backends
from moto.sqs.models import sqs_backends


def make_mappings_inert() -> Callable[[], None]:
    """Apply the project's patches if present, else the stand-in; returns an undo function."""
    try:
        from localcloud.patches import apply_all  # type: ignore[import-not-found]
    except ImportError:
        return _detach_new_mappings()
    apply_all()
    return lambda: None


def _detach_new_mappings() -> Callable[[], None]:
    original = LambdaBackend.create_event_source_mapping

    def create_detached(self: LambdaBackend, spec: dict[str, Any]) -> Any:
        mapping = original(self, spec)
        for queue in sqs_backends[self.account_id][self.region_name].queues.values():
            queue.lambda_event_source_mappings.pop(mapping.function_arn, None)
        for table in dynamodb_backends[self.account_id][self.region_name].tables.values():
            table.lambda_event_source_mappings.pop(mapping.function_arn, None)
        return mapping

    LambdaBackend.create_event_source_mapping = create_detached  # type: ignore[method-assign]

    def undo() -> None:
        LambdaBackend.create_event_source_mapping = original  # type: ignore[method-assign]

    return undo
