"""The EventBridge delivery of the running localcloud Runtime, if any.

`localcloud.patches.deliver_eventbridge_events_in_localcloud` hands every event a rule matches to
the delivery registered here; with none registered (moto alone, no Runtime), moto's own
send_to_targets runs.
"""

from __future__ import annotations

from typing import Any, Protocol

from localcloud.registration import LatestRegistered


class MatchedEventSink(Protocol):
    def submit_matched(
        self, rule_arn: str, rule_name: str, targets: list[dict[str, Any]], message: dict[str, Any]
    ) -> None: ...


_sinks: LatestRegistered[MatchedEventSink] = LatestRegistered()
register = _sinks.register
unregister = _sinks.unregister
current = _sinks.current
