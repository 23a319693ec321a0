"""localcloud.sam_cli: SAM's own URL parser, taught to read URLs on the configured endpoint."""

from __future__ import annotations

import pytest
from samcli.lib.utils import s3

from localcloud import sam_cli

ENDPOINT = "http://localhost:4566"
URL = f"{ENDPOINT}/aws-sam-cli-managed-default-samclisourcebucket-abc/4540a21b.template"


def test_gap_plain_sam_cannot_parse_a_url_on_a_custom_endpoint() -> None:
    """Fails (and this module can go) once SAM reads URLs on its own endpoint."""
    original = getattr(s3.parse_s3_url, "__wrapped__", s3.parse_s3_url)
    with pytest.raises(ValueError, match="not a valid S3 url"):
        original(URL)


def test_a_url_on_the_endpoint_reads_as_bucket_key_and_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", ENDPOINT + "/")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    parse = sam_cli.read_endpoint_urls(getattr(s3.parse_s3_url, "__wrapped__", s3.parse_s3_url))

    assert parse(URL) == {
        "Bucket": "aws-sam-cli-managed-default-samclisourcebucket-abc",
        "Key": "4540a21b.template",
    }
    versioned = parse(f"{URL}?versionId=3", version_property="Version")
    assert versioned["Version"] == "3"
    # AWS's own URLs are SAM's business, unchanged.
    assert parse("https://s3.us-east-1.amazonaws.com/bucket/key.template")["Key"] == "key.template"
    with pytest.raises(ValueError, match="not a valid S3 url"):
        parse("http://elsewhere:4566/bucket/key")


def test_the_s3_specific_endpoint_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", ENDPOINT)
    assert sam_cli.s3_endpoint() == ENDPOINT
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert sam_cli.s3_endpoint() is None
    assert sam_cli.as_s3_scheme(URL, None) == URL
