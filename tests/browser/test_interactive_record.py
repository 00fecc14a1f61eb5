"""Interactive runs reach the record: ``mdstools jupyter``'s own launcher, in Chromium.

One lab (``verifier-warnings``, time scale 0.002) and one JupyterLab for this module,
started from :func:`mdstools.jupyter.launcher` exactly as ``mdstools jupyter`` does: the
ticket's working copies in ``reports/<ticket>/.work`` (trusted, parameters filled in), its
settings (no news pop-up, short autosave), its post-save hook and IPC kernels. JupyterLab's
user settings directory is empty: what the test sees is what a first-time user sees.

00, 01 (warnings ticked and acknowledged in the widget) and 02 (Confirm) run cell by cell;
autosave saves each working copy and the hook seals each ended run; 03 then runs headless
with the CLI into the same ticket; ``mdstools verify`` passes with all four runs sealed, and
the repository's ``runbooks/`` is byte for byte as before. A second test runs the
``mdstools jupyter`` command itself: Ctrl-C seals an ended run that no save hook saw.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.sign import NotebookNotary

from mdstools import audit, jupyter
from mdstools.lab import runtime, scenarios
from mdstools.notebook_record import find_run
from mdstools.runbook import RUNBOOKS, ensure_kernel
from tests.browser.conftest import SCALE, Session, Shots
from tests.browser.test_jupyterlab import (
    CELLS,
    cell_index,
    cells,
    errors,
    executed,
    focus_cell,
    run_cells_one_by_one,
    wait_kernel_idle,
    wait_settled,
)
from tests.reliability.conftest import changed, tree_digest

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(480)]

TICKET = "LAB-REC-1"
SEAL_TIMEOUT_S = 90.0
AUTOSAVE_WAIT_S = 20.0
NEWS = "official Jupyter news"


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """The lab and ``mdstools jupyter``'s JupyterLab on the ticket's working copies."""
    base = tmp_path_factory.mktemp("record")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_DATA_DIR", str(base / "jupyter" / "data"))  # the notary's too
        yield from _session(base)


def _session(base: Path) -> Iterator[Session]:
    lab_dir = base / "lab"
    runtime.up(lab_dir, scenarios.LabOptions(scenario="verifier-warnings", time_scale=float(SCALE)))
    ensure_kernel()
    env = {
        "JUPYTERLAB_SETTINGS_DIR": str(base / "jupyter" / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "jupyter" / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(base / "jupyter" / "runtime"),
        "MDSTOOLS_LOCK_DIR": str(base / "locks"),
    }
    server = jupyter.launcher(
        lab_dir / "inventory.yml",
        TICKET,
        float(SCALE),
        base / "reports",
        base / "config",
        base_env={**jupyter.environment(None, None, None), **env},
        log=base / "jupyter.log",
    )
    s = Session(lab_dir, server.notebook_dir, base / "reports", TICKET, server)
    try:
        server.start()
    except jupyter.JupyterError as exc:
        runtime.down(lab_dir)
        pytest.fail(f"{exc}\n{(base / 'jupyter.log').read_text(errors='replace')[-3000:]}")
    try:
        yield s
    finally:
        server.stop()
        runtime.down(lab_dir)


def wait_sealed(page: Any, session: Session, name: str) -> nbformat.NotebookNode:
    """The sealed notebook ``name`` of the record, once the hook has written it: after
    JupyterLab's autosave, or else after Ctrl+S (JupyterLab stretches its autosave interval
    to ten times a slow save's duration on a loaded machine)."""
    report = session.reports / session.ticket
    start = time.monotonic()
    saved_by_hand = False
    while time.monotonic() - start < SEAL_TIMEOUT_S:
        if (report / name).is_file() and (report / name).with_suffix(".html").is_file():
            how = "Ctrl+S" if saved_by_hand else "autosave"
            print(f"{name}: sealed {time.monotonic() - start:.1f} s after its end ({how})")
            return nbformat.read(str(report / name), as_version=4)
        if not saved_by_hand and time.monotonic() - start > AUTOSAVE_WAIT_S:
            page.keyboard.press("Control+s")
            saved_by_hand = True
        time.sleep(0.5)
    log = (session.server.log or Path("/dev/null")).read_text(errors="replace")
    raise AssertionError(f"{name} was not sealed within {SEAL_TIMEOUT_S:g} s\n{log[-3000:]}")


def check_sealed(page: Any, session: Session, name: str, phase: str) -> None:
    """``name`` is sealed: its verdict cell says PASSED and it holds the run of the working
    copy, with the journal's run event naming it."""
    nb = wait_sealed(page, session, name)
    top = nb.cells[0].source
    assert f"Phase {phase}" in top and "PASSED" in top, top
    copy = nbformat.read(str(session.notebooks / f"{name}"), as_version=4)
    sealed_run, copy_run = find_run(nb), find_run(copy)
    assert sealed_run is not None and copy_run is not None
    assert sealed_run.run_id == copy_run.run_id
    events = audit.read_journal(session.reports / session.ticket / audit.JOURNAL)
    runs = [e for e in events if e["kind"] == "run" and e["run_id"] == sealed_run.run_id]
    assert len(runs) == 1 and runs[0]["notebook"] == name and runs[0]["sealed_from"] == name


def open_alone(page: Any, session: Session, name: str) -> None:
    """Open ``name`` as the only notebook of the workspace (``reset``: the notebooks of
    the phases before are closed, their kernels keep running)."""
    page.goto(session.url(name) + "&reset")
    page.wait_for_function(
        "(name) => Array.from(document.querySelectorAll("
        "'#jp-main-dock-panel .lm-TabBar-tab .lm-TabBar-tabLabel')).map((t) => t.textContent)"
        ".join('|') === name",
        arg=name,
        timeout=60_000,
    )
    page.wait_for_selector(CELLS)
    wait_kernel_idle(page, 60_000)


def run_all_cells_one_by_one(page: Any, session: Session, name: str) -> None:
    open_alone(page, session, name)
    focus_cell(page, 0)
    run_cells_one_by_one(page)
    wait_settled(page)
    state = cells(page)
    assert all(executed(c["prompt"]) for c in state), [c["prompt"] for c in state]


def decide_in_widget(
    page: Any, session: Session, name: str, marker: str, button: str, tick: bool
) -> None:
    """Cell by cell up to the decision cell (``marker`` in its source), tick every box
    (``tick``), click ``button``, then the rest of the notebook cell by cell."""
    open_alone(page, session, name)
    focus_cell(page, 0)
    index = cell_index(session, name, marker)
    run_cells_one_by_one(page, index)
    cell = page.locator(CELLS).nth(index)
    if tick:
        boxes = cell.locator(".jp-OutputArea-output input[type=checkbox]")
        boxes.first.wait_for()
        for i in range(boxes.count()):
            boxes.nth(i).check()
    cell.get_by_role("button", name=button, exact=True).click()
    cell.locator(".jp-OutputArea-output").get_by_text(re.compile(r"UTC")).first.wait_for()
    focus_cell(page, index + 1)
    run_cells_one_by_one(page)
    wait_settled(page)
    state = cells(page)
    assert all(executed(c["prompt"]) for c in state), [c["prompt"] for c in state]
    assert re.search(r"PASS(ED)?\b", state[-1]["output"]), state[-1]["output"][:500]


def test_interactive_runs_are_sealed_and_the_repository_stays_clean(
    page: Any, session: Session, shots: Shots
) -> None:
    """00, 01 and 02 in JupyterLab, 03 headless: every run sealed (notebook + HTML), verify
    passes, no secret in the record, runbooks/ unchanged; no news pop-up, the working copies
    trusted, kernels over IPC; a second ticket starts from clean copies and reopening the
    first keeps its own."""
    runbooks_before = tree_digest(RUNBOOKS)
    report = session.reports / session.ticket
    for nb_path in sorted(session.notebooks.glob("*.ipynb")):
        nb = nbformat.read(str(nb_path), as_version=4)
        assert NotebookNotary().check_signature(nb), f"{nb_path.name} is trusted"
        params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert f'ticket: str = "{TICKET}"' in params.source
        assert f'reports_dir: str = "{session.reports}"' in params.source
        assert f'time_scale: "Optional[float]" = {float(SCALE)!r}' in params.source

    t0 = time.monotonic()
    run_all_cells_one_by_one(page, session, "00_discover.ipynb")
    time.sleep(1)
    assert NEWS not in page.inner_text("body"), "no news pop-up"
    shots.take(page, "00-done")
    check_sealed(page, session, "00_discover.ipynb", "00")
    t00 = time.monotonic()

    decide_in_widget(
        page, session, "01_pre_upgrade_verification.ipynb", "run.acknowledge(", "Acknowledge", True
    )
    check_sealed(page, session, "01_pre_upgrade_verification.ipynb", "01")
    t01 = time.monotonic()

    decide_in_widget(page, session, "02_prepare_ha.ipynb", "run.confirm(", "Confirm", False)
    shots.take(page, "02-done")
    check_sealed(page, session, "02_prepare_ha.ipynb", "02")
    t02 = time.monotonic()
    assert not errors(page), errors(page)

    runtime_dir = Path(session.server.env["JUPYTER_RUNTIME_DIR"])
    transports = {
        json.loads(p.read_text()).get("transport") for p in runtime_dir.glob("kernel-*.json")
    }
    assert transports == {"ipc"}, f"kernels over IPC, not TCP: {transports}"

    argv = [
        sys.executable,
        "-m",
        "mdstools",
        "run",
        "03",
        "-i",
        str(session.lab_dir / "inventory.yml"),
    ]
    argv += ["--ticket", TICKET, "--reports", str(session.reports)]
    argv += ["-p", "confirm=true", "-p", f"time_scale={SCALE}"]
    headless = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
        env=session.server.env,
    )
    assert headless.returncode == 0, headless.stderr[-3000:]
    t03 = time.monotonic()

    verified = subprocess.run(
        [sys.executable, "-m", "mdstools", "verify", str(report)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK: 4 runs sealed" in verified.stdout and "NOT SEALED" not in verified.stdout
    for name in (
        "00_discover",
        "01_pre_upgrade_verification",
        "02_prepare_ha",
        "03_upgrade_primary",
    ):
        assert (report / f"{name}.ipynb").is_file() and (report / f"{name}.html").is_file()
    secrets = [
        (session.lab_dir / "secrets" / n).read_text().strip()
        for n in ("mds_password", "expert_password")
    ]
    for path in session.reports.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert not any(s in text for s in secrets), f"a secret in {path}"
    assert changed(runbooks_before, tree_digest(RUNBOOKS)) == [], "runbooks/ unchanged"
    assert jupyter.seal_working_copies(report) == [], "nothing left for Ctrl-C to seal"

    values = {"inventory": str(session.lab_dir / "inventory.yml"), "time_scale": float(SCALE)}
    second = jupyter.working_copies(
        session.reports / "LAB-REC-2",
        {**values, "ticket": "LAB-REC-2", "reports_dir": str(session.reports)},
    )
    for nb_path in sorted(second.glob("*.ipynb")):
        nb = nbformat.read(str(nb_path), as_version=4)
        assert all(not c.get("outputs") for c in nb.cells), f"{nb_path.name} starts clean"
        assert 'ticket: str = "LAB-REC-2"' in nb.cells[1].source
    kept = jupyter.working_copies(
        report, {**values, "ticket": TICKET, "reports_dir": str(session.reports)}
    )
    reopened = nbformat.read(str(kept / "02_prepare_ha.ipynb"), as_version=4)
    assert find_run(reopened) is not None, "reopening the ticket keeps its working copies"
    print(
        f"timings: 00 {t00 - t0:.1f} s, 01 {t01 - t00:.1f} s, 02 {t02 - t01:.1f} s, "
        f"03 headless {t03 - t02:.1f} s (each interactive one up to its seal)"
    )


@pytest.mark.timeout(240)
def test_ctrl_c_seals_the_ended_runs_left_unsealed(tmp_path: Path) -> None:
    """``mdstools jupyter`` on a ticket; a working copy executed and saved in place outside
    JupyterLab's save (here by papermill), so that the save hook never saw it; Ctrl-C
    seals it (named, verdict on top, HTML), stops JupyterLab, and verify passes."""
    lab_dir = tmp_path / "lab"
    runtime.up(lab_dir, scenarios.LabOptions(time_scale=float(SCALE)))
    reports = tmp_path / "reports"
    env = {
        **jupyter.environment(None, None, None),
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter" / "data"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "jupyter" / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter" / "runtime"),
        "MDSTOOLS_LOCK_DIR": str(tmp_path / "locks"),
    }
    argv = [sys.executable, "-m", "mdstools", "jupyter", "-i", str(lab_dir / "inventory.yml")]
    argv += ["--ticket", "CHG-CC", "--reports", str(reports), "--no-browser"]
    argv += ["--port", str(jupyter.free_port())]
    out = tmp_path / "jupyter.out"
    with out.open("w") as stdout:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + 90
        while "Ctrl-C stops" not in out.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, out.read_text()
            time.sleep(0.3)
        copy = reports / "CHG-CC" / ".work" / "00_discover.ipynb"
        executed_copy = subprocess.run(
            [str(Path(sys.executable).parent / "papermill"), str(copy), str(copy)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert executed_copy.returncode == 0, executed_copy.stderr[-2000:]
        assert not (reports / "CHG-CC" / "00_discover.ipynb").exists()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, out.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        runtime.down(lab_dir)
    text = out.read_text()
    assert re.search(r"sealed: run \w+ of phase 00 \(passed\)", text), text
    nb = nbformat.read(str(reports / "CHG-CC" / "00_discover.ipynb"), as_version=4)
    assert "Phase 00" in nb.cells[0].source and "PASSED" in nb.cells[0].source
    assert (reports / "CHG-CC" / "00_discover.html").is_file()
    verified = subprocess.run(
        [sys.executable, "-m", "mdstools", "verify", str(reports / "CHG-CC")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0 and "OK: 1 runs sealed" in verified.stdout, verified.stdout
