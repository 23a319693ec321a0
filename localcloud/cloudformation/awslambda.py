"""AWS::Lambda::EventInvokeConfig, which moto's CloudFormation skips, and AWS::Lambda::Permission,
which it gets wrong."""

from __future__ import annotations

import contextlib
import json
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


class LambdaPermission(Handler):
    """AWS::Lambda::Permission: a statement in the function's resource policy. Its statement id
    is the name CloudFormation generates (<stack>-<LogicalId>-<SUFFIX>), and that is also its
    physical id, as on AWS. moto's own model adds the statement under a random id, has no
    physical id and never removes the statement."""

    TYPE = "AWS::Lambda::Permission"
    # AddPermission's fields, as CloudFormation names them (FunctionName says where, not what).
    STATEMENT = (
        "Action",
        "Principal",
        "SourceArn",
        "SourceAccount",
        "PrincipalOrgID",
        "EventSourceToken",
        "FunctionUrlAuthType",
    )

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> LambdaPermission:
        from moto.awslambda.models import lambda_backends

        statement = {
            "StatementId": name,
            **{k: properties[k] for k in cls.STATEMENT if k in properties},
        }
        lambda_backends[account_id][region].add_permission(
            properties["FunctionName"],
            None,
            json.dumps(statement),  # type: ignore[arg-type]
        )
        return cls(name, properties, account_id, region)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.awslambda.models import lambda_backends

        with contextlib.suppress(Exception):  # the function (and its policy) went first
            lambda_backends[account_id][region_name].remove_permission(
                self.properties["FunctionName"], self.physical_id
            )
