"""Faults: a phase that survives a kill, a dead server and a resume.

The decisions (what a step finds already done or in progress, how long a server that does
not answer is waited for, what the progress lines say) on the fake transport and a fake
clock; then the campaign through the real CLI against the lab: killed during the upgrade
and resumed, and the lab server killed under a running phase.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mdstools import audit, jobs, ui
from mdstools.errors import ConnectionLostError, JobError, ServerDown, UnreachableError
from mdstools.inventory import Connection, Role, Server
from mdstools.lab import runtime, scenarios
from mdstools.phases import phase
from mdstools.procedure.upgrade import ServerState, decide
from mdstools.runbook import Outcome
from mdstools.session import Session
from mdstools.transport.base import ExecOutput
from mdstools.transport.fake import FakeShell, FakeTransport
from tests.reliability.conftest import changed, tree_digest
from tests.runbooks.conftest import SCALE, Lab, assert_no_secrets, start, top_cell

TARGET = "R81.20"


# -- the fake clock ------------------------------------------------------------------------
@dataclass
class Clock:
    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(jobs, "_clock", c)
    monkeypatch.setattr(jobs, "_sleep", c.sleep)
    return c


def server(budget: float = 60.0) -> Server:
    return Server(
        name="mds2",
        host="192.0.2.12",
        port=22,
        role=Role.SECONDARY,
        connection=Connection(connect_timeout_s=5.0, reconnect_budget_s=budget),
    )


@dataclass
class DeadTransport:
    """A server that answered once, then refuses every connection; time passes as it would."""

    clock: Clock
    name: str = "mds2"
    up_after: float | None = None  # fake-clock time when it answers again
    answers: int = 0
    reconnects: int = 0

    @property
    def connected(self) -> bool:
        return self._up()

    def _up(self) -> bool:
        return self.up_after is not None and self.clock.now >= self.up_after

    def connect(self) -> None:
        if not self._up():
            raise UnreachableError(self.name, "192.0.2.12:22 refused the connection")

    def exec(self, command: str, timeout: float, stdin: str | None = None) -> ExecOutput:
        if not self._up():
            raise ConnectionLostError(self.name)
        self.answers += 1
        return ExecOutput(stdout="R81.20\n", stderr="", exit_status=0, duration_s=0.0)

    def open_shell(self, timeout: float) -> FakeShell:
        raise ConnectionLostError(self.name, "no shell")

    def reconnect(self, wait_s: float) -> None:
        self.reconnects += 1
        self.clock.now += wait_s
        self.connect()

    def close(self) -> None:
        pass


def version(s: Session) -> tuple[bool, str]:
    r = s.run("fw ver")
    return r.stdout.strip() == TARGET, r.stdout.strip()


# -- bounded waits ---------------------------------------------------------------------------
def test_a_dead_server_ends_the_wait_after_its_budget_with_a_clear_message(clock: Clock) -> None:
    """Outside a reboot window: the reconnect budget, then ServerDown naming server, time,
    cause and step; a progress line at every attempt with real seconds since the drop."""
    t = DeadTransport(clock)
    sess = Session(server(budget=60.0), t)
    lines: list[tuple[str, float]] = []
    with pytest.raises(ServerDown) as info:
        jobs.poll_until(
            sess,
            version,
            timeout_s=3600,
            interval_s=5,
            progress=lambda text, st, elapsed: lines.append((text, elapsed)),
            label="mds2 mdsstat",
        )
    message = str(info.value)
    assert re.fullmatch(
        r"mds2 unreachable since \d\d:\d\d:\d\d \(connection refused\) during 'mds2 mdsstat'; "
        r"check the server, then mdstools campaign --resume",
        message,
    ), message
    assert 60 <= clock.now - 1000 <= 61, "bounded by the budget"
    waiting = [(x, e) for x, e in lines if "waiting for mds2 to come back" in x]
    assert len(waiting) >= 60 / jobs.RECONNECT_SLICE_S - 1, "a line at every attempt"
    assert all(e <= 61 for _, e in waiting), "elapsed is the wait's, not the clock's"
    seconds = [int(m.group(1)) for x, _ in waiting if (m := re.search(r"refused, (\d+) s", x))]
    assert seconds == sorted(seconds) and seconds[-1] <= 60
    gaps = [b - a for a, b in itertools.pairwise(seconds)]
    assert max(gaps) <= jobs.RECONNECT_SLICE_S + 1, "progress keeps coming"


def test_a_reboot_window_waits_up_to_the_deadline_and_sees_the_server_back(
    clock: Clock,
) -> None:
    """budget None (an upgrade's reboot): longer than the budget is fine until the deadline."""
    t = DeadTransport(clock, up_after=1000.0 + 300)
    sess = Session(server(budget=60.0), t)
    detail = jobs.poll_until(sess, version, 3600, 5, label="mds2 upgrade", budget_s=None)
    assert detail == TARGET and t.answers >= 1
    t2 = DeadTransport(clock)
    with pytest.raises(ServerDown, match="during 'mds2 upgrade'"):
        jobs.poll_until(Session(server(), t2), version, 600, 5, label="mds2 upgrade", budget_s=None)


def test_a_job_waits_through_a_short_drop_but_not_a_long_one(clock: Clock) -> None:
    t = DeadTransport(clock, up_after=clock.now + 20)
    sess = Session(server(budget=60.0), t)
    handle = jobs.JobHandle(
        server="mds2",
        name="mds_backup",
        job_id="T/mds_backup",
        pid=42,
        directory="/j/T/mds_backup",
        command="x",
        started_at=_utc(),
    )
    polls = iter(["running\n0\n", "rc=0\n3\nok\n"])

    def exec_(command: str, timeout: float, stdin: str | None = None) -> ExecOutput:
        if not t.connected:
            raise ConnectionLostError("mds2")
        if command.endswith("cat /j/T/mds_backup/log"):
            return ExecOutput(stdout="ok\n", stderr="", exit_status=0, duration_s=0.0)
        return ExecOutput(stdout=next(polls), stderr="", exit_status=0, duration_s=0.0)

    t.exec = exec_  # type: ignore[method-assign]
    result = jobs.wait(sess, handle, timeout_s=3600, interval_s=5)
    assert result.rc == 0 and result.log == "ok\n" and result.reconnects >= 1
    t.up_after = None
    with pytest.raises(ServerDown, match="during 'mds2 mds_backup'"):
        jobs.wait(sess, handle, timeout_s=3600, interval_s=5)


def _utc() -> object:
    from datetime import datetime, timezone

    return datetime(2026, 11, 29, 14, 2, 11, tzinfo=timezone.utc)


# -- jobs found on a rerun -------------------------------------------------------------------
class JobServer:
    """A job directory on a fake server: pid/started/rc/log files, and what was sent."""

    def __init__(self, pid: str | None, state: str, log: str = "done\n") -> None:
        self.pid, self.state, self.log = pid, state, log
        self.polls = 0

    def __call__(self, command: str, stdin: str | None) -> tuple[str, str, int]:
        if "nohup" in command:
            self.pid, self.state = "777", "running"
            return "777\n1796000000\n", "", 0
        if "cat /var/log/mdstools/jobs/CHG-1/mds_backup/pid" in command:
            return (f"{self.pid}\n1795990000\n" if self.pid else ""), "", 0
        if command.endswith("cat /var/log/mdstools/jobs/CHG-1/mds_backup/log"):
            return self.log, "", 0
        if "kill -0" in command:
            self.polls += 1
            if self.state == "running" and self.polls >= 2:
                self.state = "rc=0"
            head = "running" if self.state == "running" else self.state
            return f"{head}\n{len(self.log)}\n{self.log}", "", 0
        return "", f"unexpected {command}", 127


def resume(
    job: JobServer, seen: list[str], reuse: bool = True
) -> tuple[jobs.JobResult, FakeTransport]:
    fake = FakeTransport("mds2", job)
    result = jobs.resume_or_start(
        Session(server(), fake),
        "CHG-1",
        "mds_backup",
        "mds_backup -b",
        timeout_s=600,
        interval_s=1,
        on_found=lambda how, h: seen.append(f"{how} pid {h.pid}"),
        reuse_finished=reuse,
    )
    return result, fake


def test_a_running_job_of_the_ticket_is_waited_for_not_started_again(clock: Clock) -> None:
    seen: list[str] = []
    result, fake = resume(JobServer("4242", "running"), seen)
    assert result.found == "in progress" and result.handle.pid == 4242 and result.rc == 0
    assert seen == ["in progress pid 4242"]
    assert not any("nohup" in c for c in fake.calls), "started a second time"
    assert result.handle.started_at.year == 2026, "the start time is the server's"


def test_a_job_that_succeeded_is_done_and_its_log_read(clock: Clock) -> None:
    seen: list[str] = []
    result, fake = resume(JobServer("4242", "rc=0", log="Backup completed successfully.\n"), seen)
    assert result.found == "already done" and result.log == "Backup completed successfully.\n"
    assert seen == ["already done pid 4242"]
    assert not any("nohup" in c for c in fake.calls)


@pytest.mark.parametrize(
    "pid,state,reuse",
    [(None, "lost", True), ("4242", "rc=1", True), ("4242", "lost", True), ("4242", "rc=0", False)],
)
def test_a_job_never_started_failed_lost_or_undone_is_started(
    clock: Clock, pid: str | None, state: str, reuse: bool
) -> None:
    """Started again: no job, a failed one, a lost one, or a done one whose effect is gone."""
    seen: list[str] = []
    result, fake = resume(JobServer(pid, state), seen, reuse)
    assert result.found == "started" and result.handle.pid == 777 and seen == []
    start = next(c for c in fake.calls if "nohup" in c)
    assert "/var/log/mdstools/jobs/CHG-1/mds_backup" in start
    assert "mv /var/log/mdstools/jobs/CHG-1/mds_backup /var/log/mdstools/jobs/CHG-1/" in start


def test_job_paths_depend_only_on_ticket_and_step() -> None:
    a = jobs.job_directory("CHG-1", "mdsstop; mdsstart")
    assert (
        a
        == jobs.job_directory("CHG-1", "mdsstop; mdsstart")
        != jobs.job_directory("CHG-2", "mdsstop; mdsstart")
    )
    assert a == "/var/log/mdstools/jobs/CHG-1/mdsstop_mdsstart"
    assert jobs.job_directory("../../etc x", "a/b").startswith("/var/log/mdstools/jobs/")
    assert ".." not in jobs.job_directory("../../etc x", "a/b")


# -- the upgrade's decision -------------------------------------------------------------------
@pytest.mark.parametrize(
    "method,state,earlier,action,words",
    [
        (
            "cpuse",
            ServerState(version="R81.10", package="Installing", progress=89),
            False,
            "wait",
            "Installing 89%",
        ),
        (
            "cpuse",
            ServerState(version="R81.10", package="Installing", progress=89),
            True,
            "wait",
            "already in progress",
        ),
        (
            "cpuse",
            ServerState(version="R81.10", package="Installed"),
            True,
            "wait",
            "not yet rebooted",
        ),
        ("cpuse", ServerState(version="R81.10", package="Imported"), False, "start", "Imported"),
        ("cpuse", ServerState(version="R81.10", package="Failed"), True, "start", "Failed"),
        ("cpuse", ServerState(version="R81.10", package=None), False, "start", "version R81.10"),
        ("cpuse", ServerState(version=TARGET, package="Installed"), False, "skip", "already on"),
        (
            "cpuse",
            ServerState(version=TARGET, package="Installed"),
            True,
            "finished",
            "started earlier",
        ),
        ("mds_setup", ServerState(version="R81.10", job="running"), False, "wait", "in progress"),
        (
            "mds_setup",
            ServerState(version="R81.10", job="finished", job_rc=0),
            True,
            "wait",
            "earlier",
        ),
        (
            "mds_setup",
            ServerState(version="R81.10", job="finished", job_rc=1),
            True,
            "start",
            "rc 1",
        ),
        ("mds_setup", ServerState(version="R81.10"), False, "start", "version R81.10"),
        ("mds_setup", ServerState(version=TARGET), False, "skip", "already on"),
    ],
)
def test_upgrade_decision(
    method: str, state: ServerState, earlier: bool, action: str, words: str
) -> None:
    """An upgrade in progress is waited for, never sent twice; a done one is skipped."""
    d = decide(method, state, TARGET, earlier)
    assert d.action == action and words in d.detail, d
    if action == "wait" and state.package == "Installing":
        assert d.detail.startswith("upgrade already in progress (found package Installing 89%")


def test_journal_tells_an_upgrade_and_a_task_started_by_an_earlier_run(tmp_path: Path) -> None:
    """What a rerun reads back from the ticket's journal: an upgrade started and not ended,
    a Management API task started and not ended (waited for instead of sent again)."""
    from types import SimpleNamespace

    from mdstools.procedure import sync, upgrade

    j = audit.Journal(tmp_path / audit.JOURNAL, "r1", "03")
    run = SimpleNamespace(report_dir=tmp_path)
    assert not upgrade.started_before(run, "mds1")  # type: ignore[arg-type]
    j.write("step", event="upgrade-start", server="mds1", before="R81.10", target=TARGET)
    assert upgrade.started_before(run, "mds1")  # type: ignore[arg-type]
    assert not upgrade.started_before(run, "mds2")  # type: ignore[arg-type]
    j.write("step", event="upgrade-end", server="mds1", after=TARGET, not_up=[])
    assert not upgrade.started_before(run, "mds1")  # type: ignore[arg-type]
    key = "mds1 ha_full_sync: mgmt_cli -r true ha-full-sync"
    assert sync._unfinished_task(run, key) is None  # type: ignore[arg-type]
    j.write("step", event="task-start", key=key, server="mds1", task="t-1")
    assert sync._unfinished_task(run, key) == "t-1"  # type: ignore[arg-type]
    assert sync._unfinished_task(run, key + " other") is None  # type: ignore[arg-type]
    j.write("step", event="task-end", key=key, server="mds1", status="succeeded")
    assert sync._unfinished_task(run, key) is None  # type: ignore[arg-type]


def test_reconnect_budget_from_the_inventory(tmp_path: Path) -> None:
    """Default, per inventory and per server; a bad value names the field (exit 2 upstream)."""
    import yaml

    from mdstools.errors import InventoryError
    from mdstools.inventory import load

    base = {
        "environment": "prod",
        "target_version": TARGET,
        "upgrade": {"method": "cpuse", "package": "/var/log/upload/pkg.tgz"},
        "connection": {"reconnect_budget_s": 30, "password": "env:MDS_PASSWORD"},
        "servers": [
            {"name": "mds1", "host": "192.0.2.11", "role": "primary"},
            {"name": "mds2", "host": "192.0.2.12", "role": "secondary", "reconnect_budget_s": 5},
        ],
    }
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(base))
    inv = load(path)
    assert [s.connection.reconnect_budget_s for s in inv.servers] == [30.0, 5.0]
    assert Connection().reconnect_budget_s == 180.0
    base["connection"] = {"reconnect_budget_s": -1, "password": "env:MDS_PASSWORD"}
    path.write_text(yaml.safe_dump(base))
    with pytest.raises(InventoryError, match=r"connection\.reconnect_budget_s: .*0\.\.86400"):
        load(path)


# -- progress and exit codes -----------------------------------------------------------------
def test_progress_shows_the_callers_elapsed_and_a_heartbeat() -> None:
    c = Clock(now=0.0)
    p = ui.Progress(False, heartbeat_s=30, clock=c)
    out = io.StringIO()
    with redirect_stdout(out):
        p.update("mds2 mdsstat", "mds2 mdsstat: 3 not up", 1.0)
        c.now = 10
        p.update("mds2 mdsstat", "mds2 mdsstat: 3 not up", 11.0)
        c.now = 31
        p.update("mds2 mdsstat", "mds2 mdsstat: 3 not up", 32.4)
        c.now = 32
        p.update("mds2 mdsstat", "mds2 mdsstat: every process is up", 33.0)
    assert out.getvalue().splitlines() == [
        "mds2 mdsstat: 3 not up (1 s)",
        "mds2 mdsstat: 3 not up (32 s)",
        "mds2 mdsstat: every process is up (33 s)",
    ]


@pytest.mark.parametrize(
    "error,verdict,code",
    [
        ("ServerDown", "failed", 4),
        ("UnreachableError", "failed", 4),
        ("ConnectionLostError", "failed", 4),
        ("GateFailed", "failed", 1),
        (None, "failed", 1),
        (None, "passed", 0),
    ],
)
def test_a_phase_stopped_by_an_unreachable_server_exits_4(
    error: str | None, verdict: str, code: int
) -> None:
    o = Outcome(
        phase=phase("03"),
        verdict=verdict,
        cause="cause",
        notebook=Path("x.ipynb"),
        html=None,
        run_id="r1",
        error=error,
    )
    assert o.exit_code == code


def test_job_error_is_not_a_connection_error() -> None:
    assert not issubclass(JobError, (ServerDown, UnreachableError))


# -- against the lab, through the CLI ---------------------------------------------------------
def _events(lab: Lab, ticket: str) -> list[dict[str, object]]:
    path = lab.reports / ticket / audit.JOURNAL
    return audit.read_journal(path) if path.exists() else []


def _sent(events: list[dict[str, object]], server: str, what: str) -> list[dict[str, object]]:
    return [
        e
        for e in events
        if e["kind"] == "command" and e.get("server") == server and what in str(e.get("command"))
    ]


def _upgrade_sent(events: list[dict[str, object]], server: str) -> list[dict[str, object]]:
    return _sent(events, server, "installer upgrade")


def _wait_for(
    proc: subprocess.Popen[bytes],
    lab: Lab,
    ticket: str,
    server: str,
    what: str = "installer upgrade",
    limit: float = 300,
) -> None:
    """Until a command of ``server`` containing ``what`` is in the journal."""
    deadline = time.monotonic() + limit
    while not _sent(_events(lab, ticket), server, what):
        assert proc.poll() is None, f"the campaign ended before {what!r} on {server}"
        assert time.monotonic() < deadline, f"{what!r} was not sent to {server}"
        time.sleep(0.05)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            out.append(child)
            pending.append(child)
    return out


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the CLI and everything it started (the kernel included), as a crash would."""
    for pid in [proc.pid, *_descendants(proc.pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.fixture
def slow_lab(tmp_path: Path) -> Iterator[Lab]:
    """The default lab at 0.01 (an upgrade takes 15 s): time to kill a campaign during it."""
    runtime.up(tmp_path / "lab", scenarios.LabOptions(scenario="default", time_scale=0.01))
    try:
        yield Lab(tmp_path, "default")
    finally:
        runtime.down(tmp_path / "lab")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """The default lab at the tests' scale."""
    try:
        yield start(tmp_path, "default")
    finally:
        runtime.down(tmp_path / "lab")


@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_campaign_killed_during_the_upgrade_resumes_without_a_second_upgrade(
    slow_lab: Lab, runbooks_unchanged: None
) -> None:
    """SIGKILL (CLI and kernel) while mds1 upgrades; --resume --break-lock 3 s later waits for
    that upgrade (journaled as found in progress), never sends installer upgrade again, and
    03 passes and the record verifies (the phases after 03 are the detailed campaign's)."""
    lab = slow_lab
    before = tree_digest(lab.dir, exclude=[lab.reports, lab.dir / "lab"])
    proc = lab.spawn(lab.campaign_argv("CHG-KILL", "--to", "03", scale="0.01"))
    try:
        _wait_for(proc, lab, "CHG-KILL", "mds1")
        time.sleep(0.5)
    finally:
        _kill_tree(proc)
    assert proc.returncode == -signal.SIGKILL
    time.sleep(3)
    status = lab.control(action="status")
    mds1 = next(s for s in status["servers"] if s["name"] == "mds1")  # type: ignore[index]
    assert mds1["version"] == "R81.10", "the upgrade was still running when the resume began"
    again = lab.cli(
        *lab.campaign_args("CHG-KILL", "--to", "03", "--resume", "--break-lock", scale="0.01"),
        timeout=700,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert re.search(r"03 upgrade_primary\s+PASSED", again.stdout), again.stdout
    events = _events(lab, "CHG-KILL")
    assert len(_upgrade_sent(events, "mds1")) == 1, "installer upgrade was sent twice"
    found = [
        e
        for e in events
        if e["kind"] == "step" and e.get("event") == "found" and e.get("server") == "mds1"
    ]
    assert found and "upgrade already in progress (found package Installing" in str(
        found[0]["detail"]
    ), found
    assert "upgrade already in progress" in again.stderr, "the decision is in the log"
    lab_events = lab.control(action="events", last=2000)
    started = [e for e in lab_events if "mds1: upgrade to R81.20 started" in e]  # type: ignore[union-attr]
    assert len(started) == 1, started
    assert not any("mds1: the upgrade to" in e and "interrupted" in e for e in lab_events)  # type: ignore[union-attr]
    report = lab.reports / "CHG-KILL"
    assert "PASSED" in top_cell(lab.notebook("CHG-KILL", "03_upgrade_primary.ipynb"))
    v = lab.cli("verify", str(report))
    assert v.returncode == 0, v.stderr
    assert changed(before, tree_digest(lab.dir, exclude=[lab.reports, lab.dir / "lab"])) == []
    assert_no_secrets(lab)


@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.timeout(400)
def test_the_lab_killed_during_the_upgrade_wait_ends_the_campaign_with_exit_4(
    lab: Lab, runbooks_unchanged: None
) -> None:
    """The server dies (the lab process is killed) while 03 waits for mds1's upgrade: the
    campaign ends on its own, exit 4, naming the server, the time and the step; the 03
    notebook has the cause on top and the record verifies. A rerun of 03 while the server
    is still dead stops at once on the lock of the primary, exit 4, naming the server."""
    before = tree_digest(lab.dir, exclude=[lab.reports, lab.dir / "lab"])
    proc = lab.spawn(lab.campaign_argv("CHG-DEAD", scale=SCALE), capture=True)
    try:
        _wait_for(proc, lab, "CHG-DEAD", "mds1")
        pid = json.loads((lab.dir / "lab" / "lab.json").read_text())["pid"]
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            _kill_tree(proc)
    took = time.monotonic() - killed
    assert proc.returncode == 4, err.decode()[-3000:]
    text = err.decode()
    last = text.strip().splitlines()[-1]
    assert re.search(
        r"stopped at phase 03: mds1 unreachable since \d\d:\d\d:\d\d \(connection refused\) "
        r"during 'mds1 upgrade'; check the server, then mdstools campaign --resume$",
        last,
    ), last
    assert "Traceback" not in text
    assert "waiting for mds1 to come back" in text or took < 60
    top = top_cell(lab.notebook("CHG-DEAD", "03_upgrade_primary.ipynb"))
    assert "FAILED" in top and "mds1 unreachable since" in top
    assert "03_upgrade_primary.ipynb" in out.decode()
    v = lab.cli("verify", str(lab.reports / "CHG-DEAD"))
    assert v.returncode == 0, v.stderr
    # run 03 again while the server is still dead: a mutating phase first takes the lock on
    # the primary MDS, so it stops at once with exit 4, naming the server and what to check
    rerun = lab.cli(
        "run",
        "03",
        "-i",
        str(lab.inventory),
        "--ticket",
        "CHG-DEAD",
        "--reports",
        str(lab.reports),
        "-p",
        "confirm=true",
        "-p",
        f"time_scale={SCALE}",
        timeout=200,
    )
    assert rerun.returncode == 4, rerun.stderr[-3000:]
    assert re.search(r"FAILED: mds1: 127\.0\.0\.1:\d+ refused the connection", rerun.stderr), (
        rerun.stderr[-2000:]
    )
    assert "could not release" not in rerun.stderr, "no lock was taken, none to release"
    assert "Traceback" not in rerun.stderr
    top = top_cell(lab.notebook("CHG-DEAD", "03_upgrade_primary.r2.ipynb"))
    assert "mds1" in top and "refused the connection" in top
    assert lab.cli("verify", str(lab.reports / "CHG-DEAD")).returncode == 0
    assert changed(before, tree_digest(lab.dir, exclude=[lab.reports, lab.dir / "lab"])) == []
    assert_no_secrets(lab)


def _found(events: list[dict[str, object]], server: str, step: str) -> list[dict[str, object]]:
    return [
        e
        for e in events
        if e["kind"] == "step"
        and e.get("event") == "found"
        and e.get("server") == server
        and e.get("step") == step
    ]


@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_campaign_killed_during_a_backup_does_not_take_it_twice(
    slow_lab: Lab, runbooks_unchanged: None
) -> None:
    """SIGKILL while mds1's mds_backup job runs; the resumed 02 finds the job of this ticket
    (running or done), does not start another, and records its archive."""
    lab = slow_lab
    proc = lab.spawn(lab.campaign_argv("CHG-BK", "--to", "02", scale="0.01"))
    try:
        _wait_for(proc, lab, "CHG-BK", "mds1", "mds_backup -b")
    finally:
        _kill_tree(proc)
    again = lab.cli(
        *lab.campaign_args("CHG-BK", "--to", "02", "--resume", "--break-lock", scale="0.01"),
        timeout=400,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    events = _events(lab, "CHG-BK")
    assert len(_sent(events, "mds1", "mds_backup -b")) == 1, "mds_backup started twice on mds1"
    assert len(_sent(events, "mds2", "mds_backup -b")) == 1
    found = _found(events, "mds1", "mds_backup")
    assert found and found[0]["found"] in ("in progress", "already done"), found
    assert "/var/log/mdstools/jobs/CHG-BK/mds_backup" in str(found[0]["detail"])
    backups = json.loads((lab.reports / "CHG-BK" / "backups.json").read_text())["backups"]
    mds1 = next(b for b in backups if b["server"] == "mds1")
    assert mds1["file"].startswith("/var/log/mds_backups/") and mds1["sha256"], backups
    assert lab.cli("verify", str(lab.reports / "CHG-BK")).returncode == 0
    assert_no_secrets(lab)


@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_server_dead_outside_a_reboot_window_is_waited_for_its_budget_only(
    slow_lab: Lab, runbooks_unchanged: None
) -> None:
    """The lab dies while mds1's backup job runs (no reboot expected): the wait ends after
    the inventory's reconnect budget (3 s here), exit 4, the message names mds1, the time
    and the step, and the 02 notebook has it on top."""
    import yaml

    lab = slow_lab
    data = yaml.safe_load(lab.inventory.read_text())
    data["connection"]["reconnect_budget_s"] = 3
    data["connection"]["connect_timeout_s"] = 1
    inv = lab.inventory.with_name("inventory-budget.yml")
    inv.write_text(yaml.safe_dump(data))
    cmd = lab.campaign_argv("CHG-BUDGET", "--to", "02", scale="0.01")
    cmd[cmd.index("-i") + 1] = str(inv)
    proc = lab.spawn(cmd, capture=True)
    try:
        _wait_for(proc, lab, "CHG-BUDGET", "mds1", "mds_backup -b")
        os.kill(json.loads((lab.dir / "lab" / "lab.json").read_text())["pid"], signal.SIGKILL)
        _, err = proc.communicate(timeout=200)
    finally:
        if proc.poll() is None:
            _kill_tree(proc)
    text = err.decode()
    assert proc.returncode == 4, text[-3000:]
    assert re.search(
        r"stopped at phase 02: mds1 unreachable since \d\d:\d\d:\d\d \(connection refused\) "
        r"during 'mds1 mds_backup'; check the server, then mdstools campaign --resume$",
        text.strip().splitlines()[-1],
    ), text[-1500:]
    assert "Traceback" not in text
    top = top_cell(lab.notebook("CHG-BUDGET", "02_prepare_ha.ipynb"))
    assert "FAILED" in top and "mds1 unreachable since" in top and "mds_backup" in top
    assert lab.cli("verify", str(lab.reports / "CHG-BUDGET")).returncode == 0
    assert_no_secrets(lab)


@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_campaign_killed_during_mdsstop_mdsstart_does_not_restart_twice(
    slow_lab: Lab, runbooks_unchanged: None
) -> None:
    """SIGKILL while mds1's ``mdsstop; mdsstart`` job of 06 runs; the resumed 06 finds the
    ticket's jobs (the fix done, the restart running or done) and starts neither again."""
    lab = slow_lab
    proc = lab.spawn(lab.campaign_argv("CHG-06", "--to", "06", scale="0.01"))
    restart = "( mdsstop; mdsstart"
    try:
        _wait_for(proc, lab, "CHG-06", "mds1", restart, limit=600)
    finally:
        _kill_tree(proc)
    again = lab.cli(
        *lab.campaign_args("CHG-06", "--to", "06", "--resume", "--break-lock", scale="0.01"),
        timeout=400,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    events = _events(lab, "CHG-06")
    assert len(_sent(events, "mds1", restart)) == 1, "mdsstop; mdsstart started twice on mds1"
    assert len(_sent(events, "mds1", "mds_fix_cmas_clms_version -c ALL\n")) == 1
    assert len(_sent(events, "mds2", restart)) == 1
    found = _found(events, "mds1", "mdsstop; mdsstart")
    assert found and found[0]["found"] in ("in progress", "already done"), found
    assert _found(events, "mds1", "mds_fix_cmas_clms_version")[0]["found"] == "already done"
    nb = (lab.reports / "CHG-06" / "06_update_object_versions.ipynb").read_text()
    assert "before this run" in nb, "the step table says what was found"
    assert lab.cli("verify", str(lab.reports / "CHG-06")).returncode == 0
    assert_no_secrets(lab)
