"""The runbooks really executed by papermill against the lab, from the CLI, per scenario."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import nbformat
import pytest

from mdstools import audit
from mdstools.lab import runtime
from mdstools.phases import CAMPAIGN
from tests.runbooks.conftest import SCALE, Factory, assert_no_secrets, top_cell

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(600)]


def test_default_campaign_passes_every_phase_and_verifies(lab_factory: Factory) -> None:
    """The whole procedure, R1..R12 and X1/X5, carried out and visible in the record."""
    lab = lab_factory("default")
    p = lab.campaign("CHG-OK")
    assert p.returncode == 0, p.stderr[-3000:]
    report = lab.reports / "CHG-OK"
    for nb in sorted(report.glob("0*.ipynb")):
        assert "PASSED" in top_cell(nbformat.read(str(nb), as_version=4)), nb.name
        assert nb.with_suffix(".html").exists()
    assert len(list(report.glob("0*.ipynb"))) == 9
    # the scheduler log shows what happened, phase by phase
    assert re.search(r"\[CHG-OK 03\] gate PASS upgraded servers on target", p.stderr)
    events = audit.read_journal(report / audit.JOURNAL)
    kinds = {e["kind"] for e in events}
    assert {"command", "decision", "gate", "phase", "run"} <= kinds
    cmd = next(e for e in events if e["kind"] == "command")
    assert {"server", "command", "exit_status", "duration_s", "output_sha256"} <= set(cmd)
    decisions = [e for e in events if e["kind"] == "decision"]
    assert all(e["how"] == "parameter" and e["operator"] for e in decisions)
    gates = {e["requirement"] for e in events if e["kind"] == "gate" and e["passed"]}
    assert {"R1", "R2", "R3", "R4", "R5", "R7", "R9", "R10", "R11", "R12", "R14", "X1"} <= gates
    for ph in CAMPAIGN:  # each notebook names the requirements it carries out
        text = (report / ph.notebook).read_text()
        assert all(rid in text for rid in ph.requirements), ph.notebook
    assert json.loads((report / "freeze.json").read_text())["markers"], "R6: freeze started"
    backups = json.loads((report / "backups.json").read_text())["backups"]
    assert all(b["file"].startswith("/var/log/mds_backups/") and b["sha256"] for b in backups)
    assert "R16" in (report / "00_discover.ipynb").read_text(), "R16: gateways out of scope"
    assert "continuous management" in (report / "03_upgrade_primary.ipynb").read_text()  # R13
    status = lab.control(action="status")
    mlm = next(s for s in status["servers"] if s["name"] == "mlm1")  # type: ignore[index]
    assert mlm["version"] == "R81.20", "R8: log servers on the MDS version"
    order = [
        e["server"] for e in events if e["kind"] == "step" and e.get("event") == "upgrade-start"
    ]
    assert order == ["mds1", "mds2", "mlm1"], "R5: primary first, then the others"
    objs = [
        e for e in events if e["kind"] == "command" and "mds_fix_cmas_clms_version" in e["command"]
    ]
    assert objs, "R12: the fix ran (as a detached job)"
    for nb_path in sorted(report.glob("0*.ipynb")):  # no progress-bar noise, small records
        nb = nbformat.read(str(nb_path), as_version=4)
        streams = [
            o["text"]
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.outputs
            if o.get("output_type") == "stream"
        ]
        assert not any("\r" in t for t in streams), f"carriage-return redraws in {nb_path.name}"
        assert nb_path.stat().st_size < 1_500_000, nb_path.name
        assert sum(t.count("\n") for t in streams) < 400, nb_path.name
    html08 = (report / "08_validate.html").read_text()
    assert "<svg" in html08 and "mds1 down" in html08, "the campaign timeline is in the HTML"
    window = json.loads((report / "estimate.json").read_text())  # each phase against the estimate
    rows = {r["phase"]: r for r in window["comparison"]}
    assert window["time_scale"] == float(SCALE)
    assert window["headline"].startswith("2 MDS, 1 MLM, ")
    for pid in ("00", "01", "02", "03", "04", "05", "06", "07", "08"):
        assert rows[pid]["estimated s"] > 0 and rows[pid]["ratio"] > 0, pid
    assert rows["total (phases run)"]["real s"] > 0
    assert "<th>estimated</th>" in html08 and "<th>ratio</th>" in html08
    v = lab.cli("verify", str(report))
    assert v.returncode == 0 and "9 runs sealed" in v.stdout  # X5
    assert_no_secrets(lab)
    meta = lab.notebook("CHG-OK", "03_upgrade_primary.ipynb").metadata.papermill
    assert meta["parameters"]["interactive"] is False
    assert not any("password" in k for k in meta["parameters"])
    assert_no_secrets(lab)
    # one byte changed anywhere: verify names the file and fails
    target = report / "05_upgrade_log_servers.ipynb"
    data = bytearray(target.read_bytes())
    data[-10] = ord("X") if data[-10] != ord("X") else ord("Y")
    target.write_bytes(bytes(data))
    bad = lab.cli("verify", str(report))
    assert bad.returncode == 1 and "05_upgrade_log_servers.ipynb" in bad.stderr
    b = lab.cli("bundle", str(report))
    assert b.returncode == 1 and "does not verify" in b.stderr


def test_second_campaign_gets_exit_3_and_sigterm_writes_aborted(lab_factory: Factory) -> None:
    """X4: one run at a time per environment; an aborted run is recorded and unlocks."""
    lab = lab_factory("slow")
    env = lab.env()
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mdstools",
            "campaign",
            "-i",
            str(lab.inventory),
            "--ticket",
            "CHG-A",
            "--reports",
            str(lab.reports),
            "--from",
            "01",
            "--to",
            "01",
            "-p",
            "time_scale=1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=lab.dir,
    )
    lock_file = lab.locks / "lab-slow.lock"
    deadline = time.monotonic() + 60
    while not lock_file.exists():
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.1)
    second = lab.campaign("CHG-B")
    assert second.returncode == 3
    assert f"pid {first.pid}" in second.stderr and "CHG-A" in second.stderr
    journal = lab.reports / "CHG-A" / "journal.jsonl"
    while '"kind": "command"' not in (journal.read_text() if journal.exists() else ""):
        assert time.monotonic() < deadline and first.poll() is None, "phase 01 never began"
        time.sleep(0.1)
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=120)
    assert first.returncode == 1
    nb = lab.notebook("CHG-A", "01_pre_upgrade_verification.ipynb")
    assert "ABORTED" in top_cell(nb)
    assert not lock_file.exists(), "the lock is released"


def test_a_sigterm_as_soon_as_the_lock_is_taken_releases_it(lab_factory: Factory) -> None:
    """A signal may come before the first phase begins (or between two phases): the
    campaign ends with exit 1 and one line, never the default death that leaves its lock."""
    lab = lab_factory("default")
    proc = subprocess.Popen(
        lab.campaign_argv("CHG-T", scale=None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=lab.env(),
        cwd=lab.dir,
    )
    lock_file = lab.locks / "lab-default.lock"
    deadline = time.monotonic() + 60
    while not lock_file.exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "aborted by SIGTERM" in err
    assert not lock_file.exists(), "the lock is released"


def test_dry_run_changes_nothing(lab_factory: Factory) -> None:
    """X2: the plan and the dry run show every step and change nothing (X6: on the lab)."""
    lab = lab_factory("default")
    p = lab.campaign("CHG-DRY", "--dry-run")
    assert p.returncode == 0, p.stderr[-3000:]
    assert "DRY RUN mds1: would run [clish] installer upgrade" in p.stderr
    for name in ("mds1", "mds2", "mlm1"):  # B1: the snapshots of 02 shown, none taken
        assert f"DRY RUN {name}: would run [clish] add snapshot mdstools_CHG-DRY_{name}" in p.stderr
    status = runtime.control(lab.dir / "lab", {"action": "status"})
    assert {s["version"] for s in status["servers"]} == {"R81.10"}  # type: ignore[index]
    assert all(not s["snapshots"] for s in status["servers"])  # type: ignore[index]
    plan = lab.cli("plan", "-i", str(lab.inventory))
    assert plan.returncode == 0 and "installer upgrade" in plan.stdout
    for ph in ("00", "03", "07", "08"):
        assert f"\n{ph} " in plan.stdout


def test_mds_setup_method_verifies_and_upgrades(lab_factory: Factory) -> None:
    """R2, R5, R8 with the mds_setup method: Pre-Upgrade Verification Only, then Upgrade."""
    import yaml

    lab = lab_factory("default")
    data = yaml.safe_load(lab.inventory.read_text())
    data["upgrade"] = {"method": "mds_setup", "package": "$MDSDIR/scripts/mds_setup"}
    inv = lab.inventory.with_name("inventory-mds_setup.yml")
    inv.write_text(yaml.safe_dump(data))
    p = lab.cli(
        "campaign",
        "-i",
        str(inv),
        "--ticket",
        "CHG-MS",
        "--reports",
        str(lab.reports),
        "--confirm",
        "-p",
        f"time_scale={SCALE}",
        "--to",
        "05",
    )
    assert p.returncode == 0, p.stderr[-3000:]
    events = audit.read_journal(lab.reports / "CHG-MS" / audit.JOURNAL)
    commands = " ".join(e["command"] for e in events if e["kind"] == "command")
    assert "mds_setup" in commands and "installer upgrade" not in commands
    status = lab.control(action="status")
    assert {s["version"] for s in status["servers"]} == {"R81.20"}  # type: ignore[index]
