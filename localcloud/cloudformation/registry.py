"""What localcloud does with each CloudFormation resource type, and with the properties that
matter: the one place a deploy's verdict comes from.

moto's CloudFormation skips any type it has no model for and says nothing (the stack reaches
CREATE_COMPLETE without it, and a `!Ref` to it stays literal `${...}` text in the outputs). So
every type gets a verdict here:

- EMULATED: moto models it, or a handler in this package does; the resource exists in moto's
  backends and the AWS APIs answer for it.
- ACCEPTED_NOT_EMULATED: nothing is created, but its absence changes nothing localcloud
  emulates (the reason says why); the stack event and `make local-status` say so.
- REFUSED: everything else. The deploy fails and the resource's CREATE_FAILED event names the
  type, as a deploy to AWS fails on a resource it cannot create.

Properties are the same story one level down: a property moto (or a handler) stores but whose
effect localcloud does not reproduce is declared in NOT_EMULATED_PROPERTIES, and a template that
sets it gets a note on the resource's event. HONOURED_PROPERTIES lists, for the types the
project's templates use, the properties localcloud was checked to honour; a test keeps every
property those templates set in one of the two lists, so none is ignored in silence.

`python -m localcloud.cloudformation` prints the README's compatibility table (`--all`: every
type localcloud emulates).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from localcloud.eventbridge import schedule_expressions, scheduler_schedules
from localcloud.eventbridge import targets as eventbridge_targets
from localcloud.lambda_runtime import interpreters

# A resource's status reason (DescribeStackResources, the stack's events) starts with this when
# localcloud has something to say about it; `make local-status` lists those.
NOTE_PREFIX = "localcloud: "
NOTE_SEPARATOR = "; "


class Support(enum.Enum):
    EMULATED = "emulated"
    ACCEPTED_NOT_EMULATED = "accepted, not emulated"
    REFUSED = "refused"


@dataclass(frozen=True)
class Accepted:
    """A type deployed without being emulated. `physical_id` names the property whose value AWS
    returns as the physical id (a bucket policy's is its bucket); empty means a generated name
    (<stack>-<LogicalId>-<SUFFIX>), as CloudFormation gives most resources."""

    reason: str
    physical_id: str = ""


ACCEPTED_NOT_EMULATED: dict[str, Accepted] = {
    "AWS::XRay::ResourcePolicy": Accepted(
        reason=(
            "localcloud has no X-Ray: no service sends trace segments, so a policy that lets "
            "them changes nothing locally"
        ),
        physical_id="PolicyName",
    ),
    "AWS::S3::BucketPolicy": Accepted(
        reason=(
            "localcloud authorizes every request (no IAM or resource policy is evaluated), so a "
            "bucket policy grants or denies nothing locally. Not applied either, because moto "
            "would enforce its Deny statements without their conditions (the SAM CLI bucket's "
            "deny-unless-TLS would block every upload over localcloud's plain HTTP)"
        ),
        physical_id="Bucket",
    ),
}

# moto's model list holds a few abstract placeholders too: not resource types.
_NOT_REAL_TYPES = frozenset({"?", "AWS::SERVICE::RESOURCE"})

_NO_XRAY = "localcloud has no X-Ray: no trace is recorded (the setting is stored)"
_NO_ALARM_EVALUATION = (
    "stored, but localcloud never evaluates alarms: the alarm's state never changes and no "
    "action runs"
)

_AUTHORIZES_EVERYTHING = (
    "stored only: localcloud authorizes every request, so no role is assumed to invoke the function"
)
_NO_HTTP_AUTHORIZER = (
    "stored (GetRoutes answers it), but no authorizer is evaluated locally: every request "
    "reaches the route and requestContext has no authorizer"
)
_HTTP_ROUTE_SETTINGS = (
    "throttling (ThrottlingBurstLimit, ThrottlingRateLimit) is honoured, but "
    "DetailedMetricsEnabled, LoggingLevel and DataTraceEnabled are stored only"
)

NOT_EMULATED_PROPERTIES: dict[str, dict[str, str]] = {
    "AWS::SNS::Topic": {"TracingConfig": _NO_XRAY},
    "AWS::Lambda::Function": {
        "TracingConfig": (
            "localcloud has no X-Ray: each invocation gets a fresh _X_AMZN_TRACE_ID, but no "
            "trace is recorded or linked"
        ),
        "Runtime": (
            "a Python runtime runs on that Python version when this machine has one (on PATH "
            "or in pyenv's versions), otherwise on localcloud's own interpreter and "
            "the resource's event says so. Any other runtime is refused"
        ),
        "Architectures": (
            "stored, but the code runs on this machine's CPU (a layer's native modules are "
            "swapped for the same versions built for this CPU and the function's Python)"
        ),
        "MemorySize": (
            "stored and passed as AWS_LAMBDA_FUNCTION_MEMORY_SIZE, but the worker's memory (and "
            "CPU) is not limited by it"
        ),
    },
    "AWS::ApiGateway::Stage": {
        "TracingEnabled": _NO_XRAY,
        "AccessLogSetting": (
            "stored on the stage, but localcloud's API Gateway writes no access log lines"
        ),
        "MethodSettings": (
            "throttling is honoured, but LoggingLevel, DataTraceEnabled and MetricsEnabled are "
            "stored only (no execution logs, no API Gateway metrics locally)"
        ),
    },
    "AWS::ApiGatewayV2::Api": {
        "Body": (
            "its routes, Lambda proxy integrations and x-amazon-apigateway-cors are served, but "
            "authorizers it defines (x-amazon-apigateway-authorizer) are not evaluated (the "
            "resource gets a note when its body has one)"
        ),
        "CredentialsArn": _AUTHORIZES_EVERYTHING,
        "BasePath": "not applied: an imported body's paths are routed as written",
    },
    "AWS::ApiGatewayV2::Stage": {
        "AccessLogSettings": "stored on the stage, but localcloud writes no access log lines",
        "DefaultRouteSettings": _HTTP_ROUTE_SETTINGS,
        "RouteSettings": _HTTP_ROUTE_SETTINGS,
        "ClientCertificateId": (
            "stored only: a client certificate is for HTTP backends, and localcloud serves Lambda "
            "proxy integrations only"
        ),
    },
    "AWS::ApiGatewayV2::Route": {
        "AuthorizationType": _NO_HTTP_AUTHORIZER,
        "AuthorizerId": _NO_HTTP_AUTHORIZER,
        "AuthorizationScopes": _NO_HTTP_AUTHORIZER,
        "RequestParameters": "stored only: no request parameter is required or validated",
    },
    "AWS::ApiGatewayV2::Integration": {
        "TimeoutInMillis": (
            "stored, but the call is bounded by the function's own Timeout, not the integration's"
        ),
        "CredentialsArn": _AUTHORIZES_EVERYTHING,
        "RequestParameters": "not applied: the request reaches the function unchanged",
        "ResponseParameters": "not applied: the function's response is returned unchanged",
    },
    "AWS::CloudWatch::Alarm": {
        "AlarmActions": _NO_ALARM_EVALUATION,
        "OKActions": _NO_ALARM_EVALUATION,
    },
    "AWS::DynamoDB::Table": {
        "TimeToLiveSpecification": (
            "stored (DescribeTimeToLive answers it), but localcloud never expires items"
        ),
    },
    "AWS::Kinesis::Stream": {
        "StreamEncryption": "not applied: records are stored unencrypted and KMS is never called",
        "StreamModeDetails": (
            "not modelled: the stream has the shards ShardCount gives (1 when unset) and no "
            "throughput limit applies"
        ),
    },
    "AWS::Lambda::EventSourceMapping": {
        "TumblingWindowInSeconds": (
            "stored, but no window state is kept: the function gets plain batches (no window, "
            "state or isFinalInvokeForWindow)"
        ),
        "ParallelizationFactor": "stored, but each shard is read by one batch at a time",
        "StartingPositionTimestamp": (
            "stored, but AT_TIMESTAMP reads a Kinesis shard from its oldest record"
        ),
    },
    "AWS::Events::Rule": {
        "Targets": (
            "matched and scheduled events reach Lambda, SQS, SNS, Kinesis, CloudWatch Logs and "
            "event bus targets, with Input, InputPath, InputTransformer, RetryPolicy and "
            "DeadLetterConfig. Any other kind (Step Functions, ECS, Batch, API destinations) "
            "gets nothing, and the resource gets a note naming it"
        ),
        "RoleArn": (
            "stored only: localcloud authorizes every request, so no role is assumed to reach "
            "the targets (and a target's resource policy is not checked)"
        ),
        "ScheduleExpression": (
            "fires only while localcloud runs (a rate counts from when the rule was made, a cron "
            "fires on the minute, UTC): times that passed while it was stopped are not made up"
        ),
    },
    "AWS::Scheduler::Schedule": {
        "Target": (
            "Lambda, SQS, SNS, Kinesis and EventBridge targets are invoked, with Input and its "
            "context attributes, RetryPolicy and DeadLetterConfig, but the RoleArn is not "
            "assumed. Universal (aws-sdk) targets and Step Functions, ECS and SageMaker targets "
            "get nothing, and the resource gets a note naming it"
        ),
        "FlexibleTimeWindow": (
            "a FLEXIBLE window fires at its start (AWS picks a moment inside the window)"
        ),
        "KmsKeyArn": "stored only: nothing is encrypted locally",
    },
    "AWS::Logs::LogGroup": {
        "RetentionInDays": "stored, but localcloud never expires log events",
    },
    "AWS::IAM::Role": {
        "ManagedPolicyArns": (
            "not attached by moto's CloudFormation (ListAttachedRolePolicies is empty), and "
            "localcloud authorizes every request, so no call depends on them"
        ),
    },
    "AWS::SNS::Subscription": {
        "RedrivePolicy": (
            "stored (GetSubscriptionAttributes answers it), but localcloud never redrives a "
            "failed delivery to that queue"
        ),
    },
}

# Checked by reading moto's models and localcloud's handlers, runtime and pollers: each of these
# reaches the backend and does what it does on AWS (policies are stored, not evaluated: see the
# README). Only the types the project's templates (and the SAM CLI's managed bucket stack) use,
# the HTTP API types (what SAM writes for an HttpApi and hand-written templates add) and
# EventBridge's (what SAM writes for EventBridgeRule, Schedule and ScheduleV2 events).
HONOURED_PROPERTIES: dict[str, frozenset[str]] = {
    "AWS::ApiGateway::Account": frozenset({"CloudWatchRoleArn"}),
    "AWS::ApiGateway::ApiKey": frozenset({"Enabled", "StageKeys"}),
    "AWS::ApiGateway::Deployment": frozenset({"Description", "RestApiId"}),
    "AWS::ApiGateway::RestApi": frozenset({"Body", "Name"}),
    "AWS::ApiGateway::Stage": frozenset({"DeploymentId", "RestApiId", "StageName"}),
    "AWS::ApiGateway::UsagePlan": frozenset({"ApiStages", "Description", "Throttle"}),
    "AWS::ApiGateway::UsagePlanKey": frozenset({"KeyId", "KeyType", "UsagePlanId"}),
    "AWS::ApiGatewayV2::Api": frozenset(
        {
            "BodyS3Location",
            "CorsConfiguration",
            "Description",
            "DisableExecuteApiEndpoint",
            "FailOnWarnings",
            "Name",
            "ProtocolType",
            "RouteKey",
            "Tags",
            "Target",
            "Version",
        }
    ),
    "AWS::ApiGatewayV2::Integration": frozenset(
        {
            "ApiId",
            "Description",
            "IntegrationMethod",
            "IntegrationType",
            "IntegrationUri",
            "PayloadFormatVersion",
        }
    ),
    "AWS::ApiGatewayV2::Route": frozenset({"ApiId", "OperationName", "RouteKey", "Target"}),
    "AWS::ApiGatewayV2::Stage": frozenset(
        {"ApiId", "AutoDeploy", "Description", "StageName", "StageVariables", "Tags"}
    ),
    "AWS::CloudFormation::Stack": frozenset({"Parameters", "Tags", "TemplateURL"}),
    "AWS::CloudWatch::Alarm": frozenset(
        {
            "AlarmDescription",
            "ComparisonOperator",
            "Dimensions",
            "EvaluationPeriods",
            "MetricName",
            "Namespace",
            "Period",
            "Statistic",
            "Threshold",
            "TreatMissingData",
        }
    ),
    "AWS::CloudWatch::Dashboard": frozenset({"DashboardBody", "DashboardName"}),
    "AWS::DynamoDB::Table": frozenset(
        {
            "AttributeDefinitions",
            "BillingMode",
            "KeySchema",
            "PointInTimeRecoverySpecification",
            "SSESpecification",
            "StreamSpecification",
        }
    ),
    "AWS::Events::EventBus": frozenset({"Name", "Tags"}),
    "AWS::Events::Rule": frozenset(
        {"Description", "EventBusName", "EventPattern", "Name", "State"}
    ),
    "AWS::Scheduler::Schedule": frozenset(
        {
            "ActionAfterCompletion",
            "Description",
            "EndDate",
            "GroupName",
            "Name",
            "ScheduleExpression",
            "ScheduleExpressionTimezone",
            "StartDate",
            "State",
        }
    ),
    "AWS::Scheduler::ScheduleGroup": frozenset({"Name", "Tags"}),
    "AWS::IAM::Role": frozenset(
        {"AssumeRolePolicyDocument", "Path", "PermissionsBoundary", "Policies", "Tags"}
    ),
    "AWS::KMS::Alias": frozenset({"AliasName", "TargetKeyId"}),
    "AWS::KMS::Key": frozenset(
        {"Description", "EnableKeyRotation", "KeyPolicy", "PendingWindowInDays", "Tags"}
    ),
    "AWS::Lambda::EventSourceMapping": frozenset(
        {
            "BatchSize",
            "BisectBatchOnFunctionError",
            "DestinationConfig",
            "EventSourceArn",
            "FilterCriteria",
            "FunctionName",
            "FunctionResponseTypes",
            "MaximumBatchingWindowInSeconds",
            "MaximumRecordAgeInSeconds",
            "MaximumRetryAttempts",
            "ScalingConfig",
            "StartingPosition",
        }
    ),
    "AWS::Lambda::Function": frozenset(
        {
            "Code",
            "DeadLetterConfig",
            "Description",
            "Environment",
            "Handler",
            "Layers",
            "Role",
            "Tags",
            "Timeout",
        }
    ),
    "AWS::Lambda::LayerVersion": frozenset(
        {"CompatibleArchitectures", "CompatibleRuntimes", "Content", "Description", "LayerName"}
    ),
    "AWS::Lambda::Permission": frozenset({"Action", "FunctionName", "Principal", "SourceArn"}),
    "AWS::Logs::LogGroup": frozenset({"LogGroupName"}),
    "AWS::S3::Bucket": frozenset(
        {
            "BucketEncryption",
            "NotificationConfiguration",
            "PublicAccessBlockConfiguration",
            "Tags",
            "VersioningConfiguration",
        }
    ),
    "AWS::SNS::Subscription": frozenset(
        {
            "Endpoint",
            "FilterPolicy",
            "FilterPolicyScope",
            "Protocol",
            "RawMessageDelivery",
            "TopicArn",
        }
    ),
    "AWS::SNS::Topic": frozenset({"KmsMasterKeyId", "Tags"}),
    "AWS::SNS::TopicPolicy": frozenset({"PolicyDocument", "Topics"}),
    "AWS::SQS::Queue": frozenset(
        {
            "KmsDataKeyReusePeriodSeconds",
            "KmsMasterKeyId",
            "MessageRetentionPeriod",
            "RedrivePolicy",
            "VisibilityTimeout",
        }
    ),
    "AWS::SQS::QueuePolicy": frozenset({"PolicyDocument", "Queues"}),
}


@cache
def moto_types() -> frozenset[str]:
    """The types moto 5.2.5's CloudFormation has a model for (its own list, unpatched)."""
    import moto.cloudformation.parsing as cfn_parsing

    return (
        frozenset(m.cloudformation_type() for m in cfn_parsing.get_model_list()) - _NOT_REAL_TYPES
    )


@cache
def handler_types() -> frozenset[str]:
    """The types a localcloud handler creates (some replace moto's own model)."""
    from localcloud import cloudformation

    return frozenset(handler.cloudformation_type() for handler in cloudformation.HANDLERS)


# Types moto models whose point localcloud does not run: deploying them would report success for
# something that never works locally, so they are refused, with the reason.
REFUSED_THOUGH_MODELLED: dict[str, str] = {
    "AWS::StepFunctions::StateMachine": (
        "its executions do not run locally (moto keeps every execution RUNNING with a "
        "placeholder history and never invokes a task)"
    ),
}


def emulated_types() -> frozenset[str]:
    return (moto_types() | handler_types()) - frozenset(REFUSED_THOUGH_MODELLED)


def support_of(resource_type: str) -> Support:
    if resource_type in ACCEPTED_NOT_EMULATED:
        return Support.ACCEPTED_NOT_EMULATED
    # moto runs custom resources itself (its CustomModel invokes the function).
    if resource_type in emulated_types() or resource_type.startswith("Custom::"):
        return Support.EMULATED
    return Support.REFUSED


SAM_PREFIX = "AWS::Serverless::"


def refusal(resource_type: str, logical_id: str) -> str:
    """The status reason of a refused resource: what is missing and what to do."""
    if resource_type.startswith(SAM_PREFIX):
        # Only a template without the SAM transform lets one reach CloudFormation (AWS rejects
        # it as an unrecognized resource type).
        return (
            f"{NOTE_PREFIX}resource type {resource_type} ({logical_id}) is a SAM type: the "
            "template must declare `Transform: AWS::Serverless-2016-10-31`"
        )
    if resource_type in REFUSED_THOUGH_MODELLED:
        return (
            f"{NOTE_PREFIX}resource type {resource_type} ({logical_id}) is not emulated: "
            f"{REFUSED_THOUGH_MODELLED[resource_type]}. See the README's localcloud "
            "compatibility table"
        )
    return (
        f"{NOTE_PREFIX}resource type {resource_type} ({logical_id}) is not emulated: localcloud "
        "cannot create it, and a stack without it would not behave as on AWS. See the README's "
        "localcloud compatibility table"
    )


def acceptance_note(resource_type: str) -> str:
    return f"{resource_type} accepted, not emulated: {ACCEPTED_NOT_EMULATED[resource_type].reason}"


def _is_set(value: Any) -> bool:
    # `!Ref AWS::NoValue` (e.g. through a condition SAM left in place) removes the property.
    return not (isinstance(value, dict) and value.get("Ref") == "AWS::NoValue")


def _runtime_note(runtime: Any) -> str | None:
    if not isinstance(runtime, str) or interpreters.python_version(runtime) is None:
        return None  # unresolved (an intrinsic), or refused before anything is created
    return interpreters.runs_on(runtime)


def _rule_targets_note(rule_targets: Any) -> str | None:
    if not isinstance(rule_targets, list):
        return None
    unreached = []
    for target in rule_targets:
        arn = target.get("Arn") if isinstance(target, dict) else None
        service = arn.split(":")[2] if isinstance(arn, str) and arn.count(":") >= 5 else None
        if service not in eventbridge_targets.DELIVERED_SERVICES:
            unreached.append(str(target.get("Id", "?")) if isinstance(target, dict) else "?")
    if not unreached:
        return None
    return (
        f"target(s) {', '.join(unreached)} get nothing locally: matched events reach Lambda, "
        "SQS, SNS, Kinesis, CloudWatch Logs and event bus targets only (not Step Functions, "
        "ECS, Batch or API destinations)"
    )


def _schedule_target_note(target: Any) -> str | None:
    arn = target.get("Arn") if isinstance(target, dict) else None
    if not isinstance(arn, str):
        return None  # unresolved, or refused when the schedule is made
    if scheduler_schedules.target_kind(arn) in scheduler_schedules.DELIVERED_SERVICES:
        return None
    return (
        f"{arn} gets nothing locally: schedules reach Lambda, SQS, SNS, Kinesis and EventBridge "
        "targets only (not universal aws-sdk targets, Step Functions, ECS or SageMaker)"
    )


def _flexible_window_note(window: Any) -> str | None:
    if isinstance(window, dict) and window.get("Mode") == "FLEXIBLE":
        return "fires at the window's start (AWS picks a moment inside it)"
    return None


def _http_api_body_note(body: Any) -> str | None:
    # Imported here: the handler package imports this module.
    from localcloud.cloudformation.apigatewayv2 import body_notes

    return body_notes(body)


# Properties localcloud honours for some values only: the table shows their entry in
# NOT_EMULATED_PROPERTIES, a resource gets a note only for a value that is not reproduced.
_VALUE_NOTES: dict[str, dict[str, Callable[[Any], str | None]]] = {
    "AWS::Lambda::Function": {"Runtime": _runtime_note},
    # A schedule that parses fires (one that does not is refused: property_refusal).
    "AWS::Events::Rule": {"Targets": _rule_targets_note, "ScheduleExpression": lambda _: None},
    "AWS::Scheduler::Schedule": {
        "Target": _schedule_target_note,
        "FlexibleTimeWindow": _flexible_window_note,
    },
    "AWS::ApiGatewayV2::Api": {"Body": _http_api_body_note},
}


def notes(resource_type: str, properties: dict[str, Any] | None) -> list[str]:
    """What a resource of this type with these properties does not do locally (empty: all)."""
    found = []
    if support_of(resource_type) is Support.ACCEPTED_NOT_EMULATED:
        found.append(acceptance_note(resource_type))
    declared = NOT_EMULATED_PROPERTIES.get(resource_type, {})
    by_value = _VALUE_NOTES.get(resource_type, {})
    for name, value in (properties or {}).items():
        if name in by_value:
            note = by_value[name](value)
            if note:
                # A short value names itself (Runtime python3.9); a body as text would not.
                short = isinstance(value, str) and len(value) <= 64 and "\n" not in value
                shown = f"{name} {value}" if short else name
                found.append(f"{shown}: {note}")
        elif name in declared and _is_set(value):
            found.append(f"{name} not emulated: {declared[name]}")
    return found


def property_refusal(
    resource_type: str, logical_id: str, properties: dict[str, Any] | None
) -> str | None:
    """The status reason of a resource whose type localcloud emulates but whose properties
    ask for something it cannot run (a function in a runtime other than Python) or AWS would
    refuse (a schedule expression EventBridge cannot parse); None if fine."""
    properties = properties or {}
    if resource_type == "AWS::Events::Rule":
        return _schedule_refusal(logical_id, properties.get("ScheduleExpression"))
    if resource_type == "AWS::ApiGatewayV2::Api":
        protocol = properties.get("ProtocolType")
        if isinstance(protocol, str) and protocol != "HTTP":
            return (
                f"{NOTE_PREFIX}ProtocolType {protocol} of {logical_id} is not emulated: "
                "localcloud serves HTTP APIs only (no WebSocket APIs). See the README's "
                "localcloud compatibility table"
            )
        return None
    if resource_type == "AWS::ApiGatewayV2::Integration":
        kind = properties.get("IntegrationType")
        if isinstance(kind, str) and kind != "AWS_PROXY":
            return (
                f"{NOTE_PREFIX}IntegrationType {kind} of {logical_id} is not emulated: "
                "localcloud serves Lambda proxy integrations (AWS_PROXY) only. See the README's "
                "localcloud compatibility table"
            )
        return None
    if resource_type != "AWS::Lambda::Function":
        return None
    runtime = properties.get("Runtime")
    if not isinstance(runtime, str) or interpreters.python_version(runtime) is not None:
        return None
    return (
        f"{NOTE_PREFIX}runtime {runtime} of {logical_id} is not emulated: localcloud runs Python "
        "functions only (python3.x runtimes). See the README's localcloud compatibility table"
    )


def _schedule_refusal(logical_id: str, expression: Any) -> str | None:
    if not isinstance(expression, str) or not expression:
        return None
    try:
        schedule_expressions.parse(expression)
    except schedule_expressions.ScheduleExpressionError as error:
        return f"{NOTE_PREFIX}ScheduleExpression of {logical_id} is not valid: {error}"
    return None


def status_reason(found: list[str]) -> str | None:
    """The notes as one status reason (None when there are none)."""
    return NOTE_PREFIX + NOTE_SEPARATOR.join(found) if found else None


# --- the README's compatibility table ----------------------------------------------------------

TABLE_BEGIN = "<!-- compatibility-table: generated by `python -m localcloud.cloudformation` -->"
TABLE_END = "<!-- /compatibility-table -->"

# Types the project's stacks (and the SAM CLI's managed bucket stack) deploy; the table names each.
PROJECT_TYPES = frozenset(HONOURED_PROPERTIES) | frozenset(ACCEPTED_NOT_EMULATED)
REFUSED_EXAMPLES = (
    "AWS::AppSync::GraphQLApi",
    "AWS::Cognito::UserPool",
    "AWS::ApiGatewayV2::Authorizer",
    "AWS::IAM::OIDCProvider",
    "AWS::CloudFormation::WaitCondition",
)


def _by(resource_type: str) -> str:
    return "localcloud handler" if resource_type in handler_types() else "moto"


def markdown_table() -> str:
    """The compatibility table, generated so it cannot drift from what deploys do."""
    rows = [
        "| resource type | localcloud | what is not reproduced locally |",
        "| --- | --- | --- |",
    ]
    for resource_type in sorted(PROJECT_TYPES):
        support = support_of(resource_type)
        if support is Support.ACCEPTED_NOT_EMULATED:
            label = support.value
            reason = ACCEPTED_NOT_EMULATED[resource_type].reason
            what = f"the resource itself (nothing is created): {reason}"
        else:
            label = f"{support.value} ({_by(resource_type)})"
            declared = NOT_EMULATED_PROPERTIES.get(resource_type, {})
            what = "; ".join(f"`{name}`: {why}" for name, why in sorted(declared.items()))
            what = what or "nothing the project's templates set"
        rows.append(f"| `{resource_type}` | {label} | {what} |")
    others = sorted(emulated_types() - PROJECT_TYPES)
    rows.append(
        f"| {len(others)} more types (`python -m localcloud.cloudformation --all` lists them) "
        "| emulated (moto) | not checked property by property: as moto models them |"
    )
    for resource_type, why in sorted(REFUSED_THOUGH_MODELLED.items()):
        rows.append(f"| `{resource_type}` | refused | the whole deploy fails: {why} |")
    refused = ", ".join(f"`{t}`" for t in REFUSED_EXAMPLES)
    rows.append(
        f"| any other type, e.g. {refused} | refused | the whole deploy fails: the resource's "
        "CREATE_FAILED event names the type and the stack rolls back |"
    )
    return "\n".join([TABLE_BEGIN, *rows, TABLE_END])


def main(argv: list[str]) -> int:
    """`python -m localcloud.cloudformation [--all]`: the README's table, or every type."""
    if "--all" in argv:
        for resource_type in sorted(emulated_types()):
            print(f"{resource_type}\t{Support.EMULATED.value} ({_by(resource_type)})")
        for resource_type in sorted(ACCEPTED_NOT_EMULATED):
            print(f"{resource_type}\t{Support.ACCEPTED_NOT_EMULATED.value}")
        return 0
    print(markdown_table())
    return 0
