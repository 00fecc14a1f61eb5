"""``mdstools rehearse`` without a lab: the rehearsal's ticket and folder, phase 00 checked
to be reads only, the failed gates and the summary, and every refused input (exit 2, nothing
written). The rehearsal against labs is in tests/runbooks/test_rehearse.py."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from mdstools import rehearsal
from mdstools.cli import main
from mdstools.commands.base import Command
from mdstools.errors import ExitCode, MdstoolsError
from mdstools.inventory import load
from mdstools.phases import phase
from mdstools.procedure import steps

INVENTORY: dict[str, Any] = {
    "environment": "prod-emea",
    "target_version": "R81.20",
    "upgrade": {"method": "cpuse", "package": "/var/log/upload/pkg.tgz"},
    "connection": {
        "username": "admin",
        "key_file": "./id_ed25519",
        "password": "env:MDS_PASSWORD",
        "expert_password": "env:MDS_EXPERT",
        "known_hosts": "./known_hosts",
    },
    "servers": [
        {"name": "mds1", "host": "192.0.2.11", "role": "primary"},
        {"name": "mds2", "host": "192.0.2.12", "role": "secondary", "shell": "clish"},
        {"name": "mlm1", "host": "192.0.2.21", "role": "log-server"},
    ],
}


@pytest.fixture
def inv_path(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(INVENTORY))
    return path


def test_the_rehearsal_ticket_is_the_ticket_with_a_suffix_and_stays_a_ticket_id() -> None:
    assert rehearsal.rehearsal_ticket("CHG-1234") == "CHG-1234-rehearsal"
    assert rehearsal.rehearsal_ticket("A" * 54) == "A" * 54 + "-rehearsal"
    with pytest.raises(MdstoolsError) as exc:
        rehearsal.rehearsal_ticket("A" * 55)
    assert "at most 54 characters" in str(exc.value)
    with pytest.raises(MdstoolsError):
        rehearsal.rehearsal_ticket("../x")


def test_the_layout_keeps_both_records_inside_the_rehearsal_folder(tmp_path: Path) -> None:
    layout = rehearsal.Layout(tmp_path, "CHG-1")
    assert layout.folder == tmp_path / "CHG-1-rehearsal"
    assert layout.baseline == (
        tmp_path / "CHG-1-rehearsal" / "discovery" / "CHG-1-rehearsal" / "baseline.json"
    )
    assert layout.twin_reports == tmp_path / "CHG-1-rehearsal" / "twin"
    assert tmp_path / "CHG-1" not in (layout.folder, *layout.folder.parents)


def test_phase_00_sends_only_reads(inv_path: Path) -> None:
    """Every command of phase 00 (what status reads) is a read, for every kind of login."""
    inv = load(inv_path)
    rehearsal.check_read_only(inv)
    assert steps.PHASE_STEPS["00"], "phase 00 has steps"
    assert not any(s.shown(inv).mutating for s in steps.PHASE_STEPS["00"])


def test_a_mutating_step_in_phase_00_stops_the_rehearsal(
    inv_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inv = load(inv_path)
    first = steps.PHASE_STEPS["00"][0]
    writes = replace(first, build=lambda inv, **_: Command("mdsstop", str, mutating=True))
    monkeypatch.setitem(steps.PHASE_STEPS, "00", (first, writes))
    with pytest.raises(MdstoolsError, match=r"phase 00 would change a server \(mdsstop\)"):
        rehearsal.check_read_only(inv)


def test_the_failed_gates_of_one_run_are_read_from_the_journal(tmp_path: Path) -> None:
    lines = [
        {"kind": "gate", "run_id": "r1", "passed": True, "label": "PASS", "name": "ok"},
        {
            "kind": "gate",
            "run_id": "r1",
            "passed": False,
            "label": "FAIL",
            "name": "upgraded servers on target",
            "requirement": "R5",
            "reason": "mds2 is on R81.10",
        },
        {"kind": "gate", "run_id": "r0", "passed": False, "label": "FAIL", "name": "old"},
    ]
    (tmp_path / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    assert rehearsal.failed_gates(tmp_path, "r1") == [
        "FAIL upgraded servers on target (R5): mds2 is on R81.10"
    ]
    assert rehearsal.failed_gates(tmp_path / "none", "r1") == []


def test_the_discovery_is_unreachable_when_its_kernel_or_its_reachability_gate_says_so(
    tmp_path: Path,
) -> None:
    gate = {"kind": "gate", "run_id": "r-00", "passed": False, "label": "FAIL"}
    journal = tmp_path / "journal.jsonl"
    journal.write_text(json.dumps({**gate, "name": "baseline present"}) + "\n")
    found = _Outcome("00", "failed", "a check failed")
    assert not rehearsal.unreachable(found, tmp_path)
    journal.write_text(json.dumps({**gate, "name": "every server reachable"}) + "\n")
    assert rehearsal.unreachable(found, tmp_path)
    found.unreachable = True
    assert rehearsal.unreachable(found, tmp_path / "none")


class _Outcome:
    def __init__(self, phase_id: str, verdict: str, cause: str | None) -> None:
        self.phase = phase(phase_id)
        self.verdict = verdict
        self.cause = cause
        self.notebook = Path(f"/r/{self.phase.notebook}")
        self.run_id = "r-" + phase_id
        self.unreachable = False


def test_the_estimate_is_the_real_inventorys_with_the_baseline(inv_path: Path) -> None:
    """The estimate module's numbers for the real deployment, by phase, with its text; a
    document that is not a baseline falls back to the inventory alone."""
    from mdstools import estimate

    inv = load(inv_path)
    got = rehearsal.window_estimate(inv, None)
    expected = estimate.estimate(inv, None)
    assert got["total_s"] == expected.total_s > 0
    assert got["phases"]["03"]["seconds"] == expected.by_phase()["03"]
    assert got["lines"] == expected.lines() and got["critical_path"]
    assert rehearsal.window_estimate(inv, {"no": "servers"})["total_s"] == expected.total_s


def test_the_summary_names_the_phase_and_cause_that_stopped_and_escapes_data(
    tmp_path: Path, inv_path: Path
) -> None:
    summary = rehearsal.Summary(
        ticket="CHG-1",
        name="CHG-1-rehearsal",
        environment="prod",
        folder=tmp_path / "CHG-1-rehearsal",
        scenario="upgrade-fails",
        estimate=rehearsal.window_estimate(load(inv_path), None),
    )
    summary.add_outcome(_Outcome("00", "passed", None), tmp_path)
    summary.add_outcome(_Outcome("04", "failed", "mds2: upgrade failed\x1b[2J"), tmp_path)
    summary.verdict = "stopped"
    text = rehearsal.render(summary)
    assert "STOPPED" in text
    assert "phase 04" in text and "mds2: upgrade failed" in text
    assert "\x1b" not in text, "a cause from a server cannot move the cursor"
    assert "Change window estimate" in text and "critical path" in text
    assert summary.stopped is not None and summary.stopped["phase"] == "04"
    as_json, as_text = rehearsal.write(summary)
    data = json.loads(as_json.read_text())
    assert data["stopped"]["phase"] == "04" and data["verdict"] == "stopped"
    assert [p["verdict"] for p in data["phases"]] == ["passed", "failed"]
    assert as_text.read_text() == text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ticket", "A" * 55], "at most 54 characters"),
        (["--ticket", "CHG-1", "--scenario", "nope"], "unknown scenario 'nope'"),
        (["--ticket", "CHG-1", "-p", "no_such=1"], "no_such"),
        (["--ticket", "CHG-1", "--time-scale", "0"], "--time-scale"),
    ],
)
def test_bad_input_is_refused_with_exit_2_and_writes_nothing(
    tmp_path: Path,
    inv_path: Path,
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reports = tmp_path / "reports"
    rc = main(["rehearse", "-i", str(inv_path), "--reports", str(reports), *argv])
    assert rc == ExitCode.USAGE
    assert message in capsys.readouterr().err
    assert not reports.exists()


def test_a_bad_inventory_or_an_earlier_rehearsal_is_refused_with_exit_2(
    tmp_path: Path, inv_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({**INVENTORY, "servers": []}))
    rc = main(["rehearse", "-i", str(bad), "--ticket", "CHG-1", "--reports", str(reports)])
    assert rc == ExitCode.USAGE
    assert "servers" in capsys.readouterr().err
    assert not reports.exists()
    earlier = reports / "CHG-1-rehearsal"
    earlier.mkdir(parents=True)
    (earlier / "rehearsal.json").write_text("{}")
    rc = main(["rehearse", "-i", str(inv_path), "--ticket", "CHG-1", "--reports", str(reports)])
    assert rc == ExitCode.USAGE
    assert "already holds a rehearsal" in capsys.readouterr().err
    assert sorted(p.name for p in reports.rglob("*")) == ["CHG-1-rehearsal", "rehearsal.json"]


def test_a_baseline_the_lab_cannot_twin_ends_with_exit_1_and_leaves_no_twin(
    tmp_path: Path,
    inv_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The discovery (stubbed here) wrote a baseline that ``lab up --like`` refuses: the
    summary says the campaign did not run and why, exit 1, the twin's directory removed."""
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", None)

    def discover(inv: Any, layout: rehearsal.Layout, *_: Any) -> _Outcome:
        layout.baseline.parent.mkdir(parents=True)
        layout.baseline.write_text(json.dumps({"servers": "none"}))
        return _Outcome("00", "passed", None)

    monkeypatch.setattr(rehearsal, "discover", discover)
    reports = tmp_path / "reports"
    argv = ["rehearse", "-i", str(inv_path), "--ticket", "CHG-9", "--reports", str(reports)]
    assert main(argv) == ExitCode.FAILED
    out = capsys.readouterr()
    assert "mdstools lab up:" in out.err
    summary = json.loads((reports / "CHG-9-rehearsal" / "rehearsal.json").read_text())
    assert summary["verdict"] == "not run" and not summary["phases"]
    why = "the twin could not be started: mdstools lab up:"
    assert any(n.startswith(why) for n in summary["notes"])
    assert "NOT RUN" in out.out
    assert not list((tmp_path / "tmp").iterdir()), "the twin's directory is removed"
