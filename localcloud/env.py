"""The environment that points AWS tools (boto3, the AWS CLI, the SAM CLI) at localcloud.

The one source for it: the server, `python -m localcloud env` (localcloud.cli, which the
Makefile's `local-env` runs to print `export` lines) and the tests all read it from here.
"""

from __future__ import annotations

import os

DEFAULT_PORT = 4566
REGION = "us-east-1"
# Any non-empty keys do: moto accepts them and the SDKs need some to sign requests.
DUMMY_KEY = "test"
# Seconds between the SAM CLI's polls of a change set or stack (SAM_CLI_POLL_DELAY).
POLL_DELAY_S = "0.5"


def endpoint_url(port: int) -> str:
    # "localhost", not 127.0.0.1: moto's S3 reads TemplateURLs path-style only on "localhost"
    # (patches.read_template_urls_on_any_local_host also covers 127.0.0.1).
    return f"http://localhost:{port}"


def configured_port() -> int:
    """LOCALCLOUD_PORT if set, else 4566."""
    return int(os.environ.get("LOCALCLOUD_PORT") or DEFAULT_PORT)


def local_env(port: int = DEFAULT_PORT) -> dict[str, str]:
    """Environment variables that send every AWS SDK / CLI call to localcloud on `port`."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url(port),
        "AWS_ACCESS_KEY_ID": DUMMY_KEY,
        "AWS_SECRET_ACCESS_KEY": DUMMY_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_PAGER": "",
        "SAM_CLI_TELEMETRY": "0",
        # `sam deploy` polls CloudFormation every 5 s by default, sized for AWS's API limits;
        # localcloud answers in milliseconds, so a stack is reported done 5 s sooner.
        "SAM_CLI_POLL_DELAY": POLL_DELAY_S,
    }
