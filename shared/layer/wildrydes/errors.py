"""Turn pydantic validation errors into the API's error list: [{"field", "error"}]."""

from __future__ import annotations

from pydantic import ValidationError


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    """One entry per problem, named by the field's wire name ("from", not "from_")."""
    problems = []
    for detail in error.errors(include_url=False):
        field = ".".join(str(part) for part in detail["loc"]) or "body"
        message = detail["msg"]
        if detail["type"] == "extra_forbidden":
            message = "is not a field of a ride"
        problems.append({"field": field, "error": message.removeprefix("Value error, ")})
    return problems
