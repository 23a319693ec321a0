"""The consumer inbox module (shared/templates/consumer-inbox.yaml), checked once for every
consumer that nests it: queues, DLQs, queue policies, alarms and the outputs services read."""

from __future__ import annotations

from typing import Any

import pytest
from wildrydes_testing.consumer_stack import (
    ALERTS_TOPIC_ARN,
    FOURTEEN_DAYS,
    INBOX_TEMPLATE,
    KEY_ARN,
    MAX_RECEIVE_COUNT,
    TOPIC_ARN,
    as_list,
    get_att,
)
from wildrydes_testing.templates import lint_findings, load_template

INBOX = load_template(INBOX_TEMPLATE)
QUEUES = ("Queue", "DeadLetterQueue", "DeliveryDeadLetterQueue")


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in INBOX["Resources"].items() if r["Type"] == kind}


def properties(name: str) -> dict[str, Any]:
    return INBOX["Resources"][name]["Properties"]


def test_cfn_lint_is_clean() -> None:
    assert lint_findings(INBOX_TEMPLATE) == []


def test_plain_cloudformation_with_the_parameters_services_pass() -> None:
    # No SAM transform: a nested stack is deployed as it is packaged.
    assert "Transform" not in INBOX
    assert set(INBOX["Parameters"]) == {
        "PlatformStackName",
        "ServiceName",
        "VisibilityTimeout",
        "DashboardName",
    }


def test_queues_are_encrypted_with_the_platform_key() -> None:
    assert set(resources("AWS::SQS::Queue")) == set(QUEUES)
    for name in QUEUES:
        assert properties(name)["KmsMasterKeyId"] == KEY_ARN, name
        assert 60 <= properties(name)["KmsDataKeyReusePeriodSeconds"] <= 86400, name


def test_failed_records_reach_the_dlq_and_both_dlqs_keep_them_14_days() -> None:
    assert properties("Queue")["RedrivePolicy"] == {
        "deadLetterTargetArn": get_att("DeadLetterQueue"),
        "maxReceiveCount": MAX_RECEIVE_COUNT,
    }
    assert f"maxReceiveCount ({MAX_RECEIVE_COUNT})" in INBOX["Description"]
    for name in ("DeadLetterQueue", "DeliveryDeadLetterQueue"):
        assert properties(name)["MessageRetentionPeriod"] == FOURTEEN_DAYS, name


def _policy_for(queue: str) -> dict[str, Any]:
    policies = [
        policy["Properties"]
        for policy in resources("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue} in policy["Properties"]["Queues"]
    ]
    assert len(policies) == 1, f"{queue} needs exactly one queue policy"
    return policies[0]["PolicyDocument"]


@pytest.mark.parametrize("queue", QUEUES)
def test_only_the_platform_topic_sends_and_only_over_tls(queue: str) -> None:
    statements = _policy_for(queue)["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    denies = [s for s in statements if s["Effect"] == "Deny"]
    # Every queue refuses plain HTTP, for every action and principal.
    assert any(
        s["Principal"] == "*"
        and s["Action"] == "sqs:*"
        and get_att(queue) in as_list(s["Resource"])
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in denies
    )
    if queue == "DeadLetterQueue":
        assert allows == []  # only SQS's own redrive writes here
        return
    [allow] = allows
    assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert get_att(queue) in as_list(allow["Resource"])
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": TOPIC_ARN}}


def test_dlqs_alarm_on_the_platform_alerts_topic_when_not_empty() -> None:
    watched = set()
    for alarm in resources("AWS::CloudWatch::Alarm").values():
        alarm_properties = alarm["Properties"]
        assert alarm_properties["Namespace"] == "AWS/SQS"
        assert alarm_properties["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm_properties["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm_properties["Threshold"] == 0
        assert alarm_properties["TreatMissingData"] == "notBreaching"
        [dimension] = alarm_properties["Dimensions"]
        assert dimension["Name"] == "QueueName"
        watched.add(dimension["Value"]["Fn::GetAtt"][0])
        # An alarm nobody hears is no alarm: the platform's alerts topic, firing and clearing.
        assert alarm_properties["AlarmActions"] == [ALERTS_TOPIC_ARN]
        assert alarm_properties["OKActions"] == [ALERTS_TOPIC_ARN]
        # The text names the service whose inbox it is.
        assert "${ServiceName}" in alarm_properties["AlarmDescription"]["Fn::Sub"]
    assert watched == {"DeadLetterQueue", "DeliveryDeadLetterQueue"}


def test_outputs_name_every_queue_by_url_arn_and_name() -> None:
    outputs = INBOX["Outputs"]
    for queue in QUEUES:
        assert outputs[f"{queue}Url"]["Value"] == {"Ref": queue}
        assert outputs[f"{queue}Arn"]["Value"] == get_att(queue)
        assert outputs[f"{queue}Name"]["Value"] == get_att(queue, "QueueName")
