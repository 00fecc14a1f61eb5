"""Long-running commands, detached on the server and polled, so a drop or a reboot loses nothing.

A job is started with ``nohup`` under ``/var/log/mdstools/jobs/`` (not ``/tmp``, which a
reboot empties): its pid goes to ``pid``, its start time (server clock, epoch) to
``started``, its output to ``log``, its exit status to ``rc`` when it ends. A job of a
ticket lives at ``<ticket>/<step>``, a path that depends only on the ticket and the step, so
that a rerun finds it (:func:`find`, :func:`resume_or_start`): a job whose pid is alive is
waited for, one with ``rc`` 0 is taken as done (its log read), any other is started again
(the earlier attempt is kept beside it).

:func:`wait` polls with one short exec per interval, calls a progress callback, reconnects
when the connection drops, and raises :class:`JobError` when the job fails, times out, or
disappears without an exit status (the server rebooted under it).

Some steps are done when the server says so, not when a command returns (a CPUSE upgrade:
``installer upgrade`` returns at once, the package shows ``Installed`` after the reboot).
:func:`poll_until` waits for such a condition with the same resilience.

Every wait is bounded: a server that stops answering is waited for at most ``budget_s``
(the inventory's ``connection.reconnect_budget_s``), or, inside a reboot window (an
upgrade), until the wait's own deadline; then :class:`ServerDown` names the server, since
when and what was being done. While it is down, a progress line comes at every reconnect
attempt.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from mdstools.commands.base import Command, quote
from mdstools.errors import (
    CommandTimeout,
    ConnectionLostError,
    JobError,
    ParseError,
    ServerDown,
    UnreachableError,
)
from mdstools.session import PROLOGUE, Session

JOB_ROOT = "/var/log/mdstools/jobs"
RECONNECT_SLICE_S = 10.0
FROM_INVENTORY = -1.0
"""``budget_s`` default: the server's ``connection.reconnect_budget_s``."""
T = TypeVar("T")

_clock: Callable[[], float] = time.monotonic
_sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True, kw_only=True)
class JobHandle:
    """Where a detached job lives on its server."""

    server: str
    name: str
    job_id: str
    pid: int
    directory: str
    command: str = field(repr=False)
    started_at: datetime

    @property
    def log(self) -> str:
        return f"{self.directory}/log"


@dataclass(frozen=True, kw_only=True)
class JobState:
    """One look at a job: running, finished (with rc) or lost."""

    state: str  # "running" | "finished" | "lost"
    rc: int | None
    log_size: int
    log_tail: str


@dataclass(frozen=True, kw_only=True)
class JobResult:
    """A finished job: its exit status and whole (redacted) log.

    ``found`` says how this run came to it: ``started`` (by this call), ``in progress``
    (started earlier, waited for) or ``already done`` (finished earlier with rc 0).
    """

    handle: JobHandle
    rc: int
    log: str
    duration_s: float
    reconnects: int
    found: str = "started"


@dataclass(frozen=True)
class Found:
    """A job of a ticket found on its server, and how it is now."""

    handle: JobHandle
    state: JobState


Progress = Callable[[str, JobState | None, float], None]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "_"


def job_directory(ticket: str, name: str) -> str:
    """The directory of the job ``name`` of ``ticket``: the same on every rerun."""
    return f"{JOB_ROOT}/{_slug(ticket)}/{_slug(name.lower())}"


def start(
    session: Session,
    name: str,
    command: str,
    domain: str | None = None,
    ticket: str | None = None,
) -> JobHandle:
    """Start ``command`` detached on ``session``'s server; returns at once with its handle.

    With ``ticket`` the job lives at :func:`job_directory` (an earlier attempt there is
    moved aside to ``<dir>.<time>``); without, in a directory of its own.
    """
    label = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if ticket is None:
        job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}-{label}"
        directory = f"{JOB_ROOT}/{job_id}"
    else:
        directory = job_directory(ticket, name)
        job_id = directory[len(JOB_ROOT) + 1 :]
    context = f"mdsenv {quote(domain)} >/dev/null && " if domain else ""
    rc = f"{directory}/rc"
    # The command runs in a subshell so that an ``exit`` in it still leaves its rc file.
    script = f"{PROLOGUE}{context}( {command}\n); echo $? > {rc}.tmp && mv {rc}.tmp {rc}"
    aside = (
        f"if [ -e {directory} ]; then mv {directory} {directory}.$(date +%Y%m%d-%H%M%S); fi; "
        if ticket is not None
        else ""
    )
    # Only nohup goes to the background (not the whole ``mkdir && ...`` list): ``$!`` is
    # then the job's pid, and no process holding the channel's stdout keeps this exec
    # open until the job ends (OpenSSH closes the channel only when they are all gone).
    line = (
        f"{aside}mkdir -p {directory} && date +%s > {directory}/started && "
        f"{{ nohup bash -c {quote(script)} > {directory}/log 2>&1 "
        f"< /dev/null & echo $! > {directory}/pid; cat {directory}/pid {directory}/started; }}"
    )
    cmd = Command(line, _started, name=f"start job {name}", mutating=True, timeout_s=30)
    pid, started = session.run(cmd, check=True).value()
    return JobHandle(
        server=session.name,
        name=name,
        job_id=job_id,
        pid=pid,
        directory=directory,
        command=command,
        started_at=_when(started),
    )


def _started(text: str) -> tuple[int, float | None]:
    seen = _parse_found(text)
    if seen is None:
        raise ParseError("start job", "no pid in the output", text)
    return seen


def _when(epoch: float | None) -> datetime:
    """A start time from the server's clock (``date +%s``), else from ours."""
    if epoch is None:
        return datetime.now(timezone.utc)
    return datetime.fromtimestamp(epoch, timezone.utc)


def _parse_found(text: str) -> tuple[int, float | None] | None:
    lines = [ln.strip() for ln in text.splitlines()]
    if not lines or not lines[0].isdigit():
        return None
    started = float(lines[1]) if len(lines) > 1 and lines[1].isdigit() else None
    return int(lines[0]), started


def find(session: Session, ticket: str, name: str, command: str = "") -> Found | None:
    """The job ``name`` of ``ticket`` on this server (None when it was never started)."""
    d = job_directory(ticket, name)
    seen = session.run(
        Command(
            f"cat {d}/pid 2>/dev/null && cat {d}/started 2>/dev/null; true",
            _parse_found,
            name=f"find job {name}",
            timeout_s=30,
        ),
        check=True,
    ).data
    if seen is None:
        return None
    pid, started = seen
    handle = JobHandle(
        server=session.name,
        name=name,
        job_id=d[len(JOB_ROOT) + 1 :],
        pid=pid,
        directory=d,
        command=command,
        started_at=_when(started),
    )
    return Found(handle, poll(session, handle))


def read_log(session: Session, handle: JobHandle) -> str:
    """The whole (redacted) log of a job."""
    return session.run(
        Command(f"cat {handle.log}", lambda t: t, name=f"log of {handle.name}", timeout_s=60),
        check=True,
    ).stdout


def _parse_poll(text: str) -> JobState:
    lines = text.splitlines()
    head = lines[0] if lines else ""
    size = int(lines[1]) if len(lines) > 1 and lines[1].strip().isdigit() else 0
    tail = "\n".join(lines[2:])
    if head.startswith("rc="):
        value = head[3:].strip()
        return JobState(
            state="finished",
            rc=int(value) if value.lstrip("-").isdigit() else 255,
            log_size=size,
            log_tail=tail,
        )
    if head == "running":
        return JobState(state="running", rc=None, log_size=size, log_tail=tail)
    if head == "lost":
        return JobState(state="lost", rc=None, log_size=size, log_tail=tail)
    raise ValueError(f"unexpected job poll output {text!r}")


def poll(session: Session, handle: JobHandle, tail_lines: int = 5) -> JobState:
    """One look at the job (one exec)."""
    d = handle.directory
    # A killed job that nobody reaped (an init that does not reap orphans, as in many
    # containers) stays a zombie: kill -0 succeeds on it, but it is not running. The rc
    # file is read again once the process is gone: the job writes it just before it ends,
    # possibly between the first look and kill -0.
    rc = f"echo rc=$(cat {d}/rc)"
    line = (
        f"if [ -f {d}/rc ]; then {rc}; elif kill -0 {handle.pid} "
        f"2>/dev/null && ! grep -qs '^State:.*Z' /proc/{handle.pid}/status; "
        f"then echo running; elif [ -f {d}/rc ]; then {rc}; else echo lost; fi; "
        f"wc -c < {d}/log 2>/dev/null || echo 0; tail -n {tail_lines} {d}/log 2>/dev/null"
    )
    return session.run(
        Command(line, _parse_poll, name=f"poll job {handle.name}", timeout_s=30), check=True
    ).value()


def _reason(exc: Exception) -> str:
    """A few words on why a server does not answer, for progress lines and messages."""
    text = str(getattr(exc, "message", "") or exc).lower()
    if "refused" in text:
        return "connection refused"
    if isinstance(exc, CommandTimeout):
        return "no answer"
    if "did not answer" in text or "timed out" in text:
        return "connection timed out"
    if "resolve" in text:
        return "name not resolved"
    if isinstance(exc, ConnectionLostError):
        return "connection lost"
    return "unreachable"


@dataclass(kw_only=True)
class Outage:
    """Whether, since when and why a server stopped answering during one wait."""

    server: str
    doing: str
    budget_s: float | None
    since: float | None = None
    since_wall: datetime | None = None
    reason: str = ""
    reconnects: int = 0

    def error(self) -> ServerDown:
        when = (self.since_wall or datetime.now(timezone.utc)).astimezone()
        return ServerDown(self.server, when, self.reason or "unreachable", self.doing)


def budget_of(session: Session) -> float:
    """How long a server that stops answering outside a reboot window is waited for."""
    return session.server.connection.reconnect_budget_s


def _budget(session: Session, budget_s: float | None) -> float | None:
    return budget_of(session) if budget_s == FROM_INVENTORY else budget_s


def _resilient(
    session: Session,
    fn: Callable[[], T],
    deadline: float,
    progress: Progress | None,
    label: str,
    outage: Outage,
    t0: float,
) -> T:
    """Run ``fn``; while the server does not answer, reconnect until the budget is spent.

    The budget is ``outage.budget_s`` from the first failure (None: a reboot window, the
    ``deadline`` only); then :class:`ServerDown`. Each reconnect attempt is short, so that
    a progress line (seconds since the server went away) comes at least every
    :data:`RECONNECT_SLICE_S`.
    """
    while True:
        attempt = _clock()
        try:
            value = fn()
        except (ConnectionLostError, UnreachableError, CommandTimeout) as exc:
            now = _clock()
            if outage.since is None:
                outage.since = attempt
                outage.since_wall = datetime.now(timezone.utc) - timedelta(seconds=now - attempt)
            outage.reason = _reason(exc)
            limit = deadline
            if outage.budget_s is not None:
                limit = min(deadline, outage.since + outage.budget_s)
            if now >= limit:
                raise outage.error() from exc
            back = False
            while not back and _clock() < limit:
                outage.reconnects += 1
                if progress is not None:
                    progress(
                        f"{label}: waiting for {outage.server} to come back ({outage.reason}, "
                        f"{_clock() - outage.since:.0f} s); reconnecting",
                        None,
                        _clock() - t0,
                    )
                try:
                    session.transport.reconnect(max(0.0, min(RECONNECT_SLICE_S, limit - _clock())))
                    back = True
                except (UnreachableError, ConnectionLostError) as again:
                    outage.reason = _reason(again)
                    _sleep(max(0.0, min(1.0, limit - _clock())))
            if not back:
                raise outage.error() from exc
            continue
        outage.since = None
        outage.since_wall = None
        return value


def _finished(
    session: Session,
    handle: JobHandle,
    state: JobState,
    deadline: float,
    progress: Progress | None,
    outage: Outage,
    t0: float,
) -> JobResult:
    """A finished job with its whole log (read as the server allows, at least a minute);
    JobError when its exit status is not 0."""
    log = _resilient(
        session,
        lambda: read_log(session, handle),
        max(deadline, _clock() + 60),
        progress,
        handle.name,
        outage,
        t0,
    )
    result = JobResult(
        handle=handle,
        rc=state.rc or 0,
        log=log,
        duration_s=_clock() - t0,
        reconnects=outage.reconnects,
    )
    if state.rc != 0:
        raise JobError(
            handle.server,
            handle.name,
            f"failed with exit status {state.rc}",
            state.log_tail,
            {"rc": state.rc, "log": log},
        )
    return result


def wait(
    session: Session,
    handle: JobHandle,
    timeout_s: float,
    interval_s: float = 2.0,
    progress: Progress | None = None,
    budget_s: float | None = FROM_INVENTORY,
) -> JobResult:
    """Poll until the job ends; reconnects after drops; raises JobError on failure/timeout.

    ``budget_s``: how long the server may not answer (default: the inventory's
    ``reconnect_budget_s``; None: as long as the job's own timeout, for a job that
    reboots its server); then :class:`ServerDown`.
    """
    t0 = _clock()
    deadline = t0 + timeout_s
    outage = Outage(
        server=session.name,
        doing=f"{session.name} {handle.name}",
        budget_s=_budget(session, budget_s),
    )
    while True:
        state = _resilient(
            session, lambda: poll(session, handle), deadline, progress, handle.name, outage, t0
        )
        if progress is not None:
            progress(handle.name, state, _clock() - t0)
        if state.state == "finished":
            return _finished(session, handle, state, deadline, progress, outage, t0)
        if state.state == "lost":
            raise JobError(
                handle.server,
                handle.name,
                "disappeared without an exit status (the server rebooted or the "
                "process was killed)",
                state.log_tail,
            )
        if _clock() + interval_s > deadline:
            raise JobError(
                handle.server,
                handle.name,
                f"did not finish within {timeout_s:g} s (still running as pid "
                f"{handle.pid}; it was not stopped)",
                state.log_tail,
            )
        _sleep(interval_s)


def run(
    session: Session,
    name: str,
    command: str,
    timeout_s: float,
    domain: str | None = None,
    interval_s: float = 2.0,
    progress: Progress | None = None,
) -> JobResult:
    """Start a detached job and wait for it."""
    handle = start(session, name, command, domain)
    return wait(session, handle, timeout_s, interval_s, progress)


def _already_done(
    session: Session,
    handle: JobHandle,
    name: str,
    timeout_s: float,
    progress: Progress | None,
    outage: Outage,
    t0: float,
) -> JobResult:
    """A job that finished with rc 0 in an earlier run, with its log: taken as done."""
    log = _resilient(
        session,
        lambda: read_log(session, handle),
        _clock() + timeout_s,
        progress,
        name,
        outage,
        t0,
    )
    return JobResult(
        handle=handle,
        rc=0,
        log=log,
        duration_s=0.0,
        reconnects=outage.reconnects,
        found="already done",
    )


def resume_or_start(
    session: Session,
    ticket: str,
    name: str,
    command: str,
    timeout_s: float,
    domain: str | None = None,
    interval_s: float = 2.0,
    progress: Progress | None = None,
    budget_s: float | None = FROM_INVENTORY,
    on_found: Callable[[str, JobHandle], None] | None = None,
    reuse_finished: bool = True,
) -> JobResult:
    """The job ``name`` of ``ticket``, run once: a running one is waited for, one that
    finished with rc 0 is taken as done (its log read; unless ``reuse_finished`` is False:
    the caller sees that its effect is gone), any other is started again.

    ``result.found`` says which; ``on_found(found, handle)`` is called before waiting for a
    job in progress or reading one already done. The server is waited for as in
    :func:`wait` if it does not answer while this is decided.
    """
    got = find_or_start(
        session,
        ticket,
        name,
        command,
        timeout_s,
        domain,
        progress,
        budget_s,
        on_found,
        reuse_finished,
    )
    if isinstance(got, JobResult):
        return got
    handle, found = got
    result = wait(session, handle, timeout_s, interval_s, progress, budget_s)
    return replace(result, found=found) if found else result


def find_or_start(
    session: Session,
    ticket: str,
    name: str,
    command: str,
    timeout_s: float,
    domain: str | None = None,
    progress: Progress | None = None,
    budget_s: float | None = FROM_INVENTORY,
    on_found: Callable[[str, JobHandle], None] | None = None,
    reuse_finished: bool = True,
) -> JobResult | tuple[JobHandle, str]:
    """The first half of :func:`resume_or_start`, for jobs of several servers that run at
    once: the result of a job already done, else the handle of the running job (found
    ``"in progress"``) or of the one just started (found ``""``) for :func:`wait`."""
    t0 = _clock()
    outage = Outage(
        server=session.name, doing=f"{session.name} {name}", budget_s=_budget(session, budget_s)
    )
    found = _resilient(
        session,
        lambda: find(session, ticket, name, command),
        t0 + timeout_s,
        progress,
        name,
        outage,
        t0,
    )
    if found is not None and found.state.state == "running":
        if on_found is not None:
            on_found("in progress", found.handle)
        return found.handle, "in progress"
    done = found is not None and found.state.state == "finished" and found.state.rc == 0
    if found is not None and done and reuse_finished:
        if on_found is not None:
            on_found("already done", found.handle)
        return _already_done(session, found.handle, name, timeout_s, progress, outage, t0)
    return start(session, name, command, domain, ticket=ticket), ""


def call(
    session: Session,
    fn: Callable[[Session], T],
    timeout_s: float,
    progress: Progress | None = None,
    label: str = "waiting",
    budget_s: float | None = FROM_INVENTORY,
) -> T:
    """``fn(session)``, once the server answers: waited for as in :func:`poll_until`."""
    t0 = _clock()
    outage = Outage(server=session.name, doing=label, budget_s=_budget(session, budget_s))
    return _resilient(session, lambda: fn(session), t0 + timeout_s, progress, label, outage, t0)


def poll_until(
    session: Session,
    check: Callable[[Session], tuple[bool, str]],
    timeout_s: float,
    interval_s: float = 2.0,
    progress: Progress | None = None,
    label: str = "waiting",
    budget_s: float | None = FROM_INVENTORY,
) -> str:
    """Call ``check`` until it returns (True, detail); survives drops and reboots.

    ``check`` returns (done, detail); detail is shown to ``progress``. Returns the last
    detail; raises JobError on timeout. ``budget_s``: how long the server may not answer
    (default: the inventory's ``reconnect_budget_s``; None: until the timeout, for a
    wait through a reboot); then :class:`ServerDown`.
    """
    t0 = _clock()
    deadline = t0 + timeout_s
    outage = Outage(server=session.name, doing=label, budget_s=_budget(session, budget_s))
    detail = ""
    while True:
        done, detail = _resilient(
            session, lambda: check(session), deadline, progress, label, outage, t0
        )
        if progress is not None:
            progress(f"{label}: {detail}", None, _clock() - t0)
        if done:
            return detail
        if _clock() + interval_s > deadline:
            raise JobError(
                session.name, label, f"not done within {timeout_s:g} s (last state: {detail})"
            )
        _sleep(interval_s)
