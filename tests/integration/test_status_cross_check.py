"""``mdstools status --cross-check`` over SSH: ``show-servers-and-processes`` read on each
server whose release has it and compared with its ``mdsstat``, in the notes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mdstools.lab import runtime
from tests.integration.test_lab_client import cli, lab_up

pytestmark = pytest.mark.lab


def status_notes(path: Path, *extra: str) -> list[str]:
    p = cli("status", "-i", str(path / "inventory.yml"), "--format", "json", *extra)
    assert p.returncode == 0, p.stderr
    notes: list[str] = json.loads(p.stdout)["notes"]
    return notes


def test_the_api_view_agrees_with_mdsstat_on_every_server(tmp_path: Path) -> None:
    lab_up(tmp_path, domains=2)
    try:
        plain = status_notes(tmp_path)
        notes = status_notes(tmp_path, "--cross-check")
        api = runtime.control(tmp_path, {"action": "status"})["api"]
    finally:
        runtime.down(tmp_path)
    assert not any("show-servers-and-processes" in n for n in plain)
    for server in ("mds1", "mds2", "mlm1"):
        assert f"{server}: show-servers-and-processes agrees with mdsstat" in notes, notes
    assert api["open_sessions"] == 0


def test_a_release_without_it_is_named(tmp_path: Path) -> None:
    lab_up(tmp_path, domains=1, source="R81", target="R81.20")
    try:
        notes = status_notes(tmp_path, "--cross-check")
    finally:
        runtime.down(tmp_path)
    assert (
        "show-servers-and-processes needs R81.10 JHF T79 or later; not cross-checked: "
        "mds1, mds2, mlm1"
    ) in notes, notes
