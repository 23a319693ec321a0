"""Which stacks a change touches: the one place the path rules of CI and deploys live.

CI (`.github/workflows/ci.yml`) tests the services a change touches and the deploy workflow
deploys the stacks it touches; both run `make changed-stacks`, which runs this module, so the two
can never disagree. Stdlib only: it runs before `make setup`, on the runner's own python3.

A change is the set of paths between two commits (`git diff BASE...HEAD`, both sides of a
rename). Each path counts for the stacks the first matching rule names, for tests and for
deploys separately: a test-only change runs tests and deploys nothing. A path under
`services/<name>/` that is not a known service is an error, so a service folder without a
manifest (services/<name>/service.toml, which `make`, the deploys and the workflows follow)
cannot go untested.

When BASE is unusable (empty, all zeros as GitHub sends for a new branch, or a commit this clone
does not hold) every stack counts: testing or deploying too much is safe, too little is not.

The deploy workflow does not diff against the pushed commit's parent: GitHub cancels a pending
run when a newer one queues in the same concurrency group, so a stack changed only by a commit
whose deploy never ran would never be deployed. It sets LAST_DEPLOY_WORKFLOW instead, and BASE
becomes the commit of that workflow's last successful deploy after CI (GitHub's REST API, read
with the job's token): everything up to it is deployed, everything since counts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts.services import names
from scripts.stacks import PLATFORM, REPO_ROOT, SERVICES

CONSUMERS = names("consumer")

ALL = "all"
# What the deploy workflow's manual dispatch offers: everything, or one stack.
STACK_CHOICES = (ALL, PLATFORM, *SERVICES)

# Files every stack is built or deployed with: the Make targets, the pinned SAM CLI and
# translator, the deploy tooling. A change redeploys every stack.
DEPLOY_TOOLING = ("Makefile", "requirements-dev.txt", "scripts/stacks.py")
# Files every stack's tests run with, that are not part of what is deployed.
TEST_TOOLING = (
    "pyproject.toml",
    "conftest.py",
    ".pre-commit-config.yaml",
    "localcloud/",
    "scripts/",
    ".github/",
)
# Paths whose tests run in CI's always-on jobs (platform, shared layer, tooling) and that
# nothing deploys: the CI bootstrap stack is deployed by hand (`make bootstrap-ci`).
NO_STACK = ("platform/tests/", "platform/github-oidc.yaml", "shared/tests/")

# GitHub sends forty zeros as the "before" commit of a push that creates a branch.
NO_COMMIT = "0" * 40
# Anything git reads as a revision, but never an option ("-..."), whitespace or a range.
REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/^~@{}-]*$")


class ChangeError(Exception):
    """A problem the user can fix; printed without a traceback."""


@dataclass(frozen=True)
class Impact:
    """The stacks one path counts for, and the rule that said so."""

    tests: frozenset[str]
    deploys: frozenset[str]
    reason: str


@dataclass(frozen=True)
class Plan:
    """What CI tests and what the deploy workflow deploys, in the order stacks are deployed."""

    test_services: tuple[str, ...]
    deploy_platform: bool
    deploy_services: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "test_services": list(self.test_services),
            "deploy_platform": self.deploy_platform,
            "deploy_services": list(self.deploy_services),
        }

    def as_outputs(self) -> dict[str, str]:
        """The values as GitHub Actions step outputs: JSON, so `fromJSON` builds the matrices."""
        compact = (",", ":")
        return {key: json.dumps(value, separators=compact) for key, value in self.as_dict().items()}


EVERY_SERVICE = frozenset(SERVICES)
EVERY_STACK = frozenset((PLATFORM, *SERVICES))
NOTHING: frozenset[str] = frozenset()


def _matches(path: str, patterns: Iterable[str]) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in patterns)


def impact_of(
    path: str, services: Sequence[str] = SERVICES, consumers: Sequence[str] = CONSUMERS
) -> Impact:
    """The stacks one changed path (relative to the repository root) counts for."""
    if _matches(path, NO_STACK):
        return Impact(NOTHING, NOTHING, "tested in CI's core job, deployed by nothing")
    parts = path.split("/")
    if parts[0] == "services" and len(parts) > 2:
        name = parts[1]
        if name not in services:
            raise ChangeError(
                f"{path} is in services/{name}/, which is not a known service "
                f"({', '.join(services)}): give it a manifest (services/{name}/service.toml, "
                "as `make new-service` writes) so CI tests it and the deploy workflow deploys it"
            )
        if parts[2] == "tests":
            return Impact(frozenset({name}), NOTHING, f"tests of {name}")
        return Impact(frozenset({name}), frozenset({name}), f"the {name} stack")
    if parts[0] == PLATFORM and len(parts) > 1:
        # Every service imports the platform's exports: test them all, deploy them all after it.
        return Impact(frozenset(services), frozenset((PLATFORM, *services)), "the platform stack")
    if parts[:2] == ["shared", "templates"] and len(parts) > 2:
        # The inbox module every consumer nests: it reaches a consumer when that one deploys.
        nesting = frozenset(consumers) & frozenset(services)
        return Impact(nesting, nesting, "the inbox module every consumer nests")
    if parts[:2] == ["shared", "testing"] and len(parts) > 2:
        return Impact(frozenset(services), NOTHING, "the test helpers every service's tests use")
    if parts[0] == "shared" and len(parts) > 1:
        every = frozenset(services)
        return Impact(every, every, "the shared layer every service bundles")
    if _matches(path, DEPLOY_TOOLING):
        return Impact(frozenset(services), frozenset((PLATFORM, *services)), "deploy tooling")
    if _matches(path, TEST_TOOLING):
        return Impact(frozenset(services), NOTHING, "test tooling")
    return Impact(NOTHING, NOTHING, "no stack (docs, benchmarks, end-to-end or tooling tests)")


def _ordered(names: Iterable[str], services: Sequence[str]) -> tuple[str, ...]:
    chosen = set(names)
    return tuple(name for name in services if name in chosen)


def plan_for_paths(paths: Iterable[str], services: Sequence[str] = SERVICES) -> Plan:
    tests: set[str] = set()
    deploys: set[str] = set()
    for path in paths:
        impact = impact_of(path, services)
        tests |= impact.tests
        deploys |= impact.deploys
    return Plan(
        test_services=_ordered(tests, services),
        deploy_platform=PLATFORM in deploys,
        deploy_services=_ordered(deploys, services),
    )


def plan_for_everything(services: Sequence[str] = SERVICES) -> Plan:
    return Plan(tuple(services), True, tuple(services))


def plan_for_stack(choice: str, services: Sequence[str] = SERVICES) -> Plan:
    """The manual dispatch: every stack, the platform alone, or one service."""
    if choice == ALL:
        return plan_for_everything(services)
    if choice == PLATFORM:
        return Plan((), True, ())
    if choice in services:
        return Plan((choice,), False, (choice,))
    raise ChangeError(f"STACK='{choice}' is not a stack: use one of {', '.join(STACK_CHOICES)}")


def _git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )


def _revision(value: str, name: str) -> str:
    if not REVISION.fullmatch(value) or ".." in value:
        raise ChangeError(f"{name}='{value}' is not a git revision (a commit SHA, HEAD, HEAD^1...)")
    return value


def changed_paths(base: str, head: str, cwd: Path | None = None) -> list[str] | None:
    """Paths that differ between BASE's merge base with HEAD and HEAD; None if BASE is unusable.

    Three dots: for a pull request that is what the branch changed, whatever landed on the
    target since; for a push (BASE an ancestor of HEAD) it is the plain difference.
    """
    cwd = cwd or REPO_ROOT
    head = _revision(head, "HEAD_SHA")
    if not base or base == NO_COMMIT:
        return None
    base = _revision(base, "BASE_SHA")
    for revision, name in ((head, "HEAD_SHA"), (base, "BASE_SHA")):
        if _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], cwd).returncode:
            if name == "HEAD_SHA":
                raise ChangeError(f"HEAD_SHA='{head}' is not a commit in {cwd}")
            return None
    # --no-renames lists both sides of a move, so a file leaving a service counts for it too.
    diff = _git(["diff", "--name-only", "--no-renames", "-z", f"{base}...{head}", "--"], cwd)
    if diff.returncode:
        raise ChangeError(f"git diff {base}...{head} failed: {diff.stderr.strip()}")
    return [path for path in diff.stdout.split("\0") if path]


def decide(
    base: str, head: str, stack: str, cwd: Path | None = None, services: Sequence[str] = SERVICES
) -> tuple[Plan, list[str]]:
    """The plan and the lines that explain it."""
    if stack:
        return plan_for_stack(stack, services), [f"stack chosen by hand: {stack}"]
    paths = changed_paths(base, head, cwd)
    if paths is None:
        reason = f"no usable base commit (BASE_SHA='{base}'): every stack counts"
        return plan_for_everything(services), [reason]
    explained = [f"{path} -> {impact_of(path, services).reason}" for path in paths]
    return plan_for_paths(paths, services), explained or [f"no file changed in {base}...{head}"]


# --- the deploy workflow's base: the commit its last successful deploy deployed -------------

# The deploy workflow's `run-name` ("Deploy <commit>"): the run's own head_sha is main's tip
# when the run was triggered, not the commit CI tested and the run deployed.
DEPLOYED_COMMIT = re.compile(r"^Deploy ([0-9a-f]{40})\b")
# The deploy workflow's first job: when it is skipped (CI failed) the run still "succeeds".
PLAN_JOB = "Stacks to deploy"
# Runs looked at before giving up (then every stack counts): a week of merges, many times over.
MAX_RUNS = 200
PAGE_SIZE = 50

Fetch = Callable[[str], dict[str, object]]


def github_api(api_url: str, token: str) -> Fetch:
    """GET a GitHub REST API path, JSON decoded (https only: the token goes with it)."""
    if not api_url.startswith("https://"):
        raise ValueError(f"GITHUB_API_URL='{api_url}' is not an https URL")

    def fetch(path: str) -> dict[str, object]:
        request = urllib.request.Request(  # noqa: S310 (https checked above)
            api_url.rstrip("/") + path,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {token}",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (https)
            return json.load(response)

    return fetch


def _deployed_commit(run: Mapping[str, object]) -> str | None:
    match = DEPLOYED_COMMIT.match(str(run.get("display_title") or ""))
    return match.group(1) if match else None


def last_deployed_commit(
    fetch: Fetch, repository: str, workflow: str, branch: str = "main"
) -> str | None:
    """The commit the newest successful deploy after CI deployed, or None when there is none.

    A run counts when it was triggered by CI (a dispatch may have deployed one stack only),
    succeeded as a whole (every deploy it planned succeeded: a cancelled or failed job fails
    the run) and its plan job ran (a run for a failed CI run skips every job yet succeeds).
    """
    quoted = urllib.parse.quote(workflow, safe="")
    seen = 0
    page = 1
    while seen < MAX_RUNS:
        query = urllib.parse.urlencode(
            {
                "branch": branch,
                "event": "workflow_run",
                "status": "success",
                "per_page": PAGE_SIZE,
                "page": page,
            }
        )
        listed = fetch(f"/repos/{repository}/actions/workflows/{quoted}/runs?{query}")
        runs = listed.get("workflow_runs") or []
        assert isinstance(runs, list)
        for run in runs:
            seen += 1
            commit = _deployed_commit(run)
            if (
                commit is None
                or run.get("conclusion") != "success"
                or run.get("event") != "workflow_run"
            ):
                continue
            jobs = fetch(f"/repos/{repository}/actions/runs/{run['id']}/jobs?filter=latest")
            if any(
                job.get("name") == PLAN_JOB and job.get("conclusion") == "success"
                for job in jobs.get("jobs") or []  # type: ignore[union-attr]
            ):
                return commit
        if len(runs) < PAGE_SIZE:
            return None
        page += 1
    return None


def base_from_last_deploy(environ: Mapping[str, str], fetch: Fetch | None = None) -> str:
    """BASE for the deploy workflow (LAST_DEPLOY_WORKFLOW set): the last deployed commit, or ""
    (every stack) when there is none or GitHub cannot say."""
    repository = environ.get("GITHUB_REPOSITORY", "")
    workflow = environ["LAST_DEPLOY_WORKFLOW"]
    try:
        if fetch is None:
            token = environ.get("GH_TOKEN") or environ.get("GITHUB_TOKEN") or ""
            fetch = github_api(environ.get("GITHUB_API_URL") or "https://api.github.com", token)
        commit = last_deployed_commit(fetch, repository, workflow)
    except (urllib.error.URLError, OSError, ValueError, KeyError, AssertionError) as error:
        print(f"  last deploy unknown ({error}): every stack counts", file=sys.stderr)
        return ""
    if commit is None:
        print(f"  no successful {workflow} run after CI yet: every stack counts", file=sys.stderr)
        return ""
    print(f"  last successful deploy: {commit}", file=sys.stderr)
    return commit


def write_github_output(plan: Plan, output: Path) -> None:
    with output.open("a", encoding="utf-8") as stream:
        for key, value in plan.as_outputs().items():
            stream.write(f"{key}={value}\n")


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] = os.environ,
    fetch: Fetch | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.changed_stacks", description=__doc__)
    parser.add_argument("--base", default=environ.get("BASE_SHA", ""), help="env BASE_SHA")
    parser.add_argument("--head", default=environ.get("HEAD_SHA") or "HEAD", help="env HEAD_SHA")
    parser.add_argument(
        "--stack", default=environ.get("STACK", ""), help=f"env STACK: {', '.join(STACK_CHOICES)}"
    )
    parser.add_argument(
        "--github-output",
        default=environ.get("GITHUB_OUTPUT", ""),
        help="append the plan as step outputs here (env GITHUB_OUTPUT, set by GitHub Actions)",
    )
    args = parser.parse_args(argv)
    base = args.base
    if not base and not args.stack and environ.get("LAST_DEPLOY_WORKFLOW"):
        base = base_from_last_deploy(environ, fetch)
    try:
        plan, explanation = decide(base, args.head, args.stack)
    except ChangeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in explanation:
        print(f"  {line}", file=sys.stderr)
    print(json.dumps(plan.as_dict()))
    if args.github_output:
        write_github_output(plan, Path(args.github_output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
