"""The real SAM CLI, taught to read back the S3 URLs it writes when pointed at localcloud.

Gap (aws-sam-cli 1.x, the same one LocalStack's `samlocal` wrapper works around): `sam package`
writes a nested application's TemplateURL path-style on the configured endpoint
(`http://localhost:4566/<bucket>/<key>`), but `sam delete` parses that URL back with
`parse_s3_url`, which accepts only `s3://` and `https://s3...` URLs, and fails with
"URL given to the parse method is not a valid S3 url" for every stack that nests one. On AWS
the endpoint is `https://s3...`, so the gap exists only for custom endpoints.

The fix: a path-style URL on the S3 endpoint in the environment reads as `s3://<bucket>/<key>`.
Nothing else in SAM changes. `scripts.stacks` runs SAM through this module whenever an endpoint
is set; run it by hand as `python -m localcloud.sam_cli delete --stack-name <name>`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any


def s3_endpoint(environ: Mapping[str, str] = os.environ) -> str | None:
    """The S3 endpoint SAM's clients use, as botocore chooses it (service-specific first)."""
    endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL")
    return endpoint.rstrip("/") if endpoint else None


def as_s3_scheme(url: Any, endpoint: str | None) -> Any:
    """`<endpoint>/<bucket>/<key>[?versionId=..]` as `s3://<bucket>/<key>[?versionId=..]`;
    anything else unchanged."""
    if endpoint and isinstance(url, str) and url.startswith(f"{endpoint}/"):
        return "s3://" + url[len(endpoint) + 1 :]
    return url


S3UrlParser = Callable[..., dict[str, Any]]


def read_endpoint_urls(parse_s3_url: S3UrlParser) -> S3UrlParser:
    def parse(url: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return parse_s3_url(as_s3_scheme(url, s3_endpoint()), *args, **kwargs)

    parse.__wrapped__ = parse_s3_url  # type: ignore[attr-defined]
    return parse


def install() -> None:
    """Replace `parse_s3_url` before any SAM module imports it by name."""
    from samcli.lib.utils import s3

    if not hasattr(s3.parse_s3_url, "__wrapped__"):
        s3.parse_s3_url = read_endpoint_urls(s3.parse_s3_url)


def main() -> int:
    install()
    from samcli.cli.main import cli

    sys.argv[0] = "sam"
    return cli()  # click exits on its own; the return is for its standalone_mode=False callers


if __name__ == "__main__":
    sys.exit(main())
