"""Expand `Transform: AWS::Serverless-2016-10-31` offline, as CloudFormation does in AWS.

moto's CloudFormation does not run transforms (see patches.transform_sam_templates), so
localcloud runs the same translator AWS uses (aws-sam-translator) before moto reads a template.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.translator import Translator
from samtranslator.utils.py27hash_fix import (
    to_py27_compatible_template,
    undo_mark_unicode_str_in_template,
)

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


class _NoManagedPolicies(ManagedPolicyLoader):
    """Managed policy names resolve to nothing: the real loader calls IAM in AWS, and moto's IAM
    does not enforce policies anyway. An empty map keeps the translator offline."""

    def __init__(self) -> None:  # the base class wants an IAM client we do not have
        pass

    def load(self) -> dict[str, str]:
        return {}


def has_sam_transform(template: dict[str, Any]) -> bool:
    transform = template.get("Transform") if isinstance(template, dict) else None
    if isinstance(transform, list):
        return SAM_TRANSFORM in transform
    return transform == SAM_TRANSFORM


@cache
def _session(region: str) -> boto3.Session:
    # The translator reads the region (and from it the partition) off a boto3 session; a session
    # is cheap but not free, and the region set is tiny.
    # Dummy keys: the translator never calls AWS, it only reads the session's region.
    return boto3.Session(
        region_name=region,
        aws_access_key_id="localcloud",
        aws_secret_access_key="localcloud",  # noqa: S106
    )


def expand(template: dict[str, Any], parameters: dict[str, Any], region: str) -> dict[str, Any]:
    """Return `template` with SAM resources expanded to plain CloudFormation.

    Templates without the SAM transform are returned unchanged (the same object).
    `parameters` are the stack's parameter values; the translator resolves a few intrinsics
    (e.g. in CodeUri, AutoPublishAlias) from them and from template defaults.
    """
    if not has_sam_transform(template):
        return template
    fragment = copy.deepcopy(template)
    values = dict(parameters)
    to_py27_compatible_template(fragment, values)
    translator = Translator(None, Parser(), boto_session=_session(region))
    loader = _NoManagedPolicies()
    expanded = translator.translate(
        fragment, parameter_values=values, get_managed_policy_map=loader.load
    )
    expanded = undo_mark_unicode_str_in_template(expanded)
    # Only the SAM transform is handled here; keep any others so they stay visible.
    transform = template.get("Transform")
    if isinstance(transform, list) and len(transform) > 1:
        expanded["Transform"] = [t for t in transform if t != SAM_TRANSFORM]
    return expanded
