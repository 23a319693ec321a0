"""An event source mapping's settings, as ListEventSourceMappings returns them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Lambda starts five concurrent SQS pollers per mapping; ScalingConfig.MaximumConcurrency caps it.
DEFAULT_SQS_CONCURRENCY = 5


@dataclass(frozen=True)
class MappingConfig:
    uuid: str
    function_arn: str
    source_arn: str
    enabled: bool
    batch_size: int
    batching_window_s: float
    starting_position: str | None
    filter_criteria: dict[str, Any] | None
    response_types: tuple[str, ...]
    bisect_on_error: bool
    max_retry_attempts: int  # -1: until the record expires
    max_record_age_s: int  # -1: no limit
    on_failure_destination: str | None
    max_concurrency: int
    raw_fingerprint: str  # changes whenever any setting changes

    @classmethod
    def from_api(cls, mapping: dict[str, Any]) -> MappingConfig:
        state = mapping.get("State", "Enabled")
        scaling = mapping.get("ScalingConfig") or {}
        destination = ((mapping.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
            "Destination"
        )
        return cls(
            uuid=mapping["UUID"],
            function_arn=mapping["FunctionArn"],
            source_arn=mapping["EventSourceArn"],
            # Disabled and Disabling mean no polling; Creating/Updating still poll in AWS.
            enabled=state not in ("Disabled", "Disabling", "Deleting"),
            batch_size=int(mapping.get("BatchSize") or 10),
            batching_window_s=float(mapping.get("MaximumBatchingWindowInSeconds") or 0),
            starting_position=mapping.get("StartingPosition"),
            filter_criteria=mapping.get("FilterCriteria") or None,
            response_types=tuple(mapping.get("FunctionResponseTypes") or ()),
            bisect_on_error=bool(mapping.get("BisectBatchOnFunctionError")),
            max_retry_attempts=_int_or(mapping.get("MaximumRetryAttempts"), -1),
            max_record_age_s=_int_or(mapping.get("MaximumRecordAgeInSeconds"), -1),
            on_failure_destination=destination or None,
            max_concurrency=int(scaling.get("MaximumConcurrency") or DEFAULT_SQS_CONCURRENCY),
            raw_fingerprint=json.dumps(
                {k: v for k, v in mapping.items() if k not in ("LastModified", "State")},
                sort_keys=True,
                default=str,
            ),
        )

    @property
    def service(self) -> str:
        return self.source_arn.split(":")[2]

    @property
    def reports_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.response_types

    @property
    def region(self) -> str:
        return self.source_arn.split(":")[3]


def _int_or(value: Any, default: int) -> int:
    return default if value is None else int(value)
