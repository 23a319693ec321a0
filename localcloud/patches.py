"""Every change localcloud makes to moto, in one place.

Pinned to moto 5.2.5. Each gap is closed by one function below (decorated with `@_patch`), whose
docstring names the gap; `apply_all()` applies them all, idempotently. The replacements are
recorded, so a test can switch one patch off (`disabled(name)`) and show that moto still has the
gap: after a moto upgrade, `pytest localcloud/tests/test_patches.py` says which patches are still
needed. New CloudFormation resource handlers live in `cloudformation/` (a module per service);
they do nothing until `add_missing_cfn_resources()` registers them here. Likewise
`lambda_runtime/invoke_routing.py` only holds the registry of the runtime's invokers that
`run_invocations_in_localcloud()` forwards to. Which resource types localcloud emulates, accepts
without emulating or refuses is `cloudformation/registry.py`'s to say;
`refuse_resource_types_not_emulated()` holds deploys to it.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import moto.cloudformation.models as cfn_models
import moto.cloudformation.parsing as cfn_parsing
import moto.cloudformation.responses as cfn_responses
import moto.cloudformation.utils as cfn_utils
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.cloudformation.exceptions import ValidationError
from moto.core.responses import ActionResult
from moto.sns.utils import FilterPolicyMatcher

from localcloud import cloudformation, sam_transform
from localcloud.cloudformation import lifecycle, placeholders, registry

MOTO_VERSION = "5.2.5"

logger = logging.getLogger(__name__)


@dataclass
class _Replacement:
    owner: Any
    attribute: str
    original: Any
    replacement: Any

    def install(self) -> None:
        setattr(self.owner, self.attribute, self.replacement)

    def uninstall(self) -> None:
        if self.original is _MISSING:
            delattr(self.owner, self.attribute)
        else:
            setattr(self.owner, self.attribute, self.original)


_MISSING = object()  # the patch added the attribute; undoing it removes it


# patch name -> the attributes it replaced. Guarded by a lock: the server may start from a
# fixture while another thread imports.
_applied: dict[str, list[_Replacement]] = {}
_registry: dict[str, Callable[[], None]] = {}
_lock = threading.RLock()
_collecting: list[_Replacement] | None = None


def _replace(owner: Any, attribute: str, replacement: Any) -> Any:
    """Swap `owner.attribute` for `replacement` and return the original.

    Class attributes are read with `__dict__` so staticmethod/classmethod wrappers survive a
    later restore unchanged."""
    if _collecting is None:
        raise RuntimeError("_replace() is only valid inside a @_patch function")
    if isinstance(owner, type):
        original = owner.__dict__.get(attribute, _MISSING)
    else:
        original = getattr(owner, attribute)
    record = _Replacement(owner, attribute, original, replacement)
    record.install()
    _collecting.append(record)
    return original


def _patch(func: Callable[[], None]) -> Callable[[], None]:
    """Register a patch; calling it applies it once (later calls are no-ops)."""

    @functools.wraps(func)
    def apply() -> None:
        global _collecting
        with _lock:
            if func.__name__ in _applied:
                return
            _collecting = []
            try:
                func()
                _applied[func.__name__] = _collecting
            except BaseException:
                for record in reversed(_collecting):
                    record.uninstall()
                raise
            finally:
                _collecting = None

    _registry[func.__name__] = apply
    return apply


def apply_all() -> None:
    """Apply every patch (safe to call many times)."""
    for apply in _registry.values():
        apply()


def names() -> list[str]:
    return list(_registry)


def is_applied(name: str) -> bool:
    return name in _applied


@contextmanager
def disabled(*patch_names: str) -> Iterator[None]:
    """Temporarily restore moto's own behaviour for the named patches (tests use this to show
    that the gap still exists upstream). Not for use while a server is handling requests.

    Several patches may wrap one attribute (a later patch wraps the earlier one's replacement),
    so the named ones cannot just be taken out of the chain: every applied patch is undone,
    newest first, and the others applied again, oldest first, around moto's own code. On the
    way out every attribute gets back the very object it had before."""
    unknown = set(patch_names) - set(_registry)
    if unknown:
        raise KeyError(f"unknown patches: {sorted(unknown)}")
    with _lock:
        order = list(_applied)  # application order
        saved = dict(_applied)
        current = {
            (id(r.owner), r.attribute): (r.owner, r.attribute, _current_value(r.owner, r.attribute))
            for records in saved.values()
            for r in records
        }
        _undo_all()
        try:
            for name in order:
                if name not in patch_names:
                    _registry[name]()
            yield
        finally:
            _undo_all()
            _applied.update(saved)
            for owner, attribute, value in current.values():
                if value is _MISSING:
                    if _current_value(owner, attribute) is not _MISSING:
                        delattr(owner, attribute)
                else:
                    setattr(owner, attribute, value)


def _current_value(owner: Any, attribute: str) -> Any:
    if isinstance(owner, type):
        return owner.__dict__.get(attribute, _MISSING)
    return getattr(owner, attribute)


def _undo_all() -> None:
    for name in reversed(list(_applied)):
        for record in reversed(_applied.pop(name)):
            record.uninstall()


def _region_of(arn: str) -> str:
    return arn.split(":")[3]


# --- a. SAM transform -------------------------------------------------------------------------


@_patch
def transform_sam_templates() -> None:
    """Gap (moto 5.2.5): CloudFormation ignores `Transform: AWS::Serverless-2016-10-31`.

    moto creates the stack CREATE_COMPLETE with none of the SAM resources in it. We expand SAM
    templates with aws-sam-translator wherever moto turns template text into a dict: stacks
    (create_stack/update_stack, TemplateBody or TemplateURL) and change sets (what `sam deploy`
    uses). Stack.template keeps the text as submitted, like GetTemplate in AWS."""
    stack_cls = cfn_models.Stack
    change_set_cls = cfn_models.ChangeSet
    original_stack_parse = stack_cls.__dict__["_parse_template"]
    original_change_set_parse = change_set_cls.__dict__["_parse_template"]

    def expand(template: dict[str, Any], parameters: dict[str, Any], region: str) -> Any:
        try:
            return sam_transform.expand(template, parameters or {}, region)
        except Exception as error:  # translator errors become CloudFormation's error shape
            raise ValidationError(
                message=f"Transform {sam_transform.SAM_TRANSFORM} failed with: {error}"
            ) from error

    def stack_parse(self: Any) -> None:
        original_stack_parse(self)
        # Stack.__init__ parses before it stores region and parameters: fall back to the ARN.
        region = getattr(self, "region_name", None) or _region_of(self.stack_id)
        self.template_dict = expand(self.template_dict, getattr(self, "parameters", {}), region)

    def change_set_parse(self: Any) -> None:
        original_change_set_parse(self)
        self.template_dict = expand(self.template_dict, self.parameters, self.stack.region_name)

    def has_template(self: Any, other_template: str) -> bool:
        # "No changes" is decided on the submitted text, not on two expansions of it.
        return self.parse_template(self.template) == self.parse_template(other_template)

    _replace(stack_cls, "_parse_template", stack_parse)
    _replace(change_set_cls, "_parse_template", change_set_parse)
    _replace(stack_cls, "has_template", has_template)


# --- b. Change sets: exports, outputs, updates -------------------------------------------------


@_patch
def complete_change_set_execution() -> None:
    """Gap (moto 5.2.5): a stack created or updated by executing a change set (`sam deploy`)
    ends with no Outputs and no Exports, and cannot resolve Fn::ImportValue.

    moto builds the change set's stack from an empty template with no view of the region's
    exports, applies the resources, then stores the template text but never re-reads it. We
    give the stack the region's exports before applying, and afterwards re-read the template,
    rebuild the outputs and publish the exports (replacing the stack's previous ones). A failed
    execution leaves the stack in a *_FAILED state with the reason as a stack event; when a
    resource failed the way it fails on AWS (lifecycle.ResourceFailed: a refused type, a failed
    nested stack) a create rolls back to ROLLBACK_COMPLETE and an update that changed nothing to
    UPDATE_ROLLBACK_COMPLETE, as CloudFormation's would."""
    backend_cls = cfn_models.CloudFormationBackend
    original_execute = backend_cls.__dict__["execute_change_set"]

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        stack.cross_stack_resources = self.exports
        stack.resource_map.cross_stack_resources = self.exports
        try:
            original_execute(self, change_set_name, stack_name)
        except lifecycle.ResourceFailed as error:
            # A resource failed as it fails on AWS (see refuse_resource_types_not_emulated):
            # roll back like CloudFormation, and still answer with the reason.
            change_set.execution_status = "EXECUTE_FAILED"
            if change_set.change_set_type == "CREATE":
                lifecycle.roll_back_create(stack, self.exports)
            elif error.stack_unchanged:
                lifecycle.roll_back_unchanged_update(stack)
            else:
                stack.status = "UPDATE_FAILED"
                stack._add_stack_event("UPDATE_FAILED", resource_status_reason=error.reason)
            raise
        except Exception as error:
            failed = "CREATE_FAILED" if change_set.change_set_type == "CREATE" else "UPDATE_FAILED"
            stack.status = failed
            stack._add_stack_event(failed, resource_status_reason=str(error))
            raise
        if change_set.parameters:
            stack.parameters = change_set.parameters
        if change_set.tags:
            stack.tags = change_set.tags
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.output_map = stack._create_output_map()
        for name in [n for n, e in self.exports.items() if e.exporting_stack_id == stack.stack_id]:
            del self.exports[name]
        self._validate_export_uniqueness(stack)
        for export in stack.exports:
            self.exports[export.name] = export

    _replace(backend_cls, "execute_change_set", execute_change_set)


@_patch
def propagate_stack_tags() -> None:
    """Gap (moto 5.2.5): stack-level tags (`sam deploy --tags`) reach no resource but EC2's,
    where CloudFormation gives them to every resource that takes tags, together with
    aws:cloudformation:stack-name / stack-id / logical-id. The project sets its tags on the
    stack alone (scripts/stacks.py), so without this a local queue, table, function or topic
    would carry none. A tag the resource declares itself wins over the stack's."""
    backend_cls = cfn_models.CloudFormationBackend
    originals = {name: backend_cls.__dict__[name] for name in _STACK_WRITES}

    def tagging(name: str) -> Callable[..., Any]:
        original = originals[name]

        def write(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            stack_id = result.stack_id if result is not None else None
            if stack_id is None:  # execute_change_set returns nothing: find its stack
                change_set = self.describe_change_set(kwargs.get("change_set_name") or args[0])
                stack_id = change_set.stack_id
            _tag_stack_resources(self.stacks[stack_id])
            return result

        return write

    for name in _STACK_WRITES:
        _replace(backend_cls, name, tagging(name))


_STACK_WRITES = ("create_stack", "update_stack", "execute_change_set")


def _own_tag_keys(resource_json: dict[str, Any]) -> set[str]:
    tags = (resource_json.get("Properties") or {}).get("Tags") or {}
    return {tag["Key"] for tag in tags} if isinstance(tags, list) else set(tags)


def _tag_stack_resources(stack: Any) -> None:
    from moto.dynamodb.models.table import Table
    from moto.sns.models import Topic
    from moto.sqs.models import Queue

    stack_tags = {k: v for k, v in (stack.tags or {}).items() if not k.startswith("aws:")}
    resource_map = stack.resource_map
    templates = stack.template_dict.get("Resources") or {}
    for logical_id, resource in list(resource_map._parsed_resources.items()):
        if logical_id not in templates or resource is None:
            continue  # pseudo parameters, or a resource moto skipped
        tags = {
            **stack_tags,
            "aws:cloudformation:stack-name": stack.name,
            "aws:cloudformation:stack-id": stack.stack_id,
            "aws:cloudformation:logical-id": logical_id,
        }
        for key in _own_tag_keys(templates[logical_id]):
            tags.pop(key, None)
        if isinstance(resource, Queue | LambdaFunction):
            resource.tags.update(tags)
        elif isinstance(resource, Topic):
            resource._tags.update(tags)
        elif isinstance(resource, Table):
            kept = [tag for tag in resource.tags if tag["Key"] not in tags]
            resource.tags = kept + [{"Key": k, "Value": v} for k, v in tags.items()]


@_patch
def update_resources_on_parameter_changes() -> None:
    """Gap (moto 5.2.5): on a stack update where only parameter values change, moto updates a
    resource only if it `Ref`s a changed parameter directly. A resource that depends on one
    through a Condition (`Fn::If`, `Condition:`) keeps its old properties. We also follow the
    conditions, so `--parameter-overrides` on a re-deploy takes effect like in AWS."""
    original = cfn_parsing.ResourceMap.__dict__["build_resource_diff"]

    def build_resource_diff(
        self: Any, other_template: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        diff = original(self, other_template, parameters)
        if not parameters:
            return diff
        changed = {p for p in parameters if self.input_parameters.get(p) != parameters[p]}
        conditions = other_template.get("Conditions", {})
        old, new = self._resource_json_map, other_template["Resources"]
        for name, resource in new.items():
            if name in diff["Modify"] or name not in old or old[name] != resource:
                continue
            if changed & _parameters_used(resource, conditions):
                diff["Modify"].append(name)
        return diff

    _replace(cfn_parsing.ResourceMap, "build_resource_diff", build_resource_diff)


def _parameters_used(
    node: Any, conditions: dict[str, Any], seen: set[str] | None = None
) -> set[str]:
    """Names a template fragment Refs, directly or through the conditions it uses."""
    seen = set() if seen is None else seen
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _parameters_used(item, conditions, seen)
    elif isinstance(node, dict):
        for key, value in node.items():
            used_conditions: list[str] = []
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Condition" and isinstance(value, str):
                used_conditions.append(value)
            elif key == "Fn::If" and isinstance(value, list) and value:
                used_conditions.append(value[0])
            elif key == "Fn::Sub":
                template = value[0] if isinstance(value, list) else value
                if isinstance(template, str):
                    found |= {part.split("}")[0] for part in template.split("${")[1:]}
            for condition in used_conditions:
                if condition not in seen and condition in conditions:
                    seen.add(condition)
                    found |= _parameters_used(conditions[condition], conditions, seen)
            found |= _parameters_used(value, conditions, seen)
    return found


# --- c/d. CloudFormation resource types moto skips or gets wrong ------------------------------


@_patch
def add_missing_cfn_resources() -> None:
    """Gap (moto 5.2.5): CloudFormation silently skips AWS::SNS::Subscription (so no filter
    policy), AWS::SNS::TopicPolicy, AWS::SQS::QueuePolicy,
    AWS::ApiGateway::Stage/ApiKey/UsagePlan/UsagePlanKey, AWS::CloudWatch::Alarm and
    AWS::Lambda::EventInvokeConfig and AWS::ApiGateway::Account; its AWS::Lambda::Permission
    adds its statement under a random id, has no physical id and is never removed; its
    AWS::ApiGateway::RestApi needs a Name (SAM gives none)
    and ignores the OpenAPI Body; its AWS::ApiGateway::Deployment has no Ref value; its
    AWS::CloudFormation::Stack (a SAM nested application) has no `Outputs.<Key>` attribute, a
    name for Ref instead of the stack id, no parent tags, and is deleted and created anew on
    every parent update (its queues lose their messages); its AWS::CloudWatch::Dashboard stores a
    DashboardBody that is not JSON (the stack succeeds where AWS fails the resource) and
    renames an unnamed dashboard on every body change. It has no model for HTTP APIs at all
    (AWS::ApiGatewayV2::Api, ::Stage, ::Route, ::Integration), though its apigatewayv2 backend
    has one.

    The handlers in cloudformation/ create/update/delete real state in moto's backends; here
    they are put in front of moto's own model map.

    AWS::S3::BucketPolicy is not applied on purpose (the registry accepts it without emulating
    it): moto enforces a bucket policy's Deny statements while ignoring their conditions, so the
    SAM CLI managed bucket's "deny s3:* unless aws:SecureTransport" statement would block every
    upload to it over plain HTTP."""
    added = {cls.cloudformation_type(): cls for cls in cloudformation.HANDLERS}
    original_model_map = cfn_parsing.get_model_map
    original_name_map = cfn_parsing.get_name_type_map

    @functools.cache
    def get_model_map() -> dict[str, Any]:
        return {**original_model_map(), **added}

    @functools.cache
    def get_name_type_map() -> dict[str, str]:
        names = {t: c.cloudformation_name_type() for t, c in added.items()}
        return {**original_name_map(), **names}

    def resource_name_property_from_type(resource_type: str) -> str | None:
        # moto's version consults its own model list first; ours must win for overridden types.
        return get_name_type_map().get(resource_type)

    _replace(cfn_parsing, "get_model_map", get_model_map)
    _replace(cfn_parsing, "get_name_type_map", get_name_type_map)
    _replace(cfn_parsing, "resource_name_property_from_type", resource_name_property_from_type)


@_patch
def keep_resources_moto_cannot_update() -> None:
    """Gap (moto 5.2.5): when a stack update modifies a resource whose moto model has no update
    (AWS::KMS::Key, AWS::DynamoDB::Table, AWS::Lambda::Permission, AWS::Logs::LogGroup...),
    moto stores None for it: every later Ref/GetAtt to it resolves to nothing and deleting the
    stack leaves it behind. We keep the existing resource instead (moto cannot change it, but
    it still exists, as it would in AWS); the table and key patches below apply the settings
    that matter to us in place."""
    original = cfn_parsing.parse_and_update_resource

    def parse_and_update_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, **kwargs: Any
    ) -> Any:
        updated = original(logical_id, resource_json, resources_map, **kwargs)
        if updated is not None:
            return updated
        existing = resources_map._parsed_resources.get(logical_id)
        updater = _IN_PLACE_UPDATES.get(resource_json.get("Type", ""))
        if existing is not None and updater is not None:
            properties = cfn_parsing.clean_json(resource_json.get("Properties", {}), resources_map)
            updater(existing, properties)
        return existing

    _replace(cfn_parsing, "parse_and_update_resource", parse_and_update_resource)


def _update_kms_key(key: Any, properties: dict[str, Any]) -> None:
    if "KeyPolicy" in properties:
        key.policy = _json_text(properties["KeyPolicy"])
    key.description = properties.get("Description", key.description)
    key.key_rotation_status = bool(properties.get("EnableKeyRotation", False))
    key.enabled = bool(properties.get("Enabled", True))


def _update_dynamodb_table(table: Any, properties: dict[str, Any]) -> None:
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[table.account_id][table.region_name]
    wanted = properties.get("StreamSpecification")
    current = table.stream_specification or {}
    if bool(wanted) != bool(current.get("StreamEnabled")) or (
        wanted and wanted.get("StreamViewType") != current.get("StreamViewType")
    ):
        table.set_stream_specification(dict(wanted) if wanted else None)
    _apply_table_extras(backend, table.name, properties)


_IN_PLACE_UPDATES: dict[str, Callable[[Any, dict[str, Any]], None]] = {
    "AWS::KMS::Key": _update_kms_key,
    "AWS::DynamoDB::Table": _update_dynamodb_table,
}


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@_patch
def fix_kms_key_resource() -> None:
    """Gap (moto 5.2.5): AWS::KMS::Key with Tags fails (moto passes CloudFormation's Key/Value
    tags to an API that wants TagKey/TagValue: KeyError 'TagKey'), and its KeyPolicy object is
    stored as a dict, so GetKeyPolicy returns no JSON text. We translate both, and honour
    KeyUsage/KeySpec."""
    from moto.kms.models import Key, kms_backends

    def create_from_cloudformation_json(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        key = kms_backends[account_id][region_name].create_key(
            policy=_json_text(properties["KeyPolicy"]) if "KeyPolicy" in properties else None,
            key_usage=properties.get("KeyUsage", "ENCRYPT_DECRYPT"),
            key_spec=properties.get("KeySpec", "SYMMETRIC_DEFAULT"),
            description=properties.get("Description"),
            tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in properties.get("Tags", [])],
        )
        _update_kms_key(key, properties)
        return key

    _replace(Key, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))


def _apply_table_extras(backend: Any, table_name: str, properties: dict[str, Any]) -> None:
    pitr = properties.get("PointInTimeRecoverySpecification")
    enabled = bool(pitr and str(pitr.get("PointInTimeRecoveryEnabled")).lower() == "true")
    backend.update_continuous_backups(table_name, {"PointInTimeRecoveryEnabled": enabled})
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        backend.update_time_to_live(
            table_name,
            {
                "Enabled": str(ttl["Enabled"]).lower() == "true",
                "AttributeName": ttl["AttributeName"],
            },
        )


@_patch
def complete_dynamodb_table_resource() -> None:
    """Gap (moto 5.2.5): AWS::DynamoDB::Table ignores PointInTimeRecoverySpecification and
    TimeToLiveSpecification (DescribeContinuousBackups / DescribeTimeToLive say disabled) and
    reads SSESpecification.SSEEnabled as Enabled (so no SSEDescription). We translate SSE and
    apply the others after moto creates the table (and on updates, see
    keep_resources_moto_cannot_update)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import Table

    original = Table.__dict__["create_from_cloudformation_json"].__func__

    def create_from_cloudformation_json(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = dict(cloudformation_json["Properties"])
        sse = properties.get("SSESpecification")
        if sse is not None:
            # CloudFormation says SSEEnabled where the API (and moto) say Enabled.
            enabled = str(sse.get("SSEEnabled", sse.get("Enabled"))).lower() == "true"
            properties["SSESpecification"] = {
                **{k: v for k, v in sse.items() if k != "SSEEnabled"},
                "Enabled": enabled,
            }
        cloudformation_json = {**cloudformation_json, "Properties": properties}
        table = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        backend = dynamodb_backends[account_id][region_name]
        _apply_table_extras(backend, table.name, cloudformation_json["Properties"])
        return table

    _replace(Table, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))


# Function properties moto's CloudFormation drops, by their CloudFormation name -> API name.
_FUNCTION_EXTRAS = {
    "Architectures": "Architectures",
    "Layers": "Layers",
    "PackageType": "PackageType",
    "EphemeralStorage": "EphemeralStorage",
    "TracingConfig": "TracingConfig",
    "DeadLetterConfig": "DeadLetterConfig",
    "LoggingConfig": "LoggingConfig",
    "ImageConfig": "ImageConfig",
    "KmsKeyArn": "KMSKeyArn",
}


@_patch
def complete_lambda_resources() -> None:
    """Gap (moto 5.2.5): AWS::Lambda::Function drops Architectures (arm64 becomes x86_64),
    Layers, Tags and other properties, and an update cannot change Architectures or remove the
    Environment; AWS::Lambda::LayerVersion ignores LayerName (the layer is named
    stack-logicalId-random) and CompatibleArchitectures, and `!Ref` to it is not its ARN.
    localcloud's runtime reads the function's layers and architecture from moto, so they must
    be right."""
    from moto.awslambda.models import LayerVersion, lambda_backends

    original_update = LambdaFunction.__dict__["update_from_cloudformation_json"].__func__
    original_layer_create = LayerVersion.__dict__["create_from_cloudformation_json"].__func__

    def create_function(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        spec: dict[str, Any] = {
            "Code": dict(properties["Code"]),
            "FunctionName": resource_name,
            "Handler": properties.get("Handler"),
            "Role": properties["Role"],
            "Runtime": properties.get("Runtime"),
        }
        copied = (
            "Description",
            "MemorySize",
            "Publish",
            "Timeout",
            "VpcConfig",
            "Environment",
            "ReservedConcurrentExecutions",
        )
        spec.update({key: properties[key] for key in copied if key in properties})
        spec.update(
            {api: properties[cfn] for cfn, api in _FUNCTION_EXTRAS.items() if cfn in properties}
        )
        if "Tags" in properties:
            spec["Tags"] = {t["Key"]: t["Value"] for t in properties["Tags"]}
        if "ZipFile" in spec["Code"]:  # inline code: moto zips it as index.py
            import base64

            spec["Code"]["ZipFile"] = base64.b64encode(
                cls._create_zipfile_from_plaintext_code(spec["Code"]["ZipFile"])
            )
        return lambda_backends[account_id][region_name].create_function(spec)

    def update_function(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        function = original_update(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        properties = cloudformation_json["Properties"]
        function.architectures = properties.get("Architectures", ["x86_64"])
        function.layers = function._get_layers_data(properties.get("Layers", []))
        if "Environment" not in properties:
            function.environment_vars = {}
        if "ReservedConcurrentExecutions" in properties:
            function.reserved_concurrency = properties["ReservedConcurrentExecutions"]
        return function

    def create_layer_version(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        layer = original_layer_create(
            cls,
            properties.get("LayerName") or resource_name,
            cloudformation_json,
            account_id,
            region_name,
            **kwargs,
        )
        layer.compatible_architectures = properties.get("CompatibleArchitectures", [])
        return layer

    _replace(LambdaFunction, "create_from_cloudformation_json", classmethod(create_function))
    _replace(LambdaFunction, "update_from_cloudformation_json", classmethod(update_function))
    _replace(LayerVersion, "create_from_cloudformation_json", classmethod(create_layer_version))
    # Ref to a layer version is its ARN (moto's model has no physical id, so Ref gave the object).
    _replace(LayerVersion, "physical_resource_id", property(lambda self: self.arn))


@_patch
def keep_function_dead_letter_config() -> None:
    """Gap (moto 5.2.5): a function's DeadLetterConfig (CreateFunction, UpdateFunctionConfiguration,
    AWS::Lambda::Function, SAM's `DeadLetterQueue`) is dropped: GetFunctionConfiguration has
    none and a failed asynchronous event never reaches the queue or topic. We keep its TargetArn
    (an SQS queue or SNS topic, as Lambda requires) on the function and answer it; the runtime's
    asynchronous invocations send failed events there (lambda_runtime.async_invocations)."""
    from moto.awslambda.exceptions import InvalidParameterValueException

    original_init = LambdaFunction.__dict__["__init__"]
    original_configuration = LambdaFunction.__dict__["get_configuration"]
    original_update = LambdaFunction.__dict__["update_configuration"]

    def target_of(config: Any) -> str | None:
        arn = (config or {}).get("TargetArn") if isinstance(config, dict) else None
        if not arn:
            return None
        if (
            not isinstance(arn, str)
            or arn.count(":") < 5
            or arn.split(":")[2] not in ("sqs", "sns")
        ):
            raise InvalidParameterValueException(
                f"DeadLetterConfig.TargetArn {arn!r} must be an SQS queue or SNS topic ARN"
            )
        return arn

    def init(
        self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kw: Any
    ) -> None:
        target = target_of(spec.get("DeadLetterConfig"))  # refused before anything is made
        original_init(self, account_id, spec, *args, **kw)
        self.localcloud_dead_letter_target = target

    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_configuration(self, *args, **kwargs)
        target = getattr(self, "localcloud_dead_letter_target", None)
        if target:
            config["DeadLetterConfig"] = {"TargetArn": target}
        return config

    def update_configuration(self: LambdaFunction, updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in updates:
            self.localcloud_dead_letter_target = target_of(updates["DeadLetterConfig"])
        return original_update(self, updates)

    _replace(LambdaFunction, "__init__", init)
    _replace(LambdaFunction, "get_configuration", get_configuration)
    _replace(LambdaFunction, "update_configuration", update_configuration)


# --- e. SNS filter policy crash ---------------------------------------------------------------


@_patch
def tolerate_mistyped_filter_values() -> None:
    """Gap (moto 5.2.5): a MessageBody-scope numeric rule meeting a string (or a list with a
    non-number) raises TypeError/ValueError inside publish, so SNS returns a 500 halfway through
    the fan-out. AWS treats it as "no match". We evaluate each rule on its own and count a type
    error as that rule not matching (the other rules of the field still get their chance)."""
    original = FilterPolicyMatcher.__dict__["_field_match"].__func__

    def field_match(
        field: str, rules: list[Any], dict_body: dict[str, Any], attributes_based_check: bool = True
    ) -> bool:
        if not isinstance(rules, list) or field == "$or":
            return original(field, rules, dict_body, attributes_based_check)
        for rule in rules:
            try:
                if original(field, [rule], dict_body, attributes_based_check):
                    return True
            except (TypeError, ValueError):
                continue
        return False

    _replace(FilterPolicyMatcher, "_field_match", staticmethod(field_match))


# --- f. Public layer ARNs ---------------------------------------------------------------------

# The AWS account that publishes the Powertools for AWS Lambda (Python) layers.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"


@_patch
def accept_powertools_layer_arns() -> None:
    """Gap (moto 5.2.5): Lambda rejects any layer ARN it does not hold
    (UnknownLayerVersionException), so a function using the public Powertools layer cannot be
    created locally. We accept `arn:aws:lambda:*:017000801446:layer:AWSLambdaPowertoolsPythonV3*`
    ARNs as they are (CodeSize 0). localcloud supplies no content for them: the project bundles
    Powertools into its own layer, so this only lets such a template deploy."""
    original = LambdaFunction.__dict__["_get_layers_data"]

    def is_powertools(arn: str) -> bool:
        parts = arn.split(":")
        return (
            len(parts) == 8
            and parts[4] == POWERTOOLS_LAYER_ACCOUNT
            and parts[6].startswith("AWSLambdaPowertoolsPythonV3")
        )

    def get_layers_data(self: Any, layers_versions_arns: list[str]) -> list[dict[str, Any]]:
        own = [arn for arn in layers_versions_arns if not is_powertools(arn)]
        known = {d["Arn"]: d for d in original(self, own)}
        return [known.get(arn) or {"Arn": arn, "CodeSize": 0} for arn in layers_versions_arns]

    _replace(LambdaFunction, "_get_layers_data", get_layers_data)


# --- g. Inert event source mappings -----------------------------------------------------------


@_patch
def keep_event_source_mappings_inert() -> None:
    """Gap (moto 5.2.5): moto runs event source mappings itself, synchronously inside
    SendMessage / PutItem: it consumes SQS messages into fake events without messageAttributes
    and clears a DynamoDB stream once "delivered". localcloud's runtime polls the sources with
    real event shapes instead, so moto must only store mappings.

    moto triggers a mapping through the queue's / table's / Kinesis stream's
    `lambda_event_source_mappings`; we never leave a mapping there. Everything else (the mapping
    in the Lambda backend, its configuration, list/get/update/delete, CloudFormation) is moto's."""
    original = LambdaBackend.__dict__["create_event_source_mapping"]

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        mapping = original(self, spec)
        _detach_mapping(self, mapping)
        return mapping

    _replace(LambdaBackend, "create_event_source_mapping", create_event_source_mapping)


def _detach_mapping(backend: LambdaBackend, mapping: Any) -> None:
    from moto.dynamodb.models import dynamodb_backends
    from moto.kinesis.models import kinesis_backends
    from moto.sqs.models import sqs_backends

    account, region = backend.account_id, backend.region_name
    holders: list[Any] = list(sqs_backends[account][region].queues.values())
    holders += list(dynamodb_backends[account][region].tables.values())
    holders += list(kinesis_backends[account][region].streams.values())
    for holder in holders:
        hooks = getattr(holder, "lambda_event_source_mappings", {})
        for key in [k for k, m in hooks.items() if m is mapping]:
            del hooks[key]


# --- h. TemplateURL on 127.0.0.1 --------------------------------------------------------------


@_patch
def read_template_urls_on_any_local_host() -> None:
    """Gap (moto 5.2.5): moto reads a TemplateURL path-style (`http://host/bucket/key`) only
    when the URL contains "localhost"; `http://127.0.0.1:4566/bucket/key` is read as bucket
    "127". localcloud hands out `http://localhost:PORT` anyway; this makes 127.0.0.1 (and any
    other non-AWS host) work too, as the SAM CLI builds the URL from whatever endpoint it got."""
    original = cfn_utils.get_stack_from_s3_url

    def get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
        host = urlparse(template_url).hostname or ""
        if host.endswith(("amazonaws.com", "amazonaws.com.cn")) or "localhost" in template_url:
            return original(template_url, account_id, partition)
        local = urlparse(template_url)._replace(netloc="localhost").geturl()
        return original(local, account_id, partition)

    # moto imported the function by name into two modules: replace every reference.
    for module in (cfn_utils, cfn_models, cfn_responses):
        _replace(module, "get_stack_from_s3_url", get_stack_from_s3_url)


@_patch
def list_export_imports() -> None:
    """Gap (moto 5.2.5): ListImports is not implemented (500), so nothing can tell which stacks
    still import an export; `make destroy-platform` asks before deleting the platform."""

    def import_value_nodes(node: Any) -> Iterator[Any]:
        if isinstance(node, dict):
            if "Fn::ImportValue" in node:
                yield node
            for value in node.values():
                yield from import_value_nodes(value)
        elif isinstance(node, list):
            for value in node:
                yield from import_value_nodes(value)

    def list_imports(self: cfn_models.CloudFormationBackend, export_name: str) -> list[str]:
        if export_name not in self.exports:
            raise ValidationError(message=f"Export '{export_name}' does not exist.")
        importers = []
        for stack in self.stacks.values():
            if stack.status == "DELETE_COMPLETE":
                continue
            for node in import_value_nodes(stack.template_dict.get("Resources", {})):
                name = cfn_parsing.clean_json(node["Fn::ImportValue"], stack.resource_map)
                if name == export_name:
                    importers.append(stack.name)
                    break
        if not importers:
            raise ValidationError(message=f"Export '{export_name}' is not imported by any stack.")
        return importers

    def respond(self: cfn_responses.CloudFormationResponse) -> Any:
        names = self.cloudformation_backend.list_imports(self._get_param("ExportName"))
        return ActionResult({"Imports": names})

    _replace(cfn_models.CloudFormationBackend, "list_imports", list_imports)
    _replace(cfn_responses.CloudFormationResponse, "list_imports", respond)


# --- i. Lambda Invoke runs the function locally ------------------------------------------------


@_patch
def run_invocations_in_localcloud() -> None:
    """Gap (moto 5.2.5): Lambda Invoke cannot run a function without Docker: LambdaBackend starts
    a container, and LambdaSimpleBackend (`use_docker: false`) only echoes the payload back.

    While a localcloud Runtime runs, it registers its invoker with
    `localcloud.lambda_runtime.invoke_routing`; we hand Invoke (both backends) and the deprecated
    InvokeAsync (LambdaFunction.invoke) to that invoker, which runs the deployed code in a worker
    process. With no invoker registered, moto's own invoke runs unchanged."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    from localcloud.runtime import invoke_routing as routing

    def backend_invoke(original: Callable[..., Any]) -> Callable[..., Any]:
        def invoke(
            self: LambdaBackend,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: dict[str, str],
        ) -> bytes | str | None:
            invoker = routing.current()
            if invoker is None:
                return original(self, function_name, qualifier, body, headers, response_headers)
            return routing.invoke_through_backend(
                invoker, self, function_name, qualifier, body, headers, response_headers
            )

        return invoke

    original_function_invoke = LambdaFunction.__dict__["invoke"]

    def function_invoke(
        self: LambdaFunction, body: Any, request_headers: Any, response_headers: dict[str, str]
    ) -> bytes | str:
        invoker = routing.current()
        if invoker is None:
            return original_function_invoke(self, body, request_headers, response_headers)
        return routing.invoke_function(invoker, self, body, request_headers, response_headers)

    for backend_cls in (LambdaBackend, LambdaSimpleBackend):
        _replace(backend_cls, "invoke", backend_invoke(backend_cls.__dict__["invoke"]))
    _replace(LambdaFunction, "invoke", function_invoke)


@_patch
def deliver_eventbridge_events_in_localcloud() -> None:
    """Gap (moto 5.2.5): EventBridge delivers a matched event only to SQS, CloudWatch Logs and
    event bus targets, inside PutEvents; a Lambda, SNS or Kinesis target makes PutEvents answer
    500 (NotImplementedError), `Input` and `InputPath` are ignored, a DISABLED rule still gets
    events, and a schedule rule (no EventPattern) matches every event put on its bus.

    While a localcloud Runtime runs, it registers its EventBridge delivery with
    `localcloud.eventbridge.routing`; we match as moto does, skip disabled and schedule-only rules
    and hand the event to that delivery, which sends it to every target in the background with
    its input, retry policy and dead-letter queue. With none registered, moto's code runs."""
    from moto.events.models import Rule

    from localcloud.eventbridge import routing as eventbridge_routing

    original = Rule.__dict__["send_to_targets"]

    def send_to_targets(
        self: Rule, original_event: dict[str, Any], transform_input: bool = True
    ) -> None:
        sink = eventbridge_routing.current()
        if sink is None or self.managed_by:
            # moto's own rules (an archive's) keep moto's handling: they archive the event.
            return original(self, original_event, transform_input)
        s3_event = not transform_input and original_event.get("source") == "aws.s3"
        if s3_event and self.event_bus_name != "default":
            return None  # moto offers S3's events to every bus; S3 sends to the default one
        if not str(self.state).startswith("ENABLED") or not self.event_pattern.get_pattern():
            return None  # disabled, or a schedule rule: PutEvents never reaches it on AWS
        if self.event_pattern.matches_event(original_event):
            sink.submit_matched(self.arn, self.name, list(self.targets), original_event)
        return None

    _replace(Rule, "send_to_targets", send_to_targets)


@_patch
def ref_event_bus_by_name() -> None:
    """Gap (moto 5.2.5): `!Ref` of an AWS::Events::EventBus resolves to moto's object, not the
    bus name AWS returns, so a rule declared on it (`EventBusName: !Ref Bus`, what SAM writes for
    an EventBridgeRule event on a custom bus) fails the deploy with an AttributeError. We give
    the bus the physical id AWS does: its name."""
    from moto.events.models import EventBus

    _replace(EventBus, "physical_resource_id", property(lambda self: self.name))


@_patch
def no_tagging_event_for_objects_put_without_tags() -> None:
    """Gap (moto 5.2.5): every PutObject also sends S3's ObjectTagging:Put event ("Object Tags
    Added" on EventBridge), tags or none, so a rule on S3's events gets two events per upload.
    AWS sends it only when tags change. We skip the tagging of an object that has no tags and
    gets none (PutObject without tags)."""
    from moto.s3.models import S3Backend

    original = S3Backend.__dict__["put_object_tagging"]

    def put_object_tagging(self: S3Backend, key: Any, tags: dict[str, str] | None) -> Any:
        if not tags and not self.tagger.list_tags_for_resource(key.arn)["Tags"]:
            return key  # nothing changes: no event
        return original(self, key, tags)

    _replace(S3Backend, "put_object_tagging", put_object_tagging)


@_patch
def validate_schedules_as_aws_does() -> None:
    """Gap (moto 5.2.5): PutRule checks a ScheduleExpression with loose patterns (`rate(1
    minutes)`, `cron(bogus)` and a cron with both day fields pass), and EventBridge Scheduler's
    CreateSchedule / UpdateSchedule check nothing (expression, time zone, time window, target,
    retry policy): AWS answers ValidationException, moto stores a schedule that can never fire.
    We check them as AWS does (localcloud.eventbridge.schedule_expressions and
    scheduler_schedules) before anything is stored."""
    from moto.events.exceptions import ValidationException as EventsValidationException
    from moto.events.models import EventsBackend
    from moto.scheduler.exceptions import ValidationException as SchedulerValidationException
    from moto.scheduler.models import EventBridgeSchedulerBackend

    from localcloud.eventbridge import schedule_expressions, scheduler_schedules

    original_put_rule = EventsBackend.__dict__["put_rule"]
    put_rule_signature = inspect.signature(original_put_rule)

    def put_rule(self: EventsBackend, *args: Any, **kwargs: Any) -> Any:
        bound = put_rule_signature.bind(self, *args, **kwargs)
        expression = bound.arguments.get("scheduled_expression")
        if expression:
            try:
                schedule_expressions.parse(expression)
            except schedule_expressions.ScheduleExpressionError as error:
                raise EventsValidationException(
                    f"Parameter ScheduleExpression is not valid: {error}"
                ) from None
        return original_put_rule(self, *args, **kwargs)

    def checked(original: Callable[..., Any]) -> Callable[..., Any]:
        def create_or_update(self: EventBridgeSchedulerBackend, **kwargs: Any) -> Any:
            try:
                scheduler_schedules.validate(
                    kwargs.get("schedule_expression") or "",
                    kwargs.get("schedule_expression_timezone"),
                    kwargs.get("flexible_time_window"),
                    kwargs.get("target"),
                    kwargs.get("state"),
                )
            except scheduler_schedules.InvalidSchedule as error:
                raise SchedulerValidationException(str(error)) from None
            return original(self, **kwargs)

        return create_or_update

    _replace(EventsBackend, "put_rule", put_rule)
    for method in ("create_schedule", "update_schedule"):
        _replace(
            EventBridgeSchedulerBackend,
            method,
            checked(EventBridgeSchedulerBackend.__dict__[method]),
        )


@_patch
def validate_rule_targets_as_aws_does() -> None:
    """Gap (moto 5.2.5): PutTargets (and a rule's Targets in a template) stores any target: Input
    that is not JSON, a JSON path that cannot be read, InputPathsMap names that take the reserved
    aws.* ones, two input kinds at once, retry limits out of range, a FIFO queue without
    SqsParameters. AWS answers ValidationException; moto's target then fails at every event.
    We check each target as AWS does (localcloud.eventbridge.target_checks) before storing any."""
    from moto.events.exceptions import ValidationException
    from moto.events.models import EventsBackend

    from localcloud.eventbridge import target_checks

    original = EventsBackend.__dict__["put_targets"]

    def put_targets(
        self: EventsBackend, name: str, event_bus_arn: str | None, targets: list[dict[str, Any]]
    ) -> None:
        for target in targets:
            try:
                target_checks.check(target)
            except target_checks.InvalidTarget as error:
                raise ValidationException(str(error)) from None
        return original(self, name, event_bus_arn, targets)

    _replace(EventsBackend, "put_targets", put_targets)


@_patch
def validate_http_api_settings_as_aws_does() -> None:
    """Gap (moto 5.2.5): the apigatewayv2 API stores what API Gateway refuses: CreateApi /
    UpdateApi a CorsConfiguration with credentials for any origin (`*`), CreateStage throttling
    limits that are no non-negative number (localcloud's data plane then answers 500 to every
    request). AWS answers BadRequestException. We check them as deploys already do
    (cloudformation.apigatewayv2) before anything is stored."""
    from moto.apigatewayv2.exceptions import BadRequestException
    from moto.apigatewayv2.models import ApiGatewayV2Backend

    from localcloud.cloudformation import apigatewayv2 as http_api_checks

    def refused_as_bad_request(check: Callable[[], Any]) -> Any:
        try:
            return check()
        except lifecycle.ResourceFailed as error:
            raise BadRequestException(error.reason) from None

    def with_cors_checked(original: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(original)

        def call(self: ApiGatewayV2Backend, *args: Any, **kwargs: Any) -> Any:
            cors = signature.bind(self, *args, **kwargs).arguments.get("cors_configuration")
            refused_as_bad_request(lambda: http_api_checks.check_cors("CorsConfiguration", cors))
            return original(self, *args, **kwargs)

        return call

    original_create_stage = ApiGatewayV2Backend.__dict__["create_stage"]

    def create_stage(self: ApiGatewayV2Backend, api_id: str, config: dict[str, Any]) -> Any:
        checked = dict(config)
        if config.get("defaultRouteSettings"):
            checked["defaultRouteSettings"] = refused_as_bad_request(
                lambda: http_api_checks.checked_throttling(
                    "DefaultRouteSettings", config["defaultRouteSettings"]
                )
            )
        routes = config.get("routeSettings") or {}
        checked["routeSettings"] = {
            key: refused_as_bad_request(
                lambda key=key, value=value: http_api_checks.checked_throttling(
                    f"RouteSettings {key}", value
                )
            )
            for key, value in routes.items()
        }
        return original_create_stage(self, api_id, checked)

    for method in ("create_api", "update_api"):
        _replace(
            ApiGatewayV2Backend, method, with_cors_checked(ApiGatewayV2Backend.__dict__[method])
        )
    _replace(ApiGatewayV2Backend, "create_stage", create_stage)


# --- j. OpenAPI import (PutRestApi / ImportRestApi) ---------------------------------------------

_ANY_METHOD_KEY = "x-amazon-apigateway-any-method"
_API_METHODS = {"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "ANY"}


@_patch
def complete_openapi_import() -> None:
    """Gap (moto 5.2.5): PutRestApi / ImportRestApi ignore a `security` requirement on an apiKey
    scheme (how SAM's `Auth: ApiKeyRequired: true` marks a method, so every method would be
    served without a key), store `x-amazon-apigateway-any-method` as a method literally named
    "X-AMAZON-APIGATEWAY-ANY-METHOD" and ignore `x-amazon-apigateway-binary-media-types` and
    `x-amazon-apigateway-gateway-responses` (where SAM puts an Api's GatewayResponses).

    moto's import runs unchanged; then we fix the imported methods, the API's binary media
    types and its gateway responses from the same document. (CloudFormation's RestApi Body goes
    through localcloud.cloudformation.)"""
    from moto.apigateway.models import APIGatewayBackend

    original = APIGatewayBackend.__dict__["put_rest_api"]

    def put_rest_api(
        self: APIGatewayBackend,
        function_id: str,
        api_doc: dict[str, Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        api = original(self, function_id, api_doc, *args, **kwargs)
        _complete_imported_methods(api, api_doc)
        mode = kwargs.get("mode", args[1] if len(args) > 1 else "merge")
        if mode == "overwrite":
            api.gateway_responses = {}
        cloudformation.import_gateway_responses(self, api.id, api_doc)
        return api

    # import_rest_api calls self.put_rest_api, so this covers both.
    _replace(APIGatewayBackend, "put_rest_api", put_rest_api)


def _complete_imported_methods(api: Any, api_doc: dict[str, Any]) -> None:
    key_schemes = cloudformation.api_key_schemes(api_doc)
    default_security = api_doc.get("security")
    binary_types = api_doc.get("x-amazon-apigateway-binary-media-types")
    if binary_types:
        api.binaryMediaTypes = list(dict.fromkeys([*api.binaryMediaTypes, *binary_types]))
    resources_by_path = {resource.get_path(): resource for resource in api.resources.values()}
    for path, path_doc in (api_doc.get("paths") or {}).items():
        resource = resources_by_path.get(path)
        if resource is None:
            continue
        for key, method_doc in path_doc.items():
            stored = resource.resource_methods.pop(key.upper(), None)
            if stored is None:
                continue
            name = "ANY" if key.lower() == _ANY_METHOD_KEY else key.upper()
            if name not in _API_METHODS:
                continue  # e.g. path-level `parameters`, which is not a method
            stored.http_method = name
            security = method_doc.get("security", default_security) or []
            if any(scheme in key_schemes for requirement in security for scheme in requirement):
                stored.api_key_required = True
            resource.resource_methods[name] = stored


_transactions = threading.RLock()
# Per thread, during one TransactWriteItems: table name -> the hash keys its operations touch.
_transaction_scope = threading.local()


def _touched_hash_keys(backend: Any, transact_items: list[dict[str, Any]]) -> dict[str, set[Any]]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    touched: dict[str, set[Any]] = {}
    try:
        for item in transact_items:
            for op_type, op in item.items():
                table = backend.tables.get(op.get("TableName"))
                key = op.get("Item") if op_type == "Put" else op.get("Key")
                if table is None or not isinstance(key, dict) or table.hash_key_attr not in key:
                    continue  # moto's own validation answers for it
                touched.setdefault(table.name, set()).add(DynamoType(key[table.hash_key_attr]))
    except Exception:  # a malformed request: moto's validation answers it; copy in full
        return {}
    return touched


def _table_snapshot(table: Any, memo: dict[int, Any]) -> Any:
    """What moto's rollback needs of a table: every item as it is now. Only the items this
    transaction can change are copied; the rest are shared (nothing here mutates them)."""
    touched = getattr(_transaction_scope, "hash_keys", {}).get(table.name)
    cls = type(table)
    if touched is None:  # not a transaction's copy: the plain deep copy moto expects
        snapshot = cls.__new__(cls)
        memo[id(table)] = snapshot
        for name, value in vars(table).items():
            setattr(snapshot, name, copy.deepcopy(value, memo))
        return snapshot
    # object.__new__: moto's BaseModel.__new__ would keep every snapshot alive in its registry.
    snapshot = object.__new__(cls)
    memo[id(table)] = snapshot
    vars(snapshot).update(vars(table))
    # A dict copy reuses the stored hashes: no DynamoType.__hash__ per item of the table.
    snapshot.items = defaultdict(dict, table.items)
    for hash_key in touched:
        if hash_key in table.items:
            snapshot.items[hash_key] = copy.deepcopy(table.items[hash_key])
    return snapshot


@_patch
def keep_streams_through_cancelled_transactions() -> None:
    """Gap (moto 5.2.5): a cancelled TransactWriteItems rolls back by swapping each table for a
    deep copy taken before it started. The copy has a new stream shard, so every open shard
    iterator keeps reading the old one: a stream poller sees the cancelled write as a real
    INSERT and never sees a later record. Restore the items into the live table instead, drop
    the cancelled stream records, and keep stream readers out while a transaction runs. The
    copy itself costs a deep copy of every item of every table a transaction names, on each
    transaction (a ledger of a few thousand items made each booking slower than the last):
    only the items the transaction can change are copied now."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        with _transactions:
            live = dict(self.tables)
            stream_lengths = {
                name: len(table.stream_shard.items)
                for name, table in live.items()
                if table.stream_shard is not None
            }
            _transaction_scope.hash_keys = _touched_hash_keys(self, transact_items)
            try:
                original_transact(self, transact_items)
            except BaseException:
                for name, table in live.items():
                    restored = self.tables.get(name)
                    if restored is None or restored is table:
                        continue
                    shard = table.stream_shard
                    state = {k: v for k, v in vars(restored).items() if k != "stream_shard"}
                    vars(table).update(state)
                    if shard is not None:
                        del shard.items[stream_lengths[name] :]
                    self.tables[name] = table
                raise
            finally:
                _transaction_scope.hash_keys = {}

    def get_records(self: DynamoDBStreamsBackend, *args: Any, **kwargs: Any) -> Any:
        with _transactions:
            return original_get_records(self, *args, **kwargs)

    original_transact = _replace(DynamoDBBackend, "transact_write_items", transact_write_items)
    original_get_records = _replace(DynamoDBStreamsBackend, "get_records", get_records)
    _replace(Table, "__deepcopy__", _table_snapshot)


@_patch
def dispatch_requests_without_listing_moto() -> None:
    """Gap (moto 5.2.5): moto's server finds the backend of every request by listing moto's
    package folder (os.listdir plus an isdir per entry, ~150 of them) before it looks at the
    host: about a tenth of the server's CPU under load. The list never changes while the
    process runs: read it once."""
    import moto.backends as moto_backends

    listed = tuple(moto_backends.list_of_moto_modules())
    _replace(moto_backends, "list_of_moto_modules", lambda: iter(listed))


class _ReusedSigningCertificates:
    """Stands in for the `cryptography` module inside moto.sns.models: a CertificateBuilder
    whose sign() returns the certificate it already made for that key."""

    def __init__(self) -> None:
        import cryptography.x509

        self._by_key: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._serial = cryptography.x509.random_serial_number()
        self.x509 = self  # moto reads cryptography.x509.CertificateBuilder / random_serial_number

    def random_serial_number(self) -> int:
        # Only the first certificate per key is kept, so one serial serves every builder.
        return self._serial

    def CertificateBuilder(self) -> Any:
        import cryptography.x509

        return _CachingBuilder(cryptography.x509.CertificateBuilder(), self)

    def certificate(self, key: Any, build: Callable[[], Any]) -> Any:
        with self._lock:
            if id(key) not in self._by_key:
                self._by_key[id(key)] = (key, build())  # the key kept alive: ids stay unique
            return self._by_key[id(key)][1]


class _CachingBuilder:
    def __init__(self, builder: Any, cache: _ReusedSigningCertificates) -> None:
        self._builder = builder
        self._cache = cache

    def __getattr__(self, name: str) -> Any:
        step = getattr(self._builder, name)

        def chained(*args: Any, **kwargs: Any) -> Any:
            return _CachingBuilder(step(*args, **kwargs), self._cache)

        return chained

    def sign(self, key: Any, algorithm: Any, *args: Any, **kwargs: Any) -> Any:
        return self._cache.certificate(
            key, lambda: self._builder.sign(key, algorithm, *args, **kwargs)
        )


@_patch
def sign_sns_messages_with_one_certificate_per_key() -> None:
    """Gap (moto 5.2.5): every SNS delivery builds and signs a new X.509 certificate for the
    subscription's (cached) key and keeps its PEM forever: an RSA signature and a growing map
    per message, a tenth of the server's CPU when rides fan out. AWS signs with a certificate
    it reuses for a long time; so does this: one per key, built on its first message. Each
    message is still signed with the key and names (under its own SigningCertURL) that one
    certificate, so a subscriber that verifies signatures still can."""
    import moto.sns.models as sns_models

    _replace(sns_models, "cryptography", _ReusedSigningCertificates())


@_patch
def check_sqs_retention_without_every_attribute() -> None:
    """Gap (moto 5.2.5): for each message a ReceiveMessage returns, moto checks the queue's
    retention period through GetQueueAttributes, which computes every attribute of the queue
    three times, among them three counts that each walk every message in it. A receive of ten
    from a queue of n messages costs over 100 n clock reads: SQS receives took 7% of
    localcloud's CPU under bench/e2e.py's load, growing with the backlog. The check reads the
    one attribute it needs; which messages are received, and when one has outlived its
    retention, is unchanged."""
    from moto.core.utils import unix_time
    from moto.sqs.models import Message, SQSBackend

    def is_message_valid_based_on_retention_period(
        self: SQSBackend, queue_name: str, message: Message
    ) -> bool:
        retention_period = self.get_queue(queue_name).message_retention_period
        return retention_period + message.sent_timestamp / 1000 > unix_time()

    _replace(
        SQSBackend,
        "is_message_valid_based_on_retention_period",
        is_message_valid_based_on_retention_period,
    )


# Per thread: the queue whose SendMessage is running (its attribute map is narrowed meanwhile).
_sqs_send_scope = threading.local()
_SEND_READS = "ContentBasedDeduplication"  # the one attribute moto's send path reads


@_patch
def send_sqs_messages_without_every_attribute() -> None:
    """Gap (moto 5.2.5): SendMessage (and so every SNS delivery to a queue) reads one flag,
    ContentBasedDeduplication, from the queue's whole attribute map, and that map counts the
    visible, in-flight and delayed messages by walking every message in the queue once each:
    a send costs a walk of the backlog, three times. (A FIFO send still walks the queue once,
    looking for a duplicate, and SendMessageBatch's own validation of FIFO entries still reads
    the whole map: both are moto's, unchanged.) Under bench/e2e.py's load (600 rides,
    three queues with a backlog) it was 12% of the time the server held the GIL. While a send
    runs on a thread, its queue answers `attributes` with that flag alone, computed as moto
    computes it (present for FIFO queues only, booleans as "true"/"false"); every other caller,
    GetQueueAttributes included, still gets the whole map."""
    from moto.sqs.models import Queue, SQSBackend

    whole_map = Queue.__dict__["attributes"].fget

    def attributes(self: Queue) -> dict[str, Any]:
        if getattr(_sqs_send_scope, "queue", None) is not self:
            return whole_map(self)
        if not self.fifo_queue:
            return {}
        return {_SEND_READS: str(bool(self.content_based_deduplication)).lower()}

    def send_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        outer = getattr(_sqs_send_scope, "queue", None)
        _sqs_send_scope.queue = self.get_queue(queue_name)
        try:
            return original_send(self, queue_name, *args, **kwargs)
        finally:
            _sqs_send_scope.queue = outer

    _replace(Queue, "attributes", property(attributes))
    original_send = _replace(SQSBackend, "send_message", send_message)


@_patch
def build_json_errors_without_an_xml_body() -> None:
    """Gap (moto 5.2.5): every JSON-protocol error moto raises (JsonRESTError: each DynamoDB,
    Lambda, Logs... error) first renders an XML error document with xmltodict, which its own
    constructor replaces with the JSON body at once. moto also raises them inside its own
    logic and catches them again: an update's `ADD` on an attribute the item does not have yet
    (the accounting ledger's counters) raises and catches ProvidedKeyDoesNotExist, so the
    unused XML was 7% of the time the server held the GIL under bench/e2e.py's load. The error
    gets the same attributes, JSON body, headers and status as before, without the XML."""
    from moto.core.exceptions import JsonRESTError
    from werkzeug.exceptions import HTTPException

    def __init__(
        self: JsonRESTError, error_type: str, message: str, _: str = "", **__: Any
    ) -> None:
        HTTPException.__init__(self)
        self.error_type = error_type
        self.message = message
        self.description = json.dumps({"__type": self.error_type, "message": self.message})
        self.content_type = "application/json"

    _replace(JsonRESTError, "__init__", __init__)


# --- k. SQS message move tasks (DLQ redrive) ----------------------------------------------------


@_patch
def sqs_message_move_tasks() -> None:
    """Gap (moto 5.2.5): SQS StartMessageMoveTask, ListMessageMoveTasks and
    CancelMessageMoveTask are not implemented (HTTP 500), so a DLQ cannot be redriven
    (`make redrive`, `aws sqs start-message-move-task`); nor does moto remember which queue a
    message was dead-lettered from (DeadLetterQueueSourceArn), where a task without a
    DestinationArn sends it back to.

    localcloud.sqs_move_tasks implements the three actions with SQS's shapes, errors and
    semantics (a thread per task, rate limit, cancel, new message ids in the destination). Here
    they are added to moto's SQS API; dead-lettering records the source queue, which
    ReceiveMessage answers as DeadLetterQueueSourceArn; and moto's receive / delete / purge of a
    queue run under that queue's own lock, so a move never races a consumer."""
    from moto.sqs.models import Queue, SQSBackend
    from moto.sqs.responses import SQSResponse

    from localcloud import sqs_move_tasks as tasks

    for action in tasks.ACTIONS:
        _replace(SQSResponse, action, getattr(tasks, action))
    receive = SQSResponse.__dict__["receive_message"]
    _replace(SQSResponse, "receive_message", tasks.with_source_arn(receive))
    _replace(Queue, "add_message", tasks.recording_origin(Queue.__dict__["add_message"]))
    for name in tasks.LOCKED_BACKEND_CALLS:
        _replace(SQSBackend, name, tasks.holding_queue_lock(SQSBackend.__dict__[name]))


# --- l. What CloudFormation does with each resource: verdicts, records, deletes ----------------


def _condition_holds(resource_map: Any, resource_json: dict[str, Any]) -> bool:
    condition = resource_json.get("Condition")
    if not condition:
        return True
    try:
        return bool(resource_map.lazy_condition_map[condition])
    except Exception:  # moto reports a broken condition itself, with its own error
        return True


def _probe(resource_map: Any, template: dict[str, Any], parameters: Any) -> Any:
    """A throwaway ResourceMap of `template` with its parameters and conditions loaded (no
    resource created), to see which resources an update will have; None if it cannot be
    built (moto's own update then reports why)."""
    try:
        probe = cfn_parsing.ResourceMap(
            resource_map.stack_id,
            resource_map["AWS::StackName"],
            parameters or resource_map.input_parameters,
            {},
            region_name=resource_map._region_name,
            account_id=resource_map._account_id,
            template=template,
            cross_stack_resources=resource_map.cross_stack_resources,
        )
        probe.load_mapping()
        probe.load_parameters()
        probe.load_conditions()
    except Exception:
        return None
    return probe


def _refused_type(resource_type: str) -> bool:
    if resource_type.startswith(registry.SAM_PREFIX) and not is_applied("transform_sam_templates"):
        return False  # SAM types are the transform's: with it off, moto's own handling stands
    return registry.support_of(resource_type) is registry.Support.REFUSED


def _refused(resource_map: Any, resources: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Logical id -> (type, reason) of each live resource localcloud refuses: for its type, or
    for what its properties ask (registry.property_refusal)."""
    refused = {}
    for logical_id, resource in resources.items():
        resource_type = resource.get("Type", "")
        if not _condition_holds(resource_map, resource):
            continue
        if _refused_type(resource_type):
            refused[logical_id] = (resource_type, registry.refusal(resource_type, logical_id))
            continue
        reason = registry.property_refusal(resource_type, logical_id, resource.get("Properties"))
        if reason:
            refused[logical_id] = (resource_type, reason)
    return refused


def _stack_named(backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    name = kwargs.get("name", args[0] if args else None)
    return next((s for s in backend.stacks.values() if name in (s.name, s.stack_id)), None)


@_patch
def refuse_resource_types_not_emulated() -> None:
    """Gap (moto 5.2.5): CloudFormation skips every resource type it has no model for (a Cognito
    user pool, an HTTP API's AWS::ApiGatewayV2::Authorizer, AWS::XRay::ResourcePolicy, ...)
    without a word: the stack reaches CREATE_COMPLETE without them, and a `!Ref` / `!GetAtt` to
    one stays literal `${...}` text in the outputs.

    localcloud.cloudformation.registry decides per type. A type localcloud emulates is moto's
    (or a handler's) as before. One it accepts without emulating gets a placeholder
    (placeholders.NotEmulated: the physical id AWS would give, a note on its event saying why
    that is safe). Any other type fails the deploy, checked before a create or update touches
    anything: its CREATE_FAILED (UPDATE_FAILED) event names the type, the stack rolls back
    (ROLLBACK_COMPLETE, UPDATE_ROLLBACK_COMPLETE) and the call answers with the same reason, so
    `sam deploy` fails with it. Properties a resource sets that localcloud does not emulate
    (registry.NOT_EMULATED_PROPERTIES) become a note on its event too."""
    original_class_from_type = cfn_parsing.resource_class_from_type
    original_create = cfn_parsing.parse_and_create_resource
    original_update = cfn_parsing.parse_and_update_resource
    map_cls = cfn_parsing.ResourceMap
    original_map_create = map_cls.__dict__["create"]
    original_map_update = map_cls.__dict__["update"]
    backend_cls = cfn_models.CloudFormationBackend
    original_create_stack = backend_cls.__dict__["create_stack"]
    original_update_stack = backend_cls.__dict__["update_stack"]

    def resource_class_from_type(resource_type: str) -> Any:
        if registry.support_of(resource_type) is registry.Support.ACCEPTED_NOT_EMULATED:
            return placeholders.NotEmulated.for_type(resource_type)
        if _refused_type(resource_type):
            return placeholders.Refused.for_type(resource_type)
        return original_class_from_type(resource_type)

    def take_notes(logical_id: str, resource_json: dict[str, Any], resources_map: Any) -> None:
        resource_type = resource_json.get("Type", "")
        properties = resource_json.get("Properties")
        try:  # the values as deployed (a target's `!GetAtt Queue.Arn` is the queue's ARN)
            properties = cfn_parsing.clean_json(properties, resources_map)
        except Exception:  # an intrinsic moto cannot resolve: the notes read it as written
            logger.debug("%s: notes read the properties unresolved", logical_id, exc_info=True)
        found = registry.notes(resource_type, properties)
        lifecycle.note(resources_map, logical_id, found)
        if registry.support_of(resource_type) is registry.Support.ACCEPTED_NOT_EMULATED:
            logger.warning("%s: %s", logical_id, registry.acceptance_note(resource_type))

    def parse_and_create_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, *args: Any, **kw: Any
    ) -> Any:
        resource = original_create(logical_id, resource_json, resources_map, *args, **kw)
        if resource is not None:
            take_notes(logical_id, resource_json, resources_map)
        return resource

    def parse_and_update_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, *args: Any, **kw: Any
    ) -> Any:
        resource = original_update(logical_id, resource_json, resources_map, *args, **kw)
        take_notes(logical_id, resource_json, resources_map)
        return resource

    def create(self: Any, template: dict[str, Any]) -> bool:
        refused = _refused(self, template.get("Resources") or {})
        if refused:
            raise lifecycle.refuse(self, refused, existing=set())
        return original_map_create(self, template)

    def update(self: Any, template: dict[str, Any], parameters: Any = None) -> None:
        probe = _probe(self, template, parameters)
        if probe is not None:
            refused = _refused(probe, template.get("Resources") or {})
            if refused:
                raise lifecycle.refuse(self, refused, existing=set(self._resource_json_map))
        return original_map_update(self, template, parameters)

    def create_stack(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original_create_stack(self, *args, **kwargs)
        except lifecycle.ResourceFailed:
            stack = _stack_named(self, args, kwargs)
            if stack is not None:
                lifecycle.roll_back_create(stack, self.exports)
            raise

    def update_stack(self: Any, *args: Any, **kwargs: Any) -> Any:
        stack = _stack_named(self, args, kwargs)
        before = (stack.template, stack.template_dict) if stack is not None else None
        try:
            return original_update_stack(self, *args, **kwargs)
        except lifecycle.ResourceFailed as error:
            if stack is None or before is None:
                raise
            if error.stack_unchanged:
                stack.template, stack.template_dict = before  # Stack.update set the new one
                lifecycle.roll_back_unchanged_update(stack)
            else:
                stack.status = "UPDATE_FAILED"
                stack._add_stack_event("UPDATE_FAILED", resource_status_reason=error.reason)
            raise

    _replace(cfn_parsing, "resource_class_from_type", resource_class_from_type)
    _replace(cfn_parsing, "parse_and_create_resource", parse_and_create_resource)
    _replace(cfn_parsing, "parse_and_update_resource", parse_and_update_resource)
    _replace(map_cls, "create", create)
    _replace(map_cls, "update", update)
    _replace(backend_cls, "create_stack", create_stack)
    _replace(backend_cls, "update_stack", update_stack)


@_patch
def describe_stack_resources_completely() -> None:
    """Gap (moto 5.2.5): DescribeStackResource(s) and ListStackResources build each entry from
    whatever attributes moto's model object has: a resource moto skipped comes back with no
    LogicalResourceId, ResourceType or PhysicalResourceId, an AWS::Lambda::Permission with an
    empty physical id, every Timestamp is 2010-07-27 and every status the stack's
    (ListStackResources says CREATE_COMPLETE whatever happened). DescribeStackEvents has the
    stack's own events only, none per resource. GetTemplateSummary of a SAM stack lists the SAM
    types (AWS::Serverless::Function) where the stack holds AWS::Lambda::Function, and no
    DeclaredTransforms.

    lifecycle.Ledger records each resource as moto creates, updates and deletes it: logical id,
    type, the physical id AWS gives, status, reason, the real time of the operation, each change
    also a stack event with the same fields. The four APIs answer from it."""
    stack_cls = cfn_models.Stack
    original_create_map = stack_cls.__dict__["_create_resource_map"]
    original_create = cfn_parsing.parse_and_create_resource
    original_update = cfn_parsing.parse_and_update_resource
    map_cls = cfn_parsing.ResourceMap
    original_map_update = map_cls.__dict__["update"]
    responses_cls = cfn_responses.CloudFormationResponse

    def create_resource_map(self: Any) -> Any:
        resource_map = original_create_map(self)
        lifecycle.attach(resource_map, self)
        return resource_map

    def parse_and_create_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, *args: Any, **kw: Any
    ) -> Any:
        if not _condition_holds(resources_map, resource_json):
            return original_create(logical_id, resource_json, resources_map, *args, **kw)
        book = lifecycle.ledger(resources_map)
        resource_type = resource_json.get("Type", "")
        known = book.records.get(logical_id)
        if known is not None and known.status == "CREATE_COMPLETE":
            # Asked for again although moto keeps nothing for it (a type it skipped): once is
            # enough to say so.
            return original_create(logical_id, resource_json, resources_map, *args, **kw)
        record = book.event(logical_id, resource_type, "CREATE_IN_PROGRESS", physical_id="")
        record.metadata = resource_json.get("Metadata")
        record.notes = []
        try:
            resource = original_create(logical_id, resource_json, resources_map, *args, **kw)
        except Exception as error:
            book.event(logical_id, resource_type, "CREATE_FAILED", lifecycle.reason_of(error))
            raise
        generated = lifecycle.generated_name(resources_map, resource_type, logical_id)
        if resource is None:  # moto has no model and nothing refused it (registry patch off)
            reason = f"{registry.NOTE_PREFIX}not created: moto has no model for {resource_type}"
            book.event(logical_id, resource_type, "CREATE_COMPLETE", reason, generated)
            return None
        physical_id = lifecycle.physical_id_of(resource) or generated
        reason = registry.status_reason(record.notes)
        book.event(logical_id, resource_type, "CREATE_COMPLETE", reason, physical_id)
        book.created.append(logical_id)
        return resource

    def parse_and_update_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, *args: Any, **kw: Any
    ) -> Any:
        book = lifecycle.ledger(resources_map)
        resource_type = resource_json.get("Type", "")
        record = book.records.get(logical_id)
        if record is None or record.status != "UPDATE_IN_PROGRESS":  # moto may try again
            record = book.event(logical_id, resource_type, "UPDATE_IN_PROGRESS")
        record.metadata = resource_json.get("Metadata")
        record.notes = []
        # A failure here is the update's: moto tries again, and update() reports the last one.
        resource = original_update(logical_id, resource_json, resources_map, *args, **kw)
        physical_id = lifecycle.physical_id_of(resource) if resource is not None else None
        reason = registry.status_reason(record.notes)
        book.event(logical_id, resource_type, "UPDATE_COMPLETE", reason, physical_id)
        return resource

    def update(self: Any, template: dict[str, Any], parameters: Any = None) -> None:
        try:
            return original_map_update(self, template, parameters)
        except Exception as error:
            lifecycle.ledger(self).fail_in_progress(lifecycle.reason_of(error))
            raise

    def describe_stack_resource(self: Any) -> ActionResult:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        logical_id = self._get_param("LogicalResourceId")
        for record in lifecycle.described(stack):
            if record.logical_id == logical_id:
                detail = lifecycle.stack_resource_detail(stack, record)
                return ActionResult({"StackResourceDetail": detail})
        message = f"Resource {logical_id} does not exist for stack {stack.name}"
        raise ValidationError(stack.name, message=message)

    def describe_stack_resources(self: Any) -> ActionResult:
        backend = self.cloudformation_backend
        stack_name = self._get_param("StackName")
        physical_id = self._get_param("PhysicalResourceId")
        logical_id = self._get_param("LogicalResourceId")
        if stack_name:
            stack = backend.get_stack(stack_name)
        elif physical_id:  # which stack holds this resource (AWS answers with all of them)
            stack = next(
                (
                    s
                    for s in backend.stacks.values()
                    if any(r.physical_id == physical_id for r in lifecycle.described(s))
                ),
                None,
            )
            if stack is None:
                raise ValidationError(message=f"Stack for {physical_id} does not exist")
        else:
            raise ValidationError(
                message="Either StackName or PhysicalResourceId must be specified"
            )
        records = [r for r in lifecycle.described(stack) if logical_id in (None, r.logical_id)]
        entries = [lifecycle.stack_resource(stack, record) for record in records]
        return ActionResult({"StackResources": entries})

    def list_stack_resources(self: Any) -> ActionResult:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        summaries = [lifecycle.stack_resource_summary(r) for r in lifecycle.described(stack)]
        return ActionResult({"StackResourceSummaries": summaries})

    def get_template_summary(self: Any) -> ActionResult:
        stack_name = self._get_param("StackName")
        template_url = self._get_param("TemplateURL")
        body = self._get_param("TemplateBody")
        stack = None
        if stack_name:
            stack = self.cloudformation_backend.get_stack(stack_name)
            if stack.status == "REVIEW_IN_PROGRESS":
                raise ValidationError(
                    message="GetTemplateSummary cannot be called on REVIEW_IN_PROGRESS stacks."
                )
            body = stack.template
        elif template_url:
            body = self._get_stack_from_s3_url(template_url)
        summary = cfn_responses.get_template_summary_response_from_template(body)
        summary["DeclaredTransforms"] = lifecycle.declared_transforms(summary)
        if isinstance(summary.get("Metadata"), dict):  # a JSON string in the API
            summary["Metadata"] = json.dumps(summary["Metadata"])
        if stack is not None and (stack.template_dict or {}).get("Resources"):
            # What the stack holds: the template after its transforms, as the resources say.
            summary["ResourceTypes"] = lifecycle.resource_types(stack.template_dict)
        return ActionResult(summary)

    _replace(stack_cls, "_create_resource_map", create_resource_map)
    _replace(cfn_parsing, "parse_and_create_resource", parse_and_create_resource)
    _replace(cfn_parsing, "parse_and_update_resource", parse_and_update_resource)
    _replace(map_cls, "update", update)
    _replace(responses_cls, "describe_stack_resource", describe_stack_resource)
    _replace(responses_cls, "describe_stack_resources", describe_stack_resources)
    _replace(responses_cls, "list_stack_resources", list_stack_resources)
    _replace(responses_cls, "get_template_summary", get_template_summary)


@_patch
def delete_stacks_as_aws_does() -> None:
    """Gap (moto 5.2.5): a stack delete that cannot delete a resource fails the DeleteStack call
    and drops the stack from every list (live and deleted) with its exports still published,
    where AWS keeps it as DELETE_FAILED with the failed resource's reason. A resource whose
    model has no delete at all (a Lambda::Version, an IAM::ManagedPolicy...) is left behind
    without a word; an update that removes a resource with DeletionPolicy Retain deletes it
    (and forgets nothing: re-adding it later reuses the deleted object); deletes run in
    whatever order moto holds the resources, and none of them is a stack event.

    lifecycle.delete_resources deletes as CloudFormation does: the last created first, Retain
    (and RetainExceptOnCreate, except when a create rolls back) as DELETE_SKIPPED, a failure as
    DELETE_FAILED with its reason, the stack then DELETE_FAILED and still there (DeleteStack
    itself succeeds, as on AWS, and can be called again). A resource moto cannot delete says so
    in its DELETE_COMPLETE reason. And a deleted stack keeps no outputs: moto evaluates them
    lazily, so DescribeStacks on a deleted stack created its resources again."""
    map_cls = cfn_parsing.ResourceMap
    original_delete_resource = map_cls.__dict__["_delete_resource"]
    backend_cls = cfn_models.CloudFormationBackend
    original_delete_stack = backend_cls.__dict__["delete_stack"]

    def logical_id_of(resource_map: Any, resource: Any) -> str:
        logical_id = getattr(resource, "logical_resource_id", None)
        if logical_id:
            return str(logical_id)
        return next(k for k, v in resource_map._parsed_resources.items() if v is resource)

    def delete(self: Any) -> None:
        lifecycle.delete_resources(self)

    def delete_resource(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        book = lifecycle.ledger(self)
        logical_id = logical_id_of(self, parsed_resource)
        resource_type = resource_json.get("Type", "")
        removing = not book.deleting  # an update removed it from the template
        if removing and lifecycle.retains(resource_json, rollback=False):
            book.event(logical_id, resource_type, "DELETE_SKIPPED")
            self._parsed_resources.pop(logical_id, None)
            book.forget(logical_id)
            return
        record = book.records.get(logical_id)
        if record is None or record.status != "DELETE_IN_PROGRESS":  # a retry is no new event
            book.event(logical_id, resource_type, "DELETE_IN_PROGRESS")
        original_delete_resource(self, parsed_resource, resource_json)
        reason = None
        if not lifecycle.deletes_anything(parsed_resource) and not lifecycle.deletes_anything(
            cfn_parsing.resource_class_from_type(resource_type)
        ):
            reason = f"{registry.NOTE_PREFIX}moto cannot delete {resource_type}: it is left behind"
            logger.warning("%s: %s", logical_id, reason)
        book.event(logical_id, resource_type, "DELETE_COMPLETE", reason)
        if removing:
            self._parsed_resources.pop(logical_id, None)
            book.forget(logical_id)

    def delete_stack(self: Any, name_or_stack_id: str) -> None:
        stack = self.stacks.get(name_or_stack_id) or next(
            (s for s in self.stacks.values() if s.name == name_or_stack_id), None
        )
        if stack is None:  # unknown or already deleted: moto's answer
            original_delete_stack(self, name_or_stack_id)
            return
        # The outputs as they are now: moto evaluates them lazily, and evaluating them once the
        # resources are gone would create those again (see lifecycle.seal).
        with contextlib.suppress(Exception):
            stack.outputs  # noqa: B018 - read for its side effect: moto caches each output
        try:
            original_delete_stack(self, stack.stack_id)
        except lifecycle.StackDeleteFailed as failure:
            self.stacks[stack.stack_id] = stack  # moto took it out before deleting
            stack.status = "DELETE_FAILED"
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=str(failure))
            return
        lifecycle.seal(stack)

    _replace(map_cls, "delete", delete)
    _replace(map_cls, "_delete_resource", delete_resource)
    _replace(backend_cls, "delete_stack", delete_stack)


_BUCKET_NOT_EMPTY = "The bucket you tried to delete is not empty"


@_patch
def refuse_to_delete_non_empty_buckets() -> None:
    """Gap (moto 5.2.5): deleting a stack whose AWS::S3::Bucket still holds objects reaches
    DELETE_COMPLETE and silently keeps the bucket (moto's delete_bucket returns None for a
    non-empty bucket and its CloudFormation model ignores that). AWS fails the resource,
    DELETE_FAILED "The bucket you tried to delete is not empty", and with it the stack, unless
    the bucket's DeletionPolicy is Retain. We fail it the same way."""
    from moto.s3.models import FakeBucket, s3_backends
    from moto.utilities.utils import get_partition

    original = FakeBucket.__dict__["delete_from_cloudformation_json"].__func__

    def delete_from_cloudformation_json(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        bucket = s3_backends[account_id][get_partition(region_name)].buckets.get(resource_name)
        if bucket is not None and bucket.keys:  # moto's own test (versions count too)
            raise lifecycle.ResourceFailed(_BUCKET_NOT_EMPTY)
        original(cls, resource_name, cloudformation_json, account_id, region_name)

    _replace(
        FakeBucket, "delete_from_cloudformation_json", classmethod(delete_from_cloudformation_json)
    )


@_patch
def complete_s3_bucket_resource() -> None:
    """Gap (moto 5.2.5): AWS::S3::Bucket ignores VersioningConfiguration and
    PublicAccessBlockConfiguration (the SAM CLI's managed bucket sets both): GetBucketVersioning
    says the bucket is unversioned, GetPublicAccessBlock finds nothing. We apply both after moto
    creates the bucket."""
    from moto.s3.models import FakeBucket, s3_backends
    from moto.utilities.utils import get_partition

    original = FakeBucket.__dict__["create_from_cloudformation_json"].__func__

    def create_from_cloudformation_json(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        bucket = original(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        properties = cloudformation_json.get("Properties") or {}
        backend = s3_backends[account_id][get_partition(region_name)]
        versioning = (properties.get("VersioningConfiguration") or {}).get("Status")
        if versioning:
            backend.put_bucket_versioning(bucket.name, versioning)
        public_access = properties.get("PublicAccessBlockConfiguration")
        if public_access:
            backend.put_public_access_block(bucket.name, public_access)
        return bucket

    _replace(
        FakeBucket, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json)
    )


@_patch
def s3_notifications_from_templates() -> None:
    """Gap (moto 5.2.5): AWS::S3::Bucket ignores NotificationConfiguration (what SAM writes for
    a function's `S3` event), so no S3 -> Lambda / SQS / SNS / EventBridge notification declared
    in a template ever fires. We check it before the bucket is made (a configuration S3 would
    refuse fails the resource, as CloudFormation's does, and leaves no bucket behind) and set it
    on the bucket on create and on update. S3 invokes a function asynchronously: see
    invoke_routing.invoke_function."""
    from moto.s3.models import FakeBucket

    from localcloud.cloudformation.s3_notifications import (
        NotificationConfigurationError,
        moto_notification_config,
    )

    original_create = FakeBucket.__dict__["create_from_cloudformation_json"].__func__
    original_update = FakeBucket.__dict__["update_from_cloudformation_json"].__func__

    def declared_config(cloudformation_json: dict[str, Any], region: str) -> dict[str, Any] | None:
        properties = cloudformation_json.get("Properties") or {}
        try:
            return moto_notification_config(properties.get("NotificationConfiguration"), region)
        except NotificationConfigurationError as error:
            raise lifecycle.ResourceFailed(f"NotificationConfiguration: {error}") from None

    def create_from_cloudformation_json(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        config = declared_config(cloudformation_json, region_name)
        bucket = original_create(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        if config:
            bucket.set_notification_configuration(config)
        return bucket

    def update_from_cloudformation_json(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        config = declared_config(cloudformation_json, region_name)
        bucket = original_update(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        bucket.set_notification_configuration(config)
        return bucket

    _replace(
        FakeBucket, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json)
    )
    _replace(
        FakeBucket, "update_from_cloudformation_json", classmethod(update_from_cloudformation_json)
    )


@_patch
def delete_layer_versions_with_their_stack() -> None:
    """Gap (moto 5.2.5): AWS::Lambda::LayerVersion has no delete, so a layer version outlives
    its stack even with DeletionPolicy Delete (what SAM makes of `RetentionPolicy: Delete`). We
    delete it; DeletionPolicy Retain (`RetentionPolicy: Retain`) keeps it, as on AWS."""
    from moto.awslambda.models import LayerVersion, lambda_backends

    def delete(self: Any, account_id: str, region_name: str) -> None:
        backend = lambda_backends[account_id][region_name]
        backend.delete_layer_version(self.name, str(self.version))

    _replace(LayerVersion, "delete", delete)


class _PrivateKeyOnFirstUse:
    """Stands in for the private key moto makes with every KMS key: made when first used.

    Only the key's own methods (sign, verify, public_key...) make it: a protocol probe such as
    copy's `__deepcopy__` lookup does not. The lock is shared, so the stand-in holds nothing
    but plain values and copies like the key object it replaces."""

    _lock = threading.Lock()

    def __init__(self, make: Callable[[str], Any], key_spec: str) -> None:
        self._make = make
        self._key_spec = key_spec
        self._key: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        with _PrivateKeyOnFirstUse._lock:
            if self._key is None:
                self._key = self._make(self._key_spec)
        return getattr(self._key, name)


@_patch
def make_kms_private_keys_on_first_use() -> None:
    """Gap (moto 5.2.5): every KMS key gets an RSA-2048 (or EC) private key at creation,
    symmetric ones included, which never use it: ~0.1 CPU-s each. Each encrypted DynamoDB
    table in a fresh account creates the default `alias/aws/dynamodb` key, so every test that
    makes the project's tables paid it (13% of py-spy's samples of the accounting and submit
    tests; their CPU went from 13.1-17.5 to 12.1-12.8 s).
    The key is now made when Sign, Verify or GetPublicKey first needs it, the same key from
    then on; AWS's symmetric keys have none at all."""
    import moto.kms.models as kms_models
    import moto.kms.utils as kms_utils

    make = kms_utils.generate_private_key
    _replace(kms_models, "generate_private_key", functools.partial(_PrivateKeyOnFirstUse, make))


@_patch
def schedule_kms_key_deletion() -> None:
    """Gap (moto 5.2.5): deleting a stack deletes its AWS::KMS::Key at once. AWS schedules the
    deletion PendingWindowInDays ahead (7-30, default 30): the key stays, PendingDeletion,
    until then. We schedule it the same way."""
    from moto.kms.models import Key, kms_backends

    original_create = Key.__dict__["create_from_cloudformation_json"].__func__

    def create_from_cloudformation_json(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        key = original_create(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        window = cloudformation_json["Properties"].get("PendingWindowInDays", 30)
        key.localcloud_pending_window = int(window)
        return key

    def delete(self: Any, account_id: str, region_name: str) -> None:
        window = getattr(self, "localcloud_pending_window", 30)
        kms_backends[account_id][region_name].schedule_key_deletion(self.id, window)

    _replace(Key, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))
    _replace(Key, "delete", delete)


def describe() -> dict[str, str]:
    """Patch name -> first line of its docstring (for `python -m localcloud.patches`)."""
    return {name: (func.__doc__ or "").strip().splitlines()[0] for name, func in _registry.items()}


if __name__ == "__main__":
    print(json.dumps(describe(), indent=2))
