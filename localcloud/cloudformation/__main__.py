"""`python -m localcloud.cloudformation [--all]`: the README's compatibility table, generated
from the registry (or, with --all, every type localcloud emulates and accepts)."""

from __future__ import annotations

import sys

from localcloud.cloudformation.registry import main

raise SystemExit(main(sys.argv[1:]))
