"""The process environment of a function's worker: its own variables plus Lambda's reserved ones."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from localcloud.lambda_runtime.functions import FunctionSpec


@dataclass(frozen=True)
class AwsTarget:
    """Where boto3 inside a handler should send its calls: localcloud, with dummy credentials."""

    endpoint_url: str
    access_key_id: str = "testing"
    secret_access_key: str = "testing"  # noqa: S105 - moto's well-known dummy credential
    session_token: str = "testing"  # noqa: S105


def worker_environment(
    spec: FunctionSpec,
    target: AwsTarget,
    code_dir: Path,
    log_stream: str,
) -> dict[str, str]:
    env = dict(spec.environment)
    # Lambda sets these after the function's own variables: the reserved ones cannot be overridden.
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_ACCESS_KEY_ID": target.access_key_id,
            "AWS_SECRET_ACCESS_KEY": target.secret_access_key,
            "AWS_SESSION_TOKEN": target.session_token,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "LAMBDA_TASK_ROOT": str(code_dir),
            "LAMBDA_RUNTIME_DIR": str(Path(__file__).parent),
            "_HANDLER": spec.handler,
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            # Not reserved in AWS, but locally every SDK call must reach localcloud, never AWS.
            "AWS_ENDPOINT_URL": target.endpoint_url,
        }
    )
    for name in ("LD_LIBRARY_PATH", "SSL_CERT_FILE"):
        if name in os.environ:
            env.setdefault(name, os.environ[name])
    return env
