"""Measures the local runtime's warm invocation overhead (not part of the test suite).

Run from the repository root:  .venv/bin/python bench/runtime_overhead.py [-n 500]

It starts its own moto server and Runtime on free ports, deploys a no-op function, warms it, and
reports percentiles for (a) a direct `Runtime.invoke` (what pollers and API Gateway use: pipe
round trip, JSON, log framing) and (b) boto3 `lambda.invoke` through the moto server (adds
HTTP, moto's request parsing and the invoke patch).
"""

from __future__ import annotations

import argparse
import io
import socket
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # localcloud, when run as a script from anywhere

from localcloud.runtime import Runtime  # noqa: E402

_NOOP = "def handler(event, context):\n    return event\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (
        f"p50 {statistics.median(ordered):.2f} ms  p95 {p95:.2f} ms  "
        f"min {ordered[0]:.2f} ms  (n={len(ordered)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=500, help="invocations per measurement")
    args = parser.parse_args()

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://localhost:{port}"
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
        region_name="us-east-1",
    )
    lam = session.client("lambda", endpoint_url=endpoint)
    role = session.client("iam", endpoint_url=endpoint).create_role(
        RoleName="bench", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", _NOOP)
    lam.create_function(
        FunctionName="noop",
        Runtime="python3.13",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
    )
    with tempfile.TemporaryDirectory() as state:
        runtime = Runtime(endpoint, state, apigw_port=None, console=None, poll_event_sources=False)
        runtime.start()
        try:
            for _ in range(20):  # cold start + warm-up
                runtime.invoke("noop", {"warm": True})
            direct = []
            for index in range(args.n):
                started = time.perf_counter()
                runtime.invoke("noop", {"i": index})
                direct.append((time.perf_counter() - started) * 1000)
            via_api = []
            for index in range(args.n // 5):
                started = time.perf_counter()
                lam.invoke(FunctionName="noop", Payload=f'{{"i": {index}}}'.encode())
                via_api.append((time.perf_counter() - started) * 1000)
        finally:
            runtime.stop()
            server.stop()
    print(f"warm Runtime.invoke (no-op handler):      {_percentiles(direct)}")
    print(f"warm boto3 lambda.invoke via moto server: {_percentiles(via_api)}")


if __name__ == "__main__":
    main()
