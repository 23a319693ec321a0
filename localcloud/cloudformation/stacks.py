"""AWS::CloudFormation::Stack: SAM's nested applications as real child stacks."""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.utilities.utils import get_partition

from localcloud.cloudformation.base import Handler, tag_map
from localcloud.cloudformation.lifecycle import ResourceFailed


class NestedStack(Handler):
    """AWS::CloudFormation::Stack (what SAM makes of an AWS::Serverless::Application): a real
    stack in moto's backend, created from its TemplateURL with the parent's tags, named as AWS
    names it (<parent>-<LogicalId>-<SUFFIX>); Ref is its stack id, `Fn::GetAtt <Id>.Outputs.<Key>`
    its outputs; a parent update updates it in place, a parent delete deletes it. When the child
    fails (a refused type, a bucket it cannot delete) the parent's resource fails with
    CloudFormation's "Embedded stack ... was not successfully ..." reason, so the parent fails
    too instead of reporting a child that is not there."""

    TYPE = "AWS::CloudFormation::Stack"

    def __init__(
        self,
        physical_id: str,
        properties: dict[str, Any],
        account_id: str,
        region: str,
        parent_id: str = "",
    ):
        super().__init__(physical_id, properties, account_id, region)
        self.parent_id = parent_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr.startswith("Outputs.")

    @staticmethod
    def _backend(account_id: str, region: str) -> Any:
        from moto.cloudformation.models import cloudformation_backends

        return cloudformation_backends[account_id][region]

    @staticmethod
    def _template(properties: dict[str, Any], account_id: str, region: str) -> str:
        from moto.cloudformation.utils import get_stack_from_s3_url

        return get_stack_from_s3_url(
            properties["TemplateURL"], account_id=account_id, partition=get_partition(region)
        )

    def tag_map(self) -> dict[str, str]:
        """The parent's stack tags (CloudFormation propagates them), then the resource's own."""
        parent = self._backend(self.account_id, self.region).stacks.get(self.parent_id)
        inherited = dict(parent.tags or {}) if parent is not None else {}
        return {**inherited, **tag_map(self.properties.get("Tags"))}

    @staticmethod
    def _parameters(properties: dict[str, Any]) -> dict[str, str]:
        return {key: str(value) for key, value in (properties.get("Parameters") or {}).items()}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Handler:
        properties = cloudformation_json["Properties"]
        # The physical id is the stack id, known once the stack exists.
        nested = cls("", properties, account_id, region_name, parent_id=kwargs.get("StackId", ""))
        backend = cls._backend(account_id, region_name)
        try:
            stack = backend.create_stack(
                name=resource_name,
                template=cls._template(properties, account_id, region_name),
                parameters=cls._parameters(properties),
                tags=nested.tag_map(),
            )
        except ResourceFailed as failure:
            # The child rolled back; the parent's rollback deletes it, as on AWS.
            child = next((s for s in backend.stacks.values() if s.name == resource_name), None)
            child_id = child.stack_id if child is not None else resource_name
            if child is not None:
                backend.delete_stack(child_id)
            raise ResourceFailed(
                f"Embedded stack {child_id} was not successfully created: {failure.reason}"
            ) from failure
        nested.physical_id = stack.stack_id
        return nested

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        """In place, as CloudFormation updates a nested stack: its resources keep their ids."""
        self.properties = properties
        parameters = [
            {"ParameterKey": key, "ParameterValue": value}
            for key, value in self._parameters(properties).items()
        ]
        try:
            self._backend(self.account_id, self.region).update_stack(
                name=self.physical_id,
                template=self._template(properties, self.account_id, self.region),
                role_arn=None,
                parameters=parameters,
                tags=self.tag_map(),
            )
        except ResourceFailed as failure:
            raise ResourceFailed(
                f"Embedded stack {self.physical_id} was not successfully updated: {failure.reason}"
            ) from failure
        return self

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        key = attribute_name.removeprefix("Outputs.")
        stack = self._backend(self.account_id, self.region).get_stack(self.physical_id)
        outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.outputs or []}
        if not attribute_name.startswith("Outputs.") or key not in outputs:
            raise UnformattedGetAttTemplateException()
        return outputs[key]

    def delete(self, account_id: str, region_name: str) -> None:
        backend = self._backend(account_id, region_name)
        backend.delete_stack(self.physical_id)
        stack = backend.get_stack(self.physical_id)
        if stack.status == "DELETE_FAILED":  # its DELETE_FAILED event says which resource, why
            failures = [
                e.resource_status_reason
                for e in stack.events
                if e.resource_status == "DELETE_FAILED"
            ]
            raise ResourceFailed(
                f"Embedded stack {self.physical_id} was not successfully deleted: {failures[-1]}"
            )
