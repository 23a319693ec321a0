"""One boto3 Session for tests that talk to moto, in process or over HTTP.

A new Session loads every service model and the endpoint rules again: its first client of a
service costs ~0.1 CPU-s, a known Session's ~4 ms. Tests that made a Session each spent more
on that than on what they test. moto is imported first: a Session copies botocore's built-in
event handlers when created, and moto's interception is one of them.
"""

from __future__ import annotations

import functools

import boto3
import moto  # noqa: F401 - registers moto's handler before the Session copies the handlers

REGION = "us-east-1"
# moto accepts any keys; these reach no account.
TEST_KEY = "test"


@functools.cache
def session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=TEST_KEY, aws_secret_access_key=TEST_KEY, region_name=REGION
    )
