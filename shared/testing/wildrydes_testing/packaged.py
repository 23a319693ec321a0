"""SAM-transform a template that has code in it, as `sam deploy` would after packaging.

samtranslator only accepts S3 locations for CodeUri/ContentUri; `sam package` uploads the local
folders and rewrites them. Doing the same rewrite with a placeholder bucket lets tests inspect
the generated roles, event source mappings and permissions offline.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform

from wildrydes_testing.templates import REGION, _OfflinePolicyLoader, load_template

PACKAGE_BUCKET = "s3://packaged-artifacts"
_CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}
# A nested application's local template becomes an S3 URL when packaged.
PACKAGE_URL = "https://s3.us-east-1.amazonaws.com/packaged-artifacts"


def sam_transform_packaged(
    path: Path,
    parameters: dict[str, Any] | None = None,
    passthrough_metadata: bool = False,
    metadata: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The plain CloudFormation template SAM deploys, local code folders as S3 placeholders.
    `metadata` is merged into the named resources' Metadata first; with passthrough_metadata,
    what SAM generates from a resource carries that resource's Metadata."""
    template = copy.deepcopy(load_template(path))
    for name, extra in (metadata or {}).items():
        resource = template["Resources"][name]
        resource["Metadata"] = {**resource.get("Metadata", {}), **extra}
    for name, resource in template["Resources"].items():
        code_property = _CODE_PROPERTIES.get(resource["Type"])
        if code_property and isinstance(resource["Properties"].get(code_property), str):
            resource["Properties"][code_property] = f"{PACKAGE_BUCKET}/{name}.zip"
        if resource["Type"] == "AWS::Serverless::Application":
            resource["Properties"]["Location"] = f"{PACKAGE_URL}/{name}.template"
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    values = {"AWS::Region": REGION, "AWS::AccountId": "123456789012", **(parameters or {})}
    loader = _OfflinePolicyLoader()
    return transform(template, values, loader, passthrough_metadata=passthrough_metadata)  # type: ignore[arg-type]
