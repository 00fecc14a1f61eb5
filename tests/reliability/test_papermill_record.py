"""Plain papermill, as a scheduler runs it (Airflow's papermill operator, cron): the runs
journal themselves, and ``mdstools seal REPORT NOTEBOOK...`` puts the executed notebooks into
the record afterwards, exactly as a headless ``mdstools run`` would have.

The ``papermill`` command is run as a subprocess with a scheduler's minimal environment,
against the lab, on the repository's runbooks.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from mdstools import audit
from mdstools.notebook_record import INCOMPLETE, find_run
from mdstools.runbook import RUNBOOKS
from tests.reliability.conftest import changed, tree_digest
from tests.runbooks.conftest import SCALE, Lab, assert_no_secrets, start, top_cell

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

PAPERMILL = Path(sys.executable).parent / "papermill"
TICKET = "PM-1"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lb = start(tmp_path, "default")
    try:
        yield lb
    finally:
        from mdstools.lab import runtime

        runtime.down(tmp_path / "lab")


def papermill_argv(
    lab: Lab, notebook: str, out: Path, ticket: str, scale: str = SCALE
) -> list[str]:
    """The scheduler's command line: the runbook, its output file, the parameters."""
    return [
        str(PAPERMILL),
        str(RUNBOOKS / notebook),
        str(out),
        "-p",
        "inventory",
        str(lab.inventory),
        "-p",
        "ticket",
        ticket,
        "-p",
        "interactive",
        "False",
        "-p",
        "reports_dir",
        str(lab.reports),
        "-p",
        "time_scale",
        scale,
    ]


def papermill(lab: Lab, notebook: str, out: Path, ticket: str = TICKET) -> None:
    """``papermill RUNBOOK OUT -p ...`` in a scheduler's minimal environment; it must pass."""
    done = subprocess.run(
        papermill_argv(lab, notebook, out, ticket),
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
        env=lab.env(),
        cwd=lab.dir,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def seal(lab: Lab, *notebooks: Path, ticket: str = TICKET) -> subprocess.CompletedProcess[str]:
    return lab.cli("seal", str(lab.reports / ticket), *map(str, notebooks))


def verify(lab: Lab, ticket: str = TICKET) -> subprocess.CompletedProcess[str]:
    return lab.cli("verify", str(lab.reports / ticket))


def outputs_text(path: Path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    return "\n".join(
        str(o.get("text", "")) for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )


def test_papermill_runs_are_sealed_afterwards_like_headless_runs(
    lab: Lab, runbooks_unchanged: None
) -> None:
    """00 then 01 by plain papermill: the journal has both, the record has no notebook yet
    and verify says NOT SEALED YET (never a change); each run's output tells the seal
    command; ``mdstools seal`` with both outputs writes 00_discover and
    01_pre_upgrade_verification (.ipynb and .html), the verdict cell on top, no secret;
    verify then passes with every run sealed; sealing again changes nothing; a rerun is
    00_discover.r2, sealed once when two seals of it race."""
    out00, out01 = lab.dir / "out" / "00.ipynb", lab.dir / "out" / "01.ipynb"
    out00.parent.mkdir()
    t0 = time.monotonic()
    papermill(lab, "00_discover.ipynb", out00)
    papermill(lab, "01_pre_upgrade_verification.ipynb", out01)
    t_papermill = time.monotonic() - t0
    report = lab.reports / TICKET
    assert not list(report.glob("*.ipynb")), "papermill alone puts no notebook in the record"
    hint = f"mdstools seal {report} <the executed notebook>"
    assert hint in outputs_text(out00) and hint in outputs_text(out01), "the run says how"

    before = verify(lab)
    assert before.returncode == 0, before.stdout + before.stderr
    assert before.stdout.count("NOT SEALED YET") == 2, before.stdout
    assert "changed" not in before.stdout + before.stderr

    outside = tree_digest(lab.dir, exclude=[lab.reports])
    t1 = time.monotonic()
    sealed = seal(lab, out00, out01)
    t_seal = time.monotonic() - t1
    assert sealed.returncode == 0, sealed.stderr
    assert sealed.stdout.count("sealed: run ") == 2, sealed.stdout
    assert changed(outside, tree_digest(lab.dir, exclude=[lab.reports])) == [], (
        "the seal changed nothing outside the reports folder (papermill's outputs included)"
    )
    for name, out, ph in (
        ("00_discover", out00, "00"),
        ("01_pre_upgrade_verification", out01, "01"),
    ):
        assert (report / f"{name}.html").is_file(), f"{name}.html"
        nb = lab.notebook(TICKET, f"{name}.ipynb")
        assert f"Phase {ph}" in top_cell(nb) and "PASSED" in top_cell(nb), top_cell(nb)
        run = find_run(nb)
        source_run = find_run(nbformat.read(str(out), as_version=4))
        assert run is not None and source_run is not None and run.run_id == source_run.run_id
    events = audit.read_journal(report / audit.JOURNAL)
    runs = [e for e in events if e["kind"] == "run"]
    assert [r["notebook"] for r in runs] == [
        "00_discover.ipynb",
        "01_pre_upgrade_verification.ipynb",
    ]
    assert all(r["verdict"] == "passed" for r in runs), runs
    assert_no_secrets(lab)

    after = verify(lab)
    assert after.returncode == 0 and "OK: 2 runs sealed" in after.stdout, after.stdout
    assert "NOT SEALED YET" not in after.stdout

    record = tree_digest(report)
    again = seal(lab, out01, out00)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already sealed") == 2, again.stdout
    assert changed(record, tree_digest(report)) == [], "a second seal changes nothing"

    rerun = lab.dir / "out" / "00-again.ipynb"
    papermill(lab, "00_discover.ipynb", rerun)
    argv = [sys.executable, "-m", "mdstools", "seal", str(report), str(rerun)]
    racers = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=lab.env(), cwd=lab.dir)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0] for p in racers]
    assert [p.returncode for p in racers] == [0, 0], outs
    assert sorted("already sealed" in o for o in outs) == [False, True], "one seals, once"
    assert (report / "00_discover.r2.ipynb").is_file(), "a rerun is named like a headless rerun"
    assert (report / "00_discover.r2.html").is_file()
    assert not (report / "00_discover.r3.ipynb").exists()
    assert len([e for e in audit.read_journal(report / audit.JOURNAL) if e["kind"] == "run"]) == 3
    assert verify(lab).returncode == 0
    print(f"timings: papermill 00+01 {t_papermill:.1f} s, seal of both {t_seal:.1f} s")


def test_foreign_or_plain_notebooks_are_refused_and_nothing_is_sealed(
    lab: Lab, runbooks_unchanged: None
) -> None:
    """A clean runbook (no run in it), a file that is no notebook, a run of another ticket
    and a run whose journal is elsewhere (another reports folder) are each refused with exit
    2 and one line naming the file and what is wrong; a good notebook given with a bad one
    is not sealed either: the record is byte for byte as before. papermill's output written
    into the record itself makes it fail to verify: the seal refuses (exit 1) and says to
    write it elsewhere."""
    out = lab.dir / "out.ipynb"
    other = lab.dir / "other.ipynb"
    papermill(lab, "00_discover.ipynb", out)
    papermill(lab, "00_discover.ipynb", other, ticket="PM-2")
    elsewhere = lab.dir / "elsewhere.ipynb"
    shutil.copy(other, elsewhere)
    junk = lab.dir / "junk.ipynb"
    junk.write_text("not a notebook\n")
    report = lab.reports / TICKET

    def snapshot() -> dict[str, str]:
        return tree_digest(lab.dir, exclude=[lab.dir / "lab"])

    record = snapshot()
    cases = [
        (RUNBOOKS / "00_discover.ipynb", "holds no mdstools run"),
        (junk, "is not a readable notebook"),
        (other, "of ticket PM-2, not of PM-1"),
        (lab.dir / "missing.ipynb", "no notebook"),
    ]
    for bad, message in cases:
        refused = seal(lab, out, bad)
        assert refused.returncode == 2, (bad, refused.stdout, refused.stderr)
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (bad, refused.stderr)
        assert "Traceback" not in refused.stderr
        assert changed(record, snapshot()) == [], f"{bad.name}: nothing changed"
    still = verify(lab)
    assert still.returncode == 0 and "NOT SEALED YET" in still.stdout, still.stdout
    assert not list(report.glob("*.ipynb"))

    nb = nbformat.read(str(other), as_version=4)
    run = find_run(nb)
    assert run is not None
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            marker = o.get("metadata", {}).get("mdstools")
            if isinstance(marker, dict) and "ticket" in marker:
                marker["ticket"] = TICKET
    nbformat.write(nb, str(elsewhere))
    refused = seal(lab, elsewhere)
    assert refused.returncode == 2, refused.stderr
    assert f"run {run.run_id} of phase 00, which the journal of {TICKET} does not have" in (
        refused.stderr
    )
    assert changed(record, snapshot()) == ["elsewhere.ipynb"], "only the edited copy changed"

    inside = report / "out.ipynb"
    shutil.copy(out, inside)
    refused = seal(lab, inside)
    assert refused.returncode == 1, refused.stderr
    assert "is inside the record: write papermill's output file outside" in refused.stderr
    assert not (report / "manifest.json").exists() and not (report / "00_discover.ipynb").exists()
    told = verify(lab)
    assert told.returncode == 1 and "out.ipynb: not in the manifest" in told.stdout + told.stderr


def test_a_killed_run_is_sealed_as_incomplete(tmp_path: Path) -> None:
    """papermill killed (SIGKILL) while 01 waits for the verifier of the ``slow`` lab (real
    durations): the journal has the phase start and no end; ``mdstools seal`` with the
    notebook papermill saved so far seals it as incomplete, with that cause on top, and
    verify passes."""
    from mdstools.lab import runtime, scenarios

    runtime.up(tmp_path / "lab", scenarios.LabOptions(scenario="slow"))
    try:
        lab = Lab(tmp_path, "slow")
        out = lab.dir / "killed.ipynb"
        journal = lab.reports / TICKET / "journal.jsonl"
        proc = lab.spawn(
            papermill_argv(lab, "01_pre_upgrade_verification.ipynb", out, TICKET, "1.0")
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                assert time.monotonic() < deadline, "the run did not start within 90 s"
                assert proc.poll() is None, "papermill ended before it could be killed"
                saved = out.is_file() and find_run(nbformat.read(str(out), as_version=4))
                if saved and journal.is_file() and '"event": "start"' in journal.read_text():
                    break
                time.sleep(0.2)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        events = audit.read_journal(journal)
        assert not any(e["kind"] == "phase" and e.get("event") == "end" for e in events)
        sealed = seal(lab, out)
        assert sealed.returncode == 0, sealed.stderr
        assert "(incomplete)" in sealed.stdout, sealed.stdout
        nb = lab.notebook(TICKET, "01_pre_upgrade_verification.ipynb")
        assert "INCOMPLETE" in top_cell(nb) and INCOMPLETE in top_cell(nb), top_cell(nb)
        runs = [e for e in audit.read_journal(journal) if e["kind"] == "run"]
        assert runs and runs[-1]["verdict"] == "incomplete" and runs[-1]["cause"] == INCOMPLETE
        checked = verify(lab)
        assert checked.returncode == 0 and "NOT SEALED YET" not in checked.stdout, checked.stdout
        assert_no_secrets(lab)
    finally:
        runtime.down(tmp_path / "lab")


def test_a_seal_while_the_next_phase_journals_interleaves_nothing(lab: Lab) -> None:
    """A notebook sealed while another run of the ticket journals commands and writes record
    files at full speed (as the next phase's kernel does while JupyterLab's hook seals the
    last one): verify passes after it, and again once that run's lines are sealed too; every
    file the writer wrote is accounted for."""
    out = lab.dir / "00.ipynb"
    papermill(lab, "00_discover.ipynb", out)
    report = lab.reports / TICKET
    journal = audit.Journal(report / audit.JOURNAL, "nextrun00001", "01")
    stop = threading.Event()
    written: list[int] = []

    def next_phase() -> None:
        while not stop.is_set():
            n = len(written)
            journal.write("command", server="mds1", command=f"step {n}", exit_status=0)
            journal.write_file(report / f"step_{n % 5}.json", json.dumps({"n": n}) + "\n")
            written.append(n)

    writer = threading.Thread(target=next_phase)
    writer.start()
    try:
        time.sleep(0.3)
        sealed = seal(lab, out)
    finally:
        stop.set()
        writer.join(30)
    assert sealed.returncode == 0 and "sealed: run " in sealed.stdout, sealed.stderr
    assert len(written) > 10, "the writer ran during the seal"
    mid = verify(lab)
    assert mid.returncode == 0, mid.stdout + mid.stderr
    assert "run nextrun00001 of phase 01" in mid.stdout or "OK: 1 runs sealed" in mid.stdout
    assert lab.cli("seal", str(report)).returncode == 0
    final = verify(lab)
    assert final.returncode == 0 and "NOT SEALED YET" not in final.stdout, final.stdout
