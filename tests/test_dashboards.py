"""The dashboards show only metrics that exist: ones the functions emit (same name, namespace and
dimension) or AWS metrics of resources the same stack deploys, and every alarm of the stack.

The management stack holds its dashboard; every consumer gets its own from the inbox module it
nests (shared/templates/consumer-inbox.yaml) with its service name. Placeholders of the bodies'
Fn::Sub are checked for what they stand for, not resolved: `${Namespace}` must be the platform's
namespace export (the one the functions' POWERTOOLS_METRICS_NAMESPACE imports), `${X.QueueName}`
a queue of the stack, `${X}` under AWS/Lambda one of its functions, and so on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from wildrydes.observability import CONSUMER_METRICS, MANAGEMENT_METRICS, METRIC_DIMENSION
from wildrydes_testing.templates import load_template

from scripts import services

REPO_ROOT = Path(__file__).resolve().parents[1]
MANAGEMENT = REPO_ROOT / "services" / "management" / "template.yaml"
INBOX = REPO_ROOT / "shared" / "templates" / "consumer-inbox.yaml"
NAMESPACE_IMPORT = {"Fn::ImportValue": {"Fn::Sub": "${PlatformStackName}-MetricsNamespace"}}

# AWS metrics a dashboard may show, and the dimensions that name the resource.
AWS_METRICS = {
    "AWS/SQS": (
        {"ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible"},
        "QueueName",
    ),
    "AWS/Lambda": ({"IteratorAge", "Errors"}, "FunctionName"),
    "AWS/ApiGateway": ({"Count", "4XXError", "5XXError", "Latency"}, "ApiName"),
}
PLACEHOLDER = re.compile(r"^\$\{([A-Za-z0-9:]+)(?:\.([A-Za-z]+))?\}$")


@dataclass(frozen=True)
class Dashboard:
    template: dict[str, Any]
    body: dict[str, Any]
    variables: dict[str, Any]  # the Fn::Sub variable map

    @property
    def resources(self) -> dict[str, Any]:
        return self.template["Resources"]

    def metric_rows(self) -> list[list[Any]]:
        return [
            row
            for widget in self.body["widgets"]
            if widget["type"] == "metric"
            for row in widget["properties"]["metrics"]
        ]

    def alarms(self) -> list[str]:
        return [
            alarm
            for widget in self.body["widgets"]
            if widget["type"] == "alarm"
            for alarm in widget["properties"]["alarms"]
        ]

    def resource_of(self, placeholder: str, attribute: str | None, resource_type: str) -> str:
        """The logical id `${Id.Attribute}` names; fails unless it is a `resource_type`."""
        match = PLACEHOLDER.match(placeholder)
        assert match, f"{placeholder!r} does not name a resource of the stack"
        logical_id, got_attribute = match.groups()
        assert got_attribute == attribute, placeholder
        assert self.resources.get(logical_id, {}).get("Type") == resource_type, placeholder
        return logical_id


def dashboard(template_path: Path) -> Dashboard:
    template = load_template(template_path)
    [resource] = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    body, variables = resource["Properties"]["DashboardBody"]["Fn::Sub"]
    return Dashboard(template, json.loads(body), variables)


@pytest.fixture(scope="module")
def management() -> Dashboard:
    return dashboard(MANAGEMENT)


@pytest.fixture(scope="module")
def inbox() -> Dashboard:
    return dashboard(INBOX)


def own_metrics(board: Dashboard, service: str) -> set[str]:
    """Names of the board's metrics in the functions' namespace, checked to carry exactly the
    `service` dimension with this value."""
    names = set()
    for row in board.metric_rows():
        if row[0] != "${Namespace}":
            continue
        dimensions = [item for item in row[2:] if not isinstance(item, dict)]
        assert dimensions == [METRIC_DIMENSION, service], row
        names.add(row[1])
    return names


def test_the_dashboards_namespace_is_the_one_the_functions_write_to(
    management: Dashboard, inbox: Dashboard
) -> None:
    assert management.variables == {"Namespace": NAMESPACE_IMPORT}
    assert inbox.variables == {"Namespace": NAMESPACE_IMPORT}
    variables = load_template(MANAGEMENT)["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == NAMESPACE_IMPORT
    for manifest in services.discover():
        if manifest.kind != "consumer":
            continue
        template = load_template(manifest.folder / "template.yaml")
        variables = template["Globals"]["Function"]["Environment"]["Variables"]
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == NAMESPACE_IMPORT, manifest.name


def test_management_shows_every_metric_its_functions_emit_and_no_other(
    management: Dashboard,
) -> None:
    assert own_metrics(management, "management") == {name.value for name in MANAGEMENT_METRICS}


def test_each_consumer_shows_every_metric_its_function_emits_and_no_other(
    inbox: Dashboard,
) -> None:
    # The inbox's ServiceName is the `service` dimension only if every consumer passes its own
    # name, the one its function's metrics carry (the consumer contract tests count by it).
    assert own_metrics(inbox, "${ServiceName}") == {name.value for name in CONSUMER_METRICS}
    for manifest in services.discover():
        if manifest.kind != "consumer":
            continue
        template = load_template(manifest.folder / "template.yaml")
        parameters = template["Resources"]["Inbox"]["Properties"]["Parameters"]
        assert parameters["ServiceName"] == manifest.name
        variables = template["Globals"]["Function"]["Environment"]["Variables"]
        assert variables["POWERTOOLS_SERVICE_NAME"] == manifest.name


@pytest.mark.parametrize("which", ["management", "inbox"])
def test_aws_metrics_are_of_resources_of_the_same_stack(which: str, request: Any) -> None:
    board: Dashboard = request.getfixturevalue(which)
    shown = 0
    for row in board.metric_rows():
        if row[0] == "${Namespace}":
            continue
        assert row[0] in AWS_METRICS, row
        names, resource_dimension = AWS_METRICS[row[0]]
        assert row[1] in names, row
        dimensions = dict(zip(row[2:-1:2], row[3::2], strict=False))
        value = dimensions[resource_dimension]
        if row[0] == "AWS/SQS":
            board.resource_of(value, "QueueName", "AWS::SQS::Queue")
        elif row[0] == "AWS/Lambda":
            board.resource_of(value, None, "AWS::Serverless::Function")
        else:
            [api] = [r for r in board.resources.values() if r["Type"] == "AWS::Serverless::Api"]
            assert value == api["Properties"]["Name"]["Fn::Sub"]
            assert dimensions["Stage"] == api["Properties"]["StageName"]
        shown += 1
    assert shown


@pytest.mark.parametrize("which", ["management", "inbox"])
def test_every_alarm_of_the_stack_is_on_its_dashboard(which: str, request: Any) -> None:
    board: Dashboard = request.getfixturevalue(which)
    shown = {board.resource_of(arn, "Arn", "AWS::CloudWatch::Alarm") for arn in board.alarms()}
    alarms = {name for name, r in board.resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert shown == alarms


@pytest.mark.parametrize("which", ["management", "inbox"])
def test_every_metric_widget_names_its_region_and_rows_are_spelled_out(
    which: str, request: Any
) -> None:
    board: Dashboard = request.getfixturevalue(which)
    for widget in board.body["widgets"]:
        if widget["type"] == "metric":
            assert widget["properties"]["region"] == "${AWS::Region}"
    # "." (same as the row above) would hide a row's real namespace and dimensions from the
    # checks above.
    assert all("." not in row[:4] for row in board.metric_rows())
