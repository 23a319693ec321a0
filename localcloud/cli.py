"""`python -m localcloud up|down|status|logs|env`: run the Docker-free local AWS.

`up` starts localcloud in the background (a detached process group that `down` stops whole),
`serve` is that background process itself, and the other commands read its state folder.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from localcloud import state

START_TIMEOUT_S = 60.0
# How long a thread may hold the GIL while another waits for it (CPython's default: 5 ms).
# localcloud's one process serves every AWS call of the functions, its pollers and its API, and
# a request thread gives the GIL up at each socket read and write, then waits to get it back.
# Under bench/e2e.py's load a 4 ms call took ~70 ms; a shorter interval is the likely remedy
# for those waits, and it measured better: POST p50 fell in 5 of 6 interleaved pairs of runs
# (38-67 ms against 54-76 ms, ranges that overlap).
GIL_SWITCH_INTERVAL_S = 0.0005
STOP_TIMEOUT_S = 15.0


def say(message: str) -> None:
    print(f"localcloud: {message}", flush=True)


def up(port: int, apigw_port: int) -> int:
    from localcloud import faults

    rules_file = faults.requested()
    running = state.read()
    if running:
        say(f"already running (pid {running.pid}) at {running.endpoint_url}")
        if rules_file is not None:
            say(f"note: {faults.FAULTS_VARIABLE} applies from the next start (make local-down)")
        return 0
    if rules_file is not None:
        try:
            rules = faults.load_rules(rules_file)
        except faults.FaultRulesError as error:
            say(f"error: {error}")
            return 2
        os.environ[faults.FAULTS_VARIABLE] = str(rules_file)  # absolute, for `serve`
        say(
            f"faults on: {len(rules)} rule(s) from {rules_file}; the functions' and pollers' "
            "AWS calls go through a fault proxy (deploys do not)"
        )
    from localcloud.loopback import port_is_free

    for name, number in (("AWS API", port), ("API Gateway", apigw_port)):
        if not port_is_free(number):
            say(
                f"error: port {number} ({name}) is already in use on 127.0.0.1. Stop what uses "
                "it or choose other ports: LOCALCLOUD_PORT=... LOCALCLOUD_APIGW_PORT=..."
            )
            return 1
    state.home().mkdir(parents=True, exist_ok=True)
    say(f"starting on 127.0.0.1:{port} (AWS API) and :{apigw_port} (API Gateway)")
    with state.log_file().open("ab") as log:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "localcloud",
                "serve",
                "--port",
                str(port),
                "--apigw-port",
                str(apigw_port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so `down` stops workers too
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            say(f"error: localcloud exited with code {child.returncode}; its log:")
            print(tail(state.log_file()), file=sys.stderr)
            return 1
        running = state.read()
        if running and running.pid == child.pid:
            say(f"ready (pid {child.pid}); log: {state.log_file()}")
            return 0
        time.sleep(0.2)
    state.stop_process_group(child.pid)
    say(f"error: not ready after {START_TIMEOUT_S:.0f} s; see {state.log_file()}")
    return 1


def down() -> int:
    recorded = state.recorded()
    if recorded is None:
        say("not running")
        return 0
    say(f"stopping pid {recorded.pid}")
    state.stop_process_group(recorded.pid)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and process_exists(recorded.pid):
        time.sleep(0.1)
    if process_exists(recorded.pid):
        os.killpg(recorded.pid, signal.SIGKILL)
    state.clear()
    say("stopped")
    return 0


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    if is_zombie(pid):  # it has exited; whoever reaps it may take a while (not `down`'s child)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    # A zombie of an exited child still "exists"; reap it if it is ours.
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return finished == 0


def is_zombie(pid: int) -> bool:
    """True when `pid` has exited and waits to be reaped: read from /proc where there is one
    (Linux), else from `ps` (macOS)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return False  # /proc is there, the process is not
    except (OSError, IndexError):
        return False
    listed = subprocess.run(
        ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return listed.stdout.strip().startswith("Z")


def tail(path: os.PathLike[str], lines: int = 40) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def serve(port: int, apigw_port: int) -> int:
    """The background process: the AWS API, the Lambda runtime and the API Gateway data plane."""
    from localcloud.faults import proxy as fault_proxies
    from localcloud.runtime import Runtime
    from localcloud.server import start

    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    cloud = start(port)
    # None unless LOCALCLOUD_FAULTS is set: then a fault proxy in front of moto for the data plane.
    fault_proxy = fault_proxies.start_from_environment(cloud.port)
    runtime = Runtime(
        endpoint_url=cloud.endpoint_url,
        state_dir=state.home(),
        apigw_port=apigw_port,
        data_plane_url=fault_proxy.endpoint_url if fault_proxy else None,
    )
    runtime.start()
    state.write(state.Running(os.getpid(), port, apigw_port))
    say(f"serving {cloud.endpoint_url}")
    if fault_proxy:
        say(f"faults: functions and pollers call AWS through {fault_proxy.endpoint_url}")
    try:
        stop.wait()
    finally:
        runtime.stop()
        if fault_proxy:
            fault_proxy.stop()
        cloud.stop()
        state.clear()
    return 0


def require_running() -> state.Running:
    running = state.read()
    if running is None:
        raise SystemExit("localcloud: not running (start it with `make local-up`)")
    return running


def client(running: state.Running, service: str) -> Any:
    import boto3

    env = running.env
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def status() -> int:
    running = state.read()
    if running is None:
        say("not running")
        return 3  # like `systemctl status`: non-zero when the service is down
    say(
        f"running (pid {running.pid}): AWS API {running.endpoint_url}, "
        f"API Gateway http://127.0.0.1:{running.apigw_port}"
    )
    cloudformation = client(running, "cloudformation")
    summaries = cloudformation.list_stacks()["StackSummaries"]
    live = [s for s in summaries if s["StackStatus"] != "DELETE_COMPLETE"]
    for summary in sorted(live, key=lambda s: s["StackName"]):
        print(f"  {summary['StackName']:<40} {summary['StackStatus']}")
        for line in stack_notes(cloudformation, summary["StackId"]):
            print(f"      {line}")
    if not live:
        print("  no stacks deployed (make deploy-all TARGET=local)")
    return 0


# As localcloud.cloudformation.registry writes them (importing it would load moto here).
NOTE_PREFIX = "localcloud: "
NOTE_SEPARATOR = "; "


def stack_notes(cloudformation: Any, stack_id: str) -> list[str]:
    """What a stack's resources say about localcloud: what it does not emulate (one line per
    note, with the resources it concerns) and what failed, from DescribeStackResources."""
    resources = cloudformation.describe_stack_resources(StackName=stack_id)["StackResources"]
    concerned: dict[tuple[str, str], list[str]] = {}
    failed = []
    for resource in resources:
        reason = resource.get("ResourceStatusReason") or ""
        if resource["ResourceStatus"].endswith("_FAILED"):
            failed.append(f"failed: {resource['LogicalResourceId']} {reason}")
        elif reason.startswith(NOTE_PREFIX):
            for note in reason.removeprefix(NOTE_PREFIX).split(NOTE_SEPARATOR):
                key = (resource["ResourceType"], note)
                concerned.setdefault(key, []).append(resource["LogicalResourceId"])
    notes = []
    for (resource_type, note), logical_ids in sorted(concerned.items()):
        # A type's own note names it ("AWS::X::Y accepted, not emulated: ..."); a property's
        # does not ("TracingConfig not emulated: ...").
        subject = note if note.startswith(resource_type) else f"{resource_type}: {note}"
        notes.append(f"{subject} ({', '.join(sorted(logical_ids))})")
    return failed + notes


def env_exports(prefix: str) -> int:
    """`export` lines for a shell: the AWS environment, plus the API URL and key once the
    management stack is deployed."""
    running = require_running()
    exports = dict(running.env)
    from botocore.exceptions import ClientError

    try:
        stack = client(running, "cloudformation").describe_stacks(StackName=f"{prefix}-management")
    except ClientError:  # not deployed (yet): nothing to point at
        stack = None
    if stack:
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0].get("Outputs", [])}
        key = client(running, "apigateway").get_api_key(
            apiKey=outputs["ApiKeyId"], includeValue=True
        )
        exports["WILDRYDES_API_URL"] = (
            running.api_url(outputs["ApiId"], "Prod") + "/submit-ride-completion"
        )
        exports["WILDRYDES_API_KEY"] = key["value"]
    for name, value in exports.items():
        print(f"export {name}={shlex.quote(value)}")
    if not stack:
        print(f"# {prefix}-management is not deployed yet: no WILDRYDES_API_URL / _KEY")
    return 0


def logs(function: str | None, limit: int) -> int:
    """Recent output of every function whose name contains `function` (all when omitted)."""
    running = require_running()
    cloudwatch = client(running, "logs")
    groups = cloudwatch.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    names = [g["logGroupName"] for g in groups if not function or function in g["logGroupName"]]
    if not names:
        say(f"no function logs{' matching ' + repr(function) if function else ''} yet")
        return 1
    for group in names:
        events = cloudwatch.filter_log_events(logGroupName=group)["events"]
        for event in events[-limit:]:
            print(f"[{group.removeprefix('/aws/lambda/')}] {event['message'].rstrip()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "serve"):
        command = commands.add_parser(name)
        command.add_argument(
            "--port", type=int, default=int(os.environ.get("LOCALCLOUD_PORT", state.DEFAULT_PORT))
        )
        command.add_argument(
            "--apigw-port",
            type=int,
            default=int(os.environ.get("LOCALCLOUD_APIGW_PORT", state.DEFAULT_APIGW_PORT)),
        )
    commands.add_parser("down")
    commands.add_parser("status")
    env_command = commands.add_parser("env")
    env_command.add_argument("--prefix", default="wild-rydes")
    logs_command = commands.add_parser("logs")
    logs_command.add_argument("function", nargs="?", help="part of a function name")
    logs_command.add_argument("--limit", type=int, default=50)
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args.port, args.apigw_port)
    if args.command == "serve":
        code = serve(args.port, args.apigw_port)
        # Everything localcloud holds lives in this process's memory and is forgotten now;
        # tearing moto's objects down one by one would only hold `down` up (~0.7 s).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if args.command == "status":
        return status()
    if args.command == "env":
        return env_exports(args.prefix)
    if args.command == "logs":
        return logs(args.function, args.limit)
    return down()
