"""Run a main command with a second one beside it; the second's output follows the first's.

    python -m scripts.beside --beside "pre-commit run --all-files" -- pytest -q ...

`make test` runs lint this way: lint needs ~15 s of one core, and beside the tests it uses
the time their end-to-end files spend waiting (batching windows, deploy polls) instead of
adding its own. The main command's output streams as it comes (pytest's progress); the side
command's is kept and printed after it, with a header, so the two never interleave. Exit
code 0 only when both succeeded; otherwise a line says which failed.

Ctrl-C reaches both commands from the terminal (they share its process group), and each stops
its own way (pytest tears its fixtures down: the end-to-end suite stops its localclouds);
this process waits for both instead of dying first. A SIGTERM is passed on to both.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from types import FrameType


def start(command: Sequence[str], **options: object) -> subprocess.Popen[bytes] | None:
    try:
        return subprocess.Popen(command, **options)  # type: ignore[call-overload, no-any-return]
    except OSError as error:
        print(f"error: cannot run {shlex.join(command)}: {error}", file=sys.stderr)
        return None


def run_beside(main: Sequence[str], beside: Sequence[str]) -> int:
    with tempfile.TemporaryFile() as side_output:
        side = start(beside, stdout=side_output, stderr=subprocess.STDOUT)
        if side is None:
            return 2
        running = [side]

        def pass_on(signum: int, _frame: FrameType | None) -> None:
            for child in running:
                child.send_signal(signum)

        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the children get it
        previous_term = signal.signal(signal.SIGTERM, pass_on)
        try:
            child = start(main)
            if child is not None:
                running.append(child)
            main_code = child.wait() if child is not None else None
            side_code = side.wait()
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, previous_term)
        side_output.seek(0)
        sys.stdout.write(f"--- {shlex.join(beside)} (run beside {shlex.join(main[:1])}):\n")
        sys.stdout.flush()
        sys.stdout.buffer.write(side_output.read())
        sys.stdout.flush()
    if main_code is None:
        return 2
    if main_code or side_code:
        print(
            f"failed: {shlex.join(main[:1])} exited {main_code}, "
            f"{shlex.join(beside[:1])} exited {side_code}",
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.beside", description=__doc__)
    parser.add_argument("--beside", required=True, help="the side command, one shell-quoted string")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the main command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    beside = shlex.split(args.beside)
    if not command or not beside:
        parser.error("give both commands: --beside '<side command>' -- <main command>")
    return run_beside(command, beside)


if __name__ == "__main__":
    sys.exit(main())
