"""What a user sees of localcloud's verdicts on a running localcloud: `make local-status` lists
what each stack's resources do not emulate and what failed, and the real `sam deploy` of a
template with a type localcloud refuses fails, naming it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from wildrydes_testing.aws import session as aws_session

from localcloud import cli, state
from localcloud.cloudformation import registry
from localcloud.lambda_runtime import interpreters
from localcloud.server import LocalCloud, start
from localcloud.tests.project_stacks import REPO_ROOT, packaged

VENV_BIN = REPO_ROOT / ".venv" / "bin"
SAM = shutil.which("sam", path=str(VENV_BIN)) or shutil.which("sam")

# A type localcloud refuses (no Cognito).
USER_POOL = {
    "Resources": {
        "UserPool": {"Type": "AWS::Cognito::UserPool", "Properties": {"UserPoolName": "riders"}}
    },
    "Outputs": {"Url": {"Value": {"Fn::Sub": "https://cognito-idp.amazonaws.com/${UserPool}"}}},
}


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with start(0) as running:
        yield running


@pytest.fixture(scope="module")
def aws(cloud: LocalCloud) -> Callable[[str], Any]:
    session = aws_session()
    return lambda service: session.client(service, endpoint_url=cloud.endpoint_url)


def _deploy(aws: Callable[[str], Any], name: str, template: dict[str, Any]) -> None:
    cfn = aws("cloudformation")
    created = cfn.create_change_set(
        StackName=name,
        ChangeSetName="deploy",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    cfn.execute_change_set(ChangeSetName=created["Id"])


def test_the_cli_mirrors_the_registry_s_note_format() -> None:
    assert cli.NOTE_PREFIX == registry.NOTE_PREFIX
    assert cli.NOTE_SEPARATOR == registry.NOTE_SEPARATOR


def test_local_status_lists_what_is_not_emulated_and_what_failed(
    cloud: LocalCloud,
    aws: Callable[[str], Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _deploy(aws, "lc-status-platform", packaged(REPO_ROOT / "platform" / "template.yaml"))
    with pytest.raises(aws("cloudformation").exceptions.ClientError):
        _deploy(aws, "lc-status-http", USER_POOL)
    monkeypatch.setenv("LOCALCLOUD_HOME", str(tmp_path))
    state.write(state.Running(pid=os.getpid(), port=cloud.port, apigw_port=0))

    assert cli.status() == 0

    out = capsys.readouterr().out
    lines = [line.strip() for line in out.splitlines()]
    platform = lines.index("lc-status-platform                       CREATE_COMPLETE")
    http = lines.index("lc-status-http                           ROLLBACK_COMPLETE")
    assert any(
        line.startswith("AWS::XRay::ResourcePolicy accepted, not emulated: ")
        and line.endswith("(SnsActiveTracingPolicy)")
        for line in lines[platform:]
    ), out
    assert any(
        line.startswith("AWS::SNS::Topic: TracingConfig not emulated: ")
        and line.endswith("(RideCompletionTopic)")
        for line in lines[platform:]
    ), out
    assert any(
        line.startswith("failed: UserPool ") and "AWS::Cognito::UserPool" in line
        for line in lines[http:platform]
    ), out


@pytest.mark.skipif(SAM is None, reason="needs the SAM CLI")
def test_sam_deploy_of_a_type_localcloud_refuses_fails_naming_it(
    cloud: LocalCloud, aws: Callable[[str], Any], tmp_path: Path
) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(yaml.safe_dump(USER_POOL))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(cloud.env)
    env["SAM_CLI_CONFIG_DIR"] = str(tmp_path / "samcli")
    result = subprocess.run(
        [
            str(SAM),
            "deploy",
            "--template-file",
            str(template),
            "--stack-name",
            "lc-sam-http-api",
            "--resolve-s3",
            "--no-confirm-changeset",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "AWS::Cognito::UserPool (UserPool) is not emulated" in output, output
    [stack] = aws("cloudformation").describe_stacks(StackName="lc-sam-http-api")["Stacks"]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"


def _function_template(runtime: str, code: str) -> dict[str, Any]:
    return {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": runtime,
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": code},
                },
            },
        }
    }


def _events_of(aws: Callable[[str], Any], stack: str, logical_id: str) -> list[dict[str, Any]]:
    events = aws("cloudformation").describe_stack_events(StackName=stack)["StackEvents"]
    return [event for event in events if event["LogicalResourceId"] == logical_id]


def test_a_function_in_a_runtime_other_than_python_fails_the_deploy_naming_it(
    aws: Callable[[str], Any], cloud: LocalCloud
) -> None:
    template = _function_template("nodejs20.x", "exports.handler = async () => 'ran';")

    with pytest.raises(aws("cloudformation").exceptions.ClientError):
        _deploy(aws, "lc-node-function", template)

    [stack] = aws("cloudformation").describe_stacks(StackName="lc-node-function")["Stacks"]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    [failed] = [
        e for e in _events_of(aws, "lc-node-function", "Fn") if "FAILED" in e["ResourceStatus"]
    ]
    assert "runtime nodejs20.x of Fn is not emulated" in failed["ResourceStatusReason"]
    assert "Python functions only" in failed["ResourceStatusReason"]


def test_a_python_runtime_this_machine_lacks_is_deployed_with_a_note_naming_the_interpreter(
    aws: Callable[[str], Any], cloud: LocalCloud
) -> None:
    if interpreters.find_python("3.14") is not None:
        pytest.skip("this machine has a Python 3.14")
    template = _function_template("python3.14", "def handler(event, context):\n    return 1\n")

    _deploy(aws, "lc-py314-function", template)

    [stack] = aws("cloudformation").describe_stacks(StackName="lc-py314-function")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    [described] = aws("cloudformation").describe_stack_resources(
        StackName="lc-py314-function", LogicalResourceId="Fn"
    )["StackResources"]
    reason = described.get("ResourceStatusReason", "")
    assert reason.startswith(registry.NOTE_PREFIX), described
    assert "Runtime python3.14: no python3.14 interpreter on this machine" in reason
    assert "runs on localcloud's own Python" in reason
    assert any(
        "no python3.14 interpreter" in e.get("ResourceStatusReason", "")
        for e in _events_of(aws, "lc-py314-function", "Fn")
    )
