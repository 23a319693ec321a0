"""scripts/bootstrap_ci.py: `make bootstrap-ci GITHUB_REPO=owner/name`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from scripts import bootstrap_ci
from scripts.bootstrap_ci import BootstrapError, github_repository

REGION = "eu-west-1"
ENVIRON = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": REGION,
    "GITHUB_REPO": "octo-org/wild-rydes",
}


@pytest.mark.parametrize(
    "value", ["octo-org/wild-rydes", "a/b", "Octo1/repo.name_x-y", "x" * 39 + "/" + "r" * 100]
)
def test_a_repository_path_is_accepted(value: str) -> None:
    assert github_repository(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "wild-rydes",
        "https://github.com/octo-org/wild-rydes",
        "git@github.com:octo-org/wild-rydes.git",
        "octo-org/wild-rydes/extra",
        "octo-org/",
        "/wild-rydes",
        "-octo/wild-rydes",
        "octo-/wild-rydes",
        "octo--org/wild-rydes",
        "octo org/wild-rydes",
        "octo-org/wild rydes",
        "octo-org/*",
        "x" * 40 + "/repo",
        "octo-org/..",
    ],
)
def test_anything_else_is_refused_with_the_expected_shape(value: str) -> None:
    with pytest.raises(BootstrapError, match=r"(is not a GitHub repository as owner/name|'\.\.')"):
        github_repository(value)


class Recorder:
    """Stands in for `sam deploy`: records the command, and creates the stack in moto the way
    CloudFormation would (moto skips AWS::IAM::OIDCProvider, so runs that would create one pass
    an existing provider)."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
        self.commands.append(list(command))
        parameters = dict(
            item.split("=", 1)
            for item in command[command.index("--parameter-overrides") + 1 :]
            if "=" in item and not item.startswith(("project=", "service="))
        )
        if not parameters["ExistingOidcProviderArn"]:
            parameters["ExistingOidcProviderArn"] = _create_provider()
        template = Path(command[command.index("--template-file") + 1]).read_text()
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName=command[command.index("--stack-name") + 1],
            TemplateBody=template,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_NAMED_IAM"],
        )


def _create_provider() -> str:
    iam = boto3.client("iam", region_name=REGION)
    return iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"]
    )["OpenIDConnectProviderArn"]


@pytest.fixture
def aws():
    with mock_aws():
        yield


def test_bootstrap_deploys_the_template_and_prints_the_variables_to_set(
    aws, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder = Recorder()
    assert bootstrap_ci.main([], ENVIRON, recorder) == 0
    (command,) = recorder.commands
    assert command[1:4] == ["deploy", "--template-file", str(bootstrap_ci.TEMPLATE)]
    assert command[command.index("--stack-name") + 1] == "wild-rydes-github-oidc"
    assert "GitHubRepository=octo-org/wild-rydes" in command
    assert "GitHubEnvironment=production" in command
    assert "StackPrefix=wild-rydes" in command
    # No provider in the account yet: the stack creates it.
    assert "ExistingOidcProviderArn=" in command
    out = capsys.readouterr().out
    role_arn = boto3.client("cloudformation", region_name=REGION).describe_stacks(
        StackName="wild-rydes-github-oidc"
    )["Stacks"][0]["Outputs"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in role_arn}
    role_arn = outputs["DeployRoleArn"]
    assert re.search(rf"AWS_DEPLOY_ROLE_ARN +{re.escape(role_arn)}\n", out)
    assert re.search(rf"AWS_REGION +{REGION}\n", out)
    # The services' PermissionsBoundaryArn: without it the deploy role creates no IAM role.
    boundary = outputs["WorkloadBoundaryArn"]
    assert boundary.endswith(":policy/wild-rydes-workload-boundary")
    assert re.search(rf"AWS_PERMISSIONS_BOUNDARY_ARN +{re.escape(boundary)}\n", out)
    assert (
        "gh variable set AWS_PERMISSIONS_BOUNDARY_ARN --repo octo-org/wild-rydes "
        f"--body '{boundary}'" in out
    )
    assert "--capabilities" in command
    assert command[command.index("--capabilities") + 1] == "CAPABILITY_NAMED_IAM"
    assert "STACK_PREFIX" not in out  # the default prefix needs no variable
    assert (
        f"gh variable set AWS_DEPLOY_ROLE_ARN --repo octo-org/wild-rydes --body '{role_arn}'" in out
    )
    assert "Create the environment 'production'" in out


def test_an_existing_provider_is_reused_and_a_custom_prefix_is_printed(
    aws, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = _create_provider()
    recorder = Recorder()
    argv = ["--prefix", "staging", "--environment", "staging-env"]
    assert bootstrap_ci.main(argv, ENVIRON, recorder) == 0
    (command,) = recorder.commands
    assert f"ExistingOidcProviderArn={provider}" in command
    assert command[command.index("--stack-name") + 1] == "staging-github-oidc"
    assert "StackPrefix=staging" in command
    out = capsys.readouterr().out
    assert f"Reusing the account's GitHub OIDC provider {provider}" in out
    assert re.search(r"STACK_PREFIX +staging\n", out)
    assert "Create the environment 'staging-env'" in out


def test_a_provider_this_stack_created_is_kept_not_passed_as_existing() -> None:
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    assert bootstrap_ci.provider_to_reuse(arn, owned=arn) == ""
    assert bootstrap_ci.provider_to_reuse(arn, owned=None) == arn
    assert bootstrap_ci.provider_to_reuse(None, owned=None) == ""


def test_the_owner_of_a_provider_is_unknown_while_the_stack_does_not_exist(aws) -> None:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    assert bootstrap_ci.provider_owned_by(cloudformation, "wild-rydes-github-oidc") is None


def test_only_githubs_provider_is_found(aws) -> None:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_open_id_connect_provider(Url="https://accounts.google.com", ClientIDList=["x"])
    assert bootstrap_ci.find_github_provider(iam) is None
    arn = _create_provider()
    assert bootstrap_ci.find_github_provider(iam) == arn


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        ([], {}, "GITHUB_REPO='' is not a GitHub repository as owner/name"),
        ([], {"GITHUB_REPO": "https://github.com/o/r"}, "without https://github.com/"),
        (["--repo", "o/r", "--environment", "prod env"], {}, "is not a GitHub environment"),
    ],
)
def test_bad_input_is_refused_before_anything_touches_aws(
    argv: list[str], environ: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def must_not_run(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
        raise AssertionError("sam deploy ran")

    assert bootstrap_ci.main(argv, environ, must_not_run) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert message in err


def test_a_bad_prefix_is_refused_by_the_argument_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        bootstrap_ci.main(["--prefix", "Wild_Rydes"], ENVIRON)
    assert exit_info.value.code == 2
    assert "is not a valid STACK_PREFIX" in capsys.readouterr().err


def test_a_failed_sam_deploy_is_an_error_without_a_traceback(
    aws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Failed:
        returncode = 1

    monkeypatch.setattr(bootstrap_ci.subprocess, "run", lambda *a, **k: Failed())
    assert bootstrap_ci.main([], ENVIRON) == 2
    assert "error: sam deploy failed with exit code 1" in capsys.readouterr().err
