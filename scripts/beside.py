"""Run a main command with a second one beside it; the second's output follows the first's.

    python -m scripts.beside --beside "pre-commit run --all-files" -- pytest -q ...

`make test` runs lint this way: lint needs ~15 s of one core, and the test suite's last
minute (the end-to-end file alone) leaves a core idle, so side by side they take about as
long as the tests alone. The main command's output streams as it comes (pytest's progress);
the side command's is kept and printed after it, with a header, so the two never interleave.
Exit code 0 only when both succeeded; otherwise a line says which failed.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence


def run_beside(main: Sequence[str], beside: Sequence[str]) -> int:
    with tempfile.TemporaryFile() as side_output:
        try:
            side = subprocess.Popen(beside, stdout=side_output, stderr=subprocess.STDOUT)
        except OSError as error:
            print(f"error: cannot run {shlex.join(beside)}: {error}", file=sys.stderr)
            return 2
        try:
            main_code = subprocess.call(main)
        except OSError as error:
            print(f"error: cannot run {shlex.join(main)}: {error}", file=sys.stderr)
            main_code = 2
        except KeyboardInterrupt:
            side.terminate()
            raise
        side_code = side.wait()
        side_output.seek(0)
        sys.stdout.write(f"--- {shlex.join(beside)} (run beside {shlex.join(main[:1])}):\n")
        sys.stdout.flush()
        sys.stdout.buffer.write(side_output.read())
        sys.stdout.flush()
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
