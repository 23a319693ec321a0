"""One structured-logging set-up for every function: JSON lines with the service name."""

from __future__ import annotations

from aws_lambda_powertools import Logger


def service_logger(service: str) -> Logger:
    """A Powertools logger; the level comes from POWERTOOLS_LOG_LEVEL (INFO by default) and
    every line carries `service` so one Logs Insights query can span all functions."""
    return Logger(service=service, utc=True)
