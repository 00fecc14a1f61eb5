"""A carried decision cannot be slipped into the record; what is carried is said where it
applies. (A bad value for it is one of the parameter cases of test_input.py.)"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from mdstools import audit
from mdstools.lab import runtime
from tests.reliability.conftest import changed, tree_digest
from tests.reliability.test_record import one_line_error, outside, run
from tests.runbooks.conftest import Lab, start


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """The default lab scenario, up for one test."""
    started = start(tmp_path / "default", "default")
    try:
        yield started
    finally:
        runtime.down(started.dir / "lab")


def header_text(nb: nbformat.NotebookNode) -> str:
    cell = next(c for c in nb.cells if c.cell_type == "code" and "mdstools.start(" in c.source)
    return "".join(str(o.get("data", {}).get("text/html", "")) for o in cell.outputs)


@pytest.mark.lab
@pytest.mark.timeout(600)
def test_a_carried_decision_added_by_hand_is_refused(lab: Lab) -> None:
    """continuous_management=True written into state.json by hand does not reach a later
    phase: the run refuses the edited record (exit 2, naming state.json), nothing is
    written, verify names the file; the record as the runs left it carries False."""
    assert run(lab, "00", "CHG-CW", None, "-p", "continuous_management=false").returncode == 0
    report = lab.reports / "CHG-CW"
    state_path = report / audit.STATE
    good = state_path.read_text()
    state = json.loads(good)
    assert state["carried"]["continuous_management"]["value"] is False
    state["carried"]["continuous_management"]["value"] = True
    state_path.write_text(json.dumps(state))
    before, before_out = tree_digest(report), outside(lab)
    one_line_error(run(lab, "01", "CHG-CW"), 2, "mdstools run:", "state.json")
    assert changed(before, tree_digest(report)) == [], "nothing ran, nothing was written"
    assert outside(lab) == before_out
    v = lab.cli("verify", str(report))
    assert v.returncode == 1 and "state.json" in v.stderr, v.stdout + v.stderr
    state_path.write_text(good)
    assert lab.cli("verify", str(report)).returncode == 0
    assert run(lab, "01", "CHG-CW").returncode == 0
    header = header_text(nbformat.read(str(report / "01_pre_upgrade_verification.ipynb"), 4))
    assert re.search(r"<td>False, carried forward from phase 00 \(run [0-9a-f]+, ", header)
    v = lab.cli("verify", str(report))
    assert v.returncode == 0 and "2 runs sealed" in v.stdout, v.stdout + v.stderr
