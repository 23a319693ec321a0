"""The fault proxy process: microburst on 127.0.0.1, in front of localcloud's AWS API.

    python -m localcloud.faults.server --upstream http://127.0.0.1:4566 --config rules.yaml \
        --port 0 --port-file <file>

A process of its own, not a thread of localcloud's: it handles every AWS call the functions and
pollers make, and its own interpreter keeps it off the GIL that moto, the pollers and the API
Gateway already share. Port 0 picks a free port; the bound one is written to `--port-file`
(atomically) once the proxy accepts connections, which is how the parent knows it is ready.

It refuses requests addressed to another host name or carrying an Origin header, which is what
a web page reaching 127.0.0.1 by DNS rebinding sends: localcloud runs code (CreateFunction +
Invoke), and microburst rewrites Host to the upstream's, so nothing behind the proxy could tell
such a request from a local one. The SDKs address localhost and send no Origin.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from microburst.app import make_app
from microburst.core.pipeline import Microburst

from localcloud.faults import FaultRulesError, load_rules
from localcloud.loopback import BIND_ADDRESS, refusal

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def local_callers_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    # The same rule as localcloud's two other listeners (localcloud.loopback), and stricter on
    # Origin: only SDKs call the fault proxy, so no browser request has any business here.
    reason = refusal(request.headers.get("Host"), None)
    if reason is None and "Origin" in request.headers:
        reason = "localcloud's fault proxy answers SDK calls only, never a web page"
    if reason is not None:
        return web.json_response({"message": reason}, status=403)
    return await handler(request)


def build_app(upstream: str, rules: list[dict[str, Any]]) -> web.Application:
    # resign=False: the upstream is moto, which does not check signatures; never AWS.
    app = make_app(Microburst(upstream, rules=rules, resign=False))
    app.middlewares.append(local_callers_only)
    return app


async def serve(app: web.Application, port: int, port_file: Path) -> None:
    runner = web.AppRunner(app, access_log=None)  # one line per AWS call would drown the log
    await runner.setup()
    await web.TCPSite(runner, BIND_ADDRESS, port).start()
    bound = runner.addresses[0][1]
    partial = port_file.with_suffix(".tmp")
    partial.write_text(str(bound))
    partial.replace(port_file)  # readers never see a half-written port
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud.faults.server")
    parser.add_argument("--upstream", required=True, help="localcloud's AWS API (moto)")
    parser.add_argument("--config", required=True, type=Path, help="microburst rules file")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True, type=Path)
    args = parser.parse_args(argv)
    # microburst logs every fired fault at INFO: thousands of lines under load. The control
    # API's /fired and /metrics keep that record instead.
    logging.basicConfig(level=logging.WARNING, format="faults: %(levelname)s %(message)s")
    try:
        rules = load_rules(args.config)
    except FaultRulesError as error:
        print(f"faults: {error}", file=sys.stderr)
        return 2
    asyncio.run(serve(build_app(args.upstream, rules), args.port, args.port_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
