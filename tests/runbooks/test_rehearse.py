"""``mdstools rehearse`` end to end: a lab stands in for the real deployment (its inventory is
the "real" one), the rehearsal makes a twin of it, runs the campaign there and takes the twin
down. The stand-in's own event log (``lab events``: every mdsstart/mdsstop, HA change,
publish, full sync, upgrade, reboot, snapshot, restore) and its state show that the
rehearsal only read it."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mdstools import audit
from mdstools.lab import runtime
from mdstools.phases import CAMPAIGN
from tests.runbooks.conftest import SCALE, Factory, Lab, all_text

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def tmp() -> Iterator[Path]:
    """The temporary directory of the rehearsals of a test (the twin's directory is made
    there): short, so that the twin's control socket fits a Unix socket's path."""
    path = Path(tempfile.mkdtemp(prefix="rh-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def rehearse(lab: Lab, tmp: Path, ticket: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """``mdstools rehearse`` on ``lab``'s inventory, as a scheduler runs it; its temporary
    directories (the twin's among them) under ``tmp``."""
    argv = ["rehearse", "-i", str(lab.inventory), "--ticket", ticket]
    argv += ["--reports", str(lab.reports), "--time-scale", SCALE, *extra]
    return subprocess.run(
        [sys.executable, "-m", "mdstools", *argv],
        capture_output=True,
        text=True,
        timeout=800,
        stdin=subprocess.DEVNULL,
        env={**lab.env(), "TMPDIR": str(tmp)},
        cwd=lab.dir,
    )


def real_state(lab: Lab) -> tuple[Any, Any, Any]:
    """The stand-in's event log, its servers and its domains as the lab sees them (versions,
    process and HA state, revisions, object versions, snapshots); no API session is left
    open on it."""
    events = runtime.control(lab.dir / "lab", {"action": "events", "last": 100_000})
    status: Any = lab.control(action="status")
    assert status["api"]["open_sessions"] == 0
    return events, status["servers"], status["domains"]


def twin_processes(tmp: Path) -> list[str]:
    """Command lines of running labs served from under ``tmp``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "lab serve" in cmd and str(tmp) in cmd:
            found.append(cmd)
    return found


def test_a_rehearsal_passes_on_the_twin_and_only_reads_the_real_servers(
    lab_factory: Factory, tmp: Path
) -> None:
    """The whole campaign passes on the twin (exit 0), both records verify, the stand-in
    saw no change, the twin is gone, and no secret of the real inventory is written."""
    real = lab_factory("default")
    before = real_state(real)
    p = rehearse(real, tmp, "CHG-1", "--confirm")
    assert p.returncode == 0, p.stderr[-4000:]
    assert real_state(real) == before, "the rehearsal changed the real servers"
    folder = real.reports / "CHG-1-rehearsal"
    assert not (real.reports / "CHG-1").exists(), "the real ticket's folder is untouched"
    summary = json.loads((folder / "rehearsal.json").read_text())
    assert summary["verdict"] == "passed" and summary["stopped"] is None
    assert summary["discovery"]["verdict"] == "passed"
    assert [(s["phase"], s["verdict"]) for s in summary["phases"]] == [
        (ph.id, "passed") for ph in CAMPAIGN
    ]
    assert summary["twin"]["environment"] == "lab-default-twin"
    assert "PASSED" in p.stdout and "change-window estimate" in p.stdout
    assert (folder / "rehearsal.txt").read_text() in p.stdout
    discovery = folder / "discovery" / "CHG-1-rehearsal"
    twin = folder / "twin" / "CHG-1-rehearsal"
    assert json.loads((discovery / "baseline.json").read_text())["servers"]
    for record in (discovery, twin):
        v = real.cli("verify", str(record))
        assert v.returncode == 0, v.stderr
    assert sorted(p.name for p in discovery.glob("0*.ipynb")) == ["00_discover.ipynb"]
    events = audit.read_journal(twin / audit.JOURNAL)
    decisions = [e for e in events if e["kind"] == "decision"]
    assert decisions and all(e["how"] == "parameter" for e in decisions), "--confirm reached it"
    upgraded = [e["server"] for e in events if e.get("event") == "upgrade-start"]
    assert upgraded == ["mds1", "mds2", "mlm1"], "the twin has the real server names"
    assert not twin_processes(tmp), "the twin is down"
    assert not list(tmp.glob("mdstools-twin-*")), "the twin's directory is gone"
    text = all_text(real.reports)
    for secret in real.secrets:
        assert secret not in text, "a secret of the real inventory was written"


def test_a_scenario_that_stops_the_twin_exits_1_naming_the_phase_and_cause(
    lab_factory: Factory, tmp: Path
) -> None:
    """The verifier finds an error on the twin's last MDS: exit 1, the summary says phase 01
    would have stopped the real campaign, with the cause and the failed gate; the stand-in is
    unchanged; --keep-twin leaves the twin up, with how to stop it."""
    real = lab_factory("default")
    before = real_state(real)
    p = rehearse(real, tmp, "CHG-2", "--confirm", "--scenario", "verifier-error", "--keep-twin")
    summary = json.loads((real.reports / "CHG-2-rehearsal" / "rehearsal.json").read_text())
    kept = Path(summary["twin"].get("kept", ""))
    try:
        assert p.returncode == 1, p.stderr[-4000:]
        assert real_state(real) == before, "the rehearsal changed the real servers"
        assert summary["verdict"] == "stopped"
        stop = summary["stopped"]
        assert stop["phase"] == "01", stop
        assert "Invalid object names" in stop["cause"] + " ".join(stop["gates"])
        assert "mds2" in stop["cause"] + " ".join(stop["gates"])
        assert stop["gates"] and all(g.startswith("FAIL ") for g in stop["gates"])
        assert [s["phase"] for s in summary["phases"]] == ["00", "01"]
        assert "what would have stopped the real campaign" in p.stdout
        assert "phase 01" in p.stdout
        assert "stopped at phase 01" in p.stderr, "the campaign's own cause line"
        assert runtime.read_state(kept) is not None, "--keep-twin: the twin is still up"
        assert f"mdstools lab down --dir {kept}" in p.stdout
        status = runtime.control(kept, {"action": "status"})
        assert {s["name"] for s in status["servers"]} == {"mds1", "mds2", "mlm1"}
    finally:
        if kept.name:
            runtime.down(kept)


def test_sigterm_takes_the_twin_down_and_unreachable_real_servers_exit_4(
    lab_factory: Factory, tmp: Path
) -> None:
    """SIGTERM while the campaign runs on the twin: the twin is taken down and its directory
    removed, the summary says aborted. Then, the real servers not answering: exit 4 after
    phase 00, the summary says so, and no twin is started."""
    real = lab_factory("default")
    argv = [sys.executable, "-m", "mdstools", "rehearse", "-i", str(real.inventory)]
    argv += ["--ticket", "CHG-4", "--reports", str(real.reports), "--confirm"]
    proc = subprocess.Popen(
        [*argv, "--time-scale", SCALE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**real.env(), "TMPDIR": str(tmp)},
        cwd=real.dir,
        text=True,
    )
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "[CHG-4-rehearsal 01]" in line:  # the twin's campaign is under way
                break
        assert twin_processes(tmp), "".join(seen[-20:])
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, out
    assert not twin_processes(tmp), "the twin is down after SIGTERM"
    assert not list(tmp.glob("mdstools-twin-*")), "the twin's directory is gone"
    summary = json.loads((real.reports / "CHG-4-rehearsal" / "rehearsal.json").read_text())
    assert summary["verdict"] == "aborted", summary
    runtime.down(real.dir / "lab")
    p = rehearse(real, tmp, "CHG-3", "--confirm")
    assert p.returncode == 4, p.stderr[-4000:]
    summary = json.loads((real.reports / "CHG-3-rehearsal" / "rehearsal.json").read_text())
    assert summary["verdict"] == "unreachable" and not summary["phases"]
    assert summary["stopped"]["phase"] == "00"
    assert any("every server reachable (R2)" in g for g in summary["stopped"]["gates"])
    assert "NOT RUN: the real servers could not be reached" in p.stdout
    assert "starting the twin" not in p.stderr
    assert "Traceback" not in p.stderr
    assert not twin_processes(tmp)
    assert not list(tmp.glob("mdstools-twin-*"))
