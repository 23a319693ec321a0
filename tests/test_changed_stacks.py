"""scripts/changed_stacks.py: the path rules CI and the deploy workflow share."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from scripts import changed_stacks
from scripts.changed_stacks import ChangeError, Plan, impact_of, plan_for_paths, plan_for_stack
from scripts.services import names
from scripts.stacks import SERVICES

EVERY = frozenset(SERVICES)
CONSUMERS = frozenset(names("consumer"))
EVERY_STACK = frozenset(("platform", *SERVICES))
NONE: frozenset[str] = frozenset()


@pytest.mark.parametrize(
    ("path", "tests", "deploys"),
    [
        ("services/accounting/src/accounting/app.py", {"accounting"}, {"accounting"}),
        ("services/accounting/template.yaml", {"accounting"}, {"accounting"}),
        ("services/notification/samconfig.toml", {"notification"}, {"notification"}),
        # A test-only change runs that service's tests and deploys nothing.
        ("services/extraordinary/tests/test_handler.py", {"extraordinary"}, NONE),
        # The layer every service bundles: all services, but the platform does not use it.
        ("shared/layer/wildrydes/ride.py", EVERY, EVERY),
        ("shared/layer/requirements.txt", EVERY, EVERY),
        ("shared/tests/test_ride.py", NONE, NONE),
        # Every service imports the platform's exports: all of them, after the platform itself.
        ("platform/template.yaml", EVERY, EVERY_STACK),
        ("platform/samconfig.toml", EVERY, EVERY_STACK),
        ("platform/tests/test_template.py", NONE, NONE),
        ("platform/github-oidc.yaml", NONE, NONE),
        # What every stack is built and deployed with.
        ("Makefile", EVERY, EVERY_STACK),
        ("requirements-dev.txt", EVERY, EVERY_STACK),
        ("scripts/stacks.py", EVERY, EVERY_STACK),
        # What every stack's tests run with.
        ("pyproject.toml", EVERY, NONE),
        ("conftest.py", EVERY, NONE),
        (".pre-commit-config.yaml", EVERY, NONE),
        ("shared/testing/wildrydes_testing/templates.py", EVERY, NONE),
        # The inbox module: every consumer (tests and deploys), not the producer.
        ("shared/templates/consumer-inbox.yaml", CONSUMERS, CONSUMERS),
        ("localcloud/patches.py", EVERY, NONE),
        ("scripts/smoke.py", EVERY, NONE),
        (".github/workflows/ci.yml", EVERY, NONE),
        # Nothing per stack: CI's always-on jobs cover these.
        ("README.md", NONE, NONE),
        ("docs/ci-cd.md", NONE, NONE),
        ("bench/bench_publish.py", NONE, NONE),
        ("tests/e2e/test_fan_out.py", NONE, NONE),
        ("tests/test_stacks.py", NONE, NONE),
        ("services/README.md", NONE, NONE),
        # Prefixes match whole folder names only.
        ("platformish.txt", NONE, NONE),
        ("shared", NONE, NONE),
        ("Makefile.local", NONE, NONE),
    ],
)
def test_each_path_counts_for_the_right_stacks(
    path: str, tests: frozenset[str], deploys: frozenset[str]
) -> None:
    impact = impact_of(path)
    assert impact.tests == tests
    assert impact.deploys == deploys
    assert impact.reason


def test_a_service_folder_missing_from_services_is_an_error_not_a_silent_skip() -> None:
    with pytest.raises(ChangeError, match=r"services/payments/.*not a known service.*manifest"):
        impact_of("services/payments/template.yaml")
    # The same check catches a service dropped from the list the rules are given.
    shorter = tuple(name for name in SERVICES if name != "accounting")
    with pytest.raises(ChangeError, match="accounting"):
        impact_of("services/accounting/src/accounting/app.py", shorter)


def test_a_plan_merges_paths_and_keeps_the_deploy_order() -> None:
    plan = plan_for_paths(
        ["services/extraordinary/template.yaml", "services/management/tests/test_api.py"]
    )
    assert plan == Plan(("management", "extraordinary"), False, ("extraordinary",))
    assert plan_for_paths([]) == Plan((), False, ())
    assert plan_for_paths(["platform/template.yaml", "README.md"]) == Plan(
        tuple(SERVICES), True, tuple(SERVICES)
    )


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("all", Plan(tuple(SERVICES), True, tuple(SERVICES))),
        ("platform", Plan((), True, ())),
        ("accounting", Plan(("accounting",), False, ("accounting",))),
    ],
)
def test_a_stack_chosen_by_hand(choice: str, expected: Plan) -> None:
    assert plan_for_stack(choice) == expected


@pytest.mark.parametrize("choice", ["billing", "All", "platform accounting", "*"])
def test_an_unknown_stack_choice_names_the_valid_ones(choice: str) -> None:
    with pytest.raises(ChangeError, match=r"is not a stack: use one of all, platform, management"):
        plan_for_stack(choice)


def test_outputs_are_compact_json_for_the_workflow_matrices() -> None:
    outputs = Plan(("accounting",), True, ("management", "accounting")).as_outputs()
    assert outputs == {
        "test_services": '["accounting"]',
        "deploy_platform": "true",
        "deploy_services": '["management","accounting"]',
    }
    assert Plan((), False, ()).as_outputs()["test_services"] == "[]"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _commit(repo: Path, files: dict[str, str | None], message: str) -> str:
    for name, content in files.items():
        path = repo / name
        if content is None:
            _git(repo, "rm", "-q", name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        _git(repo, "add", name)
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    _commit(
        tmp_path,
        {"README.md": "x\n", "services/accounting/src/accounting/app.py": "a = 1\n"},
        "first",
    )
    return tmp_path


def test_a_push_diffs_its_before_and_after_commits(repo: Path) -> None:
    before = _git(repo, "rev-parse", "HEAD")
    _commit(repo, {"services/notification/template.yaml": "t\n"}, "notification")
    after = _commit(repo, {"docs/ci-cd.md": "d\n"}, "docs")
    assert changed_stacks.changed_paths(before, after, repo) == [
        "docs/ci-cd.md",
        "services/notification/template.yaml",
    ]
    # The deploy workflow diffs the commit CI tested against its first parent.
    assert changed_stacks.changed_paths(f"{after}^1", after, repo) == ["docs/ci-cd.md"]


def test_a_pull_request_sees_only_its_own_changes_not_what_landed_on_main(repo: Path) -> None:
    base = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", "-b", "feature")
    head = _commit(repo, {"shared/layer/wildrydes/ride.py": "r\n"}, "feature")
    _git(repo, "checkout", "-q", "main")
    main_tip = _commit(repo, {"platform/template.yaml": "p\n"}, "landed meanwhile")
    assert changed_stacks.changed_paths(main_tip, head, repo) == ["shared/layer/wildrydes/ride.py"]
    assert changed_stacks.changed_paths(base, head, repo) == ["shared/layer/wildrydes/ride.py"]


def test_a_file_moved_out_of_a_service_counts_for_that_service(repo: Path) -> None:
    before = _git(repo, "rev-parse", "HEAD")
    (repo / "shared").mkdir()
    _git(repo, "mv", "services/accounting/src/accounting/app.py", "shared/app.py")
    after = _commit(repo, {}, "move")
    paths = changed_stacks.changed_paths(before, after, repo)
    assert paths == ["services/accounting/src/accounting/app.py", "shared/app.py"]


@pytest.mark.parametrize("base", ["", "0" * 40, "1234567890abcdef1234567890abcdef12345678"])
def test_an_unusable_base_means_every_stack(repo: Path, base: str) -> None:
    assert changed_stacks.changed_paths(base, "HEAD", repo) is None
    plan, explanation = changed_stacks.decide(base, "HEAD", "", repo)
    assert plan == Plan(tuple(SERVICES), True, tuple(SERVICES))
    assert "every stack counts" in explanation[0]


@pytest.mark.parametrize("revision", ["--output=/tmp/x", "HEAD; rm -rf /", "a b", "main..HEAD"])
def test_a_revision_that_is_not_one_is_refused(repo: Path, revision: str) -> None:
    with pytest.raises(ChangeError, match=r"BASE_SHA=.*is not a git revision"):
        changed_stacks.changed_paths(revision, "HEAD", repo)
    with pytest.raises(ChangeError, match=r"HEAD_SHA=.*is not a git revision"):
        changed_stacks.changed_paths("HEAD", revision, repo)


def test_a_head_that_is_not_a_commit_is_an_error(repo: Path) -> None:
    with pytest.raises(ChangeError, match="HEAD_SHA='deadbeef' is not a commit"):
        changed_stacks.changed_paths("HEAD", "deadbeef", repo)


def test_main_prints_the_plan_and_appends_github_outputs(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changed_stacks, "REPO_ROOT", repo)
    before = _git(repo, "rev-parse", "HEAD")
    after = _commit(repo, {"services/accounting/template.yaml": "t\n"}, "accounting")
    output = tmp_path / "github_output"
    output.write_text("earlier=1\n")
    environ = {"BASE_SHA": before, "HEAD_SHA": after, "GITHUB_OUTPUT": str(output)}
    assert changed_stacks.main([], environ) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {
        "test_services": ["accounting"],
        "deploy_platform": False,
        "deploy_services": ["accounting"],
    }
    assert "services/accounting/template.yaml -> the accounting stack" in captured.err
    assert output.read_text() == (
        'earlier=1\ntest_services=["accounting"]\ndeploy_platform=false\n'
        'deploy_services=["accounting"]\n'
    )


def test_main_with_a_chosen_stack_ignores_the_diff(capsys: pytest.CaptureFixture[str]) -> None:
    assert changed_stacks.main([], {"STACK": "platform", "BASE_SHA": "not a sha"}) == 0
    assert json.loads(capsys.readouterr().out)["deploy_platform"] is True


def test_main_reports_a_bad_choice_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert changed_stacks.main(["--stack", "billing"], {}) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: STACK='billing' is not a stack")
    assert "Traceback" not in err


def test_main_reports_an_unknown_service_folder(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changed_stacks, "REPO_ROOT", repo)
    before = _git(repo, "rev-parse", "HEAD")
    _commit(repo, {"services/payments/template.yaml": "t\n"}, "a fifth service")
    assert changed_stacks.main(["--base", before], {}) == 2
    assert "services/payments/, which is not a known service" in capsys.readouterr().err


# --- the deploy workflow's base: the last successful deploy, from GitHub's API -------------

REPOSITORY = "octo-org/wild-rydes"


class FakeGitHub:
    """GitHub's REST API for one repository's Deploy runs (newest first) and their jobs."""

    def __init__(self, runs: list[dict[str, object]], plan_ran: dict[int, str]) -> None:
        self.runs = runs
        self.plan_ran = plan_ran  # run id -> the plan job's conclusion
        self.paths: list[str] = []

    def __call__(self, path: str) -> dict[str, object]:
        self.paths.append(path)
        if "/actions/workflows/" in path:
            assert path.startswith(f"/repos/{REPOSITORY}/actions/workflows/deploy.yml/runs?")
            # The query asks GitHub for these; the script checks them again.
            for part in ("branch=main", "event=workflow_run", "status=success"):
                assert part in path, part
            page = int(path.rsplit("page=", 1)[1])
            size = changed_stacks.PAGE_SIZE
            return {"workflow_runs": self.runs[(page - 1) * size : page * size]}
        run_id = int(path.split("/runs/")[1].split("/")[0])
        conclusion = self.plan_ran.get(run_id)
        jobs = [{"name": "make deploy (accounting)", "conclusion": "success"}]
        if conclusion is not None:
            jobs.append({"name": changed_stacks.PLAN_JOB, "conclusion": conclusion})
        return {"jobs": jobs}


def _run(run_id: int, commit: str, event: str = "workflow_run") -> dict[str, object]:
    # head_sha is main's tip when the run was triggered, never what it deployed.
    return {
        "id": run_id,
        "display_title": f"Deploy {commit}",
        "event": event,
        "conclusion": "success",
        "head_sha": "f" * 40,
    }


def test_the_base_is_the_commit_of_the_newest_successful_deploy() -> None:
    github = FakeGitHub([_run(3, "c" * 40), _run(2, "b" * 40)], {3: "success", 2: "success"})
    assert changed_stacks.last_deployed_commit(github, REPOSITORY, "deploy.yml") == "c" * 40


def test_runs_that_deployed_nothing_or_not_everything_are_passed_over() -> None:
    runs = [
        _run(5, "e" * 40),  # CI failed: every job skipped, the run "succeeded"
        _run(4, "d" * 40, event="workflow_dispatch"),  # one stack chosen by hand
        {**_run(3, "c" * 40), "display_title": "Deploy"},  # before run-name: commit unknown
        _run(2, "b" * 40),
    ]
    github = FakeGitHub(runs, {5: "skipped", 4: "success", 3: "success", 2: "success"})
    assert changed_stacks.last_deployed_commit(github, REPOSITORY, "deploy.yml") == "b" * 40


def test_no_successful_deploy_yet_means_no_base() -> None:
    github = FakeGitHub([_run(1, "a" * 40)], {1: "skipped"})
    assert changed_stacks.last_deployed_commit(github, REPOSITORY, "deploy.yml") is None
    assert changed_stacks.last_deployed_commit(FakeGitHub([], {}), REPOSITORY, "deploy.yml") is None


def test_older_runs_are_paged_through() -> None:
    runs = [_run(1000 + i, "e" * 40) for i in range(changed_stacks.PAGE_SIZE)]
    runs.append(_run(7, "a" * 40))
    github = FakeGitHub(runs, {7: "success"})
    assert changed_stacks.last_deployed_commit(github, REPOSITORY, "deploy.yml") == "a" * 40
    assert any("page=2" in path for path in github.paths)


def test_three_quick_merges_deploy_what_a_cancelled_run_left_out(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Merges 1, 2, 3: run 1 deployed, run 2 was cancelled while pending (its stack changed
    only in commit 2), run 3 must deploy that stack too. The first parent would not."""
    monkeypatch.setattr(changed_stacks, "REPO_ROOT", repo)
    first = _commit(repo, {"services/accounting/template.yaml": "1\n"}, "merge 1")
    _commit(repo, {"services/notification/template.yaml": "2\n"}, "merge 2")
    third = _commit(repo, {"services/extraordinary/template.yaml": "3\n"}, "merge 3")
    github = FakeGitHub([_run(1, first)], {1: "success"})
    environ = {
        "HEAD_SHA": third,
        "LAST_DEPLOY_WORKFLOW": "deploy.yml",
        "GITHUB_REPOSITORY": REPOSITORY,
    }
    assert changed_stacks.main([], environ, github) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["deploy_services"] == ["extraordinary", "notification"]
    assert f"last successful deploy: {first}" in captured.err


def test_when_github_cannot_say_every_stack_is_deployed(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changed_stacks, "REPO_ROOT", repo)

    def failing(path: str) -> dict[str, object]:
        raise changed_stacks.urllib.error.URLError("HTTP Error 403: Resource not accessible")

    environ = {"LAST_DEPLOY_WORKFLOW": "deploy.yml", "GITHUB_REPOSITORY": REPOSITORY}
    assert changed_stacks.main([], environ, failing) == 0
    captured = capsys.readouterr()
    plan = json.loads(captured.out)
    assert plan["deploy_platform"] is True
    assert plan["deploy_services"] == list(SERVICES)
    assert "last deploy unknown" in captured.err


def test_a_chosen_stack_or_an_explicit_base_never_asks_github(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def never(path: str) -> dict[str, object]:
        raise AssertionError(path)

    environ = {"STACK": "accounting", "LAST_DEPLOY_WORKFLOW": "deploy.yml"}
    assert changed_stacks.main([], environ, never) == 0
    assert json.loads(capsys.readouterr().out)["deploy_services"] == ["accounting"]


def test_the_api_is_reached_over_https_only() -> None:
    with pytest.raises(ValueError, match="not an https URL"):
        changed_stacks.github_api("http://api.github.com", "token")
