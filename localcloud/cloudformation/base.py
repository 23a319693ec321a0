"""The shape every CloudFormation resource handler of localcloud shares (see the package)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException


def json_text(value: Any) -> str:
    """Policies and filter policies are objects in templates but JSON strings in the APIs."""
    return value if isinstance(value, str) else json.dumps(value)


def tag_map(value: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in value or []}


def camel_case_keys(value: Any) -> Any:
    """CloudFormation spells API Gateway's structures in PascalCase; the API uses camelCase."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: camel_case_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_case_keys(v) for v in value]
    return value


class Handler:
    """Base: one resource of one stack, identified by its physical id."""

    TYPE: ClassVar[str]
    NAME_PROPERTY: ClassVar[str] = ""
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, physical_id: str, properties: dict[str, Any], account_id: str, region: str):
        self.physical_id = physical_id
        self.properties = properties
        self.account_id = account_id
        self.region = region

    # moto's CloudFormation protocol -----------------------------------------------------------
    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Handler:
        return cls.create(resource_name, cloudformation_json["Properties"], account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Handler,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Handler:
        return original_resource.update(cloudformation_json["Properties"], new_resource_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region: str
    ) -> None:
        # Only reached if a handler's own delete() failed with TypeError/AttributeError.
        cls(resource_name, cloudformation_json.get("Properties", {}), account_id, region).delete(
            account_id, region
        )

    # what each handler implements -------------------------------------------------------------
    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> Handler:
        raise NotImplementedError

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        """Default: replace (delete, then create with the new properties)."""
        self.delete(self.account_id, self.region)
        return self.create(name, properties, self.account_id, self.region)

    def delete(self, account_id: str, region_name: str) -> None:
        raise NotImplementedError
