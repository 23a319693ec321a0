"""A Lambda context object for calling handlers in tests, as the Lambda runtime passes one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from wildrydes_testing.templates import REGION


@dataclass
class FakeLambdaContext:
    function_name: str = "wild-rydes-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:123456789012:function:{self.function_name}"
