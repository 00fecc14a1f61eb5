"""The runbooks in JupyterLab as an engineer uses them, in a headless Chromium.

JupyterLab runs on a temporary copy of ``runbooks/`` with the ``MDSTOOLS_*`` environment of
``mdstools jupyter``: the parameters cell is left as shipped (``inventory: str = ""``) and the
runbook finds the lab's inventory, the ticket and the time scale there.

* 00: Run > Run All Cells; the servers' status table and the PASSED verdict render.
* 01 on ``verifier-warnings``: cell by cell (Shift+Enter) up to the acknowledgement; every
  warning ticked and ``Acknowledge`` clicked in the widget; then the gate and the verdict
  pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from mdstools import jupyter
from mdstools.lab import runtime
from tests.browser.conftest import SCALE, Session, Shots

pytestmark = pytest.mark.timeout(180)

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
CELLS = f"{PANEL} .jp-Notebook .jp-Cell"
CODE_CELLS = f"{PANEL} .jp-Notebook .jp-CodeCell"
# The status bar's kernel item says "<kernel> | Idle" once the notebook's kernel is connected
# and idle (the execution indicator says "idle" already while there is no kernel yet).
IDLE_EXPR = (
    "Array.from(document.querySelectorAll('.jp-StatusBar-TextItem')).some((e) =>"
    " / \\| Idle$/.test(e.textContent.trim()) && !e.textContent.startsWith('No Kernel'))"
)
KERNEL_IDLE_JS = f"() => {IDLE_EXPR}"
RUN_TIMEOUT_MS = 75_000
NB01 = "01_pre_upgrade_verification.ipynb"

# The state of the open notebook: each code cell's prompt, source and output text.
STATE_JS = """
(sel) => Array.from(document.querySelectorAll(sel)).map((c) => ({
  prompt: (c.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
  source: (c.querySelector('.jp-InputArea-editor .cm-content') || {}).textContent || '',
  output: (c.querySelector('.jp-OutputArea') || {}).innerText || '',
}))
"""

# True once no code cell is queued or running and the kernel is idle.
SETTLED_JS = (
    """
(sel) => {
  const prompts = Array.from(document.querySelectorAll(sel)).map(
    (c) => (c.querySelector('.jp-InputArea-prompt') || {}).textContent || '');
  return prompts.length > 0 && /\\[\\d+\\]/.test(prompts[0])
    && !prompts.some((p) => p.includes('*')) && """
    + IDLE_EXPR
    + ";\n}"
)


def cells(page: Any) -> list[dict[str, str]]:
    """Prompt, source and output text of every code cell of the open notebook."""
    state: list[dict[str, str]] = page.evaluate(STATE_JS, CODE_CELLS)
    return state


def executed(prompt: str) -> bool:
    """``[12]:`` yes; ``[ ]:`` (not run) and ``[*]:`` (queued or running) no."""
    return re.search(r"\[\d+\]", prompt) is not None


STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
ERROR_RE = re.compile(r"Traceback|\w+(Error|Exception|Failed|Missing)\b")


def errors(scope: Any) -> str:
    """The error outputs (tracebacks) in ``scope`` (a page or a cell), for the assertions;
    stderr that is no error (a library's warning) is left out."""
    texts: list[str] = scope.locator(STDERR).all_inner_texts()
    return "\n".join(t for t in texts if ERROR_RE.search(t))[-3000:]


def open_notebook(page: Any, session: Session, name: str) -> None:
    """Open ``name`` in JupyterLab; wait until its cells are there and its kernel is idle."""
    page.goto(session.url(name))
    page.wait_for_selector(CELLS)
    wait_kernel_idle(page, 60_000)


def run_menu(page: Any, item: str) -> None:
    """Run > ``item`` from JupyterLab's menu bar."""
    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.get_by_role("menuitem", name=item, exact=True).click()


def wait_settled(page: Any, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Until no cell is queued or running and the kernel is idle."""
    page.wait_for_function(SETTLED_JS, arg=CODE_CELLS, timeout=timeout_ms)


def wait_kernel_idle(page: Any, timeout_ms: int = 30_000) -> None:
    """Until the notebook's kernel is connected and idle."""
    page.wait_for_function(KERNEL_IDLE_JS, timeout=timeout_ms)


def active_index(page: Any) -> int:
    """Index (among all cells) of the active cell."""
    index: int = page.evaluate(
        "(sel) => Array.from(document.querySelectorAll(sel))"
        ".findIndex((c) => c.classList.contains('jp-mod-active'))",
        CELLS,
    )
    return index


def cell_index(session: Session, notebook: str, text: str) -> int:
    """Index of the first code cell containing ``text``, read from the notebook file (the
    cells in the page are in the same order; their editors render lazily)."""
    nb = nbformat.read(str(session.notebooks / notebook), as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and text in cell.source:
            return i
    raise AssertionError(f"no code cell of {notebook} contains {text!r}")


def run_cells_one_by_one(page: Any, stop: int | None = None) -> None:
    """Shift+Enter from the active cell on, one cell at a time, each code cell run to its
    end, up to and including cell ``stop`` (default: the last cell)."""
    all_cells = page.locator(CELLS)
    last = all_cells.count() - 1
    stop = last if stop is None else stop
    while True:
        index = active_index(page)
        assert 0 <= index <= stop, f"active cell {index}, expected at most {stop}"
        cell = all_cells.nth(index)
        is_code = "jp-CodeCell" in (cell.get_attribute("class") or "")
        # Shift+Enter runs and advances; on the last cell it would add a new one: Ctrl+Enter
        page.keyboard.press("Control+Enter" if index == last else "Shift+Enter")
        if is_code:
            prompt = cell.locator(".jp-InputArea-prompt")
            try:
                page.wait_for_function(
                    "(el) => /\\[\\d+\\]/.test(el.textContent)",
                    arg=prompt.element_handle(),
                    timeout=RUN_TIMEOUT_MS,
                )
            except Exception as exc:
                raise AssertionError(f"cell {index} did not finish running") from exc
            wait_kernel_idle(page)
            failed = errors(cell)
            assert not failed, f"cell {index} failed:\n{failed}"
        if index >= stop or index == last:
            return
        page.wait_for_function(
            "([sel, i]) => document.querySelectorAll(sel)[i + 1]"
            ".classList.contains('jp-mod-active')",
            arg=[CELLS, index],
        )


def focus_cell(page: Any, index: int) -> None:
    """Make cell ``index`` active, in command mode, with the keyboard focus on the notebook
    (after a click in a widget, Shift+Enter would go to the widget)."""
    page.locator(CELLS).nth(index).locator(".jp-Cell-inputWrapper .jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.wait_for_function(
        "([sel, i]) => document.querySelectorAll(sel)[i].classList.contains('jp-mod-active')",
        arg=[CELLS, index],
    )


def journal(session: Session) -> list[dict[str, Any]]:
    """The events of the ticket's journal (the ticket came from MDSTOOLS_TICKET)."""
    path = session.reports / session.ticket / "journal.jsonl"
    assert path.is_file(), f"no journal in {path.parent}"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.browser
@pytest.mark.lab
def test_00_discover_run_all_renders_the_status_table(
    page: Any, jupyterlab: Callable[[str], Session], shots: Shots
) -> None:
    """Run All on 00: the servers' table (mds1, mds2, mlm1) renders and the phase passes."""
    t0 = time.monotonic()
    session = jupyterlab("default")
    t_started = time.monotonic()
    open_notebook(page, session, "00_discover.ipynb")
    params = nbformat.read(str(session.notebooks / "00_discover.ipynb"), as_version=4)
    assert 'inventory: str = ""' in params.cells[1].source, "the parameters cell is used as shipped"
    run_menu(page, "Run All Cells")
    wait_settled(page)
    t_run = time.monotonic()
    state = cells(page)
    assert all(executed(c["prompt"]) for c in state), (
        f"not every cell ran: {[c['prompt'] for c in state]}\n{errors(page)}"
    )

    table = (
        page.locator(f"{PANEL} .jp-OutputArea-output table")
        .filter(has_text="mds1")
        .filter(has_text="mds2")
        .filter(has_text="mlm1")
        .first
    )
    table.wait_for()
    table.scroll_into_view_if_needed()
    shots.take(page, "status-table")
    shots.take(page, "status-table-element", table)

    verdict = state[-1]["output"]
    assert re.search(r"Phase 00 PASS(ED)?\b", verdict), f"the verdict: {verdict[:500]}"
    page.locator(f"{CODE_CELLS} >> nth=-1").scroll_into_view_if_needed()
    shots.take(page, "verdict")

    start = journal(session)[0]
    assert start["kind"] == "phase" and start["event"] == "start", start
    assert start["params"]["time_scale"] == SCALE, "MDSTOOLS_TIME_SCALE reached the runbook"
    print(
        f"timings: lab+JupyterLab {t_started - t0:.1f} s, open+run all "
        f"{t_run - t_started:.1f} s, total {time.monotonic() - t0:.1f} s"
    )


@pytest.mark.browser
@pytest.mark.lab
def test_01_warnings_acknowledged_in_the_widget(
    page: Any, jupyterlab: Callable[[str], Session], shots: Shots
) -> None:
    """01 on verifier-warnings, cell by cell: tick every warning, click Acknowledge; the
    gate then passes (R3)."""
    t0 = time.monotonic()
    session = jupyterlab("verifier-warnings")
    t_started = time.monotonic()
    open_notebook(page, session, NB01)
    focus_cell(page, 0)
    ack_index = cell_index(session, NB01, "run.acknowledge(")
    gate_index = cell_index(session, NB01, "checks.verifier_clean")
    run_cells_one_by_one(page, ack_index)
    ack_cell = page.locator(CELLS).nth(ack_index)
    assert "run.acknowledge(" in ack_cell.inner_text()

    boxes = ack_cell.locator(".jp-OutputArea-output input[type=checkbox]")
    boxes.first.wait_for()
    assert boxes.count() >= 2, "one checkbox per warning (every server has warnings)"
    ack_cell.scroll_into_view_if_needed()
    shots.take(page, "acknowledgement-widget")
    for i in range(boxes.count()):
        boxes.nth(i).check()
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    button = ack_cell.get_by_role("button", name="Acknowledge", exact=True)
    button.click()
    ack_cell.locator(".jp-OutputArea-output").get_by_text(
        re.compile(r"next cell|UTC")
    ).first.wait_for()
    shots.take(page, "acknowledged")
    focus_cell(page, ack_index + 1)

    run_cells_one_by_one(page, gate_index)
    gate_cell = page.locator(CELLS).nth(gate_index)
    assert "checks.verifier_clean" in gate_cell.inner_text()
    banner = gate_cell.locator(".jp-OutputArea-output").get_by_text(
        "PASS pre-upgrade verification clean"
    )
    banner.first.wait_for()
    gate_cell.scroll_into_view_if_needed()
    shots.take(page, "gate-pass")

    run_cells_one_by_one(page)  # the rest: the verdict
    wait_settled(page)
    state = cells(page)
    assert all(executed(c["prompt"]) for c in state), [c["prompt"] for c in state]
    verdict = state[-1]["output"]
    assert re.search(r"Phase 01 PASS(ED)?\b", verdict), f"the verdict: {verdict[:500]}"
    page.locator(f"{CODE_CELLS} >> nth=-1").scroll_into_view_if_needed()
    shots.take(page, "verdict")

    decisions = [e for e in journal(session) if e.get("kind") == "decision"]
    assert decisions and decisions[-1]["how"] == "widget", decisions
    assert len(decisions[-1]["value"]) == boxes.count(), "every ticked warning acknowledged"
    print(
        f"timings: lab+JupyterLab {t_started - t0:.1f} s, cells+widget "
        f"{time.monotonic() - t_started:.1f} s"
    )


@pytest.mark.lab
def test_mdstools_jupyter_starts_the_lab_and_ctrl_c_stops_both(tmp_path: Path) -> None:
    """``mdstools jupyter`` as ``make jupyter`` runs it: the lab, JupyterLab on 127.0.0.1
    with a token, the URL printed; Ctrl-C stops JupyterLab and the lab it started."""
    lab_dir = tmp_path / "lab"
    notebooks = tmp_path / "runbooks"
    shutil.copytree(jupyter.runbooks_dir(), notebooks)
    port = jupyter.free_port()
    env = dict(
        os.environ,
        MDSTOOLS_RUNBOOKS=str(notebooks),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        MDSTOOLS_LOCK_DIR=str(tmp_path / "locks"),
    )
    argv = [sys.executable, "-m", "mdstools", "jupyter", "--lab-dir", str(lab_dir)]
    argv += ["--port", str(port), "--no-browser", "--ticket", "CHG-J"]
    argv += ["--reports", str(tmp_path / "reports")]
    with (tmp_path / "jupyter.err").open("wb") as err:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env, text=True
        )
    lines: queue.Queue[str] = queue.Queue()
    stdout = proc.stdout
    assert stdout is not None

    def read() -> None:
        for line in stdout:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    out: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while not any("Ctrl-C stops" in x for x in out):
            assert proc.poll() is None, "".join(out) + (tmp_path / "jupyter.err").read_text()
            assert time.monotonic() < deadline, "".join(out)
            with contextlib.suppress(queue.Empty):
                out.append(lines.get(timeout=1))
        text = "".join(out)
        print(text)
        m = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=(\w+)", text)
        assert m, text
        token = m.group(1)
        assert f"inventory:  {lab_dir / 'inventory.yml'}" in text
        assert "ticket:     CHG-J" in text and "00_discover.ipynb" in text
        assert runtime.read_state(lab_dir) is not None, "the lab is up"
        assert jupyter.status(port, token) is not None, "JupyterLab answers with the token"
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents", timeout=5)
        assert denied.value.code == 403, "without the token: refused"

        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
        reader.join(5)
        while not lines.empty():
            out.append(lines.get())
        assert "lab down" in "".join(out)
        assert runtime.read_state(lab_dir) is None, "Ctrl-C stopped the lab it started"
        assert jupyter.status(port, token) is None and jupyter.port_free(port), "and JupyterLab"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        runtime.down(lab_dir)
