"""scripts/smoke.py: what it expects from the filter policies, and how it fails."""

from __future__ import annotations

import pytest
from wildrydes_testing.aws import mocked

from scripts import services, smoke

ACCOUNTING = {"fare": [{"numeric": [">", 0]}]}
EXTRAORDINARY = {
    "$or": [{"fare": [{"numeric": [">=", 50]}]}, {"distance": [{"numeric": [">=", 20]}]}]
}


@pytest.mark.parametrize(
    ("policy", "fare", "distance", "expected"),
    [
        (None, 0, 1, True),
        (ACCOUNTING, 0, 1, False),
        (ACCOUNTING, 0.01, 1, True),
        (EXTRAORDINARY, 49.99, 19.99, False),
        (EXTRAORDINARY, 50, 1, True),
        (EXTRAORDINARY, 1, 20, True),
    ],
)
def test_expected_receivers_follow_the_subscription_filter_policy(
    policy: dict | None, fare: float, distance: float, expected: bool
) -> None:
    received = services.Received("TableName", {"rideId": "{ride_id}"}, "sentAt")
    consumer = smoke.Consumer("any", "table", policy, "MessageAttributes", received)
    assert (
        consumer.should_receive({**smoke.SEED_RIDE, "fare": fare, "distance": distance}) is expected
    )


@pytest.mark.parametrize("ride", ["not json", "[1, 2]", '"a ride"'])
def test_a_ride_argument_must_be_a_json_object(
    ride: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        smoke.main(["--ride", ride])
    assert exit_info.value.code == 2
    assert "--ride must be a JSON object" in capsys.readouterr().err


def test_a_system_that_is_not_deployed_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mocked():
        assert smoke.main(["--prefix", "nothing-here"]) == 2
    assert "stack nothing-here-management is not deployed" in capsys.readouterr().err


def test_local_target_without_localcloud_says_how_to_start_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOCALCLOUD_HOME", str(tmp_path))
    assert smoke.main(["--target", "local"]) == 2
    assert "localcloud is not running: start it with `make local-up`" in capsys.readouterr().err
