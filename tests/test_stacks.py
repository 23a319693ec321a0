"""scripts/stacks.py: the rules behind `make deploy*` and `make destroy*`."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.patches import apply_all
from scripts import stacks


def test_every_stack_maps_to_its_folder_and_platform_parameter() -> None:
    platform = stacks.parse_stack("platform", "wild-rydes")
    assert platform.stack_name == "wild-rydes-platform"
    assert (platform.folder / "template.yaml").is_file()
    service = stacks.parse_stack("accounting", "staging")
    assert service.stack_name == "staging-accounting"
    assert service.folder == stacks.REPO_ROOT / "services/accounting"
    assert service.parameter_overrides == ["PlatformStackName=staging-platform"]


def test_an_unknown_stack_names_the_valid_ones() -> None:
    with pytest.raises(stacks.StackError, match=r"unknown stack 'billing'.*platform, management"):
        stacks.parse_stack("billing", "wild-rydes")


@pytest.mark.parametrize("prefix", ["", "x", "Wild", "wild_rydes", "9lives", "a" * 32, "a b"])
def test_a_bad_prefix_is_refused_before_anything_runs(
    prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        stacks.main(["--prefix", prefix, "deploy", "platform"])
    assert exit_info.value.code == 2
    assert "is not a valid STACK_PREFIX" in capsys.readouterr().err


def _fake_python(folder: Path) -> Path:
    folder.mkdir(parents=True)
    binary = folder / "python3.13"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    return binary


def test_python313_prefers_a_real_binary_on_path(tmp_path: Path) -> None:
    real = _fake_python(tmp_path / "usr/bin")
    found = stacks.find_python313({"PATH": str(real.parent), "PYENV_ROOT": str(tmp_path / "x")})
    assert found == real.parent


def test_python313_skips_the_pyenv_shim_for_the_newest_pyenv_version(tmp_path: Path) -> None:
    shim = _fake_python(tmp_path / "pyenv/shims")
    _fake_python(tmp_path / "pyenv/versions/3.13.0/bin")
    newest = _fake_python(tmp_path / "pyenv/versions/3.13.9/bin")
    environ = {"PATH": str(shim.parent), "PYENV_ROOT": str(tmp_path / "pyenv")}
    assert stacks.find_python313(environ) == newest.parent


def test_no_python313_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(stacks.StackError, match=r"pyenv install 3\.13"):
        stacks.find_python313({"PATH": str(tmp_path), "PYENV_ROOT": str(tmp_path)})


def _platform_and_importer_templates() -> tuple[str, str]:
    exports = {
        name: {"Value": "x", "Export": {"Name": f"wild-rydes-platform-{name}"}}
        for name in stacks.PLATFORM_EXPORTS
    }
    platform = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": exports}
    importer = {
        "Resources": {
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "Tags": [
                        {
                            "Key": "topic",
                            "Value": {"Fn::ImportValue": "wild-rydes-platform-TopicArn"},
                        }
                    ]
                },
            }
        }
    }
    return json.dumps(platform), json.dumps(importer)


def test_destroy_platform_is_refused_while_a_service_imports_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    apply_all()  # moto has no ListImports of its own; localcloud adds it
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    ran: list[list[str]] = []
    monkeypatch.setattr(stacks, "run", lambda command, cwd, env: ran.append(list(command)))
    platform, importer = _platform_and_importer_templates()
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        cloudformation.create_stack(StackName="wild-rydes-platform", TemplateBody=platform)
        cloudformation.create_stack(StackName="wild-rydes-accounting", TemplateBody=importer)

        assert stacks.main(["destroy", "platform"]) == 2
        assert "still imported by wild-rydes-accounting" in capsys.readouterr().err
        assert ran == []

        cloudformation.delete_stack(StackName="wild-rydes-accounting")
        assert stacks.main(["destroy", "platform"]) == 0
        assert ran == [["delete", "--stack-name", "wild-rydes-platform", "--no-prompts"]]


@dataclass
class FakeSam:
    """`run` without SAM, on a repository in a temporary folder: a build writes a template
    naming its build; a deploy records the template it was given, read at that moment."""

    root: Path
    env: dict[str, str]
    ran: list[tuple[list[str], Path]] = field(default_factory=list)
    deployed: list[str] = field(default_factory=list)
    builds: Iterator[int] = field(default_factory=itertools.count)

    def run(self, command: list[str], cwd: Path, env: Any) -> None:
        self.ran.append((list(command), cwd))
        if command[0] == "build":
            build = cwd / ".aws-sam/build"
            shutil.rmtree(build, ignore_errors=True)  # as sam build starts
            time.sleep(0.05)  # room for another build to interleave, were builds not locked
            build.mkdir(parents=True)
            (build / "template.yaml").write_text(f"build {next(self.builds)}")
        elif command[0] == "deploy":
            template = command[command.index("--template-file") + 1]
            self.deployed.append((cwd / template).read_text())


@pytest.fixture
def fake_sam(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeSam:
    fake = FakeSam(tmp_path, {"PATH": str(_fake_python(tmp_path / "bin").parent)})
    monkeypatch.setattr(stacks, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(stacks, "run", fake.run)
    (tmp_path / "services/accounting").mkdir(parents=True)
    (tmp_path / "services/accounting/samconfig.toml").write_text("version = 0.1\n")
    return fake


def test_a_deploy_builds_then_deploys_from_the_stack_folder_with_its_tags(
    fake_sam: FakeSam,
) -> None:
    stacks.deploy_all([stacks.parse_stack("accounting", "staging")], fake_sam.env)

    (build, build_cwd), (deploy, deploy_cwd) = fake_sam.ran
    folder = fake_sam.root / "services/accounting"
    assert build[0] == "build"
    assert deploy[0] == "deploy"
    assert build_cwd == deploy_cwd == folder
    assert fake_sam.deployed == ["build 0"]  # from a snapshot, removed after the deploy
    assert sorted(path.name for path in (folder / ".aws-sam").iterdir()) == ["build", "build.lock"]
    assert deploy[deploy.index("--config-file") + 1] == str(folder / "samconfig.toml")
    assert deploy[deploy.index("--stack-name") + 1] == "staging-accounting"
    assert "PlatformStackName=staging-platform" in deploy
    tags = deploy[deploy.index("--tags") + 1 : deploy.index("--tags") + 3]
    assert tags == ["project=staging", "service=accounting"]


def test_deploys_from_one_folder_at_once_build_in_turn_and_each_deploys_its_own_build(
    fake_sam: FakeSam,
) -> None:
    (fake_sam.root / "services/accounting/samconfig.toml").unlink()  # SAM's defaults, then
    targets = [stacks.parse_stack("accounting", prefix) for prefix in ("one", "two", "three")]
    with ThreadPoolExecutor(max_workers=3) as pool:
        for done in [pool.submit(stacks.deploy_all, [t], fake_sam.env) for t in targets]:
            done.result()

    assert sorted(fake_sam.deployed) == ["build 0", "build 1", "build 2"]
    assert not any("--config-file" in command for command, _ in fake_sam.ran)


def test_deploy_all_builds_every_stack_first_then_the_platform_then_the_services(
    fake_sam: FakeSam,
) -> None:
    for folder in ("platform", "services/notification", "services/extraordinary"):
        (fake_sam.root / folder).mkdir(parents=True, exist_ok=True)
    broken = fake_sam.root / "services/extraordinary/.aws-sam"
    broken.mkdir(parents=True)
    (broken / "build").write_text("a file where sam build wants a folder: this build fails")
    names = ("platform", "accounting", "notification", "extraordinary")

    with pytest.raises(stacks.StackError):
        stacks.deploy_all([stacks.parse_stack(name, "one") for name in names], fake_sam.env)

    steps = [(command[0], cwd.name) for command, cwd in fake_sam.ran]
    deploys = [folder for step, folder in steps if step == "deploy"]
    assert deploys[0] == "platform"
    assert sorted(deploys[1:]) == ["accounting", "notification"]  # extraordinary did not build
    first_deploy = steps.index(("deploy", "platform"))
    assert sorted(folder for step, folder in steps[:first_deploy] if step == "build") == sorted(
        ["platform", "accounting", "notification", "extraordinary"]
    )
    left = list(fake_sam.root.glob("**/.aws-sam/deploy-*"))
    assert left == []  # every snapshot removed


def test_deploy_all_deploys_nothing_when_the_platform_does_not_build(fake_sam: FakeSam) -> None:
    (fake_sam.root / "platform/.aws-sam").mkdir(parents=True)
    (fake_sam.root / "platform/.aws-sam/build").write_text("not a folder")

    with pytest.raises(stacks.StackError):
        stacks.deploy_all(
            [stacks.parse_stack(name, "one") for name in ("platform", "accounting")], fake_sam.env
        )
    assert [command for command, _ in fake_sam.ran if command[0] == "deploy"] == []


CONSUMER_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: ../../shared/layer/}
  Inbox:
    Type: AWS::Serverless::Application
    Properties: {Location: ../../shared/templates/inbox.yaml}
  Function:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Description: Books every ride
      KmsKeyArn: !Select [1, !Split ["/", !ImportValue platform-KeyArn]]
"""


def _builds(fake: FakeSam) -> int:
    return sum(1 for command, _ in fake.ran if command[0] == "build")


def _consumer_folder(fake: FakeSam, template: str = CONSUMER_TEMPLATE) -> Path:
    root, folder = fake.root, fake.root / "services/accounting"
    for path, text in {
        folder / "template.yaml": template,
        folder / "src/handler.py": "RATE = 1\n",
        folder / "tests/test_handler.py": "def test(): pass\n",
        root / "shared/layer/requirements.txt": "pydantic==2.12.5\n",
        root / "shared/templates/inbox.yaml": "Resources: {}\n",
    }.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def _rebuild_by_hand(folder: Path) -> None:
    """What `sam build` run by hand does to the build folder: deleted and written again
    (here with the very same template)."""
    template = folder / ".aws-sam/build/template.yaml"
    text = template.read_text()
    shutil.rmtree(template.parent)
    template.parent.mkdir()
    template.write_text(text)


def test_a_build_is_run_again_only_when_something_it_reads_changed(
    fake_sam: FakeSam, capsys: pytest.CaptureFixture[str]
) -> None:
    root, folder = fake_sam.root, _consumer_folder(fake_sam)
    accounting = [stacks.parse_stack("accounting", "one")]

    stacks.deploy_all(accounting, fake_sam.env)
    stacks.deploy_all(accounting, fake_sam.env)
    assert _builds(fake_sam) == 1
    assert fake_sam.deployed == ["build 0", "build 0"]
    assert "sam build skipped: nothing it reads changed" in capsys.readouterr().out

    (folder / "tests/test_handler.py").write_text("def test(): assert True\n")
    stacks.deploy_all(accounting, {**fake_sam.env, "SAM_CLI_POLL_DELAY": "0.5"})
    assert _builds(fake_sam) == 1  # neither the tests nor a deploy-only setting are built

    changes: dict[str, Callable[[], object]] = {
        "the function's code": lambda: (folder / "src/handler.py").write_text("RATE = 2\n"),
        "a new file in its code": lambda: (folder / "src/rates.py").write_text("RATES = ()\n"),
        "a file removed from its code": lambda: (folder / "src/rates.py").unlink(),
        "the layer, outside the folder": lambda: (
            root / "shared/layer/requirements.txt"
        ).write_text("x==1\n"),
        "the nested application": lambda: (root / "shared/templates/inbox.yaml").write_text(
            "Outputs: {}\n"
        ),
        "samconfig.toml": lambda: (folder / "samconfig.toml").write_text("[default]\n"),
        "the template": lambda: (folder / "template.yaml").write_text(
            CONSUMER_TEMPLATE + "Outputs: {}\n"
        ),
        "the build's template, by hand": lambda: (
            folder / ".aws-sam/build/template.yaml"
        ).write_text("edited"),
        "a build run by hand, same template": lambda: _rebuild_by_hand(folder),
    }
    for number, (what, change) in enumerate(changes.items(), start=1):
        change()
        stacks.deploy_all(accounting, fake_sam.env)
        assert (_builds(fake_sam), fake_sam.deployed[-1]) == (1 + number, f"build {number}"), what

    for setting in ({"SAM_CLI_BETA_FEATURES": "1"}, {"PIP_INDEX_URL": "http://127.0.0.1/"}):
        before = _builds(fake_sam)
        stacks.deploy_all(accounting, {**fake_sam.env, **setting})
        assert _builds(fake_sam) == before + 1, setting


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("a folder above its own", "beyond the stack's own inputs"),
        ("a folder outside the repository", "beyond the stack's own inputs"),
        ("a computed CodeUri", "CodeUri is computed"),
        ("a makefile build", "BuildMethod makefile"),
        ("requirements that include others", "includes '-r'"),
        ("a symlinked folder", "is a symlinked folder"),
        ("a dangling link", "cannot read every input"),
    ],
)
def test_a_build_whose_inputs_cannot_all_be_named_always_runs_and_says_why(
    fake_sam: FakeSam, capsys: pytest.CaptureFixture[str], case: str, reason: str
) -> None:
    outside = fake_sam.root.parent / f"{fake_sam.root.name}-outside"
    outside.mkdir()
    template = {
        "a folder above its own": CONSUMER_TEMPLATE.replace("src/", "../.."),
        "a folder outside the repository": CONSUMER_TEMPLATE.replace("src/", str(outside)),
        "a computed CodeUri": CONSUMER_TEMPLATE.replace("src/", "!Sub src/${AWS::Region}"),
        "a makefile build": CONSUMER_TEMPLATE + "    Metadata: {BuildMethod: makefile}\n",
    }.get(case, CONSUMER_TEMPLATE)
    folder = _consumer_folder(fake_sam, template)
    if case == "requirements that include others":
        (folder / "src/requirements.txt").write_text("-r ../../../requirements-dev.txt\n")
    elif case == "a symlinked folder":
        (folder / "src/vendored").symlink_to(outside, target_is_directory=True)
    elif case == "a dangling link":
        (folder / "src/.#handler.py").symlink_to(folder / "src/gone.py")
    accounting = [stacks.parse_stack("accounting", "one")]

    stacks.deploy_all(accounting, fake_sam.env)
    stacks.deploy_all(accounting, fake_sam.env)
    assert _builds(fake_sam) == 2
    printed = capsys.readouterr().out
    assert "sam build runs every time here: " in printed
    assert reason in printed


def test_services_get_the_ci_permissions_boundary_when_one_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    boundary = "arn:aws:iam::123456789012:policy/wild-rydes-workload-boundary"
    monkeypatch.delenv("WILDRYDES_PERMISSIONS_BOUNDARY_ARN", raising=False)
    assert stacks.parse_stack("accounting", "wild-rydes").parameter_overrides == [
        "PlatformStackName=wild-rydes-platform"
    ]
    monkeypatch.setenv("WILDRYDES_PERMISSIONS_BOUNDARY_ARN", boundary)
    assert stacks.parse_stack("accounting", "wild-rydes").parameter_overrides == [
        "PlatformStackName=wild-rydes-platform",
        f"PermissionsBoundaryArn={boundary}",
    ]
    assert stacks.parse_stack("platform", "wild-rydes").parameter_overrides == [
        "ProjectName=wild-rydes"
    ]


def test_sam_runs_plain_against_aws_and_through_localcloud_sam_cli_on_an_endpoint() -> None:
    command, env = stacks.sam_command({"PATH": "/bin"})
    assert command == [stacks.sam()]
    assert env == {"PATH": "/bin"}

    command, env = stacks.sam_command({"AWS_ENDPOINT_URL": "http://localhost:4566"})
    assert command[1:] == ["-m", "localcloud.sam_cli"]
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(stacks.REPO_ROOT)


def test_clients_for_the_same_credentials_share_one_session_and_others_get_their_own() -> None:
    env = {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_REGION": "eu-west-1"}
    stacks._cached_session.cache_clear()
    first, second = stacks.client("sqs", env), stacks.client("sns", env)
    assert stacks._cached_session.cache_info()[:2] == (1, 1)  # (hits, misses): one Session
    other = stacks.client("sqs", {**env, "AWS_ACCESS_KEY_ID": "c"})
    assert stacks._cached_session.cache_info()[:2] == (1, 2)  # other keys: a Session of their own

    assert first.meta.region_name == second.meta.region_name == "eu-west-1"
    assert first._request_signer._credentials.access_key == "a"
    assert other._request_signer._credentials.access_key == "c"
