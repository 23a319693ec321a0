"""Template helpers every stack's tests share: load, lint, SAM-transform, validate.

Tests check the real `template.yaml` files, so these helpers use the same engines the
deploy path uses: cfn-lint's loader and rules, samtranslator's transform, and `sam validate`.
Those engines are imported where they are used: they take ~2 s to import, and modules that
only need REGION (the event builders, `make new-service`'s scaffold) should not pay it.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
REGION = "us-east-1"


def load_template(path: Path) -> dict[str, Any]:
    """Parse a template; short-form tags (!Ref, !Sub...) come back as Fn:: dictionaries."""
    from cfnlint.decode.cfn_yaml import load

    return dict(load(str(path)))


def lint_findings(path: Path) -> list[str]:
    """cfn-lint's findings for one template, as readable lines (empty when clean), with the
    settings `make lint` uses (.cfnlintrc.yaml: informational checks included)."""
    from cfnlint.api import ManualArgs, lint_file

    config = ManualArgs(include_checks=["I"])
    return [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in lint_file(path, config)]


class _OfflinePolicyLoader:
    """samtranslator asks IAM for managed policy ARNs; our templates name none, so an empty
    map keeps the transform offline (no AWS account, no network)."""

    def load(self) -> dict[str, str]:
        return {}


def sam_transform(path: Path, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The plain CloudFormation template SAM would deploy for this template."""
    from samtranslator.translator.transform import transform

    template = copy.deepcopy(load_template(path))
    if "Transform" not in template:
        return template
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    values = {"AWS::Region": REGION, "AWS::AccountId": "123456789012", **(parameters or {})}
    return transform(template, values, _OfflinePolicyLoader())  # type: ignore[arg-type]


def sam_validate_lint(folder: Path) -> subprocess.CompletedProcess[str]:
    """Run `sam validate --lint` offline in the stack's folder, as a developer would."""
    sam = Path(sys.executable).parent / "sam"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": REGION}
    return subprocess.run(
        [str(sam), "validate", "--lint", "--region", REGION],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def tag_literals(node: Any) -> list[Any]:
    """Every Tags property anywhere in a template fragment. Stack tags from the deploy
    (scripts/stacks.py) are the one place tags are set: a literal could disagree with the prefix."""
    if isinstance(node, dict):
        found = [node["Tags"]] if "Tags" in node else []
        return found + [tag for value in node.values() for tag in tag_literals(value)]
    if isinstance(node, list):
        return [tag for item in node for tag in tag_literals(item)]
    return []
