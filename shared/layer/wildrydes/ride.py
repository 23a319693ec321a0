"""The ride: what a client submits, what the Rides table stores, what the topic carries.

Numbers are Decimals end to end: DynamoDB stores them exactly, and SNS numeric filtering only
accepts values with |x| <= 1e9 and at most 5 decimal places, so anything else is rejected here,
at the door, rather than failing publication later.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
)

# Ride ids are uuid4 hex: 32 lowercase hexadecimal characters.
RIDE_ID_PATTERN = r"^[0-9a-f]{32}$"
# The limits of SNS numeric attribute matching (see the SNS filter policy documentation).
SNS_NUMBER_LIMIT = 1_000_000_000  # an int so error messages read "1000000000"
SNS_NUMBER_DECIMAL_PLACES = 5


class OutOfRangeNumber:
    """A JSON number whose exponent no Decimal can hold (`0E1000000000000000000`): the API's
    parser hands it to validation this way, so the error names the field it was in."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"OutOfRangeNumber({_shown(self.text)!r})"


def json_decimal(text: str) -> Decimal | OutOfRangeNumber:
    """json.loads' parse_float / parse_int: the number exactly as written."""
    try:
        return Decimal(text)
    except ArithmeticError:  # decimal.InvalidOperation: an exponent beyond Decimal's range
        return OutOfRangeNumber(text)


def _exact_number(value: Any) -> Any:
    """Accept JSON numbers only (no booleans — a bool is an int in Python — no numeric strings),
    and return the number in its one exact form, checked against what SNS and DynamoDB hold.

    The form: trailing zeros dropped and positive exponents written out, without rounding
    (`1.000…0` with 40 zeros is 1, `0E+127` is 0, `-0` is 0), so the checks below and every
    later step (DynamoDB's serializer, the SNS attribute, the idempotency fingerprint) see the
    same value. Decimal's own normalize() would round to 28 digits first and hide
    `1E-1000027` as 0; this never rounds.
    """
    if isinstance(value, OutOfRangeNumber):
        raise ValueError(
            f"must be at most {SNS_NUMBER_LIMIT} with at most "
            f"{SNS_NUMBER_DECIMAL_PLACES} decimal places, got {_shown(value.text)}"
        )
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number")
    # str() keeps the decimal the client wrote instead of the binary float's expansion.
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise ValueError("must be a finite number")
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    significant = list(digits)
    while len(significant) > 1 and significant[-1] == 0:
        significant.pop()
        exponent += 1
    if significant == [0]:
        return Decimal(0)
    if sign:
        raise ValueError(f"must be at least 0, got {_shown(number)}")
    exact = Decimal((0, tuple(significant), exponent))
    leading_power = exponent + len(significant) - 1  # 1E+9 has 9: checked before comparing
    if leading_power > 9 or exact > SNS_NUMBER_LIMIT:
        raise ValueError(f"must be at most {SNS_NUMBER_LIMIT}, got {_shown(number)}")
    if exponent < -SNS_NUMBER_DECIMAL_PLACES:
        raise ValueError(
            f"must have at most {SNS_NUMBER_DECIMAL_PLACES} decimal places, got {_shown(number)}"
        )
    # 1E+2 as 100: the plain form DynamoDB, SNS and JSON all show.
    return Decimal(int(exact)) if exponent > 0 else exact


def _shown(number: object) -> str:
    """A number for an error message: at most 40 characters of it."""
    text = str(number)
    return text if len(text) <= 40 else f"{text[:37]}..."


RideNumber = Annotated[
    Decimal,
    BeforeValidator(_exact_number),
    Field(
        ge=0,
        le=SNS_NUMBER_LIMIT,
        decimal_places=SNS_NUMBER_DECIMAL_PLACES,
        allow_inf_nan=False,
    ),
]
Place = Annotated[
    str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=100)
]
CustomerId = Annotated[
    str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=64)
]


class RideRequest(BaseModel):
    """The body of POST /submit-ride-completion. Unknown fields are rejected, not dropped, so a
    client's typo ("fair") is an error instead of a silently missing value."""

    # Fields by their wire names only ("from", never "from_"): the API accepts one spelling.
    model_config = ConfigDict(extra="forbid", frozen=True)

    from_: Place = Field(alias="from", description="Where the ride started.")
    to: Place = Field(description="Where the ride ended.")
    duration: RideNumber = Field(description="Ride duration in minutes.")
    distance: RideNumber = Field(description="Distance travelled in km.")
    customer: CustomerId = Field(description="The customer's id.")
    fare: RideNumber = Field(description="Fare charged, in the account currency.")


class Ride(RideRequest):
    """A stored ride: the request plus the id and submission time the service assigned.

    Everything that reads a ride back (the publisher from the table's stream, the get handler,
    every consumer from the topic) is a tolerant reader: a field a later version adds is
    ignored, not a poison message that sends every ride of all three services to their DLQs.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: Annotated[str, StringConstraints(pattern=RIDE_ID_PATTERN)]
    submittedAt: datetime  # camelCase: the wire name of the contract

    @classmethod
    def from_request(cls, request: RideRequest, now: datetime | None = None) -> Ride:
        submitted = now or datetime.now(UTC)
        return cls(
            **request.model_dump(by_alias=True),
            id=uuid.uuid4().hex,
            # Milliseconds, as the wire format carries, so a parsed ride equals the stored one.
            submittedAt=submitted.replace(microsecond=submitted.microsecond // 1000 * 1000),
        )

    @field_serializer("submittedAt")
    def _iso_utc(self, value: datetime) -> str:
        return iso_utc(value)

    def to_item(self) -> dict[str, Any]:
        """The DynamoDB item: Decimals kept exact."""
        return self.model_dump(by_alias=True)

    def to_document(self) -> dict[str, Any]:
        """The JSON document clients and consumers see: numbers as JSON numbers."""
        return {key: _json_number(value) for key, value in self.to_item().items()}


def _json_number(value: Any) -> Any:
    if not isinstance(value, Decimal):
        return value
    if value == value.to_integral_value():
        return int(value)
    # Within the SNS limits (<= 15 significant digits) a float's shortest repr is exact.
    return float(value)


def iso_utc(moment: datetime) -> str:
    """The contract's timestamp format: ISO-8601 UTC with milliseconds, 2026-01-02T03:04:05.000Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def decimal_text(value: Decimal) -> str:
    """The plain decimal string SNS expects in a Number attribute: 600, 256.5 (never 6E+2)."""
    return format(value.normalize(), "f")
