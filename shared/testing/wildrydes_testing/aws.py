"""One boto3 Session for tests that talk to moto, in process or over HTTP.

A new Session loads every service model and the endpoint rules again: its first client of a
service costs ~0.1 CPU-s, a known Session's ~4 ms. Tests that made a Session each spent more
on that than on what they test. moto is imported first: a Session copies botocore's built-in
event handlers when created, and moto's interception is one of them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto import mock_aws  # imported first: registers moto's handler before a Session copies them

REGION = "us-east-1"
# moto accepts any keys; these reach no account.
TEST_KEY = "test"


@functools.cache
def session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=TEST_KEY, aws_secret_access_key=TEST_KEY, region_name=REGION
    )


@contextmanager
def mocked(**mock_options: Any) -> Iterator[boto3.Session]:
    """moto's `mock_aws`, where boto3's default Session (what `boto3.client(...)` and the
    handlers' module-level clients use) is the shared one: moto sets it to None for each mock,
    so every mock would otherwise load the service models again.

    One of localcloud's moto patches applies here too, as it changes nothing a test can see:
    KMS keys make their private key when first used (each encrypted table a test creates
    otherwise cost an RSA key generation: localcloud/patches.py says more)."""
    from localcloud.patches import make_kms_private_keys_on_first_use

    make_kms_private_keys_on_first_use()
    with mock_aws(**mock_options):
        boto3.DEFAULT_SESSION = session()  # moto puts its own value back when the mock ends
        yield session()
