"""Phase 09 on the lab, in one campaign (the suite's time is at its budget): the back-out
drill of the README. 09 refuses before 02 (B2: nothing to go back to); the scenario
``upgrade-fails`` stops the campaign during the upgrades with the primary upgraded; a change
published on the upgraded primary appears in 09's re-entry list before the revert (B3); a
dry run shows the reverts and changes nothing; 09 headless returns every server to the
source version and validates against the baseline (B2, B4); ``mdstools status`` and
``mdstools verify`` are clean; then 09 again in a kernel, its two decisions made on the
widgets.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from mdstools import audit
from mdstools.runbook import runbooks_dir
from tests.runbooks.conftest import SCALE, Factory, Lab
from tests.runbooks.test_interactive import step_through

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(600)]

CHOOSE = """\
assert choice.widget is not None
[b for b in choice.widget.children if getattr(b, "description", "") == "Choose"][0].click()
"""
CONFIRM = """\
assert ok.widget is not None
[b for b in ok.widget.children[1].children if b.description == "Confirm"][0].click()
"""


def run_09(lab: Lab, ticket: str, *extra: str) -> tuple[int, str]:
    """09 headless with its confirmation; (exit status, stderr)."""
    p = lab.cli(
        "run",
        "09",
        *extra,
        "-i",
        str(lab.inventory),
        "--ticket",
        ticket,
        "--reports",
        str(lab.reports),
        "-p",
        "confirm=true",
        "-p",
        f"time_scale={SCALE}",
    )
    return p.returncode, p.stderr


def versions(lab: Lab, clean: bool) -> dict[str, str]:
    """Each server's version as ``mdstools status`` reads it; ``clean``: it exits 0."""
    p = lab.cli("status", "-i", str(lab.inventory), "--format", "json")
    assert (p.returncode == 0) == clean, p.stdout[-2000:] + p.stderr[-2000:]
    return {s["name"]: s["version"] for s in json.loads(p.stdout)["servers"]}


def interactive_09(lab: Lab, ticket: str, cwd: Path) -> list[nbformat.NotebookNode]:
    """09 cell by cell in a kernel, Choose and Confirm clicked on the widgets."""
    nb = load_notebook_node(str(runbooks_dir() / "09_backout.ipynb"))
    nb = parameterize_notebook(
        nb,
        {
            "inventory": str(lab.inventory),
            "ticket": ticket,
            "operator": "alice",
            "reports_dir": str(lab.reports),
            "time_scale": float(SCALE),
        },
    )
    return step_through(nb, cwd, {"choice = run.select(": CHOOSE, "ok = run.confirm(": CONFIRM})


def test_upgrade_fails_then_09_goes_back_to_the_baseline(
    lab_factory: Factory, tmp_path: Path
) -> None:
    """B2, B3, B4: the drill, end to end, on one lab."""
    lab = lab_factory("upgrade-fails")
    code, err = run_09(lab, "CHG-EARLY")
    assert code == 1 and "nothing to go back to" in err, err[-2000:]

    p = lab.campaign("CHG-BACK")
    assert p.returncode == 1 and "stopped at phase 04" in p.stderr, p.stderr[-2000:]
    assert versions(lab, clean=False)["mds1"] == "R81.20"
    lab.control(action="change", domain="dom2", on="mds1", admin="late-admin", object="lost_host")

    code, err = run_09(lab, "CHG-BACK", "--dry-run")
    assert "DRY RUN mds1: would run [clish] set snapshot revert mdstools_CHG-BACK_mds1" in err
    assert versions(lab, clean=False)["mds1"] == "R81.20"

    code, err = run_09(lab, "CHG-BACK")
    assert code == 0, err[-3000:]
    assert set(versions(lab, clean=True).values()) == {"R81.10"}
    report = lab.reports / "CHG-BACK"
    with (report / "backout_reentry.csv").open(newline="") as f:
        lost = list(csv.DictReader(f))
    assert [(r["domain"], r["lost on"], r["admin"], r["object"]) for r in lost] == [
        ("dom2", "mds1", "late-admin", "lost_host")
    ]
    assert "lost_host" in (report / "backout_reentry_draft.mgmt.txt").read_text()
    journal = audit.read_journal(report / audit.JOURNAL)
    taken = {e["server"] for e in journal if e.get("event") == "snapshot"}
    assert taken == {"mds1", "mds2", "mlm1"}
    reverted = [e["server"] for e in journal if e.get("event") == "revert-end"]
    assert reverted == ["mds2", "mds1"]
    state = json.loads((report / "state.json").read_text())["phases"]
    assert state["09"]["verdict"] == "passed"
    assert lab.cli("verify", str(report)).returncode == 0

    cells = interactive_09(lab, "CHG-BACK", tmp_path)
    shown = "\n".join(str(o) for c in cells for o in c.get("outputs", []))
    assert "Traceback" not in shown
    decisions = [
        e for e in audit.read_journal(report / audit.JOURNAL) if e.get("kind") == "decision"
    ]
    assert [(d["name"], d["how"]) for d in decisions[-2:]] == [
        ("backout_servers", "widget"),
        ("confirm", "widget"),
    ]
    assert json.loads((report / "state.json").read_text())["phases"]["09"]["verdict"] == "passed"
