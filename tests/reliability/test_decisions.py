"""Decisions that are not made, failures in a kernel, and locks broken from a notebook.

* Run All with nobody at the keyboard: the decision times out; the phase stops before its
  changes; the journal and ``state.json`` say which decision and what to do; the locks are
  released; ``mdstools verify`` tells the truth about the unsealed interactive run.
* ``break_lock = True`` in a notebook breaks what ``--break-lock`` breaks and nothing more:
  a lock whose process is alive on this host is refused; a stale one is broken and the
  journal says whose, how old and by whom. ``-p break_lock`` is refused by the CLI, which
  has ``--break-lock`` for it.
* A kernel that cannot receive a click during a cell: the decision stays pending.
* The lab stopped while a phase runs in a kernel: one line, no frames; the phase recorded
  failed once; the Verdict cell shows it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from mdstools import audit, lock
from mdstools.lab import runtime, scenarios
from mdstools.runbook import ensure_kernel, runbooks_dir
from tests.reliability.conftest import changed, tree_digest
from tests.runbooks.conftest import SCALE, Lab
from tests.runbooks.test_interactive import step_through

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

TICKET = "CHG-DEC"
NB02 = "02_prepare_ha.ipynb"


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    """The default lab, 01 passed headless for TICKET; kernels started by this test use
    the test's own lock directory."""
    runtime.up(tmp_path / "lab", scenarios.LabOptions(scenario="default", time_scale=float(SCALE)))
    monkeypatch.setenv(lock.ENV_DIR, str(tmp_path / "locks"))
    lab = Lab(tmp_path, "default")
    try:
        r = lab.cli(
            *("run", "01", "-i", str(lab.inventory), "--ticket", TICKET),
            *("--reports", str(lab.reports)),
        )
        assert r.returncode == 0, r.stderr[-2000:]
        yield lab
    finally:
        runtime.down(tmp_path / "lab")


def notebook02(lab: Lab, **params: Any) -> nbformat.NotebookNode:
    nb = load_notebook_node(str(runbooks_dir() / NB02))
    return parameterize_notebook(
        nb,
        {
            "inventory": str(lab.inventory),
            "ticket": TICKET,
            "operator": "alice",
            "reports_dir": str(lab.reports),
            "time_scale": float(SCALE),
            **params,
        },
    )


def events_of_last_02(lab: Lab) -> list[dict[str, Any]]:
    events = audit.read_journal(lab.reports / TICKET / audit.JOURNAL)
    ids = [e["run_id"] for e in events if e.get("phase") == "02"]
    return [e for e in events if ids and e["run_id"] == ids[-1]]


def verify(lab: Lab) -> subprocess.CompletedProcess[str]:
    return lab.cli("verify", str(lab.reports / TICKET))


def lock_file(lab: Lab) -> Path:
    return lab.locks / "lab-default.lock"


def test_a_decision_nobody_makes_times_out_and_the_record_says_so(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, runbooks_unchanged: None
) -> None:
    """Interactive 02, no click: after $MDSTOOLS_DECISION_TIMEOUT_S the phase stops naming
    'confirm' and what to do; nothing changed on the lab but its lock, both locks are
    released, and verify reports the run as journaled, not sealed yet."""
    monkeypatch.setenv("MDSTOOLS_DECISION_TIMEOUT_S", "1")
    outside = tree_digest(lab.dir, exclude=[lab.reports, lab.dir / "lab"])
    with pytest.raises(CellExecutionError) as exc:
        step_through(notebook02(lab), lab.dir, {})
    message = str(exc.value)
    assert "decision 'confirm' was not made within 1 s" in message, message
    assert "raise decision_timeout_s" in message and "Traceback" not in message

    events = events_of_last_02(lab)
    end = [e for e in events if e["kind"] == "phase" and e.get("event") == "end"]
    assert len(end) == 1 and end[0]["verdict"] == "failed"
    assert "'confirm' was not made within 1 s" in end[0]["cause"]
    changes = [
        e["command"]
        for e in events
        if e["kind"] == "command" and e.get("mutating") and "lock.json" not in e["command"]
    ]
    assert changes == [], "the phase stopped before its changes"
    assert [e["event"] for e in events if e["kind"] == "lock"] == ["held", "released"]
    assert not lock_file(lab).exists(), "the host-wide lock is released"
    state = json.loads((lab.reports / TICKET / "state.json").read_text())["phases"]["02"]
    assert state["verdict"] == "failed" and "decision_timeout_s" in state["cause"]
    assert state["decisions"] == {}

    v = verify(lab)
    assert v.returncode == 0, v.stdout + v.stderr
    assert "NOT SEALED YET" in v.stdout and "phase 02" in v.stdout, v.stdout
    assert changed(outside, tree_digest(lab.dir, exclude=[lab.reports, lab.dir / "lab"])) == []


def test_break_lock_in_a_notebook_refuses_a_lock_whose_process_is_alive(
    lab: Lab, runbooks_unchanged: None
) -> None:
    """``break_lock=True`` does not break a lock held by a live process on this host: the
    phase is LOCKED, the lock file is untouched, nothing of the refused run is journaled."""
    info = lock.new_info("lab-default", "CHG-OTHER", "03", "bob", os.getpid())
    lock_file(lab).parent.mkdir(parents=True, exist_ok=True)
    lock_file(lab).write_text(json.dumps(info))
    before = lock_file(lab).read_bytes()
    lines = len(audit.read_journal(lab.reports / TICKET / audit.JOURNAL))
    with pytest.raises(CellExecutionError) as exc:
        step_through(notebook02(lab, break_lock=True), lab.dir, {})
    message = str(exc.value)
    assert "LockHeld: another run holds the lock of lab-default" in message, message
    assert f"pid {os.getpid()}" in message and "wait for it to finish" in message
    assert "--break-lock" not in message and "Traceback" not in message
    assert lock_file(lab).read_bytes() == before
    assert len(audit.read_journal(lab.reports / TICKET / audit.JOURNAL)) == lines
    assert verify(lab).returncode == 0


def test_break_lock_in_a_notebook_breaks_a_stale_lock_on_record(
    lab: Lab, runbooks_unchanged: None
) -> None:
    """A stale lock (its process is gone): without break_lock the notebook says how to
    break it; with break_lock=True it is broken, journaled with the holder, its age and the
    operator; the CLI refuses ``-p break_lock`` and names --break-lock."""
    p = subprocess.Popen(["true"])
    p.wait()
    info = lock.new_info("lab-default", "CHG-OLD", "03", "bob", p.pid)
    info["host"] = socket.gethostname()
    lock_file(lab).parent.mkdir(parents=True, exist_ok=True)
    lock_file(lab).write_text(json.dumps(info))

    with pytest.raises(CellExecutionError) as exc:
        step_through(notebook02(lab), lab.dir, {})
    message = str(exc.value)
    assert "STALE" in message and "set break_lock = True in the parameters cell" in message

    with pytest.raises(CellExecutionError) as exc:
        step_through(notebook02(lab, break_lock=True, decision_timeout_s=1.0), lab.dir, {})
    assert "decision 'confirm' was not made within 1 s" in str(exc.value)
    events = events_of_last_02(lab)
    broken = [e for e in events if e["kind"] == "lock" and e.get("event") == "broken"]
    assert len(broken) == 1, events[:4]
    assert broken[0]["holder"]["pid"] == p.pid and broken[0]["stale"] is True
    assert broken[0]["operator"] == "alice" and broken[0]["age"].endswith(("s", "min"))
    start = next(e for e in events if e["kind"] == "phase" and e.get("event") == "start")
    assert start["params"]["break_lock"] is True
    assert not lock_file(lab).exists(), "released when the phase stopped"

    r = lab.cli(
        *("run", "02", "-i", str(lab.inventory), "--ticket", TICKET),
        *("--reports", str(lab.reports), "-p", "break_lock=true"),
    )
    assert r.returncode == 2, r.stderr
    assert "-p break_lock: set by the command line. use --break-lock" in r.stderr, r.stderr
    assert verify(lab).returncode == 0


def test_a_kernel_that_cannot_wait_says_click_then_run_again_and_the_phase_goes_on(
    lab: Lab, runbooks_unchanged: None
) -> None:
    """ipykernel older than 7.4 (told by its version): the awaiting cell fails at once
    (no wait of decision_timeout_s) saying to click and run the cell again, the phase is
    not ended by it; after the click the same cell goes on and 02 passes."""
    nb = notebook02(lab)
    client = NotebookClient(
        nb, kernel_name=ensure_kernel(), timeout=240, resources={"metadata": {"path": str(lab.dir)}}
    )
    with client.setup_kernel():
        index = {
            key: next(i for i, c in enumerate(nb.cells) if key in c.source)
            for key in ("ok = run.confirm(", "run.decided(await ok)")
        }
        for i, cell in enumerate(nb.cells[: index["run.decided(await ok)"]]):
            if cell.cell_type == "code":
                client.execute_cell(cell, i)
        patch = nbformat.v4.new_code_cell(
            "from mdstools import ui\nui.ipykernel_version = lambda: '6.29.5'"
        )
        client.execute_cell(patch, index["ok = run.confirm("])
        waiting = nb.cells[index["run.decided(await ok)"]]
        t0 = time.monotonic()
        with pytest.raises(CellExecutionError) as exc:
            client.execute_cell(waiting, index["run.decided(await ok)"])
        assert time.monotonic() - t0 < 10, "no wait for decision_timeout_s"
        message = str(exc.value)
        assert "this kernel (ipykernel 6.29.5) cannot receive a click while a cell runs" in message
        assert "click Confirm above, then run this cell again" in message
        assert not [e for e in events_of_last_02(lab) if e.get("event") == "end"], "not ended"
        click = nbformat.v4.new_code_cell(
            "[b for b in ok.widget.children[1].children if b.description == 'Confirm'][0].click()"
        )
        client.execute_cell(click, index["ok = run.confirm("])
        for i, cell in enumerate(nb.cells):
            if i >= index["run.decided(await ok)"] and cell.cell_type == "code":
                client.execute_cell(cell, i)
    assert "PASSED" in json.dumps(nb.cells[-1].outputs)
    decisions = [e for e in events_of_last_02(lab) if e["kind"] == "decision"]
    assert [(d["value"], d["how"]) for d in decisions] == [(True, "widget")]
    state = json.loads((lab.reports / TICKET / "state.json").read_text())["phases"]["02"]
    assert state["verdict"] == "passed"


def test_a_server_lost_in_a_kernel_is_a_banner_and_the_phase_is_recorded_failed_once(
    lab: Lab, runbooks_unchanged: None
) -> None:
    """The lab stops while interactive 02 runs: the cell that meets it ends in a line
    (no frames), the phase is recorded failed with that cause and the host-wide lock is
    released; the Verdict cell run afterwards shows FAILED without a second result."""
    nb = notebook02(lab)
    client = NotebookClient(
        nb, kernel_name=ensure_kernel(), timeout=240, resources={"metadata": {"path": str(lab.dir)}}
    )
    with client.setup_kernel():
        stop_at = next(i for i, c in enumerate(nb.cells) if "common.ha_state(run)" in c.source)
        for i, cell in enumerate(nb.cells[:stop_at]):
            if cell.cell_type == "code":
                client.execute_cell(cell, i)
        assert runtime.down(lab.dir / "lab")
        with pytest.raises(CellExecutionError) as exc:
            client.execute_cell(nb.cells[stop_at], stop_at)
        message = str(exc.value)
        assert "Traceback" not in message and 'File "' not in message, message
        assert "MdstoolsError: no MDS answered show-ha-state" in message, message
        assert "refused the connection" in message
        client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
    shown = json.dumps(nb.cells[-1].outputs)
    assert "Phase 02 FAILED" in shown and "no MDS answered show-ha-state" in shown
    events = events_of_last_02(lab)
    ends = [e for e in events if e["kind"] == "phase" and e.get("event") == "end"]
    assert len(ends) == 1 and ends[0]["verdict"] == "failed", ends
    state = json.loads((lab.reports / TICKET / "state.json").read_text())["phases"]["02"]
    assert state["verdict"] == "failed" and "no MDS answered" in state["cause"]
    assert not lock_file(lab).exists(), "the host-wide lock is released"
    assert verify(lab).returncode == 0
