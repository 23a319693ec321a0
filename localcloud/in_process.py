"""localcloud's own AWS calls to a moto server in the same process, without a socket.

The pollers, the log shipper and the other parts of the Runtime call AWS through boto3 clients
like any program does. When the moto server they call runs in their own process (`localcloud
serve`, and the tests' Runtime), each call still went through a socket: urllib3 and http.client
on one side, a new werkzeug thread and its HTTP parsing on the other, all in the one interpreter
whose GIL moto needs to answer everybody. Here a client's request is handed to the server's WSGI
application directly instead (botocore's `before-send` hook, the one moto's own mock uses), so
the same request (headers, body, signature) reaches the same application and its answer is
parsed by the same botocore code; only the transport is skipped.

Only clients made by localcloud for localcloud are routed this way (ClientFactory); function
code runs in worker processes and calls over HTTP, and a client aimed at another endpoint (the
fault proxy, localcloud.faults) keeps using it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from werkzeug.test import EnvironBuilder, run_wsgi_app

from localcloud.loopback import WsgiApp

_apps: dict[str, WsgiApp] = {}
_lock = threading.Lock()


def serve(endpoint_url: str, app: WsgiApp) -> None:
    """Calls to `endpoint_url` from clients routed here go to `app` (the server's application)."""
    with _lock:
        _apps[endpoint_url.rstrip("/")] = app


def stop_serving(endpoint_url: str) -> None:
    with _lock:
        _apps.pop(endpoint_url.rstrip("/"), None)


def app_for(endpoint_url: str) -> WsgiApp | None:
    with _lock:
        return _apps.get(endpoint_url.rstrip("/"))


class _Body(BytesIO):
    """The raw response botocore reads: the whole body, already in memory."""

    def stream(self, **_: Any) -> Iterable[bytes]:
        chunk = self.read()
        if chunk:
            yield chunk


def route_client(client: Any, endpoint_url: str) -> bool:
    """Send `client`'s requests to the in-process server at `endpoint_url`, if there is one
    (True); otherwise leave the client on HTTP (False)."""
    if app_for(endpoint_url) is None:
        return False

    def send(request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        app = app_for(endpoint_url)
        if app is None:  # the server stopped: let the call fail over HTTP as it would have
            return None
        return _call(app, request)

    client.meta.events.register_first("before-send", send)
    return True


def _call(app: WsgiApp, request: AWSPreparedRequest) -> AWSResponse:
    url = urlsplit(request.url)
    environ = EnvironBuilder(
        method=request.method,
        base_url=f"{url.scheme}://{url.netloc}",
        path=url.path or "/",
        query_string=url.query,
        headers=[(name, _text(value)) for name, value in request.headers.items()],
        data=_body_bytes(request.body),
    ).get_environ()
    # botocore's HTTP path comes from its own socket; the server would see the loopback peer.
    environ["REMOTE_ADDR"] = "127.0.0.1"
    chunks, status, headers = run_wsgi_app(app, environ)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    response_headers = HTTPHeaders()
    for name, value in headers.items():
        response_headers[name] = value
    return AWSResponse(request.url, int(status.split(" ", 1)[0]), response_headers, _Body(body))


def _text(value: str | bytes) -> str:
    # botocore keeps the headers it computes (Host, signatures) as bytes.
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    return body.read()  # a file-like body (botocore streams large uploads)
