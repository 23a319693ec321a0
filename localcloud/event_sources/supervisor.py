"""Keeps one poller per enabled event source mapping, following changes made at runtime.

Every second the mappings are listed through the public Lambda API; new enabled mappings get a
poller, changed ones are updated in place, disabled or deleted ones are stopped. Stream positions
are kept here (not in the poller) so a mapping disabled and enabled again resumes where it was.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Protocol

from localcloud.event_sources.mapping_config import MappingConfig
from localcloud.event_sources.sqs import SqsPoller
from localcloud.event_sources.streams import ShardState, StreamPoller
from localcloud.lambda_runtime.aws_clients import ClientFactory
from localcloud.lambda_runtime.invoker import Invoker

log = logging.getLogger(__name__)

RESCAN_INTERVAL_S = 1.0
_STOP_TIMEOUT_S = 10.0


class Poller(Protocol):
    @property
    def config(self) -> MappingConfig: ...
    def update(self, config: MappingConfig) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def join(self, timeout: float) -> None: ...


class MappingSupervisor:
    def __init__(
        self,
        clients: ClientFactory,
        invoker: Invoker,
        regions: Iterable[str],
        rescan_interval_s: float = RESCAN_INTERVAL_S,
        source_clients: ClientFactory | None = None,
    ) -> None:
        self._clients = clients
        # The pollers' own calls (receive, delete, get records) may go through the fault proxy
        # (localcloud.faults); listing the mappings is localcloud's bookkeeping and never does.
        self._source_clients = source_clients or clients
        self._invoker = invoker
        self._regions = list(regions)
        self._interval = rescan_interval_s
        self._pollers: dict[str, Poller] = {}
        # Stopped pollers still finishing their batch; a re-enabled mapping waits for its own.
        self._retiring: dict[str, Poller] = {}
        self._shard_states: dict[str, dict[str, ShardState]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="localcloud-mappings", daemon=True)

    def start(self) -> None:
        self.rescan()  # mappings that already exist start polling before start() returns
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(_STOP_TIMEOUT_S)
        pollers = [*self._pollers.values(), *self._retiring.values()]
        self._pollers.clear()
        self._retiring.clear()
        for poller in pollers:  # signal all first, so their long polls end in parallel
            poller.stop()
        for poller in pollers:
            poller.join(_STOP_TIMEOUT_S)

    def is_polling(self, uuid: str) -> bool:
        """True once the mapping's poller runs (for streams: holds a position in every shard)."""
        poller = self._pollers.get(uuid)
        if poller is None:
            return False
        if isinstance(poller, StreamPoller):
            return poller.positioned
        return True

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.rescan()
            except Exception:  # the moto server may be restarting; try again next tick
                log.exception("listing event source mappings failed")

    def rescan(self) -> None:
        wanted: dict[str, MappingConfig] = {}
        for region in self._regions:
            paginator = self._clients.client("lambda", region).get_paginator(
                "list_event_source_mappings"
            )
            for page in paginator.paginate():
                for mapping in page.get("EventSourceMappings", []):
                    config = MappingConfig.from_api(mapping)
                    if config.enabled and config.service in ("sqs", "dynamodb", "kinesis"):
                        wanted[config.uuid] = config
        for uuid in [u for u in self._pollers if u not in wanted]:
            poller = self._pollers.pop(uuid)
            poller.stop()
            self._retiring[uuid] = poller
            log.info("stopped polling for mapping %s", uuid)
        for uuid, config in wanted.items():
            current = self._pollers.get(uuid)
            if current is None:
                retiring = self._retiring.pop(uuid, None)
                if retiring is not None:
                    retiring.join(_STOP_TIMEOUT_S)
                poller = self._new_poller(config)
                self._pollers[uuid] = poller
                poller.start()
                log.info("polling %s for %s", config.source_arn, config.function_arn)
            elif current.config.raw_fingerprint != config.raw_fingerprint:
                current.update(config)

    def _new_poller(self, config: MappingConfig) -> Poller:
        if config.service == "sqs":
            return SqsPoller(config, self._source_clients, self._invoker)
        shards = self._shard_states.setdefault(config.uuid, {})
        return StreamPoller(config, self._source_clients, self._invoker, shards)
