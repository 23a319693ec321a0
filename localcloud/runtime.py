"""localcloud's runtime: its subsystems wired together — the Lambda runtime
(localcloud.lambda_runtime) runs function code, the event-source pollers
(localcloud.event_sources) feed it, the API Gateway data plane (localcloud.apigw) serves stages,
and EventBridge's data plane (localcloud.eventbridge) delivers matched and scheduled events.

It lives in the same process as the moto server (it reads code zips and API definitions from
moto's in-process backends) and talks to everything else through the public AWS APIs at
`endpoint_url` (when localcloud.server runs that endpoint in this process, its calls skip the
socket: localcloud.in_process). Typical use next to the server:

    runtime = Runtime(endpoint_url, state_dir=repo / ".localcloud").start()
    ...
    runtime.stop()   # stops pollers, the HTTP server and every worker process
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, TextIO

from moto.core import DEFAULT_ACCOUNT_ID

from localcloud import patches
from localcloud.apigw.routes import ApiCatalog
from localcloud.apigw.server import DEFAULT_PORT, ApiGateway, ApiGatewayServer
from localcloud.event_sources.supervisor import MappingSupervisor
from localcloud.eventbridge import routing as eventbridge_routing
from localcloud.eventbridge.delivery import EventDelivery
from localcloud.eventbridge.scheduler import Scheduler
from localcloud.lambda_runtime import invoke_routing
from localcloud.lambda_runtime.artifacts import ArtifactCache
from localcloud.lambda_runtime.aws_clients import ClientFactory
from localcloud.lambda_runtime.environment import AwsTarget
from localcloud.lambda_runtime.invoker import DEFAULT_MAX_CONCURRENCY, InvocationResult, Invoker
from localcloud.lambda_runtime.logs import LogSink

__all__ = ["InvocationResult", "Runtime"]

log = logging.getLogger(__name__)


class Runtime:
    """Start/stop facade for the worker manager, the event source pollers and API Gateway.

    - endpoint_url: where moto listens (given to handlers as AWS_ENDPOINT_URL).
    - state_dir: cache of extracted code and layers (e.g. `<repo>/.localcloud`, git-ignored).
    - apigw_port: API Gateway data plane port on 127.0.0.1 (0 picks a free one); None disables.
    - console: where function output is echoed, prefixed with the function name (None: quiet).
    - data_plane_url: where the functions' handlers and the event-source pollers send their AWS
      calls, when not to `endpoint_url`: the fault proxy (localcloud.faults). localcloud's own
      bookkeeping (log and metric shipping, listing mappings) always talks to `endpoint_url`.
    """

    def __init__(
        self,
        endpoint_url: str,
        state_dir: Path | str,
        apigw_port: int | None = DEFAULT_PORT,
        region: str = "us-east-1",
        account_id: str = DEFAULT_ACCOUNT_ID,
        console: TextIO | None = sys.stdout,
        poll_event_sources: bool = True,
        max_concurrency_per_function: int = DEFAULT_MAX_CONCURRENCY,
        data_plane_url: str | None = None,
    ) -> None:
        self.region = region
        self.account_id = account_id
        self._state_dir = Path(state_dir)
        target = AwsTarget(endpoint_url)
        data_plane = AwsTarget(data_plane_url) if data_plane_url else target
        self.clients = ClientFactory(target, region)
        self.logs = LogSink(
            self.clients.client("logs", region), console, self.clients.client("cloudwatch", region)
        )
        self.invoker = Invoker(
            ArtifactCache(self._state_dir / "runtime"),
            data_plane,
            self.logs,
            region,
            account_id,
            max_concurrency_per_function,
        )
        source_clients = ClientFactory(data_plane, region) if data_plane_url else None
        self.mappings = (
            MappingSupervisor(self.clients, self.invoker, [region], source_clients=source_clients)
            if poll_event_sources
            else None
        )
        # EventBridge: matched events go to their targets; schedule rules fire (with the pollers).
        self.eventbridge = EventDelivery(self.clients)
        self.scheduler = (
            Scheduler(self.eventbridge.submit, account_id, region) if poll_event_sources else None
        )
        self._apigw_port = apigw_port
        self.apigw: ApiGatewayServer | None = None
        self._started = False

    def start(self) -> Runtime:
        self._state_dir.mkdir(parents=True, exist_ok=True)
        self.logs.start()
        patches.apply_all()  # idempotent; moto's Invoke reaches the registered invoker
        invoke_routing.register(self.invoker)
        if self._apigw_port is not None:
            gateway = ApiGateway(
                ApiCatalog(self.account_id, self.region), self.invoker, self.account_id
            )
            self.apigw = ApiGatewayServer(gateway, self._apigw_port)
            self.apigw.start()
        if self.mappings is not None:
            self.mappings.start()
        self.eventbridge.start()
        eventbridge_routing.register(self.eventbridge)
        if self.scheduler is not None:
            self.scheduler.start()
        self._started = True
        return self

    def stop(self) -> None:
        """Stop event producers first (schedules, EventBridge delivery, pollers: no new
        invocations), then the API server, then the workers."""
        if not self._started:
            return
        self._started = False
        if self.scheduler is not None:
            self.scheduler.stop()
        eventbridge_routing.unregister(self.eventbridge)
        self.eventbridge.stop()
        if self.mappings is not None:
            self.mappings.stop()
        if self.apigw is not None:
            self.apigw.stop()
        invoke_routing.unregister(self.invoker)
        self.invoker.shutdown()
        self.logs.flush()
        self.logs.stop()

    def invoke(
        self, function: str, event: Any = None, qualifier: str | None = None
    ) -> InvocationResult:
        """Invoke a function directly (no HTTP hop): what pollers and API Gateway use."""
        return self.invoker.invoke(function, event, qualifier)

    def invoke_url(self, api_id: str, stage: str) -> str:
        if self.apigw is None:
            raise RuntimeError("API Gateway is not running (apigw_port=None)")
        return self.apigw.invoke_url(api_id, stage)

    def __enter__(self) -> Runtime:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
