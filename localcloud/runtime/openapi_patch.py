"""Completes moto 5.2.5's OpenAPI import with what the API Gateway data plane must enforce.

moto's put_rest_api (also behind import_rest_api) ignores, among others:
- `security` referencing an `apiKey` scheme, which is how SAM's `Auth: ApiKeyRequired: true`
  marks methods; without it every method would be served without a key;
- `x-amazon-apigateway-any-method`, which SAM emits for `Method: ANY` (moto stores it as a method
  literally named "X-AMAZON-APIGATEWAY-ANY-METHOD");
- `x-amazon-apigateway-binary-media-types`.
The patch runs moto's import unchanged, then fixes the imported methods from the same document.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.apigateway.models import APIGatewayBackend, RestAPI

_ANY_METHOD_KEY = "x-amazon-apigateway-any-method"
_HTTP_METHODS = {"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "ANY"}
_lock = threading.Lock()
_original: Any = None


def apply() -> None:
    """Install (idempotent)."""
    global _original
    with _lock:
        if _original is not None:
            return
        _original = APIGatewayBackend.put_rest_api

        def put_rest_api(
            self: APIGatewayBackend,
            function_id: str,
            api_doc: dict[str, Any],
            *args: Any,
            **kwargs: Any,
        ) -> RestAPI:
            api = _original(self, function_id, api_doc, *args, **kwargs)
            complete_import(api, api_doc)
            return api

        APIGatewayBackend.put_rest_api = put_rest_api  # type: ignore[method-assign]


def remove() -> None:
    global _original
    with _lock:
        if _original is not None:
            APIGatewayBackend.put_rest_api = _original  # type: ignore[method-assign]
            _original = None


def complete_import(api: RestAPI, api_doc: dict[str, Any]) -> None:
    key_schemes = _api_key_schemes(api_doc)
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
            if name not in _HTTP_METHODS:
                continue  # e.g. path-level `parameters`, which is not a method
            stored.http_method = name
            security = method_doc.get("security", default_security) or []
            if any(scheme in key_schemes for requirement in security for scheme in requirement):
                stored.api_key_required = True
            resource.resource_methods[name] = stored


def _api_key_schemes(api_doc: dict[str, Any]) -> set[str]:
    schemes = dict((api_doc.get("components") or {}).get("securitySchemes") or {})
    schemes.update(api_doc.get("securityDefinitions") or {})
    return {
        name
        for name, scheme in schemes.items()
        if isinstance(scheme, dict)
        and scheme.get("type") == "apiKey"
        and str(scheme.get("name", "")).lower() == "x-api-key"
    }
