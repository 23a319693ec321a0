"""checkov over every template, as written and as SAM transforms it, offline (`make lint`).

Two passes, because each sees what the other cannot: the templates as written carry the
service's intent (an `AWS::Serverless::Function`), the transformed ones what CloudFormation
deploys (the `AWS::Lambda::Function`, its role, the API stage). The transform copies each
resource's Metadata to what SAM generates from it, so a skip written beside a resource covers
both passes.

Every finding is either fixed or skipped in the template, inside the resource, with its reason,
in checkov's one-line form:
    Function:
      Type: AWS::Serverless::Function
      # checkov:skip=CKV_AWS_117:<why this check does not apply here>
checkov reads those comments in the templates as written; for the transformed pass, which is
JSON, this script carries each one into its resource's Metadata (`checkov: skip:`), which the
transform copies to what SAM generates from the resource. A skip without a reason fails here.

checkov runs from its own venv (.venv/checkov, pinned in requirements-checkov.txt) with Prisma
Cloud's guideline download off, so nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "shared" / "testing"))

from wildrydes_testing.packaged import sam_transform_packaged  # noqa: E402
from wildrydes_testing.templates import load_template  # noqa: E402

from localcloud.sam_transform import has_sam_transform  # noqa: E402

CHECKOV = REPO_ROOT / ".venv" / "checkov" / "bin" / "checkov"
TEMPLATE_GLOBS = (
    "platform/template.yaml",
    "platform/github-oidc.yaml",
    "services/*/template.yaml",
    "shared/templates/*.yaml",
)


def templates(root: Path = REPO_ROOT) -> list[Path]:
    return sorted({path for pattern in TEMPLATE_GLOBS for path in root.glob(pattern)})


SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([^:\s]*)\s*(?::\s*(.*))?$")
MIN_REASON = 15  # characters: a reason, not "n/a"


def comment_skips(path: Path) -> dict[str, list[dict[str, str]]]:
    """resource -> the `# checkov:skip=ID:reason` comments within its lines."""
    lines = path.read_text().splitlines()
    found: dict[str, list[dict[str, str]]] = {}
    for name, resource in load_template(path).get("Resources", {}).items():
        # The resource's mapping, from its first property line to the next resource.
        for line in lines[resource.start_mark.line : resource.end_mark.line]:
            match = SKIP_COMMENT.search(line)
            if match:
                found.setdefault(name, []).append(
                    {"id": match.group(1), "comment": (match.group(2) or "").strip()}
                )
    return found


def unexplained_skips(paths: Sequence[Path]) -> list[str]:
    """Skips that name no check or give no reason: each would hide a finding without a word."""
    problems = []
    for path in paths:
        for resource, skips in comment_skips(path).items():
            where = f"{path.relative_to(REPO_ROOT)}: {resource}"
            for skip in skips:
                if not re.fullmatch(r"CKV2?_[A-Z0-9]+_[0-9]+", skip["id"]):
                    problems.append(f"{where}: checkov skip of '{skip['id']}', not a check id")
                elif len(skip["comment"]) < MIN_REASON:
                    problems.append(
                        f"{where}: the skip of {skip['id']} needs its reason: "
                        f"# checkov:skip={skip['id']}:<why it does not apply here>"
                    )
    return problems


def skip_metadata(path: Path) -> dict[str, dict[str, Any]]:
    """The comment skips of each resource as the Metadata checkov reads in JSON templates."""
    return {
        resource: {"checkov": {"skip": skips}} for resource, skips in comment_skips(path).items()
    }


def transformed(paths: Sequence[Path], folder: Path) -> list[Path]:
    """The SAM templates as CloudFormation would receive them, written as JSON to folder."""
    written = []
    for path in paths:
        if not has_sam_transform(load_template(path)):
            continue
        template = sam_transform_packaged(
            path, passthrough_metadata=True, metadata=skip_metadata(path)
        )
        name = str(path.relative_to(REPO_ROOT)).replace("/", "__") + ".transformed.json"
        target = folder / name
        target.write_text(json.dumps(template, indent=1))
        written.append(target)
    return written


def checkov(files: Sequence[Path]) -> int:
    if not CHECKOV.exists():
        print(f"error: {CHECKOV} is missing: run `make setup`", file=sys.stderr)
        return 2
    command = [str(CHECKOV), "--framework", "cloudformation", "--quiet", "--compact"]
    command += ["--skip-download"]  # no Prisma Cloud guidelines: offline
    for path in files:
        # Relative to the repository: checkov 3.3.30's CKV_AWS_45 (secrets in a function's
        # environment) reported a clean template under /tmp/... and passed it elsewhere.
        shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
        command += ["--file", str(shown)]
    # BC_SKIP_MAPPING: no guideline mapping download either (checkov's own switch).
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    return subprocess.run(command, cwd=REPO_ROOT, env=env, check=False).returncode


def main() -> int:
    """Every template, each run (pre-commit passes no file names: pass_filenames: false)."""
    paths = templates()
    problems = unexplained_skips(paths)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    # Inside the repository (git-ignored), so the transformed files get relative paths too.
    with tempfile.TemporaryDirectory(prefix=".checkov-", dir=REPO_ROOT) as folder:
        outcome = checkov([*paths, *transformed(paths, Path(folder))])
    return 1 if problems else outcome


if __name__ == "__main__":
    sys.exit(main())
