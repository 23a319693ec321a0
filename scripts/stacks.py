"""Build, deploy and delete the project's stacks with the real SAM CLI.

`make deploy*` / `make destroy*` call this module so the rules live in one tested place:
which folder holds which stack, the python3.13 that `sam build` needs, the platform
parameter every service takes, and the refusal to delete a platform that is still imported.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.lambda_runtime import interpreters
from scripts import build_inputs, services

REPO_ROOT = Path(__file__).resolve().parent.parent
# Discovered from the manifests (services/<name>/service.toml): producers first, then by name.
SERVICES = services.names()
PLATFORM = "platform"
PLATFORM_EXPORTS = ("TopicArn", "TopicName", "KeyArn", "AlertsTopicArn")
# Stack names allow letters, digits and hyphens; keep room for "-extraordinary" and the
# names CloudFormation derives from the stack name (topic, roles: 64 characters at most).
PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,30}$")


class StackError(Exception):
    """A problem the user can fix; printed without a traceback."""


@dataclass(frozen=True)
class Stack:
    name: str  # platform or a service name
    prefix: str

    @property
    def stack_name(self) -> str:
        return f"{self.prefix}-{self.name}"

    @property
    def folder(self) -> Path:
        return REPO_ROOT / (PLATFORM if self.name == PLATFORM else f"services/{self.name}")

    @property
    def parameter_overrides(self) -> list[str]:
        if self.name == PLATFORM:
            return [f"ProjectName={self.prefix}"]
        overrides = [f"PlatformStackName={self.prefix}-{PLATFORM}"]
        # The CI deploy role may create IAM roles only inside the bootstrap's workload boundary
        # (make bootstrap-ci); developer accounts without it leave this unset: no boundary.
        boundary = os.environ.get("WILDRYDES_PERMISSIONS_BOUNDARY_ARN", "")
        if boundary:
            overrides.append(f"PermissionsBoundaryArn={boundary}")
        return overrides


def parse_stack(name: str, prefix: str) -> Stack:
    if name != PLATFORM and name not in SERVICES:
        valid = ", ".join((PLATFORM, *SERVICES))
        raise StackError(f"unknown stack '{name}': use one of {valid}")
    return Stack(name, prefix)


def stack_prefix(value: str) -> str:
    if not PREFIX_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"'{value}' is not a valid STACK_PREFIX: 2-31 lowercase letters, digits or hyphens, "
            "starting with a letter"
        )
    return value


def find_python313(environ: Mapping[str, str] = os.environ) -> Path:
    """Return a directory holding a real python3.13 binary for `sam build`.

    SAM validates the runtime by running `python3.13` from PATH; pyenv's shim fails that check
    unless 3.13 is the active version, so a real binary is looked for (on PATH, then in pyenv's
    versions) the way localcloud finds the interpreter that runs python3.13 functions.
    """
    binary = interpreters.find_python("3.13", dict(environ))
    if binary is not None:
        return binary.parent
    raise StackError(
        "sam build needs python3.13 (the Lambda runtime) and none was found. Install one, e.g. "
        "`pyenv install 3.13` or your OS package `python3.13`, then run the command again."
    )


def target_environment(target: str) -> dict[str, str]:
    """The environment for SAM: AWS as configured, or pointed at localcloud."""
    env = dict(os.environ)
    env.setdefault("SAM_CLI_TELEMETRY", "0")
    if target == "local":
        from localcloud import state

        running = state.read()
        if running is None:
            raise StackError("localcloud is not running: start it with `make local-up`")
        env.pop("AWS_PROFILE", None)  # a profile's credentials would win over localcloud's
        env.update(running.env)
    return env


_print_lock = threading.Lock()


def say(folder: Path, line: str) -> None:
    """A line prefixed with the stack folder (deploys run side by side)."""
    with _print_lock:
        print(f"[{folder.relative_to(REPO_ROOT)}] {line}", flush=True)


def run(sam_args: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
    """Run a SAM command, its output prefixed with the stack folder (deploys run side by side)."""
    say(cwd, f"+ sam {' '.join(sam_args)}")
    command, sam_env = sam_command(env)
    process = subprocess.Popen(
        [*command, *sam_args],
        cwd=cwd,
        env=sam_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        say(cwd, line.rstrip("\n"))
    if process.wait() != 0:
        raise StackError(
            f"{cwd.relative_to(REPO_ROOT)}: `sam {sam_args[0]}` failed with exit code "
            f"{process.returncode}"
        )


def sam() -> str:
    return str(Path(sys.executable).parent / "sam")


def sam_command(env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The SAM CLI of this venv and its environment. Against a custom endpoint (localcloud)
    SAM runs through localcloud.sam_cli, so `sam delete` reads back the nested-stack
    TemplateURLs that `sam deploy` wrote on that endpoint."""
    if not (env.get("AWS_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL_S3")):
        return [sam()], dict(env)
    python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return [sys.executable, "-m", "localcloud.sam_cli"], {**env, "PYTHONPATH": python_path}


@contextlib.contextmanager
def built(stack: Stack, env: Mapping[str, str]) -> Iterator[Path]:
    """`sam build` of the stack, and the built template of this build alone.

    Two deploys from one folder at once (two terminals, two targets) would otherwise share
    `.aws-sam/build`, which `sam build` deletes and writes again: one's build fails on files
    the other just removed, or one deploys the other's half-written output. So builds of a
    folder take turns (an exclusive lock on a file in `.aws-sam/`), and each deploy reads a
    hard-linked snapshot of its own build, which a later build cannot change.

    A build whose inputs (scripts.build_inputs) are what the last build here was made from,
    and whose output is as that build left it, is not run again: `sam build --cached` still
    takes ~1.6 CPU-s to find that out, five times per `make deploy-all`."""
    work = stack.folder / ".aws-sam"
    work.mkdir(exist_ok=True)
    snapshot = Path(tempfile.mkdtemp(prefix="deploy-", dir=work))
    try:
        with open(work / "build.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                say(stack.folder, "waiting for another build of this folder to finish")
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            python313 = (find_python313(env) / "python3.13").resolve()
            try:
                inputs: str | None = build_inputs.fingerprint(
                    stack.folder, REPO_ROOT, env, python313
                )
            except build_inputs.NoFingerprint as why:
                say(stack.folder, f"sam build runs every time here: {why}")
                inputs = None
            if inputs is not None and build_inputs.built_from(work) == inputs:
                say(stack.folder, "sam build skipped: nothing it reads changed since the last one")
            else:
                build_inputs.forget_build(work)
                run(["build", "--cached", "--parallel"], stack.folder, env)
                if inputs is not None:
                    build_inputs.record_build(work, inputs)
            shutil.copytree(work / "build", snapshot, copy_function=os.link, dirs_exist_ok=True)
        yield snapshot / "template.yaml"
    finally:
        shutil.rmtree(snapshot, ignore_errors=True)


def build_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The environment for SAM: python3.13 (what `sam build` runs the layer's pip with) first."""
    return {**env, "PATH": f"{find_python313(env)}{os.pathsep}{env.get('PATH', '')}"}


def config_file(stack: Stack) -> list[str]:
    """SAM reads samconfig.toml beside the template it is given, which is now the snapshot's:
    name the stack's own (when it has one; without, SAM's defaults apply as before)."""
    config = stack.folder / "samconfig.toml"
    return ["--config-file", str(config)] if config.is_file() else []


def deploy_built(stack: Stack, template: Path, env: Mapping[str, str]) -> None:
    run(
        [
            "deploy",
            "--template-file",
            str(template.relative_to(stack.folder)),
            *config_file(stack),
            "--stack-name",
            stack.stack_name,
            "--parameter-overrides",
            *stack.parameter_overrides,
            # Stack tags reach every resource; the prefix keeps environments apart in billing.
            "--tags",
            f"project={stack.prefix}",
            f"service={stack.name}",
            # SAM requires AUTO_EXPAND for nested applications (every consumer nests its inbox).
            "--capabilities",
            "CAPABILITY_IAM",
            "CAPABILITY_AUTO_EXPAND",
            "--no-confirm-changeset",
            "--no-fail-on-empty-changeset",
        ],
        stack.folder,
        env,
    )


def client(service: str, env: Mapping[str, str]) -> Any:
    """A boto3 client for the target the environment describes (AWS, or localcloud)."""
    credentials = (
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
        env.get("AWS_SESSION_TOKEN"),
        env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        env.get("AWS_PROFILE"),
    )
    with _sessions_lock:  # a boto3 Session is not thread-safe; the clients it makes are
        return _session(*credentials).client(service, endpoint_url=env.get("AWS_ENDPOINT_URL"))


_sessions_lock = threading.Lock()


def _session(*credentials: str | None) -> Any:
    """One boto3 Session per set of credentials: a new Session loads every service model and
    the endpoint rules again (~0.1 CPU-s per client), a known one makes a client in ~4 ms,
    which matters to tools and tests that poll. A Session lives as long as the process
    (credential files edited meanwhile are not read again; refreshable credentials still
    refresh). Keyed on botocore's list of built-in event handlers as well: a Session copies
    that list when created, and moto adds to it when imported (a Session made before would
    not be mocked)."""
    from botocore.handlers import BUILTIN_HANDLERS

    return _cached_session(len(BUILTIN_HANDLERS), *credentials)


@functools.lru_cache(maxsize=32)
def _cached_session(
    _handlers: int,
    access_key: str | None,
    secret_key: str | None,
    token: str | None,
    region: str | None,
    profile: str | None,
) -> Any:
    import boto3

    return boto3.Session(
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=token,
        region_name=region,
        profile_name=profile,
    )


def stack_outputs(stack_name: str, env: Mapping[str, str]) -> dict[str, str]:
    """A deployed stack's outputs; a clear error when the stack is not deployed."""
    from botocore.exceptions import ClientError

    try:
        described = client("cloudformation", env).describe_stacks(StackName=stack_name)
    except ClientError as error:
        raise StackError(
            f"stack {stack_name} is not deployed ({error.response['Error']['Message']}); "
            "deploy it first (make deploy-all)"
        ) from error
    outputs = described["Stacks"][0].get("Outputs") or []
    return {output["OutputKey"]: output["OutputValue"] for output in outputs}


# A stack that nests another (a consumer's inbox) names it in an output ending with this.
NESTED_STACK_OUTPUT_SUFFIX = "StackId"


def service_outputs(stack_name: str, env: Mapping[str, str]) -> dict[str, str]:
    """A stack's outputs together with those of the stacks it nests (its own win a clash), so
    a consumer's queue and DLQs, which live in its inbox stack, read like its own outputs."""
    own = stack_outputs(stack_name, env)
    merged: dict[str, str] = {}
    for key, value in own.items():
        if key.endswith(NESTED_STACK_OUTPUT_SUFFIX):
            merged.update(stack_outputs(value, env))
    return {**merged, **own}


def importers_of_platform(stack: Stack, env: Mapping[str, str]) -> dict[str, list[str]]:
    """Map each platform export that some stack imports to the importing stacks."""
    from botocore.exceptions import ClientError

    cloudformation = client("cloudformation", env)
    importers: dict[str, list[str]] = {}
    for export in PLATFORM_EXPORTS:
        export_name = f"{stack.stack_name}-{export}"
        try:
            pages = cloudformation.get_paginator("list_imports").paginate(ExportName=export_name)
            names = [name for page in pages for name in page.get("Imports", [])]
        except ClientError as error:
            # "is not imported by any stack" and "does not exist" both mean: nothing depends on it.
            if error.response["Error"]["Code"] == "ValidationError":
                continue
            raise
        if names:
            importers[export_name] = names
    return importers


def destroy(stack: Stack, env: Mapping[str, str]) -> None:
    if stack.name == PLATFORM:
        importers = importers_of_platform(stack, env)
        if importers:
            users = sorted({name for names in importers.values() for name in names})
            raise StackError(
                f"refusing to delete {stack.stack_name}: its exports are still imported by "
                f"{', '.join(users)}. Delete those first (make destroy SERVICE=<name>, or "
                "make destroy-all)."
            )
    run(["delete", "--stack-name", stack.stack_name, "--no-prompts"], stack.folder, env)


def logs(stack: Stack, env: Mapping[str, str]) -> None:
    """The stack's function logs of the last hour, via the SAM CLI (AWS and localcloud alike)."""
    run(
        ["logs", "--stack-name", stack.stack_name, "--start-time", "1hour ago"],
        stack.folder,
        env,
    )


def deploy_all(stacks: Sequence[Stack], env: Mapping[str, str]) -> None:
    """Every stack's `sam build` at once (a build needs nothing deployed), then the platform's
    deploy (every service imports it), then the services' side by side: they are independent
    stacks, and SAM spends most of a deploy waiting on CloudFormation. A service that fails
    to build or deploy stops no other service; the platform failing stops them all."""
    build_env = build_environment(env)
    with contextlib.ExitStack() as snapshots, ThreadPoolExecutor(max(1, len(stacks))) as pool:
        builds = {stack: pool.submit(_enter, built(stack, build_env)) for stack in stacks}
        templates: dict[Stack, Path] = {}
        errors: list[str] = []
        for stack, build in builds.items():
            if build.exception() is not None:
                errors.append(str(build.exception()))
                continue
            snapshot, templates[stack] = build.result()
            snapshots.push(snapshot.__exit__)  # the snapshot is removed once all deploys end
        for stack in stacks:
            if stack.name == PLATFORM:
                if stack not in templates:
                    raise StackError("; ".join(errors))
                deploy_built(stack, templates[stack], build_env)
        services = [stack for stack in stacks if stack.name != PLATFORM and stack in templates]
        deploys = [pool.submit(deploy_built, s, templates[s], build_env) for s in services]
        errors += [str(f.exception()) for f in deploys if f.exception() is not None]
    if errors:
        raise StackError("; ".join(errors))


def _enter(snapshot: contextlib.AbstractContextManager[Path]) -> tuple[Any, Path]:
    """Enter a `built` snapshot in a worker thread; the caller exits it."""
    return snapshot, snapshot.__enter__()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.stacks", description=__doc__)
    parser.add_argument("--target", choices=("aws", "local"), default="aws")
    parser.add_argument("--prefix", type=stack_prefix, default="wild-rydes")
    parser.add_argument("action", choices=("deploy", "destroy", "logs"))
    parser.add_argument("stacks", nargs="+", metavar="stack")
    args = parser.parse_args(argv)
    try:
        stacks = [parse_stack(name, args.prefix) for name in args.stacks]
        env = target_environment(args.target)
        if args.action == "deploy":
            deploy_all(stacks, env)
        else:
            for stack in stacks:
                {"destroy": destroy, "logs": logs}[args.action](stack, env)
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
