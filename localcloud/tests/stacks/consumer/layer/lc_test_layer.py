"""A layer module, so the test stack's layer has content of its own."""

from collections.abc import Sized


def count(items: Sized) -> int:
    return len(items)
