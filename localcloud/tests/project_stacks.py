"""The project's own stacks as `sam deploy` hands them to CloudFormation, for tests that deploy
them into a moto with localcloud's patches (no SAM CLI, no build: a second or so for all).

`sam deploy` uploads each function's and layer's folder and the nested inbox template to S3 and
rewrites the template to point there; `package` does the same with placeholder content (the
tests look at what CloudFormation makes, not at the code). The SAM CLI's own managed bucket
stack comes from the SAM CLI itself, so an upgrade that changes it is seen here.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

from wildrydes_testing.templates import load_template

from localcloud import sam_transform

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ARTIFACTS = "lc-artifacts"
INBOX_KEY = "consumer-inbox.json"
CODE_KEY = "code.zip"
MANAGED_BUCKET_STACK = "aws-sam-cli-managed-default"

Client = Callable[[str], Any]


def project_templates() -> dict[str, Path]:
    """Stack name -> template, in deploy order: the platform first (the services import it)."""
    stacks = {"wild-rydes-platform": REPO_ROOT / "platform" / "template.yaml"}
    for template in sorted(REPO_ROOT.glob("services/*/template.yaml")):
        stacks[f"wild-rydes-{template.parent.name}"] = template
    return stacks


INBOX_TEMPLATE = REPO_ROOT / "shared" / "templates" / "consumer-inbox.yaml"


def inbox_url() -> str:
    return f"http://localhost/{ARTIFACTS}/{INBOX_KEY}"


def packaged(path: Path) -> dict[str, Any]:
    """The template with its code folders and nested application as S3 locations."""
    template = load_template(path)
    for resource in template["Resources"].values():
        properties = resource.setdefault("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            properties["CodeUri"] = f"s3://{ARTIFACTS}/{CODE_KEY}"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            properties["ContentUri"] = f"s3://{ARTIFACTS}/{CODE_KEY}"
        elif resource["Type"] == "AWS::Serverless::Application":
            properties["Location"] = inbox_url()
    return template


def managed_bucket_template() -> dict[str, Any]:
    """The SAM CLI's managed bucket stack (what `sam deploy --resolve-s3` creates first)."""
    from samcli.lib.bootstrap import bootstrap

    # It stamps its installation id, which the SAM CLI would write to the user's config.
    with mock.patch.object(bootstrap, "GlobalConfig") as config:
        config.return_value.installation_id = "localcloud-tests"
        return dict(json.loads(bootstrap._get_stack_template()))


def processed(template: dict[str, Any]) -> dict[str, Any]:
    """The template after the SAM transform, as localcloud runs it."""
    return sam_transform.expand(template, {}, REGION)


def every_template() -> dict[str, dict[str, Any]]:
    """Every template the project deploys, packaged, including the nested inbox and the SAM
    CLI's bucket stack: name -> template as submitted."""
    templates = {name: packaged(path) for name, path in project_templates().items()}
    templates["consumer-inbox"] = load_template(INBOX_TEMPLATE)
    templates[MANAGED_BUCKET_STACK] = managed_bucket_template()
    return templates


def _code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "")
    return buffer.getvalue()


def upload_artifacts(aws: Client) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket=ARTIFACTS)
    s3.put_object(Bucket=ARTIFACTS, Key=CODE_KEY, Body=_code_zip())
    # JSON: the long form of every intrinsic, as `sam package` writes it.
    s3.put_object(Bucket=ARTIFACTS, Key=INBOX_KEY, Body=json.dumps(load_template(INBOX_TEMPLATE)))


def deploy(aws: Client, name: str, template: dict[str, Any], kind: str = "CREATE") -> None:
    """What `sam deploy` does: create a change set, execute it."""
    cfn = aws("cloudformation")
    created = cfn.create_change_set(
        StackName=name,
        ChangeSetName=f"samcli-deploy-{kind.lower()}",
        ChangeSetType=kind,
        TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    cfn.execute_change_set(ChangeSetName=created["Id"])


def deploy_project(aws: Client) -> dict[str, dict[str, Any]]:
    """The SAM CLI's bucket stack, then the platform, then every service: name -> template as
    submitted (nested inbox stacks come with their services)."""
    upload_artifacts(aws)
    deployed = {MANAGED_BUCKET_STACK: managed_bucket_template()}
    deployed.update({name: packaged(path) for name, path in project_templates().items()})
    for name, template in deployed.items():
        deploy(aws, name, template)
    return deployed
