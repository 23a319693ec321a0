"""Run the AWS API half of localcloud: moto's server, patched, in this process, on 127.0.0.1.

    handle = start(4566)          # or start(0) for any free port
    handle.endpoint_url           # http://localhost:4566 -> see env.local_env()
    handle.stop()

`python -m localcloud.server [--port N]` serves until interrupted (LOCALCLOUD_PORT sets the
default port). State lives in this process's memory: stopping the server forgets everything.
"""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import sys
import threading
from dataclasses import dataclass, field
from types import FrameType

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from localcloud import in_process, patches
from localcloud.env import configured_port, endpoint_url, local_env
from localcloud.loopback import BIND_ADDRESS, LoopbackOnly, port_is_free


class PortBusyError(RuntimeError):
    """The port localcloud should listen on is already taken."""

    def __init__(self, port: int) -> None:
        super().__init__(
            f"localcloud cannot listen on {BIND_ADDRESS}:{port}: the port is already in use "
            f"(another localcloud, LocalStack or moto_server?). Stop that process, or choose "
            f"another port, e.g. LOCALCLOUD_PORT={port + 1} make local-up, or start(port=0) "
            f"for any free port."
        )
        self.port = port


class _Server(ThreadedMotoServer):
    """moto's threaded server behind the loopback guard (localcloud.loopback); a failed bind
    is reported instead of hanging start()."""

    bind_error: OSError | None = None

    def __init__(self, ip_address: str, port: int) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        # moto's application, wrapped: foreign Host or Origin headers are answered 403 before
        # moto (or its CORS, which echoes any Origin) sees them. localcloud's own clients call
        # it in-process (localcloud.in_process), everybody else over the socket.
        self.app = LoopbackOnly(DomainDispatcherApplication(create_backend_app))

    def _server_entry(self) -> None:
        # moto's own entry, serving the wrapped application.
        try:
            self._server = make_server(
                self._ip_address,
                self._port,
                self.app,
                True,
                request_handler=MotoRequestHandler,
            )
        except OSError as error:
            self.bind_error = error
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        # A short poll interval: stop() waits for the loop to notice (0.5 s by default).
        self._server.serve_forever(poll_interval=0.1)


@dataclass
class LocalCloud:
    """A running localcloud AWS API. Use as a context manager or call stop()."""

    port: int
    _server: _Server = field(repr=False)

    @property
    def endpoint_url(self) -> str:
        return endpoint_url(self.port)

    @property
    def env(self) -> dict[str, str]:
        return local_env(self.port)

    def reset(self) -> None:
        """Forget every resource in every service (moto's state reset)."""
        from moto.moto_api._internal import moto_api_backend

        moto_api_backend.reset()

    def stop(self) -> None:
        in_process.stop_serving(self.endpoint_url)
        self._server.stop()

    def __enter__(self) -> LocalCloud:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start(port: int = 4566, *, reset: bool = True) -> LocalCloud:
    """Apply the moto patches and serve on 127.0.0.1:`port` (0 picks a free port).

    `reset` empties moto's in-memory state first, so each start is a fresh account even when
    an earlier server ran in this process (moto's backends are process-wide)."""
    if port and not port_is_free(port):
        raise PortBusyError(port)
    patches.apply_all()
    # werkzeug logs every request at INFO on stderr; that drowns the output of sam and pytest.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = _Server(BIND_ADDRESS, port)
    server.start()
    if server.bind_error is not None:
        if server.bind_error.errno == errno.EADDRINUSE:
            raise PortBusyError(port) from server.bind_error
        raise server.bind_error
    _, bound_port = server.get_host_and_port()
    cloud = LocalCloud(port=bound_port, _server=server)
    in_process.serve(cloud.endpoint_url, server.app)
    if reset:
        cloud.reset()
    return cloud


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=configured_port())
    args = parser.parse_args(argv)
    try:
        cloud = start(args.port)
    except PortBusyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"localcloud AWS API on {cloud.endpoint_url} (bound to {BIND_ADDRESS})", flush=True)
    stopped.wait()
    cloud.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
