"""Inventory loading and validation: every error names the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mdstools.errors import InventoryError
from mdstools.inventory import Role, load

BASE: dict[str, Any] = {
    "environment": "prod-emea",
    "target_version": "R81.20",
    "upgrade": {"method": "cpuse", "package": "/var/log/upload/pkg.tgz"},
    "connection": {
        "username": "admin",
        "key_file": "./id_ed25519",
        "password": "env:MDS_PASSWORD",
        "expert_password": "file:secrets/expert",
        "known_hosts": "./known_hosts",
    },
    "servers": [
        {"name": "mds1", "host": "192.0.2.11", "port": 22, "role": "primary"},
        {"name": "mds2", "host": "192.0.2.12", "role": "secondary", "shell": "clish"},
        {"name": "mlm1", "host": "192.0.2.21", "role": "log-server", "username": "other"},
    ],
}


def write(tmp_path: Path, data: Any) -> Path:
    p = tmp_path / "inventory.yml"
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return p


def variant(**changes: Any) -> dict[str, Any]:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data.update(changes)
    return data


def test_loads_defaults_overrides_and_relative_paths(tmp_path: Path) -> None:
    inv = load(write(tmp_path, BASE))
    assert inv.environment == "prod-emea" and inv.target_version == "R81.20"
    assert inv.primary.name == "mds1" and [s.name for s in inv.secondaries] == ["mds2"]
    assert [s.name for s in inv.log_servers] == ["mlm1"] and inv.server("mlm1").is_log_server
    mds2 = inv.server("mds2")
    assert mds2.port == 22 and mds2.shell == "clish" and mds2.role is Role.SECONDARY
    assert mds2.connection.key_file == tmp_path / "id_ed25519"
    assert mds2.connection.expert_password == f"file:{tmp_path / 'secrets/expert'}"
    assert inv.server("mlm1").connection.username == "other"
    assert inv.server("mds1").connection.username == "admin"
    assert inv.backup_dir == "/var/log/mds_backups" and len(inv.sha256) == 64


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (variant(servers=[]), "servers", "non-empty list"),
        (variant(target_version="8.20"), "target_version", "R81.20"),
        (variant(upgrade={"method": "iso"}), "upgrade.method", "cpuse, mds_setup"),
        (
            variant(connection={"password": "hunter2", "key_file": "k"}),
            "connection.password",
            "not the secret itself",
        ),
        (
            variant(connection={"key_file": "k", "host_key_policy": "yolo"}),
            "connection.host_key_policy",
            "strict, accept-new",
        ),
        (variant(color="blue"), "color", "unknown field"),
        (
            variant(
                servers=[
                    {"name": "a", "host": "h", "role": "primary", "port": 70000, "key_file": "k"}
                ]
            ),
            "servers[0].port",
            "1..65535",
        ),
        (
            variant(servers=[{"name": "a", "host": "h", "role": "boss", "key_file": "k"}]),
            "servers[0].role",
            "primary, secondary, log-server",
        ),
        (
            variant(servers=[{"name": "a", "host": "h", "role": "secondary", "key_file": "k"}]),
            "servers",
            "exactly one server must have role: primary",
        ),
        (
            variant(
                servers=[
                    {"name": "a", "host": "h", "role": "primary", "key_file": "k"},
                    {"name": "a", "host": "h2", "role": "secondary", "key_file": "k"},
                ]
            ),
            "servers[1].name",
            "duplicate",
        ),
        (
            variant(
                servers=[
                    {"name": "a", "host": "h", "role": "primary", "key_file": "k"},
                    {"name": "b", "host": "h", "role": "secondary", "key_file": "k"},
                ]
            ),
            "servers[1].host",
            "also used by a",
        ),
        (
            variant(
                connection={"key_file": "k"},
                servers=[{"name": "a", "host": "h", "role": "primary", "shell": "clish"}],
            ),
            "servers[0].expert_password",
            "expert_password",
        ),
        (
            variant(connection={}, servers=[{"name": "a", "host": "h", "role": "primary"}]),
            "servers[0]",
            "neither key_file nor password",
        ),
        (
            variant(servers=[{"host": "h", "role": "primary", "key_file": "k"}]),
            "servers[0].name",
            "required",
        ),
    ],
)
def test_errors_name_file_field_and_allowed_values(
    tmp_path: Path, data: Any, field: str, words: str
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(InventoryError) as exc:
        load(path)
    assert exc.value.field == field
    assert str(path) in str(exc.value) and words in str(exc.value)
    assert "\n" not in str(exc.value), "one line"


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match=r"line 3, column 1: not valid YAML"):
        load(write(tmp_path, "environment: x\nservers: [\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="cannot read the inventory"):
        load(tmp_path / "nope.yml")


def test_a_secret_value_is_never_echoed_in_the_error(tmp_path: Path) -> None:
    data = variant(connection={"password": "S3cr3t-Value", "key_file": "k"})
    with pytest.raises(InventoryError) as exc:
        load(write(tmp_path, data))
    assert "S3cr3t-Value" not in str(exc.value)
