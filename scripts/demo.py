"""`make demo`: the whole fan-out on this machine, with no AWS account and no Docker.

Starts localcloud, deploys the five stacks with the real `sam build` / `sam deploy`, submits
rides that show the filter policies at work, prints who received what and where to look next,
and stops localcloud again (unless it was already running before the demo).
"""

from __future__ import annotations

import json
import sys
import time

from localcloud import cli as localcloud_cli
from localcloud import state
from scripts import smoke, stacks

# Three rides that exercise each filter: the seed's long, expensive ride reaches everyone; a
# short cheap ride skips extraordinary; a free ride reaches only notification.
DEMO_RIDES = [
    smoke.SEED_RIDE,
    {
        "from": "Mitte",
        "to": "Kreuzberg",
        "duration": 12,
        "distance": 4.5,
        "customer": "c-1001",
        "fare": 14.2,
    },
    {
        "from": "Depot",
        "to": "Stable",
        "duration": 5,
        "distance": 1,
        "customer": "c-1002",
        "fare": 0,
    },
]
STEPS = 4


def step(number: int, text: str) -> None:
    print(f"\n==> [{number}/{STEPS}] {text}", flush=True)


def ride_arguments() -> list[str]:
    return [argument for ride in DEMO_RIDES for argument in ("--ride", json.dumps(ride))]


def next_steps() -> None:
    seed = json.dumps(smoke.SEED_RIDE, separators=(",", ":"))
    print(
        f"""
Where to look next:
  make local-up && make deploy-all TARGET=local   keep the system running after the demo
  eval "$(make -s local-env)"                     point boto3 / the AWS CLI / curl at it
  curl -s -X POST "$WILDRYDES_API_URL" -H "x-api-key: $WILDRYDES_API_KEY" \\
       -H 'Content-Type: application/json' \\
       -d '{seed}'
  make logs SERVICE=accounting TARGET=local        a service's function logs
  make trace RIDE=<id> TARGET=local                one ride's journey through every service
  make stats TARGET=local                          per service: rides received, processed, failed
  make smoke TARGET=local                          the seed ride's fan-out check
  make local-down                                  stop everything"""
    )


def main() -> int:
    started = time.monotonic()
    was_running = state.read() is not None
    step(1, "starting localcloud (moto + Lambda runtime + API Gateway, on 127.0.0.1)")
    if localcloud_cli.main(["up"]) != 0:
        return 1
    try:
        step(2, f"deploying {', '.join(('platform', *stacks.SERVICES))}")
        if stacks.main(["--target", "local", "deploy", "platform", *stacks.SERVICES]) != 0:
            return 1
        step(3, "submitting rides through the API and watching the fan-out")
        outcome = smoke.main(["--target", "local", *ride_arguments()])
        if outcome != 0:
            return outcome
        next_steps()
    finally:
        step(4, "stopping localcloud" if not was_running else "leaving localcloud running")
        if not was_running:
            localcloud_cli.main(["down"])
    print(f"\ndemo finished in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
