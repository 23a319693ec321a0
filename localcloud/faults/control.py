"""A client for a running fault proxy's control API (microburst's /_microburst/*).

Rules can be replaced, added to and removed while localcloud runs (a test turns a permanent
fault on, then lifts it); the counters say what the proxy saw and faulted, per service and
operation. Standard library only, like the rest of localcloud's tooling.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from localcloud.faults.proxy import running

# One Prometheus sample of /metrics: microburst_faults_total{service="..",operation="..",...} n
_FAULT_SAMPLE = re.compile(
    r'^microburst_faults_total\{service="(?P<service>[^"]*)",'
    r'operation="(?P<operation>[^"]*)",action="(?P<action>[^"]*)"\} (?P<count>\d+)$'
)


@dataclass(frozen=True)
class FaultKey:
    service: str
    operation: str
    action: str  # microburst's description: "error:Throttled", "reset", "response:abort", ...


class FaultControl:
    def __init__(self, control_url: str) -> None:
        self.url = control_url.rstrip("/")

    @classmethod
    def of_running(cls) -> FaultControl:
        """The proxy of the localcloud in LOCALCLOUD_HOME; an error when faults are off."""
        info = running()
        if info is None:
            raise RuntimeError(
                "no fault proxy is running: start localcloud with LOCALCLOUD_FAULTS=<rules file>"
            )
        return cls(info.control_url)

    def rules(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "rules"))

    def set_rules(self, rules: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Replace every rule (an empty list turns the faults off; the proxy stays)."""
        return list(self._call("POST", "rules", list(rules)))

    def add_rules(self, rules: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(self._call("PATCH", "rules", list(rules)))

    def remove_rules(self, spec: dict[str, Any]) -> int:
        """Remove the rules whose given fields all equal `spec`'s (e.g. {"body": "..."})."""
        return int(self._call("DELETE", "rules", [spec])["removed"])

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "stats"))

    def requests_by_service(self) -> Counter[str]:
        """Calls the proxy received, per service (faulted or not), since it started."""
        return Counter({row["service"]: int(row["requests"]) for row in self.stats()["by_service"]})

    def fault_counts(self) -> Counter[FaultKey]:
        """Faults injected since the proxy started, per service, operation and action."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as answer:  # noqa: S310
            text = answer.read().decode()
        counts: Counter[FaultKey] = Counter()
        for line in text.splitlines():
            sample = _FAULT_SAMPLE.match(line)
            if sample:
                key = FaultKey(sample["service"], sample["operation"], sample["action"])
                counts[key] += int(sample["count"])
        return counts

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 - the proxy's loopback control API
            f"{self.url}/{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return json.loads(answer.read())
