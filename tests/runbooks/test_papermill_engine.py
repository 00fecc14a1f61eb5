"""The papermill engine of headless runs: the output notebook is written once, at the end,
and holds everything executed so far, whether the run passed, failed or was aborted."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import nbformat
import papermill
import pytest
from papermill.exceptions import PapermillExecutionError

from mdstools import runbook

pytestmark = pytest.mark.timeout(120)


class Stop(Exception):
    """Raised in the main thread by the SIGUSR1 handler, as SIGTERM raises Aborted."""


def _notebook(path: Path, second: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": runbook.KERNEL, "display_name": "mdstools"}
    nb.cells = [
        nbformat.v4.new_code_cell("print('first cell ran')\nopen('started', 'w').close()"),
        nbformat.v4.new_code_cell(second),
        nbformat.v4.new_code_cell("print('third cell ran')"),
    ]
    nbformat.write(nb, str(path))
    return path


def _execute(source: Path, out: Path, cwd: Path) -> None:
    papermill.execute_notebook(
        str(source),
        str(out),
        kernel_name=runbook.ensure_kernel(),
        engine_name=runbook.ENGINE,
        progress_bar=False,
        cwd=str(cwd),
        start_timeout=60,
        kernel_manager_class=runbook._ipc_kernel_manager(),
    )


def _outputs(path: Path) -> list[str]:
    nb = nbformat.read(str(path), as_version=4)
    return [
        "".join(o.get("text", "")) + "".join(o.get("traceback", []))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    ]


@pytest.fixture
def sigusr1_raises_stop() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise Stop

    old = signal.signal(signal.SIGUSR1, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_a_run_that_passes_is_written_whole(tmp_path: Path) -> None:
    out = tmp_path / "out.ipynb"
    _execute(_notebook(tmp_path / "in.ipynb", "print('second cell ran')"), out, tmp_path)
    text = "".join(_outputs(out))
    assert "first cell ran" in text and "second cell ran" in text and "third cell ran" in text
    meta = nbformat.read(str(out), as_version=4).metadata.papermill
    assert meta["end_time"] and meta["duration"] is not None


def test_a_run_that_fails_is_written_with_its_error(tmp_path: Path) -> None:
    out = tmp_path / "out.ipynb"
    with pytest.raises(PapermillExecutionError):
        _execute(_notebook(tmp_path / "in.ipynb", "raise ValueError('boom')"), out, tmp_path)
    text = "".join(_outputs(out))
    assert "first cell ran" in text and "boom" in text and "third cell ran" not in text


def test_an_aborted_run_is_written_with_the_cells_that_ran(
    tmp_path: Path, sigusr1_raises_stop: None
) -> None:
    """The signal arrives while the second cell runs: the output has the first cell's output
    and the papermill end time, although nothing was written before the end."""
    out = tmp_path / "out.ipynb"
    started = tmp_path / "started"
    written_while_running: list[bool] = []

    def interrupt_once_started() -> None:
        deadline = time.monotonic() + 90
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        written_while_running.append(out.exists())
        os.kill(os.getpid(), signal.SIGUSR1)

    watcher = threading.Thread(target=interrupt_once_started, daemon=True)
    watcher.start()
    with pytest.raises(Stop):
        _execute(_notebook(tmp_path / "in.ipynb", "import time\ntime.sleep(60)"), out, tmp_path)
    watcher.join()
    assert started.exists() and written_while_running == [False]
    text = "".join(_outputs(out))
    assert "first cell ran" in text and "third cell ran" not in text
    assert nbformat.read(str(out), as_version=4).metadata.papermill["end_time"]
