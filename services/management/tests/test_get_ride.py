"""GET /rides/{id}: the stored ride, 404 for an unknown id, 400 for a malformed one."""

from __future__ import annotations

import json

import pytest
from wildrydes_testing.seed import SEED


def test_a_stored_ride_is_returned_as_submitted(post_ride, get_ride_by_id) -> None:
    created = json.loads(post_ride(SEED)["body"])
    response = get_ride_by_id(created["id"])
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"]) == created


def test_an_unknown_id_is_404(cloud, get_ride_by_id) -> None:
    response = get_ride_by_id("0" * 32)
    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {"message": f"no ride with id {'0' * 32}", "errors": []}


@pytest.mark.parametrize(
    "ride_id", ["", "abc", "0" * 31, "0" * 33, "A" * 32, "g" * 32, "../" + "0" * 29, "0" * 32 + " "]
)
def test_a_malformed_id_is_400(cloud, get_ride_by_id, ride_id: str) -> None:
    response = get_ride_by_id(ride_id)
    assert response["statusCode"] == 400
    answer = json.loads(response["body"])
    assert answer["errors"] == [
        {"field": "id", "error": "must be 32 lowercase hexadecimal characters"}
    ]
