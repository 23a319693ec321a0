"""Deploy the GitHub Actions deploy role (platform/github-oidc.yaml) and say what to set on GitHub.

`make bootstrap-ci GITHUB_REPO=owner/name` runs this once per AWS account and region, with an
administrator's credentials: it creates (or reuses) GitHub's OIDC identity provider and the
role only that repository's `production` environment may assume, then prints the repository
variables the deploy workflow reads.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from scripts import stacks

TEMPLATE = stacks.REPO_ROOT / "platform/github-oidc.yaml"
PROVIDER_HOST = "token.actions.githubusercontent.com"
DEFAULT_ENVIRONMENT = "production"
# GitHub's own rules: an owner is 1-39 letters, digits or single inner hyphens; a repository
# name is letters, digits, '.', '_' and '-' (and never just dots).
OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
ENVIRONMENT = re.compile(r"^[A-Za-z0-9._-]{1,255}$")

Runner = Callable[[Sequence[str], Path, Mapping[str, str]], None]


class BootstrapError(Exception):
    """A problem the user can fix; printed without a traceback."""


def github_repository(value: str) -> str:
    """owner/name, checked before anything touches AWS: it becomes the role's trust condition."""
    owner, _, name = value.strip().partition("/")
    if not value or "/" not in value or not OWNER.fullmatch(owner) or not NAME.fullmatch(name):
        raise BootstrapError(
            f"GITHUB_REPO='{value}' is not a GitHub repository as owner/name (e.g. "
            "octo-org/wild-rydes-fan-out): use the repository's path on github.com, without "
            "https://github.com/ or .git"
        )
    if set(name) == {"."}:
        raise BootstrapError(f"GITHUB_REPO='{value}': '{name}' is not a repository name")
    return f"{owner}/{name}"


def environment_name(value: str) -> str:
    if not ENVIRONMENT.fullmatch(value):
        raise BootstrapError(
            f"'{value}' is not a GitHub environment name: letters, digits, '.', '_' or '-'"
        )
    return value


def stack_name(prefix: str) -> str:
    return f"{prefix}-github-oidc"


def find_github_provider(iam: Any) -> str | None:
    """The account's token.actions.githubusercontent.com provider, if one exists."""
    for provider in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        if provider["Arn"].endswith(f"/{PROVIDER_HOST}"):
            return provider["Arn"]
    return None


def provider_owned_by(cloudformation: Any, stack: str) -> str | None:
    """The provider this bootstrap stack created on an earlier run, if it did."""
    from botocore.exceptions import ClientError

    try:
        resource = cloudformation.describe_stack_resource(
            StackName=stack, LogicalResourceId="GitHubOidcProvider"
        )
    except ClientError:
        # No such stack yet, or it reuses a provider it does not own.
        return None
    return resource["StackResourceDetail"].get("PhysicalResourceId")


def provider_to_reuse(existing: str | None, owned: str | None) -> str:
    """An account holds one provider per URL: reuse one that another stack or a person made;
    keep the one this stack made (passing it as "existing" would make CloudFormation delete it)."""
    if existing and existing != owned:
        return existing
    return ""


def deploy_command(repo: str, prefix: str, environment: str, existing_provider: str) -> list[str]:
    return [
        stacks.sam(),
        "deploy",
        "--template-file",
        str(TEMPLATE),
        "--stack-name",
        stack_name(prefix),
        # The role's name is derived by CloudFormation, but the workload boundary policy is
        # named (the services and the deploy role's conditions refer to it by name).
        "--capabilities",
        "CAPABILITY_NAMED_IAM",
        "--parameter-overrides",
        f"GitHubRepository={repo}",
        f"GitHubEnvironment={environment}",
        f"StackPrefix={prefix}",
        f"ExistingOidcProviderArn={existing_provider}",
        "--tags",
        f"project={prefix}",
        "service=ci",
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
    ]


def run(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
    print(f"+ {' '.join(command)}", flush=True)
    completed = subprocess.run(command, cwd=cwd, env=env, check=False)
    if completed.returncode != 0:
        raise BootstrapError(f"sam deploy failed with exit code {completed.returncode}")


def instructions(repo: str, prefix: str, environment: str, outputs: Mapping[str, str]) -> str:
    variables = {
        "AWS_DEPLOY_ROLE_ARN": outputs["DeployRoleArn"],
        "AWS_REGION": outputs["Region"],
        # The deploys pass it to every service stack as PermissionsBoundaryArn; the deploy role
        # creates no IAM role without it.
        "AWS_PERMISSIONS_BOUNDARY_ARN": outputs["WorkloadBoundaryArn"],
    }
    if prefix != "wild-rydes":
        variables["STACK_PREFIX"] = prefix
    width = max(len(name) for name in variables)
    lines = [
        f"Deploy role ready for {repo} (environment '{environment}').",
        "",
        "1. Set these repository variables (Settings > Secrets and variables > Actions >",
        "   Variables):",
        *(f"     {name.ljust(width)}  {value}" for name, value in variables.items()),
        "   or with the GitHub CLI:",
        *(
            f"     gh variable set {name} --repo {repo} --body '{v}'"
            for name, v in variables.items()
        ),
        f"2. Create the environment '{environment}' (Settings > Environments): add required",
        "   reviewers, and under deployment branches allow only main. The role trusts only jobs",
        "   of this environment.",
        "3. Push to main: CI runs, then the Deploy workflow asks the reviewers to approve.",
    ]
    return "\n".join(lines)


def bootstrap(
    repo: str, prefix: str, environment: str, env: Mapping[str, str], runner: Runner = run
) -> str:
    stack = stack_name(prefix)
    existing = find_github_provider(stacks.client("iam", env))
    owned = provider_owned_by(stacks.client("cloudformation", env), stack)
    reuse = provider_to_reuse(existing, owned)
    if reuse:
        print(f"Reusing the account's GitHub OIDC provider {reuse}", flush=True)
    runner(deploy_command(repo, prefix, environment, reuse), stacks.REPO_ROOT, env)
    return instructions(repo, prefix, environment, stacks.stack_outputs(stack, env))


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] = os.environ,
    runner: Runner = run,
) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bootstrap_ci", description=__doc__)
    parser.add_argument("--repo", default=environ.get("GITHUB_REPO", ""), help="env GITHUB_REPO")
    parser.add_argument("--prefix", type=stacks.stack_prefix, default="wild-rydes")
    parser.add_argument("--environment", default=DEFAULT_ENVIRONMENT)
    args = parser.parse_args(argv)
    try:
        repo = github_repository(args.repo)
        environment = environment_name(args.environment)
        env = dict(environ)
        env.setdefault("SAM_CLI_TELEMETRY", "0")
        print(bootstrap(repo, args.prefix, environment, env, runner))
    except (BootstrapError, stacks.StackError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
