"""CloudFormation resource handlers for the types moto 5.2.5 skips or gets wrong, one module
per service.

Each handler turns template properties into calls on moto's real backends (so a subscription made
by a stack filters messages exactly like one made with the API) and keeps what it needs to
update and delete that state. They are plain classes: `patches.add_missing_cfn_resources()` is
what makes moto's CloudFormation use them.

moto's CloudFormation calls, per resource:
  create_from_cloudformation_json(name, {"Properties": ...}, account, region) -> handler
  update_from_cloudformation_json(original_resource=handler, new_resource_name, json, account,
                                  region) -> handler
  handler.delete(account, region)
and reads handler.physical_resource_id (Ref) and handler.get_cfn_attribute(name) (GetAtt).

registry.py says what localcloud does with every type (these handlers, moto's models, the types
it accepts without emulating and the ones it refuses); lifecycle.py is what CloudFormation
reports about each resource (records, events, rollback, deletes).
"""

from __future__ import annotations

from localcloud.cloudformation.apigateway import (
    ApiDeployment,
    ApiGatewayAccount,
    ApiKey,
    ApiStage,
    RestApi,
    UsagePlan,
    UsagePlanKey,
    api_key_schemes,
    import_gateway_responses,
)
from localcloud.cloudformation.apigatewayv2 import (
    HttpApi,
    HttpApiIntegration,
    HttpApiRoute,
    HttpApiStage,
)
from localcloud.cloudformation.awslambda import LambdaEventInvokeConfig, LambdaPermission
from localcloud.cloudformation.base import Handler
from localcloud.cloudformation.cloudwatch import CloudWatchAlarm, CloudWatchDashboard
from localcloud.cloudformation.scheduler import SchedulerSchedule, SchedulerScheduleGroup
from localcloud.cloudformation.sns import SnsSubscription, SnsTopicPolicy
from localcloud.cloudformation.sqs import SqsQueuePolicy
from localcloud.cloudformation.stacks import NestedStack

__all__ = ["HANDLERS", "Handler", "api_key_schemes", "import_gateway_responses"]

HANDLERS: tuple[type[Handler], ...] = (
    SnsSubscription,
    SnsTopicPolicy,
    SqsQueuePolicy,
    RestApi,
    ApiDeployment,
    ApiStage,
    ApiKey,
    UsagePlan,
    UsagePlanKey,
    ApiGatewayAccount,
    HttpApi,
    HttpApiStage,
    HttpApiIntegration,
    HttpApiRoute,
    LambdaEventInvokeConfig,
    LambdaPermission,
    CloudWatchAlarm,
    CloudWatchDashboard,
    SchedulerSchedule,
    SchedulerScheduleGroup,
    NestedStack,
)
