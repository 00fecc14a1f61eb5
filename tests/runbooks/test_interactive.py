"""A runbook stepped through cell by cell in a real kernel, decisions made on the widgets.

This is what an engineer does in JupyterLab: run a cell, look, tick the boxes, run the next
cell. The widget's state is set from the kernel side here (the browser tests in
tests/browser/ click them).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from mdstools import audit
from mdstools.lab import runtime, scenarios
from mdstools.runbook import ensure_kernel, runbooks_dir

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]


CLICK_ACKNOWLEDGE = """\
assert ack.widget is not None
for w in ack.widget.children:
    if hasattr(w, "item_id"):
        w.value = True
[b for b in ack.widget.children if getattr(b, "description", "") == "Acknowledge"][0].click()
"""


def step_through(
    nb: nbformat.NotebookNode, cwd: Path, after: dict[str, str]
) -> list[nbformat.NotebookNode]:
    """Execute every cell in order; after a cell containing a key, run its code too."""
    client = NotebookClient(
        nb, kernel_name=ensure_kernel(), timeout=240, resources={"metadata": {"path": str(cwd)}}
    )
    executed = []
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            client.execute_cell(cell, i)
            executed.append(cell)
            for key, code in after.items():
                if key in cell.source:
                    extra = nbformat.v4.new_code_cell(code)
                    client.execute_cell(extra, i)
                    executed.append(extra)
    return executed


def test_01_warnings_acknowledged_with_the_widgets(tmp_path: Path) -> None:
    """R3 interactively: the acknowledgement checkboxes, read by the next cell, journaled."""
    lab_dir = tmp_path / "lab"
    runtime.up(lab_dir, scenarios.LabOptions(scenario="verifier-warnings", time_scale=0.002))
    try:
        reports = tmp_path / "reports"
        nb = load_notebook_node(str(runbooks_dir() / "01_pre_upgrade_verification.ipynb"))
        nb = parameterize_notebook(
            nb,
            {
                "inventory": str(lab_dir / "inventory.yml"),
                "ticket": "CHG-UI",
                "operator": "alice",
                "reports_dir": str(reports),
                "time_scale": 0.002,
            },
        )
        cells = step_through(
            nb,
            tmp_path,
            {
                "run.acknowledge(": CLICK_ACKNOWLEDGE,
            },
        )
        widget_outputs = [
            o
            for c in cells
            for o in c.outputs
            if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
        ]
        assert widget_outputs, "the acknowledgement was a widget"
        verdict = cells[-1].outputs
        assert verdict and "PASS" in json.dumps(verdict)
        events = audit.read_journal(reports / "CHG-UI" / audit.JOURNAL)
        ack = [e for e in events if e["kind"] == "decision"]
        assert ack[-1]["how"] == "widget" and ack[-1]["operator"] == "alice"
        assert len(ack[-1]["value"]) == 4
        state = json.loads((reports / "CHG-UI" / "state.json").read_text())
        assert state["phases"]["01"]["verdict"] == "passed"
    finally:
        runtime.down(lab_dir)


def test_unclicked_decision_waits_then_stops_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R3 with Run All: the gate cell waits for the button, then stops; nothing races past."""
    monkeypatch.setenv("MDSTOOLS_DECISION_TIMEOUT_S", "2")
    lab_dir = tmp_path / "lab"
    runtime.up(lab_dir, scenarios.LabOptions(scenario="verifier-warnings", time_scale=0.002))
    try:
        nb = load_notebook_node(str(runbooks_dir() / "01_pre_upgrade_verification.ipynb"))
        nb = parameterize_notebook(
            nb,
            {
                "inventory": str(lab_dir / "inventory.yml"),
                "ticket": "CHG-UI2",
                "reports_dir": str(tmp_path / "r"),
                "time_scale": 0.002,
            },
        )
        from nbclient.exceptions import CellExecutionError

        with pytest.raises(CellExecutionError) as exc:
            step_through(nb, tmp_path, {})
        assert "was not made within 2 s" in str(exc.value) and "Acknowledge" in str(exc.value)
        assert "Traceback" not in str(exc.value) and 'File "' not in str(exc.value)
        phase = json.loads((tmp_path / "r" / "CHG-UI2" / "state.json").read_text())["phases"]
        assert phase["01"]["verdict"] == "failed"
        assert "decision 'warnings reviewed' was not made within 2 s" in phase["01"]["cause"]
        assert "decision_timeout_s" in phase["01"]["cause"]
    finally:
        runtime.down(lab_dir)
