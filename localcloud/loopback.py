"""Only this machine may drive localcloud, and no web page from elsewhere.

Both listeners bind 127.0.0.1, but that alone does not keep a browser out: a page from any site,
open on the developer's machine, can send requests to 127.0.0.1 (a form POST needs no CORS
preflight, and moto's query protocol takes form bodies), or rebind its own DNS name to
127.0.0.1 and then read the answers as same-origin. localcloud runs function code as the
developer, so both are refused before anything runs:

- the Host header must name a loopback address: `localhost` or a name under `.localhost`
  (RFC 6761 keeps those on this machine), `127.0.0.0/8` or `[::1]`, with or without a port;
  a rebound name (`evil.example`) is not one;
- an Origin header, when a browser sends one, must be such a loopback origin too; `null`
  (sandboxed frames, file pages) is not.

A refused request gets 403 and a JSON message saying why; it reaches neither moto nor a
function. Loopback pages (a front end on http://localhost:3000) keep working, CORS included.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

# Where every localcloud listener binds: never reachable from other machines.
BIND_ADDRESS = "127.0.0.1"


def port_is_free(port: int) -> bool:
    """True when nothing listens on BIND_ADDRESS:`port` (a light check: `localcloud up` runs it
    before starting the server, without importing moto)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Same option werkzeug sets, so a port left in TIME_WAIT by a previous run counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((BIND_ADDRESS, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def host_name(host: str) -> str:
    """The name in a Host header, without port or IPv6 brackets, lowercased."""
    value = host.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else ""
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def is_loopback_name(name: str) -> bool:
    name = name.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback_host(host: str) -> bool:
    return bool(host) and is_loopback_name(host_name(host))


def is_loopback_origin(origin: str) -> bool:
    parts = urlsplit(origin.strip())
    return parts.scheme in ("http", "https") and is_loopback_name(parts.hostname or "")


def refusal(host: str | None, origin: str | None) -> str | None:
    """Why a request with these headers is refused, or None when it may go on."""
    if not host or not is_loopback_host(host):
        return (
            f"localcloud answers requests for this machine only: Host {host or '(none)'!r} is "
            "not localhost, 127.0.0.1 or [::1]"
        )
    if origin is not None and not is_loopback_origin(origin):
        return (
            f"localcloud answers web pages served from this machine only: Origin {origin!r} "
            "is not a localhost origin"
        )
    return None


def refusal_body(reason: str) -> bytes:
    return json.dumps({"message": reason, "__type": "AccessDeniedException"}).encode()


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class LoopbackOnly:
    """WSGI middleware in front of moto: foreign hosts and origins never reach it."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        reason = refusal(environ.get("HTTP_HOST"), environ.get("HTTP_ORIGIN"))
        if reason is None:
            return self._app(environ, start_response)
        body = refusal_body(reason)
        start_response(
            "403 Forbidden",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("x-amzn-ErrorType", "AccessDeniedException"),
            ],
        )
        return [body]
