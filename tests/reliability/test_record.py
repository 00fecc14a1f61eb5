"""The record of a ticket never lies, survives faults and refuses tampering.

Runs go through the real CLI against the lab (papermill executing the real runbooks); the
full and read-only disks are real tmpfs mounts. Every case states the exit code and the
message, that nothing was written where it must not be, and what ``mdstools verify`` says.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdstools import audit, fsio
from mdstools.errors import MdstoolsError, RecordDamaged, RecordWriteError
from mdstools.lab import runtime
from tests.reliability.conftest import changed, tree_digest
from tests.runbooks.conftest import SCALE, Lab, start


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """The default lab scenario, up for one test."""
    started = start(tmp_path / "default", "default")
    try:
        yield started
    finally:
        runtime.down(started.dir / "lab")


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    return subprocess.run(
        [sys.executable, "-m", "mdstools", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )


def run(
    lab: Lab, phase: str, ticket: str, reports: Path | None = None, *extra: str
) -> subprocess.CompletedProcess[str]:
    return lab.cli(
        "run",
        phase,
        "-i",
        str(lab.inventory),
        "--ticket",
        ticket,
        "--reports",
        str(reports or lab.reports),
        "-p",
        f"time_scale={SCALE}",
        *extra,
    )


def one_line_error(p: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """The command exited ``code`` with one line on stderr containing ``words``."""
    assert p.returncode == code, (p.returncode, p.stderr[-2000:])
    assert "Traceback" not in p.stderr, p.stderr
    last = p.stderr.strip().splitlines()[-1]
    for w in words:
        assert w in last, (w, last)
    return last


def outside(lab: Lab) -> dict[str, str]:
    """Every file of the test's folder except the reports and the lab's own runtime."""
    return tree_digest(lab.dir, exclude=[lab.reports, lab.dir / "lab"])


def papermill_run(lab: Lab, phase_nb: str, ticket: str, out: Path) -> None:
    """A plain papermill run (what JupyterLab does cell by cell): journal and state, no seal."""
    import papermill

    from mdstools.runbook import ensure_kernel, runbooks_dir

    papermill.execute_notebook(
        str(runbooks_dir() / phase_nb),
        str(out),
        parameters={
            "inventory": str(lab.inventory),
            "ticket": ticket,
            "reports_dir": str(lab.reports),
            "interactive": False,
            "time_scale": float(SCALE),
        },
        kernel_name=ensure_kernel(),
        progress_bar=False,
        cwd=str(lab.dir),
    )


# -- tickets -----------------------------------------------------------------------------

BAD_TICKETS = ["../../x", "a/b", "", "T" * 300, "..", ".hidden", "CHG 1", "x\ny"]


@pytest.mark.parametrize("ticket", BAD_TICKETS)
def test_bad_ticket_ids_are_refused_by_run_and_campaign(tmp_path: Path, ticket: str) -> None:
    """Exit 2, one line naming the rule, and no folder created anywhere."""
    cwd = tmp_path / "w" / "cwd"
    cwd.mkdir(parents=True)
    inv = cwd / "inventory.yml"
    inv.write_text("environment: x\n")
    before = tree_digest(tmp_path)
    for command in ("run", "campaign"):
        args = [command, *(["00"] if command == "run" else [])]
        p = cli(cwd, *args, "-i", str(inv), "--ticket", ticket, "--reports", "r/reports")
        words = ("no ticket given",) if not ticket else ("not a valid ticket id",)
        one_line_error(p, 2, f"mdstools {command}:", *words)
    assert changed(before, tree_digest(tmp_path)) == []
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["cwd", "inventory.yml", "w"]


def test_bad_ticket_is_refused_by_demo_and_jupyter_before_anything_starts(
    tmp_path: Path,
) -> None:
    """demo and jupyter validate --ticket before starting a lab or a server."""
    for args in (
        ("demo", "--ticket", "../../etc", "--reports", "r"),
        ("jupyter", "--ticket", "a/b", "--no-browser", "--lab-dir", "lab"),
    ):
        one_line_error(cli(tmp_path, *args), 2, f"mdstools {args[0]}:", "not a valid ticket id")
    assert list(tmp_path.iterdir()) == []


def test_start_in_a_notebook_refuses_a_bad_ticket(tmp_path: Path) -> None:
    """mdstools.start (the first cell of every runbook) validates the ticket too."""
    import mdstools

    for ticket in ("../x", "a/b", "T" * 65):
        with pytest.raises(MdstoolsError, match="not a valid ticket id"):
            mdstools.start(
                tmp_path / "inv.yml", ticket=ticket, phase="00", reports_dir=tmp_path / "r"
            )
    assert list(tmp_path.iterdir()) == []


@given(st.text(max_size=80))
def test_any_accepted_ticket_is_one_folder_inside_the_reports(ticket: str) -> None:
    """Property: what validate_ticket accepts is a plain name, never a path."""
    reports = Path("/srv/reports")
    try:
        t = audit.validate_ticket(ticket)
    except MdstoolsError as exc:
        assert "ticket" in str(exc) and "\n" not in str(exc)
        return
    assert t == ticket and 1 <= len(t) <= 64
    assert (reports / t).resolve().parent == reports and not t.startswith(".")


# -- bad input to campaign, verify, bundle, seal -------------------------------------------


def test_campaign_from_after_to_is_bad_input(tmp_path: Path) -> None:
    """--from 05 --to 02 runs nothing and says why; it never reports phases as passed."""
    p = cli(tmp_path, "campaign", "-i", "none.yml", "--ticket", "T", "--from", "05", "--to", "02")
    one_line_error(p, 2, "--from '05' comes after --to '02'", "--from 00 --to 08")
    assert list(tmp_path.iterdir()) == []


def test_verify_bundle_seal_on_a_folder_that_is_not_a_report(tmp_path: Path) -> None:
    """A folder without manifest and journal is bad input, not a changed report."""
    empty = tmp_path / "empty"
    empty.mkdir()
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("not a report")
    before = tree_digest(tmp_path)
    for folder in (empty, tmp_path / "missing", other):
        for command in ("verify", "bundle", "seal"):
            p = cli(tmp_path, command, str(folder))
            one_line_error(p, 2, f"not a report: {folder} has no manifest.json/journal.jsonl")
    assert changed(before, tree_digest(tmp_path)) == []


# -- atomic writes on a real full filesystem -----------------------------------------------


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs (root only); unmounted at the end."""
    mnt = tmp_path / "fs"
    mnt.mkdir()
    p = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True
    )
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(fs: Path, leave_bytes: int) -> Path:
    """Take every free byte of ``fs`` except about ``leave_bytes``."""
    filler = fs / "filler"
    filler.unlink(missing_ok=True)
    st_ = os.statvfs(fs)
    size = st_.f_bavail * st_.f_frsize - leave_bytes
    with filler.open("wb") as f:
        if size > 0:
            os.posix_fallocate(f.fileno(), 0, size)
    return filler


def test_fsio_on_a_full_disk_leaves_whole_lines_and_old_content(small_fs: Path) -> None:
    """ENOSPC: the journal keeps only whole lines, a replaced file keeps its old content."""
    journal = small_fs / "journal.jsonl"
    fsio.append_line(journal, json.dumps({"kind": "phase", "n": 0}))
    target = small_fs / "state.json"
    fsio.atomic_write_text(target, '{"phases": {}}\n')
    fill(small_fs, 0)
    big = json.dumps({"kind": "command", "output": "x" * 20000})
    with pytest.raises(RecordWriteError, match="No space left on device") as exc:
        for _ in range(50):
            fsio.append_line(journal, big)
    assert exc.value.exit_code == 1 and str(journal) in str(exc.value)
    data = journal.read_bytes()
    assert data.endswith(b"\n") and all(json.loads(x) for x in data.splitlines())
    with pytest.raises(RecordWriteError, match="No space left on device"):
        fsio.atomic_write_text(target, "y" * 200_000)
    assert target.read_text() == '{"phases": {}}\n'
    assert sorted(p.name for p in small_fs.iterdir()) == ["filler", "journal.jsonl", "state.json"]


# -- the record: damage refused, unsealed runs told apart ----------------------------------


@pytest.mark.lab
@pytest.mark.timeout(600)
def test_cut_journal_is_refused_and_not_resealed(lab: Lab) -> None:
    """A journal cut mid-line: the next run refuses (exit 2, names the file), writes
    nothing, and verify keeps saying what is wrong: a run never seals over the damage."""
    assert run(lab, "00", "CHG-CUT").returncode == 0
    report = lab.reports / "CHG-CUT"
    journal = report / audit.JOURNAL
    data = journal.read_bytes()
    journal.write_bytes(data[: len(data) - 40])
    before, before_out = tree_digest(report), outside(lab)
    p = run(lab, "08", "CHG-CUT")
    one_line_error(p, 2, f"{journal}:", "is cut short", "nothing was written")
    assert changed(before, tree_digest(report)) == [] and outside(lab) == before_out
    v = lab.cli("verify", str(report))
    assert v.returncode == 1 and "journal.jsonl: line" in v.stderr and "cut short" in v.stderr
    # a line edited inside the sealed part is a change too, even when it still parses
    lines = data.decode().splitlines(keepends=True)
    lines[2] = lines[2].replace('"kind"', '"kind" ', 1)
    journal.write_text("".join(lines))
    v = lab.cli("verify", str(report))
    assert v.returncode == 1 and "the part sealed in run 1" in v.stderr
    one_line_error(run(lab, "01", "CHG-CUT"), 2, "journal.jsonl", "changed or cut")


@pytest.mark.lab
@pytest.mark.timeout(600)
def test_damaged_state_is_refused_by_run_and_resume(lab: Lab) -> None:
    """An unparsable or reshaped state.json: --resume never starts again at 00 against
    servers already changed, and no phase runs; exit 2 naming state.json."""
    assert run(lab, "00", "CHG-ST").returncode == 0
    assert run(lab, "01", "CHG-ST").returncode == 0
    report = lab.reports / "CHG-ST"
    state = report / "state.json"
    good = state.read_text()
    for bad, why in (("{not json", "is not valid JSON"), ("[]", "wrong shape")):
        state.write_text(bad)
        before, before_out = tree_digest(report), outside(lab)
        resume = lab.campaign("CHG-ST", "--resume")
        one_line_error(resume, 2, "mdstools campaign:", f"{state}:", why)
        one_line_error(run(lab, "08", "CHG-ST"), 2, "mdstools run:", f"{state}:")
        assert changed(before, tree_digest(report)) == [], "nothing ran, nothing was written"
        assert outside(lab) == before_out
        v = lab.cli("verify", str(report))
        assert v.returncode == 1 and why in v.stderr
    state.write_text(good)
    assert lab.cli("verify", str(report)).returncode == 0
    # a verdict edited by hand (still valid JSON) is refused as well
    data = json.loads(good)
    data["phases"]["01"]["verdict"] = "failed"
    state.write_text(json.dumps(data))
    one_line_error(run(lab, "02", "CHG-ST", None, "-p", "confirm=true"), 2, "state.json")


@pytest.mark.lab
@pytest.mark.timeout(600)
def test_lost_manifest_never_starts_a_new_chain(lab: Lab) -> None:
    """manifest.json deleted (then journal emptied and a notebook deleted too): refused,
    never a fresh "OK: 1 runs sealed" over the old record."""
    assert run(lab, "00", "CHG-MF").returncode == 0
    report = lab.reports / "CHG-MF"
    (report / audit.MANIFEST).unlink()
    before = tree_digest(report)
    one_line_error(run(lab, "00", "CHG-MF"), 2, "manifest.json: missing", "was sealed")
    assert changed(before, tree_digest(report)) == []
    v = lab.cli("verify", str(report))
    assert v.returncode == 1 and "manifest.json: missing" in v.stderr
    (report / audit.JOURNAL).write_text("")
    (report / "00_discover.ipynb").unlink()
    before = tree_digest(report)
    one_line_error(run(lab, "01", "CHG-MF"), 2, "manifest.json: missing", "written by no run")
    assert changed(before, tree_digest(report)) == []
    v = lab.cli("verify", str(report))
    assert v.returncode == 1 and "state.json: not in the manifest" in v.stderr
    assert "OK" not in v.stdout


@pytest.mark.lab
@pytest.mark.timeout(600)
def test_sealed_notebook_deleted_or_edited_is_refused(lab: Lab) -> None:
    """A notebook sealed earlier must exist with its hash before anything is written."""
    assert run(lab, "00", "CHG-NB").returncode == 0
    report = lab.reports / "CHG-NB"
    nb = report / "00_discover.ipynb"
    saved = nb.read_bytes()
    nb.unlink()
    one_line_error(run(lab, "01", "CHG-NB"), 2, "00_discover.ipynb: missing")
    nb.write_bytes(saved.replace(b"PASSED", b"FAILED", 1))
    one_line_error(run(lab, "01", "CHG-NB"), 2, "00_discover.ipynb: changed")
    nb.write_bytes(saved)
    assert run(lab, "01", "CHG-NB").returncode == 0
    v = lab.cli("verify", str(report))
    assert v.returncode == 0 and v.stdout.startswith("OK: 2 runs sealed, every file matches")


@pytest.mark.lab
@pytest.mark.timeout(600)
def test_journaled_but_unsealed_runs_are_reported_then_sealed(lab: Lab) -> None:
    """A plain papermill run (as in JupyterLab) journals and writes state but no seal:
    verify says NOT SEALED YET (exit 0), bundle refuses it, a change to it is still a
    change, and the next headless run (or mdstools seal) seals it."""
    report = lab.reports / "CHG-UN"
    papermill_run(lab, "00_discover.ipynb", "CHG-UN", lab.dir / "first.ipynb")
    v = lab.cli("verify", str(report))
    first = audit.read_journal(report / audit.JOURNAL)
    rid = first[0]["run_id"]
    assert v.returncode == 0, v.stderr
    assert f"NOT SEALED YET: run {rid} of phase 00 (journal lines 1..{len(first)})" in v.stdout
    assert run(lab, "01", "CHG-UN").returncode == 0  # the first headless run seals it
    manifest = json.loads((report / audit.MANIFEST).read_text())
    assert rid in manifest["runs"][0]["covers"]
    v = lab.cli("verify", str(report))
    assert v.returncode == 0 and v.stdout.startswith("OK: 1 runs sealed, every file matches")

    papermill_run(lab, "00_discover.ipynb", "CHG-UN", lab.dir / "again.ipynb")
    lines = (report / audit.JOURNAL).read_text().splitlines()
    rid2 = json.loads(lines[-1])["run_id"]
    v = lab.cli("verify", str(report))
    assert v.returncode == 0
    start = 1 + next(i for i, x in enumerate(lines) if json.loads(x)["run_id"] == rid2)
    assert f"run {rid2} of phase 00 (journal lines {start}..{len(lines)})" in v.stdout
    b = lab.cli("bundle", str(report))
    assert b.returncode == 1 and "not sealed yet" in b.stderr and "mdstools seal" in b.stderr

    for name, tamper, expected in (
        ("sealed phase edited", lambda s: s["phases"]["01"].update(verdict="failed"), "phase 01"),
        ("unsealed phase edited", lambda s: s["phases"]["00"].update(operator="x"), "neither"),
    ):
        copy = lab.dir / name.replace(" ", "-")
        shutil.copytree(report, copy)
        state = json.loads((copy / "state.json").read_text())
        tamper(state)
        (copy / "state.json").write_text(json.dumps(state))
        v = lab.cli("verify", str(copy))
        assert v.returncode == 1 and "state.json" in v.stderr and expected in v.stderr, name
    copy = lab.dir / "baseline-edited"
    shutil.copytree(report, copy)
    with (copy / "baseline.json").open("a") as f:
        f.write(" ")
    v = lab.cli("verify", str(copy))
    assert v.returncode == 1 and "baseline.json: changed" in v.stderr

    s = lab.cli("seal", str(report))
    assert s.returncode == 0 and f"sealed: run {rid2} of phase 00" in s.stdout
    v = lab.cli("verify", str(report))
    assert v.returncode == 0 and v.stdout.startswith("OK: 2 runs sealed, every file matches")
    assert lab.cli("bundle", str(report)).returncode == 0


@pytest.mark.lab
@pytest.mark.timeout(600)
def test_notebook_refuses_a_damaged_record_with_one_line(lab: Lab) -> None:
    """mdstools.start in the runbook checks the record too; the cell shows one line."""
    from papermill.exceptions import PapermillExecutionError

    assert run(lab, "00", "CHG-NBK").returncode == 0
    report = lab.reports / "CHG-NBK"
    (report / "state.json").write_text("{")
    before = tree_digest(report)
    with pytest.raises(PapermillExecutionError) as exc:
        papermill_run(lab, "00_discover.ipynb", "CHG-NBK", lab.dir / "out.ipynb")
    assert exc.value.ename == "RecordDamaged" and "state.json" in exc.value.evalue
    assert len(exc.value.traceback) == 1
    assert changed(before, tree_digest(report)) == []
    with pytest.raises(PapermillExecutionError) as exc:
        papermill_run(lab, "00_discover.ipynb", "../../escape", lab.dir / "out2.ipynb")
    assert "not a valid ticket id" in exc.value.evalue
    assert not (lab.dir / "escape").exists() and not (lab.dir.parent / "escape").exists()


@pytest.mark.lab
@pytest.mark.timeout(600)
def test_full_disk_keeps_the_last_good_record(lab: Lab, small_fs: Path) -> None:
    """ENOSPC at any point of a run: one line, exit 1, no partial journal line, no empty
    notebook; the sealed record still verifies; with space again the next run seals."""
    assert run(lab, "00", "CHG-FULL", small_fs).returncode == 0
    report = small_fs / "CHG-FULL"
    before_out = outside(lab)
    for leave in (0, 40_000, 200_000):
        filler = fill(small_fs, leave)
        p = run(lab, "01", "CHG-FULL", small_fs)
        one_line_error(p, 1, "No space left on device", "the record so far is intact")
        data = (report / audit.JOURNAL).read_bytes()
        assert data.endswith(b"\n") and all(json.loads(x) for x in data.splitlines())
        assert all(f.stat().st_size > 0 for f in report.iterdir()), "no empty file"
        v = lab.cli("verify", str(report))
        assert v.returncode == 0 and v.stdout.startswith("OK: 1 runs sealed"), v.stderr
        assert outside(lab) == before_out
        filler.unlink()
    p = run(lab, "01", "CHG-FULL", small_fs)
    assert p.returncode == 0, p.stderr[-2000:]
    v = lab.cli("verify", str(report))
    assert v.returncode == 0 and v.stdout.startswith("OK: 2 runs sealed, every file matches")
    assert not [f for f in report.iterdir() if fsio.is_temporary(f.name)]
    fill(small_fs, 0)  # a mutating phase: its locks live elsewhere and are released
    p = run(lab, "02", "CHG-FULL", small_fs, "-p", "confirm=true")
    one_line_error(p, 1, "No space left on device", "the record so far is intact")
    assert not list(Path(lab.env()["MDSTOOLS_LOCK_DIR"]).glob("*.lock"))
    v = lab.cli("verify", str(report))
    assert v.returncode == 0 and v.stdout.startswith("OK: 2 runs sealed"), v.stderr
    unsealed = [line for line in v.stdout.splitlines() if "NOT SEALED YET" in line]
    assert all("of phase 02" in line for line in unsealed), v.stdout


@pytest.mark.lab
@pytest.mark.timeout(600)
def test_read_only_reports_folder_is_bad_input(lab: Lab, small_fs: Path) -> None:
    """A read-only reports folder (a read-only mount: chmod does not stop root): exit 2,
    one line naming the folder, no traceback, and no lock file attempted."""
    assert run(lab, "00", "CHG-RO", small_fs).returncode == 0
    report = small_fs / "CHG-RO"
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    before, before_out = tree_digest(small_fs), outside(lab)
    for p in (
        run(lab, "01", "CHG-RO", small_fs),
        run(lab, "02", "CHG-RO", small_fs, "-p", "confirm=true"),
        run(lab, "00", "CHG-NEW", small_fs),
        lab.campaign("CHG-RO", "--reports", str(small_fs), "--resume"),
    ):
        one_line_error(p, 2, "Read-only file system", "--reports")
    assert changed(before, tree_digest(small_fs)) == [] and outside(lab) == before_out
    v = lab.cli("verify", str(report))
    assert v.returncode == 0 and v.stdout.startswith("OK: 1 runs sealed, every file matches")


def test_record_damaged_names_the_file_and_check_passes_a_new_folder(tmp_path: Path) -> None:
    """check_before_write: nothing there is fine; files no journal accounts for are not."""
    assert audit.check_before_write(tmp_path / "new").ok
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "state.json").write_text('{"phases": {}}')
    with pytest.raises(RecordDamaged) as exc:
        audit.check_before_write(tmp_path / "old")
    assert exc.value.path == str(tmp_path / "old" / "state.json")


# -- the rules of verify on a small record built with the record's own writers ------------


def small_record(report: Path) -> list[str]:
    """Two sealed runs and one journaled after the last seal; returns the run ids."""
    ids = []
    for n, phase in enumerate(("00", "01", "02")):
        rid = f"run{n}"
        ids.append(rid)
        j = audit.Journal(report / audit.JOURNAL, rid, phase)
        j.write("phase", event="start")
        state = audit.load_state(report / audit.STATE)
        state["phases"][phase] = {"verdict": "passed", "run_id": rid}
        j.write_file(report / audit.STATE, json.dumps(state))
        j.write_file(report / f"{phase}.ipynb", f"notebook {phase}\n")
        j.write("phase", event="end", verdict="passed")
        if phase != "02":
            audit.seal(report, {"run_id": rid, "phase": phase, "verdict": "passed"}, j)
    return ids


def test_small_record_verifies_and_lists_the_unsealed_run(tmp_path: Path) -> None:
    """The journaled run after the last seal is listed with its lines; sealing covers it."""
    report = tmp_path / "T"
    ids = small_record(report)
    v = audit.verify(report)
    lines = (report / audit.JOURNAL).read_text().splitlines()
    first = 1 + next(i for i, x in enumerate(lines) if json.loads(x)["run_id"] == ids[2])
    assert v.ok and v.runs == 2
    assert [u.describe() for u in v.unsealed] == [
        f"run {ids[2]} of phase 02 (journal lines {first}..{len(lines)})"
    ]
    entry = audit.seal(report, {"run_id": "s", "phase": "seal", "verdict": "sealed"})
    assert entry["covers"] == [ids[2]]
    v = audit.verify(report)
    assert v.ok and v.runs == 3 and not v.unsealed
    with (report / audit.JOURNAL).open("a") as f:
        f.write('{"kind": "gate", "passed": true}\n')
    v = audit.verify(report)
    assert not v.ok and "names no run" in v.problems[0]


@settings(deadline=None, max_examples=60)
@given(st.data())
def test_any_cut_or_byte_change_of_what_was_sealed_or_journaled_is_found(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """Property: cutting the sealed part of the journal anywhere, or changing any byte of
    it or of any file of the record (sealed, or journaled since), is never OK. (Lines after
    the last seal are not sealed yet: dropping whole ones of them is not detectable.)"""
    report = tmp_path_factory.mktemp("rec") / "T"
    small_record(report)
    manifest = json.loads((report / audit.MANIFEST).read_text())
    sealed = manifest["runs"][-1]["journal_bytes"]
    names = sorted(p.name for p in report.iterdir() if p.name != audit.MANIFEST)
    name = data.draw(st.sampled_from(names), label="file")
    path = report / name
    raw = bytearray(path.read_bytes())
    end = sealed if name == audit.JOURNAL else len(raw)
    if name == audit.JOURNAL and data.draw(st.booleans(), label="cut"):
        path.write_bytes(bytes(raw[: data.draw(st.integers(0, end - 1), label="at")]))
    else:
        i = data.draw(st.integers(0, end - 1), label="byte")
        raw[i] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[i]), label="to")
        path.write_bytes(bytes(raw))
    v = audit.verify(report)
    assert not v.ok and v.problems
    with pytest.raises(RecordDamaged):
        audit.check_before_write(report)


def test_two_runs_sealing_at_once_lose_no_entry(tmp_path: Path) -> None:
    """Two runs of one ticket that end together: both entries in the chain, verify OK."""
    import threading

    report = tmp_path / "T"
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            for n in range(8):
                j = audit.Journal(report / audit.JOURNAL, f"{name}{n}", "00")
                j.write("phase", event="start")
                j.write_file(report / f"{name}{n}.ipynb", f"{name} {n}\n")
                audit.seal(report, {"run_id": f"{name}{n}", "phase": "00"}, j)
        except BaseException as exc:  # the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    v = audit.verify(report)
    assert v.ok and v.runs == 16 and not v.unsealed, v.problems


def test_a_manifest_written_before_journal_lengths_still_verifies(tmp_path: Path) -> None:
    """An entry without the journal's length (an older manifest) compares the journal as
    a whole file; the next seal adds the length, and append-only is checked from there."""
    report = tmp_path / "T"
    j = audit.Journal(report / audit.JOURNAL, "old1", "00")
    j.write("phase", event="start")
    j.write_file(report / audit.STATE, json.dumps({"phases": {}}))
    entry = {"run_id": "old1", "phase": "00", "files": audit.report_files(report)}
    entry["prev"] = audit.ZERO
    entry["hash"] = audit._entry_hash(entry)
    (report / audit.MANIFEST).write_text(json.dumps({"version": 1, "runs": [entry]}))
    v = audit.verify(report)
    assert v.ok and v.runs == 1 and not v.unsealed
    j2 = audit.Journal(report / audit.JOURNAL, "new1", "01")
    j2.write("phase", event="start")
    v = audit.verify(report)
    assert v.ok and [u.run_id for u in v.unsealed] == ["new1"]
    assert audit.seal(report, {"run_id": "new1", "phase": "01"}, j2)["covers"] == ["new1"]
    assert audit.verify(report).ok
    journal = report / audit.JOURNAL
    data = journal.read_bytes()
    journal.write_bytes(data.replace(b'"old1"', b'"old2"', 1))
    v = audit.verify(report)
    assert "journal.jsonl: the part sealed in run 1 was changed or cut" in v.problems
