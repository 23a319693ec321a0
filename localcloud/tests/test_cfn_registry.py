"""The registry of what localcloud does with each CloudFormation resource type covers the
project: every type our templates deploy (after the SAM transform, as localcloud runs it) is
emulated or accepted, every property they set is either honoured or declared as not emulated,
and the README's compatibility table is the one the registry generates."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from localcloud.cloudformation import registry
from localcloud.tests.project_stacks import REPO_ROOT, every_template, processed

Support = registry.Support


@pytest.fixture(scope="module")
def deployed_resources() -> dict[str, dict[str, Any]]:
    """Every resource of every template the project deploys, as CloudFormation receives it:
    "<template>/<logical id>" -> resource."""
    resources = {}
    for name, template in every_template().items():
        for logical_id, resource in processed(template)["Resources"].items():
            resources[f"{name}/{logical_id}"] = resource
    return resources


def test_every_type_the_project_deploys_is_emulated_or_accepted(
    deployed_resources: dict[str, dict[str, Any]],
) -> None:
    verdicts = {r["Type"]: registry.support_of(r["Type"]) for r in deployed_resources.values()}
    assert Support.REFUSED not in verdicts.values(), verdicts
    # The ones this registry exists for.
    assert verdicts["AWS::XRay::ResourcePolicy"] is Support.ACCEPTED_NOT_EMULATED
    assert verdicts["AWS::S3::BucketPolicy"] is Support.ACCEPTED_NOT_EMULATED
    assert verdicts["AWS::ApiGateway::Account"] is Support.EMULATED
    assert verdicts["AWS::Lambda::Permission"] is Support.EMULATED


def test_every_property_the_project_sets_is_honoured_or_declared(
    deployed_resources: dict[str, dict[str, Any]],
) -> None:
    unaccounted: dict[str, set[str]] = defaultdict(set)
    for resource in deployed_resources.values():
        resource_type = resource["Type"]
        if registry.support_of(resource_type) is Support.ACCEPTED_NOT_EMULATED:
            continue  # nothing of it is created: its note says so
        honoured = registry.HONOURED_PROPERTIES.get(resource_type, frozenset())
        declared = registry.NOT_EMULATED_PROPERTIES.get(resource_type, {})
        for name in resource.get("Properties", {}):
            if name not in honoured and name not in declared:
                unaccounted[resource_type].add(name)
    assert dict(unaccounted) == {}, "decide: honour them, or declare them not emulated"


def test_the_declarations_are_consistent() -> None:
    for resource_type, declared in registry.NOT_EMULATED_PROPERTIES.items():
        assert registry.support_of(resource_type) is Support.EMULATED, resource_type
        overlap = set(declared) & registry.HONOURED_PROPERTIES.get(resource_type, frozenset())
        assert not overlap, f"{resource_type}: both honoured and not emulated: {overlap}"
        for why in declared.values():
            # Notes are joined with "; " into one status reason and shown in a Markdown table.
            assert registry.NOTE_SEPARATOR.strip() not in why
            assert "|" not in why
    for resource_type in registry.HONOURED_PROPERTIES:
        assert registry.support_of(resource_type) is Support.EMULATED, resource_type
    for accepted in registry.ACCEPTED_NOT_EMULATED.values():
        assert accepted.reason
        assert registry.NOTE_SEPARATOR.strip() not in accepted.reason
        assert "|" not in accepted.reason


def test_verdicts() -> None:
    # moto's models and localcloud's handlers are emulated; moto's abstract placeholders are not.
    assert registry.support_of("AWS::SQS::Queue") is Support.EMULATED
    assert registry.support_of("AWS::SNS::Subscription") is Support.EMULATED  # a handler
    assert registry.support_of("Custom::Anything") is Support.EMULATED  # moto's CustomModel
    for refused in (*registry.REFUSED_EXAMPLES, "?", "AWS::SERVICE::RESOURCE", "AWS::No::Such"):
        assert registry.support_of(refused) is Support.REFUSED, refused
    assert "AWS::AppSync::GraphQLApi" in registry.refusal("AWS::AppSync::GraphQLApi", "Graph")
    assert "Graph" in registry.refusal("AWS::AppSync::GraphQLApi", "Graph")
    # HTTP APIs are emulated, but not WebSocket APIs nor integrations other than Lambda proxies.
    for http_api_type in ("Api", "Stage", "Route", "Integration"):
        assert registry.support_of(f"AWS::ApiGatewayV2::{http_api_type}") is Support.EMULATED
    websocket = {"ProtocolType": "WEBSOCKET"}
    assert "WEBSOCKET of Ws is not emulated" in str(
        registry.property_refusal("AWS::ApiGatewayV2::Api", "Ws", websocket)
    )
    assert (
        registry.property_refusal("AWS::ApiGatewayV2::Api", "H", {"ProtocolType": "HTTP"}) is None
    )
    http_proxy = {"IntegrationType": "HTTP_PROXY"}
    assert "HTTP_PROXY of Proxy is not emulated" in str(
        registry.property_refusal("AWS::ApiGatewayV2::Integration", "Proxy", http_proxy)
    )


def test_notes_name_what_is_not_emulated() -> None:
    assert registry.notes("AWS::SQS::Queue", {"VisibilityTimeout": 30}) == []
    [note] = registry.notes("AWS::SNS::Topic", {"TracingConfig": "Active"})
    assert note.startswith("TracingConfig not emulated: ")
    assert "X-Ray" in note
    # A property a condition removed is not set.
    assert registry.notes("AWS::SNS::Topic", {"TracingConfig": {"Ref": "AWS::NoValue"}}) == []
    [accepted] = registry.notes("AWS::XRay::ResourcePolicy", {"PolicyName": "p"})
    assert accepted.startswith("AWS::XRay::ResourcePolicy accepted, not emulated: ")
    # An HTTP API body gets a note only for what it defines that does not run locally.
    body = {"openapi": "3.0.1", "paths": {}}
    assert registry.notes("AWS::ApiGatewayV2::Api", {"Body": body}) == []
    jwt = {"type": "jwt", "jwtConfiguration": {"issuer": "https://issuer.example"}}
    secured = {
        **body,
        "components": {
            "securitySchemes": {"Jwt": {"type": "oauth2", "x-amazon-apigateway-authorizer": jwt}}
        },
    }
    [note] = registry.notes("AWS::ApiGatewayV2::Api", {"Body": json.dumps(secured)})
    assert note.startswith("Body: its authorizers (x-amazon-apigateway-authorizer) are not")
    reason = registry.status_reason(["a", "b"])
    assert reason == f"{registry.NOTE_PREFIX}a{registry.NOTE_SEPARATOR}b"
    assert registry.status_reason([]) is None


def test_the_readme_compatibility_table_is_the_generated_one() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert registry.TABLE_BEGIN in readme, "README lacks the compatibility table"
    start = readme.index(registry.TABLE_BEGIN)
    end = readme.index(registry.TABLE_END) + len(registry.TABLE_END)
    assert readme[start:end] == registry.markdown_table(), (
        "README's compatibility table is stale: paste `python -m localcloud.cloudformation` over it"
    )
