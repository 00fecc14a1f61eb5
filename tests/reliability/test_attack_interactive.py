"""Notebooks and kernels used against the toolkit as a careless user or an attacker would.

* The record must not lie: a run header edited to claim another phase, another inventory
  named in the header (its secrets would not be masked), secrets pasted into cell and output
  metadata and attachment names, a device, a pipe or a huge file given to ``mdstools seal``.
* Locks: a papermill kernel that exits after an unexpected error in a cell, and a kernel
  restarted during a phase, leave no lock and record the phase failed.
* Decisions: a click after the decision was read changes nothing; a bad
  $MDSTOOLS_DECISION_TIMEOUT_S stops the run at its start.

The notebooks are papermill's outputs of the repository's runbooks against the lab, edited
as a user would edit them; kernels are real (papermill's, jupyter_client's).
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from mdstools import audit, ui
from mdstools.notebook_record import MAX_NOTEBOOK_BYTES
from mdstools.runbook import RUNBOOKS
from tests.reliability.conftest import changed, tree_digest
from tests.reliability.test_papermill_record import (
    TICKET,
    papermill,
    papermill_argv,
    seal,
    verify,
)
from tests.runbooks.conftest import Lab, assert_no_secrets, start, top_cell

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lb = start(tmp_path, "default")
    try:
        yield lb
    finally:
        from mdstools.lab import runtime

        runtime.down(tmp_path / "lab")


def _headers(nb: nbformat.NotebookNode) -> Iterator[dict[str, object]]:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            marker = out.get("metadata", {}).get("mdstools")
            if isinstance(marker, dict) and "phase" in marker:
                yield marker


def test_a_header_forged_to_another_phase_is_refused(lab: Lab, runbooks_unchanged: None) -> None:
    """The header of a passed 00 run edited to say phase 05 (same run id, same ticket): the
    seal refuses it (exit 2, one line naming the run's phase in the journal) and writes
    nothing, so no ``05_upgrade_log_servers`` notebook claims a pass the journal never had;
    the genuine notebook is then sealed as 00_discover and verify passes. A device that
    never ends (/dev/zero), a pipe nobody writes to and a sparse file larger than any
    executed runbook are refused at once (exit 2, one line), the record unchanged."""
    out = lab.dir / "out" / "00.ipynb"
    out.parent.mkdir()
    papermill(lab, "00_discover.ipynb", out)
    forged = lab.dir / "out" / "forged.ipynb"
    nb = nbformat.read(str(out), as_version=4)
    headers = list(_headers(nb))
    assert headers, "the run shows its header"
    for marker in headers:
        marker["phase"] = "05"
    nbformat.write(nb, str(forged))
    report = lab.reports / TICKET

    before = tree_digest(lab.dir, exclude=[lab.dir / "lab"])
    refused = seal(lab, forged)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "phase 00" in lines[0] and "05" in lines[0], refused.stderr
    assert "Traceback" not in refused.stderr
    assert changed(before, tree_digest(lab.dir, exclude=[lab.dir / "lab"])) == []
    assert not list(report.glob("05_*")), "no notebook of phase 05 in the record"

    sealed = seal(lab, out)
    assert sealed.returncode == 0, sealed.stderr
    nb00 = lab.notebook(TICKET, "00_discover.ipynb")
    assert "Phase 00" in top_cell(nb00) and "PASSED" in top_cell(nb00)
    runs = [e for e in audit.read_journal(report / audit.JOURNAL) if e["kind"] == "run"]
    assert [r["notebook"] for r in runs] == ["00_discover.ipynb"]
    told = verify(lab)
    assert told.returncode == 0 and "NOT SEALED YET" not in told.stdout, told.stdout

    fifo = lab.dir / "out" / "fifo.ipynb"
    os.mkfifo(fifo)
    huge = lab.dir / "out" / "huge.ipynb"
    with huge.open("wb") as f:
        f.truncate(MAX_NOTEBOOK_BYTES + 1)
    before = tree_digest(lab.dir, exclude=[lab.dir / "lab", fifo])
    for bad, said in (
        (Path("/dev/zero"), "is not a regular file"),
        (fifo, "is not a regular file"),
        (huge, "is too large for an executed runbook"),
    ):
        refused = lab.cli("seal", str(report), str(bad), timeout=60)
        assert refused.returncode == 2, (bad, refused.stderr)
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and said in lines[0], refused.stderr
    assert changed(before, tree_digest(lab.dir, exclude=[lab.dir / "lab", fifo])) == []
    assert verify(lab).returncode == 0


def test_secrets_pasted_into_metadata_are_masked_when_sealed(
    lab: Lab, runbooks_unchanged: None
) -> None:
    """The lab's MDS password pasted by the user into a markdown cell of an executed 00 whose
    header names another inventory (same servers, other secret files): the seal refuses it
    (exit 2, one line: not the inventory the run used) and writes nothing. The password
    pasted into a cell's metadata, a markdown cell's attachment name and an output's
    metadata: the sealed notebook and its HTML (exported) hold none of it, nor anything
    else in reports/, and verify passes."""
    out = lab.dir / "out" / "00.ipynb"
    out.parent.mkdir()
    papermill(lab, "00_discover.ipynb", out)
    secret = lab.secrets[0]
    report = lab.reports / TICKET

    other = lab.dir / "other"
    other.mkdir()
    (other / "pw").write_text("not-the-password\n")
    (other / "pw").chmod(0o600)
    text = lab.inventory.read_text()
    for name in ("mds_password", "expert_password"):
        text = text.replace(f"file:./secrets/{name}", f"file:{other / 'pw'}")
    for name in ("id_ed25519", "known_hosts"):
        text = text.replace(f"./{name}", str(lab.inventory.parent / name))
    (other / "inventory.yml").write_text(text)
    nb = nbformat.read(str(out), as_version=4)
    for marker in _headers(nb):
        marker["inventory"] = str(other / "inventory.yml")
    nb.cells.append(nbformat.v4.new_markdown_cell(f"password: {secret}"))
    redirected = lab.dir / "out" / "redirected.ipynb"
    nbformat.write(nb, str(redirected))
    before = tree_digest(lab.dir, exclude=[lab.dir / "lab"])
    refused = seal(lab, redirected)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not the inventory run" in lines[0], refused.stderr
    assert changed(before, tree_digest(lab.dir, exclude=[lab.dir / "lab"])) == []

    nb = nbformat.read(str(out), as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code" and c.outputs)
    code.metadata["note"] = f"password is {secret}"
    code.metadata["tags"] = [*code.metadata.get("tags", []), secret]
    code.outputs[0].setdefault("metadata", {})["pasted"] = secret
    md = nbformat.v4.new_markdown_cell(f"![{secret}](attachment:{secret}.txt)")
    md.attachments = {f"{secret}.txt": {"text/plain": base64.b64encode(b"pasted").decode()}}
    nb.cells.append(md)
    nbformat.write(nb, str(out))

    sealed = seal(lab, out)
    assert sealed.returncode == 0, sealed.stderr
    assert (report / "00_discover.html").is_file(), sealed.stdout + sealed.stderr
    assert secret not in (report / "00_discover.ipynb").read_text()
    assert_no_secrets(lab)
    told = verify(lab)
    assert told.returncode == 0, told.stdout + told.stderr


def test_a_papermill_kernel_that_exits_mid_phase_leaves_no_lock(
    lab: Lab, runbooks_unchanged: None
) -> None:
    """A copy of 02 with a cell the user added after the start (a typo: NameError), run by
    plain papermill headless: papermill fails, and the kernel's exit records the phase
    failed naming the NameError, and releases both locks (this host's and the primary
    MDS's). The genuine 02 then runs at once without break_lock and passes; the failed
    run's notebook seals and verify passes."""
    out = lab.dir / "out"
    out.mkdir()
    papermill(lab, "00_discover.ipynb", out / "00.ipynb")
    papermill(lab, "01_pre_upgrade_verification.ipynb", out / "01.ipynb")
    nb = nbformat.read(str(RUNBOOKS / "02_prepare_ha.ipynb"), as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "mdstools.start(" in c.source)
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell("typo_in_a_cell"))
    typo = lab.dir / "02_typo.ipynb"
    nbformat.write(nb, str(typo))
    argv = papermill_argv(lab, "02_prepare_ha.ipynb", out / "02.ipynb", TICKET)
    argv[1] = str(typo)
    failed = subprocess.run(
        [*argv, "-p", "confirm", "True"],
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
        env=lab.env(),
        cwd=lab.dir,
    )
    assert failed.returncode != 0 and "typo_in_a_cell" in failed.stderr, failed.stderr[-2000:]
    report = lab.reports / TICKET
    events = audit.read_journal(report / audit.JOURNAL)
    end = [e for e in events if e["kind"] == "phase" and e["event"] == "end"][-1]
    assert end["phase"] == "02" and end["verdict"] == "failed", end
    assert "its last error: NameError: name 'typo_in_a_cell' is not defined" in end["cause"]
    assert [e["event"] for e in events if e["kind"] == "lock"][-1] == "released"
    assert not list(lab.locks.glob("*.lock")), "no lock left on this host"

    again = subprocess.run(
        [
            *papermill_argv(lab, "02_prepare_ha.ipynb", out / "02b.ipynb", TICKET),
            "-p",
            "confirm",
            "True",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
        env=lab.env(),
        cwd=lab.dir,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    sealed = seal(lab, out / "02.ipynb", out / "02b.ipynb")
    assert sealed.returncode == 0, sealed.stderr
    assert "phase 02 (failed)" in sealed.stdout and "phase 02 (passed)" in sealed.stdout
    told = verify(lab)
    assert told.returncode == 0, told.stdout + told.stderr


def test_a_click_after_the_decision_was_read_changes_nothing() -> None:
    """Confirm clicked and read by the next cell (the change goes ahead), then Decline
    clicked (a second tab, a late second thought): the decision stays confirmed, the
    journal keeps the one confirmation, and the control says that the click changed
    nothing (not "the next cell reads it"). Before it is read, the last click counts: a
    Decline corrected to Confirm is read as Confirm."""
    seen: list[tuple[str, object, str]] = []

    def record(name: str, value: object, how: str) -> None:
        seen.append((name, value, how))

    def button(d: ui.Decision, label: str) -> Any:
        found = list(d.widget.children)
        for w in list(found):
            found.extend(getattr(w, "children", ()))
        return next(w for w in found if getattr(w, "description", "") == label)

    ok = ui.confirm("confirm", "switch?", "confirm", None, True, record, timeout_s=5)
    button(ok, "Confirm").click()
    assert asyncio.run(ok.wait()) is ok and ok.value() is True
    button(ok, "Decline").click()
    assert ok.value() is True and not ok.declined
    assert seen == [("confirm", True, "widget")]
    assert "Decline" in ok.line.value and "changes nothing" in ok.line.value, ok.line.value
    assert "the next cell reads it" not in ok.line.value

    fixed = ui.confirm("confirm", "switch?", "confirm", None, True, record, timeout_s=5)
    button(fixed, "Decline").click()
    button(fixed, "Confirm").click()
    assert fixed.value() is True and seen[-1] == ("confirm", True, "widget")


@pytest.mark.parametrize("value", ["nan", "soon"])
def test_a_bad_decision_timeout_in_the_environment_stops_before_the_lock(
    lab: Lab, value: str
) -> None:
    """$MDSTOOLS_DECISION_TIMEOUT_S=nan (or a word) for a papermill run of 02: it stops at
    the start with one line naming the variable, its value and what is allowed (no Python
    frames of mdstools), before any lock is taken or the phase journaled."""
    out = lab.dir / "02.ipynb"
    failed = subprocess.run(
        papermill_argv(lab, "02_prepare_ha.ipynb", out, TICKET),
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
        env={**lab.env(), "MDSTOOLS_DECISION_TIMEOUT_S": value},
        cwd=lab.dir,
    )
    assert failed.returncode != 0
    said = f"ParameterError: MDSTOOLS_DECISION_TIMEOUT_S='{value}' is not a decision timeout"
    assert said in failed.stderr, failed.stderr[-2000:]
    assert "set it to seconds, above 0" in failed.stderr
    assert not list(lab.locks.glob("*.lock"))
    journal = lab.reports / TICKET / audit.JOURNAL
    events = audit.read_journal(journal) if journal.exists() else []
    assert not [e for e in events if e.get("kind") in ("lock", "phase")], events


def test_a_kernel_restarted_during_a_phase_releases_its_locks(lab: Lab) -> None:
    """02 started in a real kernel (as JupyterLab runs it), the decision shown and not
    clicked, then Kernel > Restart: the phase is recorded failed (the kernel exited before
    it ended) and both locks are released, so the next run needs no break_lock."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="mdstools")
    km.start_kernel(env={**os.environ, **lab.env()})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive(
            "import mdstools\n"
            f"run = mdstools.start({str(lab.inventory)!r}, ticket={TICKET!r}, phase='02', "
            f"reports_dir={str(lab.reports)!r}, params={{'time_scale': 0.002}})\n"
            "ok = run.confirm('go?')\n",
            timeout=60,
            output_hook=lambda msg: None,
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        assert list(lab.locks.glob("*.lock")), "the phase holds this host's lock"
        km.restart_kernel()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert not list(lab.locks.glob("*.lock")), "no lock left on this host"
    events = audit.read_journal(lab.reports / TICKET / audit.JOURNAL)
    end = [e for e in events if e["kind"] == "phase" and e["event"] == "end"]
    assert len(end) == 1 and end[0]["verdict"] == "failed", end
    assert "the kernel exited before the phase ended" in end[0]["cause"]
    assert [e["event"] for e in events if e["kind"] == "lock"] == ["held", "released"]
