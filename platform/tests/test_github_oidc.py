"""The CI bootstrap stack: who may assume the deploy role, and what the role may do.

The role's policies are checked two ways: requests the deploys make (and requests they must not
make) evaluated against the policies as deployed, and coverage of what CloudFormation's own
resource handlers need for every resource type the project's templates produce (from cfn-lint's
copy of the resource schemas), so a new resource type or property cannot reach a deploy first.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from wildrydes_testing.aws import mocked
from wildrydes_testing.packaged import sam_transform_packaged
from wildrydes_testing.templates import REGION, REPO_ROOT, lint_findings, load_template

TEMPLATE = REPO_ROOT / "platform/github-oidc.yaml"
STACK = "wild-rydes-github-oidc"
ACCOUNT = "123456789012"
REPO = "octo-org/wild-rydes"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/wild-rydes-workload-boundary"
# Every stack's roles live under this IAM path (Globals RolePath / Path in the templates).
ROLE_PATH = "wild-rydes-fan-out/"
PROJECT_TEMPLATES = [
    REPO_ROOT / "platform/template.yaml",
    *sorted(REPO_ROOT.glob("services/*/template.yaml")),
]
# `sam deploy --resolve-s3` creates its artifacts bucket through its own stack.
SAM_BUCKET_TYPES = {"AWS::S3::Bucket", "AWS::S3::BucketPolicy"}

# Handler permissions the role leaves out, each with the resource property that would need it
# (checked unused in every project template) or, for SAM's bucket, why the deploys never ask.
NOT_NEEDED: list[tuple[str, str, str | None, str]] = [
    ("ec2:*", "AWS::Lambda::Function", "VpcConfig", "functions run outside a VPC"),
    ("elasticfilesystem:*", "AWS::Lambda::Function", "FileSystemConfigs", "no EFS mounts"),
    ("s3files:*", "AWS::Lambda::Function", "FileSystemConfigs", "no file system mounts"),
    ("lambda:*CodeSigningConfig", "AWS::Lambda::Function", "CodeSigningConfigArn", "no signing"),
    (
        "lambda:PassCapacityProvider",
        "AWS::Lambda::Function",
        "CapacityProviderConfig",
        "on-demand only",
    ),
    (
        "lambda:PutFunctionScalingConfig",
        "AWS::Lambda::Function",
        "CapacityProviderConfig",
        "on-demand only",
    ),
    (
        "lambda:AssociateRuntimeAlias",
        "AWS::Lambda::Function",
        "RuntimeManagementConfig",
        "automatic runtime updates",
    ),
    ("dynamodb:*Replica", "AWS::DynamoDB::Table", "Replicas", "not a global table"),
    ("iam:CreateServiceLinkedRole", "AWS::DynamoDB::Table", "Replicas", "not a global table"),
    (
        "dynamodb:*KinesisStreamingDestination",
        "AWS::DynamoDB::Table",
        "KinesisStreamSpecification",
        "no Kinesis stream",
    ),
    ("kinesis:*", "AWS::DynamoDB::Table", "KinesisStreamSpecification", "no Kinesis stream"),
    ("dynamodb:*ResourcePolicy", "AWS::DynamoDB::Table", "ResourcePolicy", "no table policy"),
    (
        "dynamodb:UpdateContributorInsights",
        "AWS::DynamoDB::Table",
        "ContributorInsightsSpecification",
        "contributor insights off",
    ),
    (
        "kms:RevokeGrant",
        "AWS::DynamoDB::Table",
        "SSESpecification.KMSMasterKeyId",
        "AWS managed key",
    ),
    # Importing a table from S3 reads the objects, writes items and logs the import.
    ("dynamodb:ImportTable", "AWS::DynamoDB::Table", "ImportSourceSpecification", "no import"),
    (
        "dynamodb:DescribeImport",
        "AWS::DynamoDB::Table",
        "ImportSourceSpecification",
        "no import from S3",
    ),
    ("dynamodb:*Item", "AWS::DynamoDB::Table", "ImportSourceSpecification", "no import from S3"),
    ("dynamodb:Query", "AWS::DynamoDB::Table", "ImportSourceSpecification", "no import from S3"),
    ("dynamodb:Scan", "AWS::DynamoDB::Table", "ImportSourceSpecification", "no import from S3"),
    ("logs:*LogStream*", "AWS::DynamoDB::Table", "ImportSourceSpecification", "no import from S3"),
    ("logs:PutLogEvents", "AWS::DynamoDB::Table", "ImportSourceSpecification", "no import from S3"),
    (
        "s3:GetObjectMetadata",
        "AWS::DynamoDB::Table",
        "ImportSourceSpecification",
        "no import from S3",
    ),
    ("sns:PutDataProtectionPolicy", "AWS::SNS::Topic", "DataProtectionPolicy", "none set"),
    ("logs:*KmsKey", "AWS::Logs::LogGroup", "KmsKeyId", "AWS-owned encryption"),
    ("logs:*DataProtectionPolicy", "AWS::Logs::LogGroup", "DataProtectionPolicy", "none set"),
    ("logs:*IndexPolicy", "AWS::Logs::LogGroup", "FieldIndexPolicies", "none set"),
    ("logs:*ResourcePolicy", "AWS::Logs::LogGroup", "ResourcePolicyDocument", "none set"),
    (
        "logs:PutBearerTokenAuthentication",
        "AWS::Logs::LogGroup",
        "BearerTokenAuthenticationEnabled",
        "off",
    ),
    (
        "logs:PutLogGroupDeletionProtection",
        "AWS::Logs::LogGroup",
        "DeletionProtectionEnabled",
        "off",
    ),
    ("logs:CreateLogDelivery", "AWS::Logs::LogGroup", "LogGroupClass", "no delivery"),
    ("firehose:*", "AWS::Logs::LogGroup", "LogGroupClass", "no delivery"),
    ("s3:REST.PUT.OBJECT", "AWS::Logs::LogGroup", "LogGroupClass", "no delivery"),
    # SAM's artifacts bucket: created once with SAM's settings, never deleted by a deploy.
    ("s3:Delete*", "AWS::S3::Bucket", None, "the deploy role never deletes the artifacts bucket"),
    ("s3:DeleteBucketPolicy", "AWS::S3::BucketPolicy", None, "never deleted by a deploy"),
    ("s3tables:*", "AWS::S3::Bucket", None, "not a table bucket"),
    ("s3:*Metadata*Configuration", "AWS::S3::Bucket", None, "SAM sets no metadata tables"),
    ("s3:Put*", "AWS::S3::Bucket", None, "only the settings SAM's template sets are granted"),
    ("s3:TagResource", "AWS::S3::Bucket", None, "SAM tags through PutBucketTagging"),
    ("s3:UntagResource", "AWS::S3::Bucket", None, "SAM tags through PutBucketTagging"),
]


# Handler permissions the role is denied on purpose, whatever a template sets: each is an
# explicit Deny in the role's policies (checked below), so no later allow can grant it.
DENIED_ON_PURPOSE: dict[str, str] = {
    # Removing a role's boundary would let that role do anything its policies say.
    "iam:DeleteRolePermissionsBoundary": "every stack role keeps the workload boundary",
}


def test_cfn_lint_is_clean() -> None:
    assert lint_findings(TEMPLATE) == []


def _deploy(parameters: dict[str, str]) -> dict[str, Any]:
    """Create the stack in moto; return the role's trust policy and its policy statements.

    moto's CloudFormation skips AWS::IAM::OIDCProvider, so the stack is created here with an
    existing provider's ARN; the provider resource itself is checked on the template.
    """
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    iam = boto3.client("iam", region_name=REGION)
    cloudformation.create_stack(
        StackName=STACK,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    stack = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    role_name = outputs["DeployRoleArn"].split("/")[-1]
    role = iam.get_role(RoleName=role_name)["Role"]
    statements = []
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(
            PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"]
        )
        statements += version["PolicyVersion"]["Document"]["Statement"]
    boundary = iam.get_policy(PolicyArn=outputs["WorkloadBoundaryArn"])["Policy"]
    boundary_version = iam.get_policy_version(
        PolicyArn=boundary["Arn"], VersionId=boundary["DefaultVersionId"]
    )
    return {
        "outputs": outputs,
        "boundary": boundary_version["PolicyVersion"]["Document"]["Statement"],
        "role_name": role_name,
        "trust": role["AssumeRolePolicyDocument"]["Statement"],
        "statements": statements,
    }


@pytest.fixture(scope="module")
def deployed() -> dict[str, Any]:
    with mocked():
        return _deploy({"GitHubRepository": REPO, "ExistingOidcProviderArn": PROVIDER})


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _condition_holds(
    condition: dict[str, dict[str, Any]], context: dict[str, str | list[str]]
) -> bool:
    """IAM's condition operators the role's policies use; an unknown one fails the test."""
    for operator, entries in condition.items():
        for key, expected in entries.items():
            actual = context.get(key)
            wanted = _listed(expected)
            if operator == "Null":
                # "true": the key must be absent; "false": present.
                if (actual is None) != (wanted == ["true"]):
                    return False
                continue
            if operator.startswith("ForAnyValue:"):
                # Holds when any value of the (multi-valued) key matches; absent: fails.
                assert operator.split(":", 1)[1] == "StringEquals", operator
                if not set(_listed(actual or [])) & set(wanted):
                    return False
                continue
            if operator.startswith("ForAllValues:"):
                # Holds when every value of the (multi-valued) key matches; absent: holds.
                inner = operator.split(":", 1)[1]
                assert inner == "StringLike", operator
                if not all(
                    any(fnmatch.fnmatchcase(v, w) for w in wanted) for v in _listed(actual or [])
                ):
                    return False
                continue
            if operator == "StringNotEquals":
                # A negated operator holds when the key is absent.
                if actual is not None and actual in wanted:
                    return False
                continue
            if actual is None:
                return False
            assert isinstance(actual, str), key
            if operator in ("StringEquals", "ArnEquals"):
                if actual not in wanted:
                    return False
            elif operator == "ArnLike":
                if not any(fnmatch.fnmatchcase(actual, p) for p in wanted):
                    return False
            else:
                raise AssertionError(f"the test does not evaluate {operator}")
    return True


def allowed(
    statements: list[dict[str, Any]], action: str, resource: str, **context: str | list[str]
) -> bool:
    """IAM's decision for one request: an explicit deny wins, else any matching allow."""
    decision = False
    for statement in statements:
        patterns = [pattern.lower() for pattern in _listed(statement["Action"])]
        if not any(fnmatch.fnmatchcase(action.lower(), pattern) for pattern in patterns):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in _listed(statement["Resource"])):
            continue
        if not _condition_holds(statement.get("Condition", {}), context):
            continue
        if statement["Effect"] == "Deny":
            return False
        decision = True
    return decision


def test_only_the_repositorys_production_environment_may_assume_the_role(deployed) -> None:
    (statement,) = deployed["trust"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": f"repo:{REPO}:environment:production",
        }
    }


def test_the_role_trusts_the_provider_it_is_given_or_the_one_it_creates(deployed) -> None:
    assert deployed["outputs"]["OidcProviderArn"] == PROVIDER
    template = load_template(TEMPLATE)
    provider = template["Resources"]["GitHubOidcProvider"]
    assert provider["Condition"] == "CreateOidcProvider"
    assert provider["Properties"]["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    trust = template["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"]["Federated"] == {
        "Fn::If": [
            "CreateOidcProvider",
            {"Ref": "GitHubOidcProvider"},
            {"Ref": "ExistingOidcProviderArn"},
        ]
    }


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        ("cloudformation:ExecuteChangeSet", "stack/wild-rydes-accounting/1", {}),
        ("cloudformation:CreateChangeSet", "stack/aws-sam-cli-managed-default/1", {}),
        ("cloudformation:CreateChangeSet", "transform/Serverless-2016-10-31", {}),
        ("s3:PutObject", "s3:::aws-sam-cli-managed-default-samclisourcebucket-1x2/wr/abc", {}),
        (
            "iam:CreateRole",
            f"role/{ROLE_PATH}wild-rydes-accounting-AccountingFunctionRole-X1",
            {"iam:PermissionsBoundary": "{boundary}"},
        ),
        (
            "iam:PutRolePolicy",
            f"role/{ROLE_PATH}wild-rydes-management-RidePublisherRole-X1",
            {"iam:PermissionsBoundary": "{boundary}"},
        ),
        (
            "iam:PutRolePermissionsBoundary",
            f"role/{ROLE_PATH}wild-rydes-management-ApiGatewayCloudWatchRole-X1",
            {"iam:PermissionsBoundary": "{boundary}"},
        ),
        (
            "iam:AttachRolePolicy",
            f"role/{ROLE_PATH}wild-rydes-notification-NotificationFunctionRole-X1",
            {
                "iam:PolicyARN": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                "iam:PermissionsBoundary": "{boundary}",
            },
        ),
        (
            "iam:PassRole",
            f"role/{ROLE_PATH}wild-rydes-management-ApiGatewayCloudWatchRole-X1",
            {"iam:PassedToService": "apigateway.amazonaws.com"},
        ),
        ("lambda:UpdateFunctionCode", "function:wild-rydes-accounting-AccountingFunction-X1", {}),
        ("lambda:PublishLayerVersion", "layer:wild-rydes-accounting-shared", {}),
        (
            "lambda:CreateEventSourceMapping",
            "*",
            {"lambda:FunctionArn": "{arn}:lambda:{region}:{account}:function:wild-rydes-x-F-1"},
        ),
        ("dynamodb:CreateTable", "table/wild-rydes-accounting-LedgerTable-X1", {}),
        ("sqs:SetQueueAttributes", "wild-rydes-accounting-RideQueue-X1", {}),
        ("sns:Subscribe", "wild-rydes-platform-RideCompletionTopic-X1", {}),
        ("kms:EnableKeyRotation", "key/1234", {"aws:ResourceTag/project": "wild-rydes"}),
        # CreateKey with Tags (the template's and samconfig's, and CloudFormation's own): KMS
        # asks for kms:TagResource not restricted to a key.
        ("kms:CreateKey", "*", {}),
        (
            "kms:TagResource",
            "*",
            {
                "aws:RequestTag/project": "wild-rydes",
                "aws:TagKeys": ["project", "service", "aws:cloudformation:stack-name"],
                "aws:CalledVia": ["cloudformation.amazonaws.com"],
            },
        ),
        (
            "kms:TagResource",
            "key/1234",
            {"aws:ResourceTag/project": "wild-rydes", "aws:TagKeys": ["service"]},
        ),
        ("kms:CreateAlias", "alias/wild-rydes-platform-ride-events", {}),
        ("logs:PutRetentionPolicy", "log-group:/aws/lambda/wild-rydes-accounting-F-1", {}),
        ("cloudwatch:PutMetricAlarm", "alarm:wild-rydes-accounting-DeadLetterQueueAlarm-X1", {}),
        ("apigateway:POST", "/restapis", {}),
        # A consumer's nested inbox stack, which CloudFormation updates and deletes with it.
        ("cloudformation:DeleteStack", "stack/wild-rydes-accounting-Inbox-1A2B3C4D5E6F/1", {}),
        ("cloudformation:GetStackPolicy", "stack/wild-rydes-accounting-Inbox-1A2B3C4D5E6F/1", {}),
    ],
)
def test_what_the_deploys_do_is_allowed(deployed, action, resource, context) -> None:
    assert allowed(deployed["statements"], action, _arn(action, resource), **_fill(context))


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        # Other stacks, roles, tables, buckets, keys of the account.
        ("cloudformation:ExecuteChangeSet", "stack/billing-app/1", {}),
        ("cloudformation:DeleteStack", "stack/wild-rydes-accounting/1", {}),
        ("iam:PutRolePolicy", "role/OrganizationAccountAccessRole", {}),
        ("dynamodb:DeleteTable", "table/customers", {}),
        ("s3:GetObject", "s3:::company-secrets/x", {}),
        ("kms:ScheduleKeyDeletion", "key/1234", {"aws:ResourceTag/project": "billing"}),
        ("kms:Decrypt", "key/1234", {}),
        ("lambda:UpdateFunctionCode", "function:billing-Charge-1", {}),
        (
            "lambda:CreateEventSourceMapping",
            "*",
            {"lambda:FunctionArn": "{arn}:lambda:{region}:{account}:function:billing-F-1"},
        ),
        # No escalation: no administrator policy, no passing roles to other services, and
        # nothing on the bootstrap stack or its own role even though both match the prefix.
        (
            "iam:AttachRolePolicy",
            f"role/{ROLE_PATH}wild-rydes-accounting-AccountingFunctionRole-X1",
            {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"},
        ),
        (
            "iam:PassRole",
            f"role/{ROLE_PATH}wild-rydes-accounting-AccountingFunctionRole-X1",
            {"iam:PassedToService": "ec2.amazonaws.com"},
        ),
        # Roles only inside the workload boundary: none without it, none with another one,
        # no removing it, no changing the boundary itself.
        ("iam:CreateRole", f"role/{ROLE_PATH}wild-rydes-accounting-Admin-1", {}),
        (
            "iam:CreateRole",
            f"role/{ROLE_PATH}wild-rydes-accounting-Admin-1",
            {"iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"},
        ),
        ("iam:PutRolePolicy", f"role/{ROLE_PATH}wild-rydes-accounting-F-1", {}),
        (
            "iam:AttachRolePolicy",
            f"role/{ROLE_PATH}wild-rydes-accounting-F-1",
            {"iam:PolicyARN": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"},
        ),
        ("iam:PutRolePermissionsBoundary", f"role/{ROLE_PATH}wild-rydes-accounting-F-1", {}),
        ("iam:DeleteRolePermissionsBoundary", f"role/{ROLE_PATH}wild-rydes-accounting-F-1", {}),
        ("iam:CreatePolicyVersion", "policy/wild-rydes-workload-boundary", {}),
        ("iam:SetDefaultPolicyVersion", "policy/wild-rydes-workload-boundary", {}),
        # Tags: no key created for another project, no tag key the stacks do not use, and no
        # key of another project moved into this one.
        (
            "kms:TagResource",
            "*",
            {"aws:RequestTag/project": "billing", "aws:TagKeys": ["project"]},
        ),
        (
            "kms:TagResource",
            "*",
            {"aws:RequestTag/project": "wild-rydes", "aws:TagKeys": ["project", "owner"]},
        ),
        (
            "kms:TagResource",
            "key/1234",
            {
                "aws:ResourceTag/project": "billing",
                "aws:RequestTag/project": "wild-rydes",
                "aws:TagKeys": ["project"],
            },
        ),
        # A customer key nobody tagged, tagged into the project by the role itself (not as
        # CloudFormation creates a key), or adopted by a stack through a resource import.
        (
            "kms:TagResource",
            "key/5678",
            {"aws:RequestTag/project": "wild-rydes", "aws:TagKeys": ["project"]},
        ),
        (
            "cloudformation:CreateChangeSet",
            "stack/wild-rydes-platform/1",
            {"cloudformation:ImportResourceTypes": ["AWS::KMS::Key"]},
        ),
        # A role of the account whose name happens to start with the prefix, outside the
        # stacks' path: not re-trusted, changed, deleted or passed.
        ("iam:UpdateAssumeRolePolicy", "role/wild-rydes-legacy-admin", {}),
        ("iam:UpdateRole", "role/wild-rydes-legacy-admin", {}),
        ("iam:DeleteRole", "role/wild-rydes-legacy-admin", {}),
        (
            "iam:PassRole",
            "role/wild-rydes-legacy-admin",
            {"iam:PassedToService": "lambda.amazonaws.com"},
        ),
        (
            "iam:PutRolePolicy",
            "role/wild-rydes-legacy-admin",
            {"iam:PermissionsBoundary": "{boundary}"},
        ),
        ("cloudformation:UpdateStack", f"stack/{STACK}/1", {}),
        ("iam:PutRolePolicy", f"role/{STACK}-DeployRole-X1", {}),
        ("iam:AttachRolePolicy", f"role/{STACK}-DeployRole-X1", {"iam:PolicyARN": "x"}),
    ],
)
def test_what_the_deploys_never_need_is_denied(deployed, action, resource, context) -> None:
    assert not allowed(deployed["statements"], action, _arn(action, resource), **_fill(context))


def _fill(context: dict[str, Any]) -> dict[str, str | list[str]]:
    def fill(value: str) -> str:
        return value.format(arn="arn:aws", region=REGION, account=ACCOUNT, boundary=BOUNDARY)

    return {
        key: fill(value) if isinstance(value, str) else [fill(v) for v in value]
        for key, value in context.items()
    }


def _arn(action: str, resource: str) -> str:
    service = action.split(":")[0]
    if resource == "*" or resource.startswith("s3:::"):
        return resource if resource == "*" else f"arn:aws:{resource}"
    if service == "iam":
        return f"arn:aws:iam::{ACCOUNT}:{resource}"
    if service == "apigateway":
        return f"arn:aws:apigateway:{REGION}::{resource}"
    if resource.startswith("transform/"):
        return f"arn:aws:cloudformation:{REGION}:aws:{resource}"
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def _role_statements(template_path: Path = TEMPLATE) -> list[dict[str, Any]]:
    """The deploy role's statements, as written (the boundary policy is attached to no role)."""
    resources = load_template(template_path)["Resources"]
    return [
        statement
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
        and {"Ref": "DeployRole"} in resource["Properties"].get("Roles", [])
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def _allow_statements(template_path: Path = TEMPLATE) -> list[dict[str, Any]]:
    return [s for s in _role_statements(template_path) if s["Effect"] == "Allow"]


def test_no_allow_has_a_wildcard_action_and_only_unscopable_ones_a_wildcard_resource() -> None:
    for statement in _allow_statements():
        for action in _listed(statement["Action"]):
            assert "*" not in action, statement["Sid"]
        if statement["Resource"] == "*":
            # The IAM actions in these accept no resource ARN (see the comments beside them).
            assert statement["Sid"] in {
                "AccountLevelActions",
                "StackEventSourceMappings",
                "TagThePlatformKeyAtCreation",
            }
            # Never unconditional, but for the account-level actions.
            assert "Condition" in statement or statement["Sid"] == "AccountLevelActions"
    mappings = next(s for s in _allow_statements() if s["Sid"] == "StackEventSourceMappings")
    assert "lambda:FunctionArn" in mappings["Condition"]["ArnLike"]


def _project_resources() -> list[dict[str, Any]]:
    return [
        resource
        for path in PROJECT_TEMPLATES
        for resource in sam_transform_packaged(path)["Resources"].values()
    ]


def _sets(resource: dict[str, Any], dotted: str) -> bool:
    value: Any = resource.get("Properties", {})
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def test_the_role_has_what_cloudformation_needs_for_every_resource_type_deployed() -> None:
    resources = _project_resources()
    types = {resource["Type"] for resource in resources} | SAM_BUCKET_TYPES
    granted = {action for s in _allow_statements() for action in _listed(s["Action"])}
    missing: list[str] = []
    for resource_type in sorted(types):
        handlers = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, resource_type).schema[
            "handlers"
        ]
        for handler in ("read", "create", "update", "delete"):
            for action in handlers.get(handler, {}).get("permissions", []):
                if action in granted or action in DENIED_ON_PURPOSE:
                    continue
                waived = [
                    entry
                    for entry in NOT_NEEDED
                    if entry[1] == resource_type and fnmatch.fnmatchcase(action, entry[0])
                ]
                # CloudFormation calls a read handler whatever the properties: never waived.
                if handler == "read" or not waived:
                    missing.append(f"{action} ({handler} {resource_type})")
    assert missing == [], missing


def test_every_waived_permission_belongs_to_a_property_no_template_sets() -> None:
    resources = _project_resources()
    for pattern, resource_type, prop, reason in NOT_NEEDED:
        assert reason, pattern
        if prop is None:
            assert resource_type in SAM_BUCKET_TYPES, pattern
            continue
        users = [r for r in resources if r["Type"] == resource_type and _sets(r, prop)]
        assert users == [], f"{resource_type}.{prop} is set: grant {pattern} to the deploy role"


def test_what_is_withheld_on_purpose_is_denied_explicitly() -> None:
    denied = {
        action
        for statement in _role_statements()
        if statement["Effect"] == "Deny"
        and statement.get("Resource") == "*"
        and "Condition" not in statement
        for action in _listed(statement["Action"])
    }
    for action, reason in DENIED_ON_PURPOSE.items():
        assert reason, action
        assert action in denied, action


# --- the permissions boundary of every role the deploys create ------------------------------

# What the stacks' roles do at run time (their inline policies and the AWS managed policies SAM
# and the API Gateway logging role attach), as requests on the project's resources.
WORKLOAD_NEEDS = [
    ("logs:PutLogEvents", "log-group:/aws/lambda/wild-rydes-accounting-F-1:log-stream:x", {}),
    ("logs:CreateLogStream", "log-group:API-Gateway-Execution-Logs_abc/Prod:log-stream:x", {}),
    ("xray:PutTraceSegments", "*", {}),
    ("dynamodb:PutItem", "table/wild-rydes-management-RidesTable-X1", {}),
    ("dynamodb:UpdateItem", "table/wild-rydes-accounting-Table-X1", {}),
    ("dynamodb:GetItem", "table/wild-rydes-management-IdempotencyKeysTable-X1", {}),
    ("dynamodb:GetRecords", "table/wild-rydes-management-RidesTable-X1/stream/2026", {}),
    ("dynamodb:ListStreams", "*", {}),
    ("sqs:ReceiveMessage", "wild-rydes-accounting-Queue-X1", {}),
    ("sqs:DeleteMessage", "wild-rydes-accounting-Queue-X1", {}),
    ("sqs:SendMessage", "wild-rydes-management-PublisherFailureQueue-X1", {}),
    ("sns:Publish", "wild-rydes-platform-RideCompletionTopic-X1", {}),
    ("kms:Decrypt", "key/1234", {"aws:ResourceTag/project": "wild-rydes"}),
    ("kms:GenerateDataKey", "key/1234", {"aws:ResourceTag/project": "wild-rydes"}),
]


@pytest.mark.parametrize(("action", "resource", "context"), WORKLOAD_NEEDS)
def test_the_boundary_lets_the_stacks_roles_work(deployed, action, resource, context) -> None:
    assert allowed(deployed["boundary"], action, _arn(action, resource), **context)


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        # Whatever policy a role created by the deploy role holds, it gets none of these.
        ("iam:CreateRole", "role/anything", {}),
        ("iam:AttachRolePolicy", f"role/{ROLE_PATH}wild-rydes-x", {}),
        ("sts:AssumeRole", "role/OrganizationAccountAccessRole", {}),
        ("dynamodb:Scan", "table/wild-rydes-management-RidesTable-X1", {}),
        ("dynamodb:PutItem", "table/customers", {}),
        ("sqs:ReceiveMessage", "billing-queue", {}),
        ("sns:Publish", "billing-topic", {}),
        ("kms:Decrypt", "key/1234", {"aws:ResourceTag/project": "billing"}),
        ("logs:GetLogEvents", "log-group:/aws/lambda/billing:log-stream:x", {}),
        ("s3:GetObject", "s3:::company-secrets/x", {}),
        ("lambda:UpdateFunctionCode", "function:wild-rydes-accounting-F-1", {}),
        ("cloudformation:UpdateStack", "stack/wild-rydes-accounting/1", {}),
    ],
)
def test_the_boundary_holds_nothing_else(deployed, action, resource, context) -> None:
    assert not allowed(deployed["boundary"], action, _arn(action, resource), **context)


def test_every_inline_action_of_the_stacks_roles_is_within_the_boundary() -> None:
    boundary = load_template(TEMPLATE)["Resources"]["WorkloadBoundary"]["Properties"]
    within = {
        action
        for statement in boundary["PolicyDocument"]["Statement"]
        for action in _listed(statement["Action"])
    }
    outside = {
        action
        for resource in _project_resources()
        if resource["Type"] == "AWS::IAM::Role"
        for policy in resource["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        for action in _listed(statement["Action"])
        if action not in within
    }
    assert outside == set()


def test_the_boundary_is_named_for_the_services_and_output_for_the_workflow(deployed) -> None:
    assert deployed["outputs"]["WorkloadBoundaryArn"] == BOUNDARY
