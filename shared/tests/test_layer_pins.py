"""The layer ships the same versions the tests (and localcloud) run, so local equals AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def pins(path: Path) -> dict[str, str]:
    result = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            result[name.split("[")[0].lower().replace("_", "-")] = version
    return result


LAYER = pins(REPO_ROOT / "shared/layer/requirements.txt")
DEV = pins(REPO_ROOT / "requirements-dev.txt")


@pytest.mark.parametrize("package", sorted(LAYER))
def test_layer_pins_match_the_dev_toolchain(package: str) -> None:
    assert LAYER[package], f"{package} is not pinned exactly in the layer"
    assert LAYER[package] == DEV.get(package), f"{package}: layer {LAYER[package]} != dev"
