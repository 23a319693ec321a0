"""The GitHub workflows stay honest: GitHub is unreachable from here, so they are checked
statically (actionlint and zizmor in `make lint`) and against the repository by these tests.

`workflow_problems` lists everything wrong with a repository tree; the tests run it on this
repository (no problem allowed) and on mutated copies, to show each check bites.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import changed_stacks
from scripts import services as manifests
from scripts.changed_stacks import ChangeError, impact_of
from scripts.stacks import PLATFORM, REPO_ROOT, SERVICES

WORKFLOWS = ".github/workflows"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+)*\s*$")
MAKE_CALL = re.compile(r"(?:^|[\s;&|(])make\s+([a-z0-9][a-z0-9-]*)")
# The step outputs scripts/changed_stacks.py writes, by name.
PLAN_OUTPUTS = set(changed_stacks.Plan((), False, ()).as_outputs())
READ_ONLY = {"read", "none"}


def load_workflows(repo: Path) -> dict[str, dict[str, Any]]:
    return {
        path.name: yaml.safe_load(path.read_text())
        for path in sorted((repo / WORKFLOWS).glob("*.yml"))
    }


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean true.
    return workflow.get("on", workflow.get(True)) or {}


def steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in workflow.get("jobs", {}).items():
        for step in job.get("steps", []):
            yield job_id, step


def action_files(repo: Path) -> list[Path]:
    return sorted((repo / ".github").rglob("*.yml")) + sorted((repo / ".github").rglob("*.yaml"))


def phony_targets(repo: Path) -> set[str]:
    text = (repo / "Makefile").read_text()
    return {t for line in re.findall(r"^\.PHONY:\s*(.+)$", text, re.M) for t in line.split()}


MAKEFILE_SERVICES = "SERVICES := $(shell python3 -m scripts.services list)"


def manifest_problems(repo: Path, folders: Sequence[str]) -> list[str]:
    """The Makefile lists what the manifests say, and every service folder has one."""
    problems = []
    if MAKEFILE_SERVICES not in (repo / "Makefile").read_text().splitlines():
        problems.append(f"the Makefile does not set `{MAKEFILE_SERVICES}`")
    try:
        discovered = sorted(manifests.names(services_dir=repo / "services"))
    except manifests.ManifestError as error:
        return [*problems, str(error)]
    if discovered != list(folders):
        problems.append(f"the manifests name {discovered}, the service folders are {folders}")
    return problems


def service_folders(repo: Path) -> list[str]:
    return sorted(p.parent.name for p in (repo / "services").glob("*/template.yaml"))


def _routing_problems(folders: Sequence[str], services: Sequence[str]) -> list[str]:
    problems = []
    for folder in folders:
        if folder not in services:
            problems.append(f"services/{folder} is missing from SERVICES (the change filter)")
        try:
            impact = impact_of(f"services/{folder}/src/app.py", services)
        except ChangeError as error:
            problems.append(str(error))
            continue
        if impact.tests != {folder} or impact.deploys != {folder}:
            problems.append(f"a change in services/{folder}/ counts for {impact}")
    for name in services:
        if name not in folders:
            problems.append(f"SERVICES names {name}, which has no services/{name}/template.yaml")
    return problems


def _matrix_problems(workflows: dict[str, dict[str, Any]], folders: Sequence[str]) -> list[str]:
    problems = []
    ci_jobs = workflows["ci.yml"]["jobs"]
    matrix = ci_jobs["services"]["strategy"]["matrix"]["service"]
    if matrix != "${{ fromJSON(needs.changes.outputs.services) }}":
        problems.append(f"ci.yml's service matrix is not the changed-stacks list: {matrix}")
    if ci_jobs["changes"]["outputs"]["services"] != "${{ steps.stacks.outputs.test_services }}":
        problems.append("ci.yml's changes job does not output changed-stacks' test_services")
    deploy_jobs = workflows["deploy.yml"]["jobs"]
    matrix = deploy_jobs["services"]["strategy"]["matrix"]["service"]
    if matrix != "${{ fromJSON(needs.plan.outputs.services) }}":
        problems.append(f"deploy.yml's service matrix is not the changed-stacks list: {matrix}")
    options = triggers(workflows["deploy.yml"])["workflow_dispatch"]["inputs"]["stack"]["options"]
    if sorted(options) != sorted(["all", PLATFORM, *folders]):
        problems.append(
            f"deploy.yml's dispatch options {options} are not all, platform + {folders}"
        )
    for name, workflow in workflows.items():
        for job_id, step in steps(workflow):
            if step.get("id") == "stacks" and "make changed-stacks" not in step.get("run", ""):
                problems.append(f"{name} {job_id}: the stacks step must run make changed-stacks")
        text = yaml.safe_dump(workflow)
        for output in re.findall(r"steps\.stacks\.outputs\.(\w+)", text):
            if output not in PLAN_OUTPUTS:
                problems.append(f"{name} reads output {output}, which changed-stacks never writes")
    return problems


def _step_problems(repo: Path, workflows: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    targets = phony_targets(repo)
    for name, workflow in workflows.items():
        for job_id, step in steps(workflow):
            script = step.get("run")
            if script is None:
                continue
            if "${{" in script:
                problems.append(f"{name} {job_id}: an expression inside run: (pass it via env:)")
            called = MAKE_CALL.findall(script)
            if not called and script.strip() != "exit 1" and "GITHUB_OUTPUT" not in script:
                problems.append(f"{name} {job_id}: step '{script.strip()}' calls no Make target")
            problems += [
                f"{name} {job_id}: make {t} is not a Makefile target"
                for t in called
                if t not in targets
            ]
    return problems


def _pin_problems(repo: Path) -> list[str]:
    problems = []
    for path in action_files(repo):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = re.match(r"^\s*(?:-\s*)?uses:\s*(\S+)(.*)$", line)
            if not match:
                continue
            target, rest = match.groups()
            where = f"{path.relative_to(repo)}:{number}"
            if target.startswith("$/"):
                continue  # this repository at the running commit
            if not SHA_PIN.match(target):
                problems.append(f"{where}: {target} is not pinned to a full commit SHA")
            elif not VERSION_COMMENT.search(rest):
                problems.append(f"{where}: {target} has no '# vX.Y.Z' version comment")
    return problems


def _permission_problems(workflows: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for name, workflow in workflows.items():
        top = workflow.get("permissions")
        if not isinstance(top, dict) or not set(top.values()) <= READ_ONLY:
            problems.append(f"{name}: top-level permissions must be {{}} or read-only, not {top}")
        for job_id, job in workflow["jobs"].items():
            granted = job.get("permissions", {})
            if "uses" not in job and "permissions" not in job:
                problems.append(f"{name} {job_id}: no job-level permissions")
            if granted.get("id-token") == "write" and job.get("environment") != "production":
                problems.append(f"{name} {job_id}: id-token outside the production environment")
            writes = {k for k, v in granted.items() if v == "write"} - {"id-token"}
            if writes:
                problems.append(f"{name} {job_id}: writes {sorted(writes)}")
            for _, step in steps({"jobs": {job_id: job}}):
                if str(step.get("uses", "")).startswith("actions/checkout@") and (
                    step.get("with", {}).get("persist-credentials") is not False
                ):
                    problems.append(f"{name} {job_id}: checkout without persist-credentials: false")
    return problems


def workflow_problems(repo: Path, services: Sequence[str] = SERVICES) -> list[str]:
    """Everything wrong with the workflows of the tree at `repo`, given the change filter's
    list of services."""
    workflows = load_workflows(repo)
    folders = service_folders(repo)
    problems = _routing_problems(folders, services)
    return (
        problems
        + manifest_problems(repo, folders)
        + _matrix_problems(workflows, folders)
        + _step_problems(repo, workflows)
        + _pin_problems(repo)
        + _permission_problems(workflows)
    )


def test_the_workflows_have_no_problem() -> None:
    assert workflow_problems(REPO_ROOT) == []


def test_the_workflows_are_the_expected_ones() -> None:
    workflows = load_workflows(REPO_ROOT)
    assert set(workflows) == {"ci.yml", "deploy.yml", "service-tests.yml"}
    ci = triggers(workflows["ci.yml"])
    assert set(ci) == {"push", "pull_request"}
    assert ci["push"]["branches"] == ["main"]
    assert triggers(workflows["service-tests.yml"])["workflow_call"]["inputs"]["service"][
        "required"
    ]
    deploy = triggers(workflows["deploy.yml"])
    assert deploy["workflow_run"] == {
        "workflows": [workflows["ci.yml"]["name"]],
        "types": ["completed"],
        "branches": ["main"],
    }


def test_every_service_folder_routes_to_itself_alone() -> None:
    for folder in service_folders(REPO_ROOT):
        impact = impact_of(f"services/{folder}/src/{folder}/app.py")
        assert (impact.tests, impact.deploys) == ({folder}, {folder})


def test_shared_and_platform_changes_count_for_every_service() -> None:
    every = set(service_folders(REPO_ROOT))
    shared = impact_of("shared/layer/wildrydes/ride.py")
    assert (shared.tests, shared.deploys) == (every, every)
    platform = impact_of("platform/template.yaml")
    assert (platform.tests, platform.deploys) == (every, every | {PLATFORM})


def test_deploys_never_cancel_and_ci_only_cancels_outside_main() -> None:
    workflows = load_workflows(REPO_ROOT)
    for job_id in ("platform", "services", "smoke"):
        job = workflows["deploy.yml"]["jobs"][job_id]
        assert job["concurrency"]["cancel-in-progress"] is False, job_id
        assert job["environment"] == "production"
    assert workflows["deploy.yml"]["jobs"]["services"]["strategy"]["fail-fast"] is False
    services_group = workflows["deploy.yml"]["jobs"]["services"]["concurrency"]["group"]
    assert services_group == "deploy-${{ matrix.service }}"
    ci = workflows["ci.yml"]["concurrency"]
    assert ci["cancel-in-progress"] == "${{ github.ref != 'refs/heads/main' }}"


def test_deploys_take_the_role_and_region_from_repository_variables() -> None:
    deploy = load_workflows(REPO_ROOT)["deploy.yml"]
    credentials = [
        step["with"]
        for _, step in steps(deploy)
        if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")
    ]
    assert len(credentials) == 3
    for inputs in credentials:
        assert inputs["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
        assert inputs["aws-region"] == "${{ vars.AWS_REGION }}"
        assert "aws-access-key-id" not in inputs


# --- each check bites: mutated copies of the repository ------------------------------------


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(REPO_ROOT / ".github", tmp_path / ".github")
    shutil.copy(REPO_ROOT / "Makefile", tmp_path / "Makefile")
    for folder in service_folders(REPO_ROOT):
        (tmp_path / "services" / folder).mkdir(parents=True)
        (tmp_path / "services" / folder / "template.yaml").write_text("{}\n")
        shutil.copy(
            REPO_ROOT / "services" / folder / "service.toml", tmp_path / "services" / folder
        )
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_the_unmutated_copy_has_no_problem(copy: Path) -> None:
    assert workflow_problems(copy) == []


def test_a_service_removed_from_the_change_filter_is_caught(copy: Path) -> None:
    without = tuple(name for name in SERVICES if name != "accounting")
    problems = workflow_problems(copy, without)
    assert any("services/accounting is missing from SERVICES" in p for p in problems)
    assert any("services/accounting/, which is not a known service" in p for p in problems)


def test_a_fifth_service_folder_nobody_registered_is_caught(copy: Path) -> None:
    (copy / "services/payments").mkdir()
    (copy / "services/payments/template.yaml").write_text("{}\n")
    problems = workflow_problems(copy)
    assert any("services/payments is missing from SERVICES" in p for p in problems)
    assert any("dispatch options" in p for p in problems)
    assert any("services/payments/ has no service.toml" in p for p in problems)


def test_a_service_missing_from_the_deploy_choices_is_caught(copy: Path) -> None:
    _edit(copy / WORKFLOWS / "deploy.yml", "extraordinary, notification]", "extraordinary]")
    assert any("dispatch options" in p for p in workflow_problems(copy))


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("ci.yml", "run: make lint", "run: make lint-everything", "make lint-everything is not"),
        ("ci.yml", "run: make lint", "run: ruff check .", "calls no Make target"),
        (
            "service-tests.yml",
            'run: make test-service SERVICE="$SERVICE"',
            "run: make test-service SERVICE=${{ inputs.service }}",
            "an expression inside run:",
        ),
        (
            "ci.yml",
            "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
            "actions/checkout@v7",
            "is not pinned to a full commit SHA",
        ),
        (
            "ci.yml",
            "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
            "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
            "has no '# vX.Y.Z' version comment",
        ),
        ("ci.yml", "permissions: {}", "permissions: write-all", "top-level permissions"),
        ("ci.yml", "persist-credentials: false", "persist-credentials: true", "persist-cred"),
        (
            "deploy.yml",
            "    environment: production\n    # One deploy of a stack at a time",
            "    # One deploy of a stack at a time",
            "id-token outside the production environment",
        ),
        (
            "ci.yml",
            "steps.stacks.outputs.test_services",
            "steps.stacks.outputs.services_to_test",
            "never writes",
        ),
        (
            "ci.yml",
            "fromJSON(needs.changes.outputs.services)",
            "fromJSON('[\"accounting\"]')",
            "service matrix is not the changed-stacks list",
        ),
    ],
)
def test_each_workflow_rule_bites(copy: Path, file: str, old: str, new: str, expected: str) -> None:
    _edit(copy / WORKFLOWS / file, old, new)
    problems = workflow_problems(copy)
    assert any(expected in p for p in problems), problems


def test_a_step_without_a_make_target_is_caught_in_the_composite_setup_too(copy: Path) -> None:
    _edit(
        copy / ".github/actions/setup-toolchain/action.yml",
        "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97",
        "actions/setup-python@main",
    )
    assert any("actions/setup-python@main is not pinned" in p for p in workflow_problems(copy))


def test_deploys_plan_against_the_last_successful_deploy_not_the_first_parent() -> None:
    """GitHub cancels a pending deploy when a newer one queues: comparing each commit with its
    parent would leave a stack changed only by the cancelled run's commit undeployed."""
    deploy = load_workflows(REPO_ROOT)["deploy.yml"]
    plan = deploy["jobs"]["plan"]
    # The token may list the workflow's runs and jobs, nothing more.
    assert plan["permissions"] == {"contents": "read", "actions": "read"}
    [checkout] = [
        s for s in plan["steps"] if str(s.get("uses", "")).startswith("actions/checkout@")
    ]
    assert checkout["with"]["fetch-depth"] == 0  # the last deployed commit may be far back
    [stacks] = [s for s in plan["steps"] if s.get("id") == "stacks"]
    env = stacks["env"]
    assert "BASE_SHA" not in env
    # The workflow asks about its own runs.
    assert env["LAST_DEPLOY_WORKFLOW"] == "deploy.yml"
    assert (REPO_ROOT / WORKFLOWS / env["LAST_DEPLOY_WORKFLOW"]).is_file()
    assert env["GH_TOKEN"] == "${{ github.token }}"
    assert env["HEAD_SHA"] == "${{ github.event.workflow_run.head_sha || github.sha }}"
    # The run's title names the commit it deploys, in the shape the script reads back.
    run_name = deploy["run-name"]
    assert run_name == f"Deploy {env['HEAD_SHA']}"
    example = run_name.replace(env["HEAD_SHA"], "0123456789abcdef" * 2 + "01234567")
    assert changed_stacks.DEPLOYED_COMMIT.match(example)
    # The plan job's name is how the script tells a run that deployed from one that skipped.
    assert plan["name"] == changed_stacks.PLAN_JOB
    for job_id in ("platform", "services", "smoke"):
        needs = deploy["jobs"][job_id]["needs"]
        assert "plan" in ([needs] if isinstance(needs, str) else needs), job_id
