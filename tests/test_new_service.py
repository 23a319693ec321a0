"""`make new-service`: a consumer of the same shape as the others, or a clear error and nothing
written. The scaffolded service is checked the way CI checks every service: lint, its own
tests (the shared contract among them), and the change planner that decides its deploys."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from wildrydes_testing.repository import repository_copy, run_make

from scripts import new_service, services

FARE_AT_LEAST_100 = '{"fare":[{"numeric":[">=",100]}]}'


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the working tree for this module's Make runs (never this checkout), committed
    so `make changed-stacks` can diff the scaffold against it."""
    root = repository_copy(tmp_path_factory.mktemp("new-service") / "repo")
    git(root, "init", "--quiet")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "--message", "copy")
    return root


def make(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_make(*args, cwd=root)


def git(root: Path, *args: str) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.com"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=root, capture_output=True, text=True, check=True
    )
    return done.stdout


def written(root: Path) -> list[str]:
    """The files the scaffold added or changed (staged, against the last commit)."""
    return git(root, "diff", "--cached", "--name-only").split()


def tree(root: Path) -> dict[str, bytes]:
    """Every file of services/ and the README, for 'nothing was written' checks."""
    files = {p: p.read_bytes() for p in (root / "services").rglob("*") if p.is_file()}
    return {str(p.relative_to(root)): data for p, data in files.items()} | {
        "README.md": (root / "README.md").read_bytes()
    }


@pytest.mark.parametrize(
    ("name", "filter_text", "message"),
    [
        ("", "", "NAME='' is not a service name"),
        ("Loyalty", "", "is not a service name"),
        ("9lives", "", "is not a service name"),
        ("a", "", "is not a service name"),
        ("x" * 22, "", "is not a service name"),
        ("loyalty;rm", "", "is not a service name"),
        ("../escape", "", "is not a service name"),
        ("platform", "", "is reserved"),
        ("shared", "", "is reserved"),
        ("management", "", "is reserved"),
        ("github-oidc", "", "is reserved"),
        ("boto3", "", "would shadow a module"),
        ("pydantic", "", "would shadow a module"),
        ("scripts", "", "would shadow a module"),
        ("accounting", "", "services/accounting/ already exists"),
        ("json", "", "would shadow a module"),
        ("loyalty", "{not json", "FILTER is not JSON"),
        ("loyalty", "[1, 2]", "FILTER must be a JSON object"),
        ("loyalty", '{"fare": [{"numeric": [">", "ten"]}]}', "not a valid SNS filter policy"),
        ("loyalty", '{"fare": [{"nmeric": [">", 10]}]}', "not a valid SNS filter policy"),
        ("loyalty", '{"fare": 100}', "not a valid SNS filter policy"),
        ("loyalty", '{"tip": [{"numeric": [">", 0]}]}', "names tip, which no ride carries"),
        ("loyalty", '{"fare": [{"numeric": ["<", 0]}]}', "matches no ride"),
        ("loyalty", '{"$or": 5}', '"\\$or" must be a list of filter policies'),
        ("loyalty", '{"$or": [5]}', '"\\$or" must be a list of filter policies'),
        ("loyalty", '{"fare": [{"numeric": ["=", 0.000015]}]}', "at most 5 decimal places"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, filter_text: str, message: str
) -> None:
    root = tmp_path / "repo"
    (root / "services").mkdir(parents=True)
    for service in services.names():
        (root / "services" / service).mkdir()
    (root / "README.md").write_text(f"table\n{new_service.README_MARKER}\n")
    before = tree(root)

    with pytest.raises(new_service.ScaffoldError, match=message):
        new_service.scaffold_service(name, filter_text, root=root)

    assert tree(root) == before
    assert sorted(p.name for p in (root / "services").iterdir()) == sorted(services.names())


def test_make_refuses_a_bad_name_before_writing(repository: Path) -> None:
    before = tree(repository)
    result = make(repository, "new-service", "NAME=Bad Name", 'FILTER={"fare":1')
    assert result.returncode == 2
    assert "error: NAME='Bad Name' is not a service name" in result.stderr
    assert "Traceback" not in result.stderr
    assert tree(repository) == before


def test_make_refuses_a_filter_sns_would_refuse(repository: Path) -> None:
    before = tree(repository)
    result = make(repository, "new-service", "NAME=loyalty", 'FILTER={"fare":[{"numeric":[">"]}]}')
    assert result.returncode == 2
    assert "FILTER is not a valid SNS filter policy" in result.stderr
    assert tree(repository) == before


def test_a_scaffolded_service_passes_lint_its_tests_and_is_planned_for_deploys(
    repository: Path,
) -> None:
    result = make(repository, "new-service", "NAME=loyalty", f"FILTER={FARE_AT_LEAST_100}")
    assert result.returncode == 0, result.stderr
    folder = repository / "services" / "loyalty"
    assert "make deploy SERVICE=loyalty" in result.stdout

    manifest = services.parse_manifest(folder / "service.toml")
    assert (manifest.kind, manifest.package) == ("consumer", "loyalty")
    template = (folder / "template.yaml").read_text()
    assert "../../shared/templates/consumer-inbox.yaml" in template
    # One shape, no copies: the consumers were ~340 lines each before the shared inbox; what
    # is left is the service's own (subscription, table, function, IAM, logs, its metrics
    # namespace and dashboard name).
    assert len(template.splitlines()) <= 155
    readme = (repository / "README.md").read_text()
    assert "| loyalty | rides matching" in readme
    event = json.loads((folder / "tests/events/sqs_ride_event.json").read_text())
    [record] = event["Records"]
    attributes = json.loads(record["body"])["MessageAttributes"]
    assert float(attributes["fare"]["Value"]) >= 100  # the fixture is a ride the filter matches

    # make lint's checks (pre-commit) on what was written, then the planner CI uses on a push.
    git(repository, "add", "--all")
    lint = subprocess.run(
        [str(repository / ".venv/bin/pre-commit"), "run", "--files", *written(repository)],
        cwd=repository,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout[-3000:]
    git(repository, "commit", "--quiet", "--message", "make new-service NAME=loyalty")
    planned = make(repository, "changed-stacks", "BASE_SHA=HEAD~1")
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert plan["test_services"] == plan["deploy_services"] == ["loyalty"]

    tested = make(repository, "test-service", "SERVICE=loyalty")
    assert tested.returncode == 0, tested.stdout[-3000:]
    assert " passed" in tested.stdout

    again = make(repository, "new-service", "NAME=loyalty")
    assert again.returncode == 2
    assert "services/loyalty/ already exists" in again.stderr


def test_make_without_name_says_how_to_call_it(repository: Path) -> None:
    before = tree(repository)
    result = make(repository, "new-service")
    assert result.returncode == 2
    assert "NAME='' is not a service name" in result.stderr
    assert "NAME=loyalty" in result.stderr  # an example of a valid call
    assert tree(repository) == before


def test_make_passes_a_filter_with_or_as_typed_and_ignores_a_name_from_the_environment(
    repository: Path,
) -> None:
    either = '{"$or":[{"fare":[{"numeric":[">=",100]}]},{"distance":[{"numeric":[">=",50]}]}]}'
    result = make(repository, "new-service", "NAME=long-or-dear", f"FILTER={either}")
    assert result.returncode == 0, result.stderr
    template = (repository / "services/long-or-dear/template.yaml").read_text()
    assert "$or:" in template

    before = tree(repository)
    inherited = run_make(
        "new-service", cwd=repository, env={**os.environ, "NAME": "from-the-shell"}
    )
    assert inherited.returncode == 2
    assert "NAME='' is not a service name" in inherited.stderr
    assert tree(repository) == before
