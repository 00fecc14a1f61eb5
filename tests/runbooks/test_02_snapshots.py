"""Phase 02 on the lab takes a Gaia snapshot of every MDS and MLM (B1): recorded in
``backups.json`` and the journal, taken again by a rerun, refused without the space."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mdstools import audit
from mdstools.procedure.snapshots import snapshot_name
from tests.runbooks.conftest import SCALE, Factory

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(600)]

SERVERS = ["mds1", "mds2", "mlm1"]


def _snapshot_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] == "step" and e.get("event") == "snapshot"]


def test_02_takes_one_snapshot_per_server_and_a_rerun_takes_them_again(
    lab_factory: Factory,
) -> None:
    """B1: after 02, each server has the ticket's snapshot, complete, on the source
    version, in backups.json (beside the backups) and one journal entry each; a rerun of 02
    deletes each and takes it again."""
    lab = lab_factory("default")
    ticket = "CHG-SNAP"
    first = lab.campaign(ticket, "--to", "02")
    assert first.returncode == 0, first.stderr[-3000:]
    report = lab.reports / ticket
    record = json.loads((report / "backups.json").read_text())
    assert [b["server"] for b in record["backups"]] == ["mds1", "mds2"]
    snaps = record["snapshots"]
    assert [s["server"] for s in snaps] == SERVERS
    for s in snaps:
        assert s["name"] == snapshot_name(ticket, s["server"]) == f"mdstools_{ticket}_{s['server']}"
        assert s["status"] == "complete" and s["version"] == "R81.10", s
        assert s["size_bytes"] > 0 and s["size"].endswith("G") and s["taken_at"].endswith("Z")
    events = audit.read_journal(report / audit.JOURNAL)
    assert [e["server"] for e in _snapshot_events(events)] == SERVERS
    status = lab.control(action="status")
    on_lab = {s["name"]: s["snapshots"] for s in status["servers"]}  # type: ignore[index]
    assert all(on_lab[n] == [snapshot_name(ticket, n)] for n in SERVERS), on_lab

    again = lab.cli(
        "run", "02", "-i", str(lab.inventory), "--ticket", ticket, "--reports",
        str(lab.reports), "-p", "confirm=true", "-p", f"time_scale={SCALE}",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    events = audit.read_journal(report / audit.JOURNAL)
    deleted = [
        e for e in events if e["kind"] == "command" and "delete snapshot" in str(e["command"])
    ]
    assert sorted(e["server"] for e in deleted) == SERVERS
    assert len(_snapshot_events(events)) == 2 * len(SERVERS)
    record = json.loads((report / "backups.json").read_text())
    assert [s["status"] for s in record["snapshots"]] == ["complete"] * 3
    assert lab.cli("verify", str(report)).returncode == 0


def test_02_without_snapshot_space_fails_naming_the_server_and_the_space(
    lab_factory: Factory,
) -> None:
    """B1: on the last MDS the space for snapshots is too small: 02 stops at the space
    gate, which names the server and the space missing; no snapshot is started."""
    lab = lab_factory("snapshot-space-short")
    p = lab.campaign("CHG-SNAPSPACE", "--to", "02")
    assert p.returncode == 1 and "stopped at phase 02" in p.stderr, p.stderr[-3000:]
    gates = [
        e
        for e in audit.read_journal(lab.reports / "CHG-SNAPSPACE" / audit.JOURNAL)
        if e["kind"] == "gate" and e["name"] == "snapshot space"
    ]
    assert len(gates) == 1 and not gates[0]["passed"], gates
    reason = gates[0]["reason"]
    assert "mds2 (needs " in reason and "5.0G available" in reason and "missing" in reason
    assert "mds1" not in reason and "mlm1" not in reason
    status = lab.control(action="status")
    assert all(not s["snapshots"] for s in status["servers"])  # type: ignore[index]


def test_02_with_snapshots_false_takes_none_and_says_so(lab_factory: Factory) -> None:
    """B1's escape hatch: with take_snapshots=false 02 passes with a WARNING, takes no snapshot,
    and backups.json records every server skipped."""
    lab = lab_factory("default")
    p = lab.campaign("CHG-NOSNAP", "--to", "02", "-p", "take_snapshots=false")
    assert p.returncode == 0, p.stderr[-3000:]
    assert "gate WARNING snapshot of every MDS and MLM (B1)" in p.stderr, p.stderr[-3000:]
    record = json.loads((lab.reports / "CHG-NOSNAP" / "backups.json").read_text())
    assert [s["status"] for s in record["snapshots"]] == ["skipped"] * 3
    status = lab.control(action="status")
    assert all(not s["snapshots"] for s in status["servers"])  # type: ignore[index]
