"""Rides submitted through the API by several client threads, the way the contract lets a
client retry: every request carries an Idempotency-Key, and an answer that says "not now"
(429, 5xx, a 409 for a key still in progress, a dropped connection or a timeout) is retried
with the same key and the same body, which can never store a second ride.

The rides cycle through every routing case of the filter policies (notification: all;
accounting: fare > 0; extraordinary: fare >= 50 or distance >= 20), over a few customers per
run so each customer's accounting totals add up many rides.
"""

from __future__ import annotations

import random
import time
import urllib.error
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tests.e2e.conftest import Response, System

# (fare, distance) per routing case: notification only; + accounting; all three;
# notification + extraordinary by distance alone.
ROUTES = ((0, 1), (12.5, 3), (75.25, 10), (0, 25))
CUSTOMERS_PER_RUN = 10
MAX_ATTEMPTS = 12
RETRY_STATUSES = frozenset({409, 429, 500, 502, 503, 504})


@dataclass
class Submission:
    index: int
    key: str
    body: dict[str, Any]
    ride: dict[str, Any] | None = None  # the stored ride of the 201
    statuses: list[int | str] = field(default_factory=list)  # one per attempt

    @property
    def ride_id(self) -> str | None:
        return None if self.ride is None else str(self.ride["id"])

    @property
    def retries(self) -> int:
        return max(0, len(self.statuses) - 1)


def ride_body(run: str, index: int) -> dict[str, Any]:
    fare, distance = ROUTES[index % len(ROUTES)]
    return {
        "from": f"Stop {index}",
        "to": f"Stop {index + 1}",
        "duration": 60 + index,
        # A cent more per lap keeps the totals' sums exact and the rides distinct.
        "fare": float(Decimal(str(fare)) + Decimal(index // len(ROUTES)) / 100) if fare else 0,
        "distance": distance,
        "customer": f"{run}-{index % CUSTOMERS_PER_RUN}",
    }


def submit(system: System, submission: Submission) -> Submission:
    """POST until a 201 or a final refusal; backoff with jitter between attempts."""
    for attempt in range(MAX_ATTEMPTS):
        answer: Response | None
        try:
            answer = system.post(submission.body, {"Idempotency-Key": submission.key})
        except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as error:
            answer = None
            submission.statuses.append(type(error).__name__)
        else:
            submission.statuses.append(answer.status)
            if answer.status == 201:
                submission.ride = answer.body
                return submission
            if answer.status not in RETRY_STATUSES:
                return submission  # refused for good: the test reports it
        time.sleep(min(0.2 * 2**attempt, 3.0) * (0.5 + random.random()))
    return submission


def submit_all(system: System, run: str, count: int, threads: int = 8) -> list[Submission]:
    submissions = [Submission(i, f"{run}-{i}", ride_body(run, i)) for i in range(count)]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="client") as pool:
        return list(pool.map(lambda s: submit(system, s), submissions))


def status_counts(submissions: list[Submission]) -> Counter[int | str]:
    """Every answer the clients got, retried ones included."""
    return Counter(status for s in submissions for status in s.statuses)
