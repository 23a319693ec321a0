"""Stand-ins moto's CloudFormation gets for the types localcloud does not emulate.

moto has no model for them, so it would skip them in silence. `patches.refuse_resource_types_
not_emulated` hands moto one of these instead (see registry.py for which):

- NotEmulated, for an ACCEPTED_NOT_EMULATED type: creates nothing, answers `!Ref` with the
  physical id AWS would give, and its stack event says it is not emulated.
- Refused, for every other type moto cannot create: its creation fails with a reason that names
  the type, so the deploy fails the way AWS fails a resource it cannot create.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from localcloud.cloudformation import registry
from localcloud.cloudformation.base import Handler
from localcloud.cloudformation.lifecycle import ResourceFailed


class NotEmulated(Handler):
    """A resource that exists only in its stack's description. GetAtt fails, as nothing backs
    an attribute (CloudFormation's "does not support attribute type" error)."""

    TYPE: ClassVar[str] = ""

    @classmethod
    def for_type(cls, resource_type: str) -> type[NotEmulated]:
        return _not_emulated(resource_type)

    @classmethod
    def _physical_id(cls, name: str, properties: dict[str, Any]) -> str:
        property_name = registry.ACCEPTED_NOT_EMULATED[cls.TYPE].physical_id
        value = properties.get(property_name) if property_name else None
        return str(value) if value else name

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> NotEmulated:
        return cls(cls._physical_id(name, properties), properties, account_id, region)

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        self.properties = properties
        if registry.ACCEPTED_NOT_EMULATED[self.TYPE].physical_id:
            self.physical_id = self._physical_id(self.physical_id, properties)
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        """Nothing was created."""


class Refused(Handler):
    """A type localcloud cannot create: creating (or updating to) it fails."""

    TYPE: ClassVar[str] = ""

    @classmethod
    def for_type(cls, resource_type: str) -> type[Refused]:
        return _refused(resource_type)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        # Template validation passes; the creation is what fails, with the reason.
        return True

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Handler:
        logical_id = kwargs.get("LogicalId", resource_name)
        raise ResourceFailed(registry.refusal(cls.TYPE, logical_id))

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        raise ResourceFailed(registry.refusal(self.TYPE, name))

    def delete(self, account_id: str, region_name: str) -> None:
        """Never created."""


@cache
def _not_emulated(resource_type: str) -> type[NotEmulated]:
    name = "NotEmulated_" + resource_type.replace("::", "_")
    return type(name, (NotEmulated,), {"TYPE": resource_type})


@cache
def _refused(resource_type: str) -> type[Refused]:
    name = "Refused_" + resource_type.replace("::", "_")
    return type(name, (Refused,), {"TYPE": resource_type})
