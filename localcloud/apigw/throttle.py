"""API Gateway request throttling (token bucket) and usage plan quotas, per API key or stage."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any


class TokenBucket:
    """Holds up to `burst` tokens, refilled at `rate` per second; a request takes one."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class Throttles:
    """Buckets by owner (e.g. usage plan + key), rebuilt when the configured limits change."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}
        self._quota_counts: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def allow(
        self, owner: str, throttle: dict[str, Any] | None, *, zero_blocks: bool = False
    ) -> bool:
        """`zero_blocks`: a limit of 0 lets nothing through (HTTP APIs, as on AWS). Without it
        (REST stages, usage plans) the bucket keeps its room for one request, as before."""
        if not throttle:
            return True
        rate = throttle.get("rateLimit")
        burst = throttle.get("burstLimit")
        if rate is None and burst is None:
            return True
        rate_value = float(rate) if rate is not None else float(burst)
        burst_given = float(burst) if burst is not None else rate_value
        if zero_blocks and (rate_value <= 0 or burst_given <= 0):
            return False
        # A bucket needs room for at least one request, or nothing would ever pass.
        burst_value = max(burst_given, 1.0)
        with self._lock:
            bucket = self._buckets.get(owner)
            if bucket is None or (bucket.rate, bucket.burst) != (rate_value, burst_value):
                bucket = self._buckets[owner] = TokenBucket(rate_value, burst_value)
            return bucket.take()

    def within_quota(self, owner: str, quota: dict[str, Any] | None) -> bool:
        """Usage plan quota: at most `limit` requests per DAY / WEEK / MONTH (UTC)."""
        if not quota or quota.get("limit") is None:
            return True
        period = _period_key(str(quota.get("period", "DAY")).upper())
        with self._lock:
            current_period, count = self._quota_counts.get(owner, (period, 0))
            if current_period != period:
                count = 0
            if count >= int(quota["limit"]):
                return False
            self._quota_counts[owner] = (period, count + 1)
            return True


def _period_key(period: str) -> str:
    today = dt.datetime.now(dt.UTC).date()
    if period == "WEEK":
        return f"W{today.isocalendar().year}-{today.isocalendar().week}"
    if period == "MONTH":
        return f"M{today.year}-{today.month}"
    return f"D{today.isoformat()}"
