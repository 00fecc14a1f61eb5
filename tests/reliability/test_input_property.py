"""Property-based: whatever an inventory or a `-p` list holds, the answer is a validated value
or one clear error (InventoryError naming a field, ParameterError naming the parameter),
never another exception."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdstools.cli import parse_params
from mdstools.errors import InventoryError, ParameterError
from mdstools.inventory import CONNECTION_KEYS, SERVER_KEYS, TOP_KEYS, Inventory, load, parse
from mdstools.phases import PARAMS, PHASES, check_params

from .test_input import BASE

HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "$(touch /tmp/pwned)",
        "`id`",
        "a;b",
        "../../etc/passwd",
        "/var/log/../x",
        "\x00",
        "\n",
        "\udcff",
        "\u202e",
        "é",
        "R81.20\n",
        "x" * 5000,
        "env:",
        "file:",
        "-oProxyCommand=id",
        "primary",
        "clish",
        "mds1",
        "192.0.2.11",
        "::1",
        "/var/log/ok",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | HOSTILE
)
KEYS = st.sampled_from(sorted(TOP_KEYS | SERVER_KEYS | CONNECTION_KEYS | {"method", "package"}))
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(KEYS | st.text(max_size=10) | st.integers(), inner, max_size=5)
    ),
    max_leaves=20,
)
FIELD_PATHS = [
    ("environment",),
    ("target_version",),
    ("backup_dir",),
    ("time_scale",),
    ("upgrade",),
    ("upgrade", "method"),
    ("upgrade", "package"),
    ("connection",),
    ("connection", "username"),
    ("connection", "key_file"),
    ("connection", "password"),
    ("connection", "host_key_policy"),
    ("connection", "connect_timeout_s"),
    ("servers",),
    ("servers", 0),
    ("servers", 1, "name"),
    ("servers", 1, "host"),
    ("servers", 0, "port"),
    ("servers", 2, "role"),
    ("servers", 1, "shell"),
    ("servers", 2, "keepalive_s"),
    ("servers", 0, "expert_password"),
]


def _mutated(path: tuple[str | int, ...], value: Any, drop: bool) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(BASE))
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    if drop and isinstance(node, dict):
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return data


def _outcome(data: Any, where: Path) -> None:
    try:
        inv = parse(data, where / "inventory.yml")
    except InventoryError as exc:
        text = str(exc)
        assert text and "\n" not in text and len(text) < 1000, text
        assert exc.field, f"no field named: {text}"
        return
    assert isinstance(inv, Inventory)
    assert math.isfinite(inv.time_scale) and inv.time_scale > 0


SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(path=st.sampled_from(FIELD_PATHS), value=VALUES, drop=st.booleans())
def test_any_value_in_any_field_gives_an_inventory_or_a_named_error(
    tmp_path: Path, path: tuple[str | int, ...], value: Any, drop: bool
) -> None:
    _outcome(_mutated(path, value, drop), tmp_path)


@SETTINGS
@given(data=VALUES)
def test_any_document_gives_an_inventory_or_a_named_error(tmp_path: Path, data: Any) -> None:
    _outcome(data, tmp_path)


@SETTINGS
@given(data=VALUES, junk=st.binary(max_size=200))
def test_any_file_gives_an_inventory_or_one_clear_error(
    tmp_path: Path, data: Any, junk: bytes
) -> None:
    """Through the file: YAML of any structure, then arbitrary bytes."""
    path = tmp_path / "inventory.yml"
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except (yaml.YAMLError, UnicodeEncodeError):
        text = repr(data)
    for raw in (text.encode("utf-8", "surrogateescape"), junk):
        path.write_bytes(raw)
        try:
            inv = load(path)
        except InventoryError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 1000
            continue
        assert isinstance(inv, Inventory)


NAMES = st.sampled_from([p.name for p in PARAMS] + ["mds_password", "token", "x", "", " a"])
RAW = (
    st.text(max_size=30)
    | st.sampled_from(["true", "no", "NaN", "-Infinity", "1e999", "[1,2]", '["mds1:a"]', "{}"])
    | st.integers().map(str)
    | st.floats().map(repr)
)


@settings(max_examples=500, deadline=None)
@given(pairs=st.lists(st.tuples(NAMES, RAW) | st.text(max_size=20).map(lambda t: (t, None))))
def test_any_p_list_gives_typed_params_or_one_clear_error(
    pairs: list[tuple[str, str | None]],
) -> None:
    items = [name if raw is None else f"{name}={raw}" for name, raw in pairs]
    try:
        params = parse_params(items)
    except ValueError as exc:
        assert str(exc).startswith("-p ") and "\n" not in str(exc)
        return
    for ph in PHASES:
        try:
            checked = check_params(params, [ph])
        except ParameterError as exc:
            text = str(exc)
            assert text.startswith("-p ") and "\n" not in text and len(text) < 1000, text
            continue
        assert set(checked) == set(params)
        for name, value in checked.items():
            spec = next(p for p in PARAMS if p.name == name)
            assert ph.id in spec.phases
            if spec.type == "bool":
                assert isinstance(value, bool)
            if spec.type == "float" or (spec.type.startswith("Optional") and value is not None):
                assert isinstance(value, float) and math.isfinite(value) and value > 0
