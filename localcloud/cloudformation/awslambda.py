"""AWS::Lambda::EventInvokeConfig, which moto's CloudFormation skips."""

from __future__ import annotations

import contextlib
from typing import Any

from localcloud.cloudformation.base import Handler


class LambdaEventInvokeConfig(Handler):
    """AWS::Lambda::EventInvokeConfig (async retries / destinations), kept on the function."""

    TYPE = "AWS::Lambda::EventInvokeConfig"

    @staticmethod
    def _config(properties: dict[str, Any]) -> dict[str, Any]:
        keys = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
        return {k: properties[k] for k in keys if k in properties}

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> LambdaEventInvokeConfig:
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[account_id][region]
        function_name = properties["FunctionName"]
        with contextlib.suppress(Exception):  # replace, as PutFunctionEventInvokeConfig does
            backend.delete_function_event_invoke_config(function_name)
        backend.put_function_event_invoke_config(function_name, cls._config(properties))
        return cls(
            f"{function_name}:{properties.get('Qualifier', '$LATEST')}",
            properties,
            account_id,
            region,
        )

    def update(self, properties: dict[str, Any], name: str) -> Handler:
        return self.create(self.physical_id, properties, self.account_id, self.region)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.awslambda.models import lambda_backends

        with contextlib.suppress(Exception):  # function deleted first
            lambda_backends[account_id][region_name].delete_function_event_invoke_config(
                self.properties["FunctionName"]
            )
