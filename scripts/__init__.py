"""The project's tooling (Make targets run these modules).

The shared layer's package (`wildrydes`: the ride contract, the log keys and metric names) is
importable from every script, as in the functions, so the tools read the one list of names.
"""

import sys
from pathlib import Path

_LAYER = str(Path(__file__).resolve().parents[1] / "shared" / "layer")
if _LAYER not in sys.path:
    sys.path.append(_LAYER)
