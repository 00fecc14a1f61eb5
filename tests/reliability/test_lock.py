"""One upgrade at a time per environment, whoever and wherever starts it (X4).

Against the lab over SSH, with the CLI as a scheduler runs it: two working directories
and reports folders on one jump host meet the host-wide lock; two jump hosts (two lock
directories) meet the lock file on the primary MDS; stale locks are reported and broken
only with ``--break-lock`` (journaled); no lock outlives a run, however it ended.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

import mdstools
from mdstools import audit
from mdstools.commands.lock import LOCK_FILE, LockFileState, read_lock, take_lock
from mdstools.fleet import Fleet
from mdstools.inventory import load
from mdstools.lab import runtime, scenarios
from mdstools.run import GateFailed
from tests.reliability.conftest import changed, tree_digest
from tests.runbooks.conftest import SCALE, Lab, assert_no_secrets, top_cell

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(600)]

ENV = "lab-default"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    runtime.up(tmp_path / "lab", scenarios.LabOptions(scenario="default", time_scale=float(SCALE)))
    yield Lab(tmp_path, "default")
    runtime.down(tmp_path / "lab")


def on_primary(lab: Lab, command: Any) -> LockFileState:
    """Run a lock command on the lab's primary MDS over SSH, as a jump host would."""
    inv = load(lab.inventory)
    with Fleet(inv) as fleet:
        state: LockFileState | None = fleet.session(inv.primary.name).run(command, check=True).data
    assert state is not None
    return state


def remote_holder(lab: Lab) -> dict[str, Any] | None:
    return on_primary(lab, read_lock()).holder


def put_remote(lab: Lab, **holder: Any) -> dict[str, Any]:
    info = {
        "environment": ENV,
        "phase": "03",
        "operator": "bob",
        "started": "2026-11-29T08:00:00+00:00",
        "token": uuid.uuid4().hex,
        **holder,
    }
    assert on_primary(lab, take_lock(info)).outcome == "taken"
    return info


def notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def campaign(
    lab: Lab, ticket: str, *extra: str, cwd: Path | None = None, locks: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """A campaign with the reports folder of its working directory (``reports``)."""
    return lab.cli(
        "campaign",
        "-i",
        str(lab.inventory),
        "--ticket",
        ticket,
        "--confirm",
        "-p",
        f"time_scale={SCALE}",
        *extra,
        cwd=cwd,
        locks=locks,
    )


def start_campaign(
    lab: Lab, ticket: str, cwd: Path, locks: Path, *extra: str, scale: str = SCALE
) -> subprocess.Popen[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "mdstools", "campaign", "-i", str(lab.inventory)),
            *("--ticket", ticket, "--confirm", "-p", f"time_scale={scale}", *extra),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=lab.env(locks),
        cwd=cwd,
    )


def wait_until(
    check: Any, proc: subprocess.Popen[str], what: str, timeout: float = 120, every: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the first run ended before {what}: {err[-2000:]}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def assert_unlocked(lab: Lab, *lock_dirs: Path) -> None:
    for d in lock_dirs:
        assert not (d / f"{ENV}.lock").exists(), f"a lock is left in {d}"
    assert remote_holder(lab) is None, f"a lock is left in {LOCK_FILE} on the primary MDS"


def test_two_working_directories_meet_the_host_wide_lock(
    lab: Lab, runbooks_unchanged: None
) -> None:
    """(a) Same inventory, two working directories, two reports folders: the second exits 3
    naming the first's pid and ticket and writes nothing; the first completes and leaves
    no lock, locally or on the MDS."""
    w1, w2 = lab.dir / "w1", lab.dir / "w2"
    w2.mkdir()
    first = start_campaign(lab, "CHG-A", w1, lab.locks, "--to", "03")
    wait_until(lambda: (lab.locks / f"{ENV}.lock").exists(), first, "the host-wide lock")
    outside_w1 = tree_digest(lab.dir, exclude=[w1, lab.dir / "lab", lab.locks])
    second = campaign(lab, "CHG-B", "--to", "03", cwd=w2)
    assert second.returncode == 3, second.stderr
    assert f"pid {first.pid}" in second.stderr and "ticket CHG-A" in second.stderr
    assert str(lab.locks / f"{ENV}.lock") in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1 and "Traceback" not in second.stderr
    assert changed(outside_w1, tree_digest(lab.dir, exclude=[w1, lab.dir / "lab", lab.locks])) == []
    assert not (w2 / "reports").exists(), "the refused campaign wrote nothing"
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-3000:]
    assert_unlocked(lab, lab.locks)
    assert lab.cli("verify", str(w1 / "reports" / "CHG-A")).returncode == 0


def test_two_jump_hosts_meet_the_lock_on_the_primary_and_sigterm_releases_it(
    tmp_path: Path, runbooks_unchanged: None
) -> None:
    """(b) Two lock directories (two jump hosts): the second is refused by the lock file on
    the primary MDS (exit 3, the holder's pid, ticket, operator), and that file is on the
    server meanwhile. (d) SIGTERM on the first: the record says aborted and no lock is left,
    locally or on the MDS."""
    scale = "0.03"  # the upgrade of the primary and its reboot take some 50 s: time to meet it
    runtime.up(tmp_path / "lab", scenarios.LabOptions(scenario="default", time_scale=float(scale)))
    lab = Lab(tmp_path, "default")
    try:
        jump1, jump2 = tmp_path / "jump1-locks", tmp_path / "jump2-locks"
        first = start_campaign(lab, "CHG-A", tmp_path / "w1", jump1, "--to", "03", scale=scale)
        holder = wait_until(
            lambda: (h := remote_holder(lab)) and h.get("phase") == "03" and h,
            first,
            "phase 03 to hold the lock on the primary MDS",
            timeout=300,
            every=0.5,
        )
        assert holder["ticket"] == "CHG-A" and holder["pid"] == first.pid
        assert holder["host"] == socket.gethostname() and holder["environment"] == ENV
        w2 = tmp_path / "w2"
        w2.mkdir()
        second = lab.cli(
            "run",
            "03",
            "-i",
            str(lab.inventory),
            "--ticket",
            "CHG-B",
            "-p",
            "confirm=true",
            "-p",
            f"time_scale={scale}",
            cwd=w2,
            locks=jump2,
        )
        assert second.returncode == 3, second.stderr[-3000:]
        last = second.stderr.strip().splitlines()[-1]
        assert last.startswith("mdstools run: another run holds the lock of lab-default")
        assert f"mds1:{LOCK_FILE}" in last and f"pid {first.pid}" in last
        assert "ticket CHG-A" in last and "phase 03" in last and "Traceback" not in second.stderr
        report = w2 / "reports" / "CHG-B"
        assert "LOCKED" in top_cell(notebook(report / "03_upgrade_primary.ipynb"))
        assert not (report / "state.json").exists(), "the refused phase recorded no verdict"
        assert lab.cli("verify", str(report)).returncode == 0
        assert remote_holder(lab) == holder, "the refused run left the holder's lock alone"
        assert not (jump2 / f"{ENV}.lock").exists()
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=120)
        assert first.returncode == 1
        nb = notebook(tmp_path / "w1" / "reports" / "CHG-A" / "03_upgrade_primary.ipynb")
        assert "ABORTED" in top_cell(nb)
        assert_unlocked(lab, jump1, jump2)
        assert lab.cli("verify", str(tmp_path / "w1" / "reports" / "CHG-A")).returncode == 0
    finally:
        runtime.down(tmp_path / "lab")


def test_stale_and_foreign_locks_are_reported_and_broken_only_with_break_lock(
    lab: Lab, runbooks_unchanged: None
) -> None:
    """(c) A host-wide lock of a dead pid, then a lock on the MDS of a dead pid of this host,
    then one taken from another host: each refuses (exit 3, what and whose), nothing runs;
    ``--break-lock`` breaks it, the journal says whose lock was broken."""
    here = socket.gethostname()
    lab.locks.mkdir()
    dead = dead_pid()
    local = {
        "environment": ENV,
        "pid": dead,
        "host": here,
        "ticket": "CHG-DEAD",
        "phase": "02",
        "operator": "carol",
        "started": "2026-11-29T08:00:00+00:00",
        "token": uuid.uuid4().hex,
    }
    (lab.locks / f"{ENV}.lock").write_text(json.dumps(local))
    p = campaign(lab, "CHG-C", "--to", "01")
    assert p.returncode == 3
    assert "STALE" in p.stderr and f"pid {dead}" in p.stderr and "--break-lock" in p.stderr
    assert not (lab.dir / "reports").exists(), "nothing ran"

    p = campaign(lab, "CHG-C", "--to", "01", "--break-lock")
    assert p.returncode == 0, p.stderr[-3000:]
    report = lab.dir / "reports" / "CHG-C"
    broken = [e for e in audit.read_journal(report / audit.JOURNAL) if e["kind"] == "lock"]
    assert broken[0]["event"] == "broken" and broken[0]["holder"]["ticket"] == "CHG-DEAD"
    assert broken[0]["where"] == str(lab.locks / f"{ENV}.lock")

    stale = put_remote(lab, pid=dead_pid(), host=here, ticket="CHG-STALE")
    p = campaign(lab, "CHG-C", "--resume", "--to", "02")
    assert p.returncode == 3, p.stderr[-3000:]
    assert f"a STALE lock of {ENV} (mds1:{LOCK_FILE})" in p.stderr and "CHG-STALE" in p.stderr
    assert remote_holder(lab) == stale
    state = json.loads((report / "state.json").read_text())
    assert "02" not in state["phases"], "the refused phase did nothing"

    p = campaign(lab, "CHG-C", "--resume", "--to", "02", "--break-lock")
    assert p.returncode == 0, p.stderr[-3000:]
    assert_unlocked(lab, lab.locks)

    foreign = put_remote(lab, pid=4242, host="jump2.example", ticket="CHG-JUMP2")
    p = campaign(lab, "CHG-C", "--resume", "--to", "03")
    assert p.returncode == 3, p.stderr[-3000:]
    assert "held from another host: pid 4242 on jump2.example, ticket CHG-JUMP2" in p.stderr
    assert " ago)" in p.stderr and "--break-lock" in p.stderr
    assert remote_holder(lab) == foreign
    p = campaign(lab, "CHG-C", "--resume", "--to", "03", "--break-lock")
    assert p.returncode == 0, p.stderr[-3000:]
    events = [e for e in audit.read_journal(report / audit.JOURNAL) if e["kind"] == "lock"]
    broken_remote = [e["holder"]["ticket"] for e in events if e["event"] == "broken"][1:]
    assert broken_remote == ["CHG-STALE", "CHG-JUMP2"]
    assert_unlocked(lab, lab.locks)
    assert lab.cli("verify", str(report)).returncode == 0
    assert_no_secrets(lab)


def test_a_failed_phase_leaves_no_lock(lab: Lab) -> None:
    """(d) A mutating phase that fails its entry gate releases both locks."""
    p = lab.cli(
        "run",
        "03",
        "-i",
        str(lab.inventory),
        "--ticket",
        "CHG-F",
        "--reports",
        str(lab.reports),
        "-p",
        "confirm=true",
        "-p",
        f"time_scale={SCALE}",
    )
    assert p.returncode == 1, p.stderr[-3000:]
    assert "01 has not passed for ticket CHG-F" in p.stderr
    assert_unlocked(lab, lab.locks)
    events = audit.read_journal(lab.reports / "CHG-F" / audit.JOURNAL)
    assert [e["event"] for e in events if e["kind"] == "lock"] == ["held", "released"]
    assert lab.cli("verify", str(lab.reports / "CHG-F")).returncode == 0


def test_a_lock_dir_that_cannot_be_used_is_exit_2_and_nothing_runs(lab: Lab) -> None:
    """A read-only home (here: a file where the directory should be): one line naming the
    directory and MDSTOOLS_LOCK_DIR, exit 2, no report."""
    blocker = lab.dir / "not-a-dir"
    blocker.write_text("")
    p = campaign(lab, "CHG-RO", cwd=lab.dir, locks=blocker / "locks")
    assert p.returncode == 2
    assert p.stderr.strip() == (
        f"mdstools campaign: cannot use the lock directory {blocker / 'locks'}: Not a directory. "
        "set MDSTOOLS_LOCK_DIR to a writable directory of this user (the same for every run "
        "on this host)"
    )
    assert not (lab.dir / "reports").exists()


def test_a_notebook_run_outside_the_cli_takes_both_locks_itself(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JupyterLab: ``mdstools.start`` of a mutating phase, with no token from a CLI, takes
    the host-wide lock and the one on the primary MDS; a CLI run on this host and one from
    another jump host are refused meanwhile; the end of the phase releases both."""
    monkeypatch.setenv("MDSTOOLS_LOCK_DIR", str(lab.locks))
    monkeypatch.delenv("MDSTOOLS_LOCK_TOKEN", raising=False)
    run = mdstools.start(
        str(lab.inventory),
        ticket="CHG-NB",
        operator="alice",
        phase="05",
        interactive=False,
        reports_dir=str(lab.reports),
        params={"time_scale": float(SCALE)},
    )
    local = json.loads((lab.locks / f"{ENV}.lock").read_text())
    assert local["pid"] == os.getpid() and local["operator"] == "alice"
    remote = remote_holder(lab)
    assert remote is not None
    same = ("environment", "pid", "host", "ticket", "phase", "operator", "token")
    assert {k: remote[k] for k in same} == {k: local[k] for k in same}
    args = ("run", "05", "-i", str(lab.inventory), "--ticket", "CHG-X", "-p", "confirm=true")
    here = lab.cli(*args, "-p", f"time_scale={SCALE}")
    assert here.returncode == 3 and f"pid {os.getpid()}" in here.stderr, here.stderr[-2000:]
    other = lab.cli(*args, "-p", f"time_scale={SCALE}", locks=lab.dir / "jump2-locks")
    assert other.returncode == 3 and f"mds1:{LOCK_FILE}" in other.stderr, other.stderr[-2000:]
    assert "operator alice" in other.stderr
    with pytest.raises(GateFailed):
        run.require_phases()
    assert_unlocked(lab, lab.locks, lab.dir / "jump2-locks")
