"""The pieces of the notebook record that need no lab: the run markers, the working copies'
parameters cells, the post-save hook's guard."""

from __future__ import annotations

import ast
import logging
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.sign import NotebookNotary

from mdstools import jupyter, jupyter_hooks
from mdstools.notebook_record import NotebookRefused, find_run, run_of
from mdstools.runbook import RUNBOOKS


def notebook(*markers: dict[str, object]) -> nbformat.NotebookNode:
    """A notebook whose code cells show one display output per marker."""
    nb = nbformat.v4.new_notebook()
    for marker in markers:
        cell = nbformat.v4.new_code_cell("x")
        cell.outputs = [
            nbformat.v4.new_output(
                "display_data", data={"text/plain": "x"}, metadata={"mdstools": marker}
            )
        ]
        nb.cells.append(cell)
    return nb


HEADER = {"run_id": "abc123", "phase": "02", "ticket": "CHG-1", "inventory": "/x/inv.yml"}


def test_the_run_is_the_last_header_and_its_own_verdict() -> None:
    """The header gives run, phase, ticket and inventory; a verdict counts only for that
    run; a rerun of the start cell (a later header) is the run."""
    run = find_run(notebook(HEADER, {"run_id": "abc123", "verdict": "passed"}))
    assert run is not None
    assert (run.run_id, run.phase.id, run.ticket, run.inventory, run.verdict) == (
        "abc123",
        "02",
        "CHG-1",
        "/x/inv.yml",
        "passed",
    )
    rerun = find_run(
        notebook(HEADER, {"run_id": "abc123", "verdict": "passed"}, {**HEADER, "run_id": "def4"})
    )
    assert rerun is not None and rerun.run_id == "def4" and rerun.verdict is None


@pytest.mark.parametrize(
    "header",
    [
        {**HEADER, "ticket": "../../etc"},
        {**HEADER, "ticket": "a/b"},
        {**HEADER, "phase": "99"},
        {**HEADER, "run_id": "x" * 65},
        {**HEADER, "run_id": "a b"},
        {**HEADER, "run_id": 7},
    ],
)
def test_a_forged_or_malformed_header_is_no_run(header: dict[str, object]) -> None:
    """A marker whose ticket is no ticket id, whose phase is unknown or whose run id is
    not a plain word is not taken for a run (nothing is ever named after it)."""
    assert find_run(notebook(header)) is None


def test_a_run_of_another_ticket_or_no_run_is_refused(tmp_path: Path) -> None:
    """The refusals name the notebook, the run and both tickets, or say there is no run."""
    with pytest.raises(NotebookRefused, match="of ticket CHG-1, not of CHG-2"):
        run_of(tmp_path / "CHG-2", Path("out.ipynb"), notebook(HEADER))
    with pytest.raises(NotebookRefused, match="holds no mdstools run"):
        run_of(tmp_path / "CHG-1", Path("out.ipynb"), notebook())


def test_working_copies_hold_any_path_as_a_python_literal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reports folder or inventory path with quotes, backslashes or non-ASCII letters is
    written so that the parameters cell parses to exactly that value; the other lines are
    the shipped ones; every copy is signed as trusted."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    weird = tmp_path / 'rep"orts\\ é'
    values = {
        "inventory": str(tmp_path / "in'v.yml"),
        "ticket": "T-1",
        "reports_dir": str(weird),
        "time_scale": 0.002,
    }
    work = jupyter.working_copies(weird / "T-1", values, source=RUNBOOKS)
    assert sorted(p.name for p in work.glob("*.ipynb")) == sorted(
        p.name for p in RUNBOOKS.glob("[0-9][0-9]_*.ipynb")
    )
    for path in work.glob("*.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        shipped = nbformat.read(str(RUNBOOKS / path.name), as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        found: dict[str, object] = {}
        for node in ast.parse(cell.source).body:
            assert isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
            assert node.value is not None
            found[node.target.id] = ast.literal_eval(node.value)
        for name, value in values.items():
            assert found[name] == value, (path.name, name)
        assert NotebookNotary().check_signature(nb), f"{path.name} is trusted"
        assert [c.source for c in nb.cells if c is not cell] == [
            c.source for c in shipped.cells if "parameters" not in c.metadata.get("tags", [])
        ]


def test_the_post_save_hook_ignores_other_files_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Only ``<report>/.work/NN_*.ipynb`` is a working copy; a working copy that cannot be
    sealed (here: not even a notebook, in a folder that is no record) is not taken for an
    ended run, the save goes on, and sealing it directly is logged as refused."""
    assert not jupyter_hooks.is_working_copy(tmp_path / "00_discover.ipynb")
    assert not jupyter_hooks.is_working_copy(tmp_path / ".work" / "notes.ipynb")
    assert jupyter_hooks.is_working_copy(tmp_path / "T" / ".work" / "00_discover.ipynb")
    copy = tmp_path / "T" / ".work" / "00_discover.ipynb"
    copy.parent.mkdir(parents=True)
    copy.write_text("{not json")
    jupyter_hooks.post_save(os_path=str(tmp_path / "elsewhere.ipynb"))
    jupyter_hooks.post_save(os_path=str(copy))
    worker = jupyter_hooks._worker
    if worker is not None:
        worker.join(10)
    assert not jupyter_hooks.ready_to_seal(copy)
    with caplog.at_level(logging.DEBUG, logger="mdstools.jupyter"):
        jupyter_hooks.seal_if_ended(copy)
    assert "00_discover.ipynb not sealed" in caplog.text and "not a readable notebook" in (
        caplog.text
    )
    assert sorted(p.name for p in (tmp_path / "T").iterdir()) == [".work"]


def test_jupyter_with_an_inventory_needs_a_ticket(tmp_path: Path) -> None:
    """``mdstools jupyter -i INV`` without ``--ticket``: exit 2, one line saying what to give;
    no working copy, no reports folder."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("environment: x\n")
    done = subprocess.run(
        [sys.executable, "-m", "mdstools", "jupyter", "-i", str(inventory), "--no-browser"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "give the change ticket with --ticket" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.yml"]


def test_a_copy_made_from_another_runbook_version_is_named_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A working copy remembers the runbook it was made from: reopened after the toolkit's
    runbook changed, it is kept as it is (outputs, the engineer's edits) and named as made
    from another version; a copy whose runbook did not change, or edited by the engineer
    only, is not."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    source = tmp_path / "runbooks"
    source.mkdir()
    for name in ("00_discover.ipynb", "02_prepare_ha.ipynb"):
        (source / name).write_bytes((RUNBOOKS / name).read_bytes())
    values = {"inventory": str(tmp_path / "inv.yml"), "ticket": "T-2"}
    stale: list[str] = []
    work = jupyter.working_copies(tmp_path / "T-2", values, source=source, stale=stale)
    assert stale == []
    mine = nbformat.read(str(work / "00_discover.ipynb"), as_version=4)
    mine.cells.append(nbformat.v4.new_code_cell("print('my own check')"))
    nbformat.write(mine, str(work / "00_discover.ipynb"))
    changed = nbformat.read(str(source / "02_prepare_ha.ipynb"), as_version=4)
    changed.cells[-1].source += "\nprint('a newer toolkit')"
    nbformat.write(changed, str(source / "02_prepare_ha.ipynb"))
    jupyter.working_copies(tmp_path / "T-2", values, source=source, stale=stale)
    assert stale == ["02_prepare_ha.ipynb"]
    kept = nbformat.read(str(work / "02_prepare_ha.ipynb"), as_version=4)
    assert "a newer toolkit" not in kept.cells[-1].source
    assert "my own check" in nbformat.read(str(work / "00_discover.ipynb"), 4).cells[-1].source


def test_a_work_folder_that_is_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    """``.work`` linked elsewhere: refused with what to do; nothing is written there."""
    from mdstools.errors import MdstoolsError

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "T-3").mkdir()
    (tmp_path / "T-3" / ".work").symlink_to(elsewhere)
    with pytest.raises(MdstoolsError, match="symbolic link") as exc:
        jupyter.working_copies(tmp_path / "T-3", {"ticket": "T-3"}, source=RUNBOOKS)
    assert "remove the link" in exc.value.hint
    assert list(elsewhere.iterdir()) == []
