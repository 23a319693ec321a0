"""make lint's checkov pass: skips need their reason, reach the transformed templates, and a
finding nobody skipped fails the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts import checkov_templates
from scripts.checkov_templates import REPO_ROOT

FUNCTION = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Worker:
    Type: AWS::Serverless::Function
    {function_skip}
    Properties:
      Runtime: python3.13
      Handler: app.handler
      CodeUri: src/
"""


def template(tmp_path: Path, function_skip: str = "") -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(FUNCTION.format(function_skip=function_skip))
    return path


def test_a_skip_belongs_to_the_resource_it_is_written_in(tmp_path: Path) -> None:
    path = template(
        tmp_path, function_skip="# checkov:skip=CKV_AWS_117:reaches only AWS APIs over TLS"
    )
    assert checkov_templates.comment_skips(path) == {
        "Worker": [{"id": "CKV_AWS_117", "comment": "reaches only AWS APIs over TLS"}]
    }


@pytest.mark.parametrize(
    ("skip", "problem"),
    [
        ("# checkov:skip=CKV_AWS_117", "needs its reason"),
        ("# checkov:skip=CKV_AWS_117:n/a", "needs its reason"),
        ("# checkov:skip=everything:because I said so", "not a check id"),
    ],
)
def test_a_skip_without_a_reason_or_check_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, skip: str, problem: str
) -> None:
    monkeypatch.setattr(checkov_templates, "REPO_ROOT", tmp_path)
    [found] = checkov_templates.unexplained_skips([template(tmp_path, function_skip=skip)])
    assert problem in found
    assert "Worker" in found


def test_the_projects_skips_all_give_reasons() -> None:
    paths = checkov_templates.templates()
    assert REPO_ROOT / "shared/templates/consumer-inbox.yaml" in paths
    assert REPO_ROOT / "services/management/template.yaml" in paths
    assert checkov_templates.unexplained_skips(paths) == []


def test_skips_reach_what_sam_generates_from_the_resource(tmp_path: Path) -> None:
    """The API's skip covers the stage SAM generates for it (the transformed pass)."""
    management = REPO_ROOT / "services/management/template.yaml"
    [written] = checkov_templates.transformed([management], tmp_path)
    resources = json.loads(written.read_text())["Resources"]
    skips = resources["ManagementApiProdStage"]["Metadata"]["checkov"]["skip"]
    assert [skip["id"] for skip in skips] == ["CKV_AWS_120"]
    function_skips = resources["RidePublisher"]["Metadata"]["checkov"]["skip"]
    assert {skip["id"] for skip in function_skips} >= {"CKV_AWS_116", "CKV_AWS_117"}


def test_a_finding_nobody_skipped_fails_and_a_reasoned_skip_passes(tmp_path: Path) -> None:
    unskipped = template(tmp_path)
    assert checkov_templates.checkov([unskipped]) != 0

    reasons = "\n    ".join(
        f"# checkov:skip={check}:reason given for the test of {check}"
        for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173")
    )
    skipped = template(tmp_path, function_skip=reasons)
    assert checkov_templates.checkov([skipped]) == 0


def test_without_its_venv_checkov_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(checkov_templates, "CHECKOV", tmp_path / "no-checkov")
    assert checkov_templates.checkov([template(tmp_path)]) == 2
    assert "run `make setup`" in capsys.readouterr().err
