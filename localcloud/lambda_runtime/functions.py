"""What the runtime needs to know about a deployed function, read from moto's in-process backend.

The code and layer zips are only reachable in-process (moto's GetFunction hands out an S3 URL that
does not resolve), so this is the one place that reaches into moto's Lambda models.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.models import LambdaBackend
from moto.awslambda.utils import get_backend
from moto.core import DEFAULT_ACCOUNT_ID

log = logging.getLogger(__name__)
_reported_foreign_layers: set[str] = set()  # warn once per ARN, not on every invocation


@dataclass(frozen=True)
class LayerSpec:
    arn: str
    sha256: str
    zip_bytes: bytes = field(repr=False)


@dataclass(frozen=True)
class FunctionSpec:
    """A snapshot of one function version's configuration and code."""

    name: str
    arn: str  # unqualified
    version: str  # "$LATEST" or a published number
    region: str
    account_id: str
    handler: str
    runtime: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    code_sha256: str
    code_zip: bytes = field(repr=False)
    layers: tuple[LayerSpec, ...] = ()
    foreign_layers: tuple[str, ...] = ()  # ARNs of layers localcloud does not hold
    reserved_concurrency: int | None = None
    package_type: str = "Zip"

    @property
    def fingerprint(self) -> str:
        """Changes whenever a warm worker would no longer match what is deployed."""
        material = {
            "code": self.code_sha256,
            "handler": self.handler,
            "runtime": self.runtime,
            "timeout": self.timeout,
            "memory": self.memory_size,
            "env": self.environment,
            "layers": [(layer.arn, layer.sha256) for layer in self.layers],
            "foreign_layers": list(self.foreign_layers),
            "version": self.version,
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()

    @property
    def pool_key(self) -> str:
        return f"{self.arn}:{self.version}"


class FunctionNotFound(LookupError):
    pass


def lambda_backend(account_id: str, region: str) -> LambdaBackend:
    return get_backend(account_id, region)


def region_of(arn_or_name: str, default_region: str) -> str:
    parts = arn_or_name.split(":")
    return parts[3] if arn_or_name.startswith("arn:") and len(parts) > 3 else default_region


def account_of(arn_or_name: str, default_account: str = DEFAULT_ACCOUNT_ID) -> str:
    parts = arn_or_name.split(":")
    return parts[4] if arn_or_name.startswith("arn:") and len(parts) > 4 else default_account


def load_function(
    name_or_arn: str,
    qualifier: str | None,
    region: str,
    account_id: str = DEFAULT_ACCOUNT_ID,
) -> FunctionSpec:
    backend = lambda_backend(account_of(name_or_arn, account_id), region_of(name_or_arn, region))
    try:
        function = backend.get_function(name_or_arn, qualifier)
    except Exception as exc:  # moto raises its own RESTError subclasses
        raise FunctionNotFound(f"Function not found: {name_or_arn}") from exc
    return spec_from_model(function, backend)


def spec_from_model(function: Any, backend: LambdaBackend) -> FunctionSpec:
    layers = []
    foreign = []
    for layer in function.layers:
        version = backend.layers_versions_by_arn(layer["Arn"])
        if version is None:
            # A foreign layer ARN that a localcloud patch let through (the public Powertools
            # layer): its content is expected to come from localcloud's own site-packages.
            foreign.append(layer["Arn"])
            if layer["Arn"] not in _reported_foreign_layers:
                _reported_foreign_layers.add(layer["Arn"])
                log.warning(
                    "layer %s is not held locally; its packages come from localcloud's own "
                    "site-packages instead (pure-Python ones only, on a Python other than "
                    "localcloud's)",
                    layer["Arn"],
                )
            continue
        layers.append(LayerSpec(version.arn, version.code_sha_256, version.code_bytes))
    # Published versions carry their number in the ARN; $LATEST is stored unqualified.
    name_and_qualifier = function.function_arn.split(":function:", 1)[1]
    version = name_and_qualifier.split(":", 1)[1] if ":" in name_and_qualifier else "$LATEST"
    reserved = function.reserved_concurrency
    return FunctionSpec(
        name=function.function_name,
        arn=function.function_arn.split(":function:", 1)[0] + ":function:" + function.function_name,
        version=version,
        region=function.region,
        account_id=function.account_id,
        handler=function.handler or "",
        runtime=function.run_time or "python3.13",
        timeout=int(function.timeout or 3),
        memory_size=int(function.memory_size or 128),
        environment={k: str(v) for k, v in (function.environment_vars or {}).items()},
        code_sha256=function.code_sha_256,
        code_zip=function.code_bytes,
        layers=tuple(layers),
        foreign_layers=tuple(foreign),
        reserved_concurrency=None if reserved is None else int(reserved),
        package_type=function.package_type,
    )
