"""scripts/services.py: the service list every tool uses comes from the manifests alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scripts import services
from scripts.services import ManifestError, Received, discover, parse_manifest

CONSUMER = """\
name = "{name}"
kind = "consumer"
package = "{package}"
description = "a consumer"

[received]
table_output = "TableName"
key = {{ rideId = "{{ride_id}}" }}
recorded_at = "seenAt"
"""


def write(root: Path, name: str, text: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "service.toml").write_text(text)
    return folder / "service.toml"


def test_the_repository_lists_the_producer_first_then_the_consumers_by_name() -> None:
    assert services.names() == ("management", "accounting", "extraordinary", "notification")
    assert services.names("consumer") == ("accounting", "extraordinary", "notification")
    accounting = services.get("accounting")
    assert accounting.received is not None
    assert accounting.received.item_key("abc") == {"pk": {"S": "RIDE#abc"}}
    assert accounting.folder.name == "accounting"


def test_every_service_folder_has_a_template_and_its_package() -> None:
    for manifest in discover():
        assert (manifest.folder / "template.yaml").is_file(), manifest.name
        assert (manifest.folder / "src" / manifest.package / "__init__.py").is_file(), manifest.name


def test_make_and_ci_read_the_same_list_without_the_venv() -> None:
    # System python3 before `make setup`: standard library only.
    listed = subprocess.run(
        [sys.executable, "-m", "scripts.services", "list", "--kind", "consumer"],
        cwd=services.REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout.split() == list(services.names("consumer"))


def test_a_new_consumer_folder_is_discovered(tmp_path: Path) -> None:
    write(tmp_path, "payments", CONSUMER.format(name="payments", package="payments"))
    write(tmp_path, "billing-ops", CONSUMER.format(name="billing-ops", package="billing_ops"))
    assert services.names(services_dir=tmp_path) == ("billing-ops", "payments")
    # A folder make new-service is still writing (hidden) is not a service yet.
    write(tmp_path, ".new-loyalty", CONSUMER.format(name=".new-loyalty", package="loyalty"))
    assert services.names(services_dir=tmp_path) == ("billing-ops", "payments")
    assert discover(tmp_path)[0].received == Received(
        "TableName", {"rideId": "{ride_id}"}, "seenAt"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = ", "cannot read it"),
        (CONSUMER.format(name="other", package="x"), "'name' must be the folder's name"),
        (CONSUMER.format(name="payments", package="x").replace("consumer", "worker", 1), "kind"),
        (CONSUMER.format(name="payments", package="Pay-ments"), "'package' must be a Python"),
        (
            CONSUMER.format(name="payments", package="x").replace("[received]", "[other]"),
            "received",
        ),
        (CONSUMER.format(name="payments", package="x").replace("{ride_id}", "id"), "{ride_id}"),
        (
            CONSUMER.format(name="payments", package="x").replace('description = "a consumer"', ""),
            "'description'",
        ),
    ],
)
def test_a_broken_manifest_names_its_file_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, "payments", text)
    with pytest.raises(ManifestError, match=r"payments/service\.toml") as raised:
        parse_manifest(path)
    assert message in str(raised.value)


def test_a_service_folder_without_a_manifest_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "payments", CONSUMER.format(name="payments", package="payments"))
    (tmp_path / "orphan").mkdir()
    with pytest.raises(ManifestError, match=r"services/orphan/ has no service.toml"):
        discover(tmp_path)


def test_an_unknown_service_is_a_clear_error() -> None:
    with pytest.raises(ManifestError, match="'nope' is not a service: use one of management"):
        services.get("nope")
