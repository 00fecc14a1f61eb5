"""Long-running commands, detached on the server and polled, so a drop or a reboot loses nothing.

A job is started with ``nohup`` under ``/var/log/mdstools/jobs/<id>/`` (not ``/tmp``, which
a reboot empties): its output goes to ``log``, its exit status to ``rc`` when it ends, its
pid is printed at start. :func:`wait` polls with one short exec per interval, calls a
progress callback, reconnects (with backoff) when the connection drops, and raises
:class:`JobError` when the job fails, times out, or disappears without an exit status
(the server rebooted under it).

Some steps are done when the server says so, not when a command returns (a CPUSE upgrade:
``installer upgrade`` returns at once, the package shows ``Installed`` after the reboot).
:func:`poll_until` waits for such a condition with the same resilience.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeVar

from mdstools.commands.base import Command, quote
from mdstools.errors import (
    CommandTimeout,
    ConnectionLostError,
    JobError,
    UnreachableError,
)
from mdstools.session import PROLOGUE, Session

JOB_ROOT = "/var/log/mdstools/jobs"
T = TypeVar("T")


@dataclass(frozen=True)
class JobHandle:
    """Where a detached job lives on its server."""

    server: str
    name: str
    job_id: str
    pid: int
    directory: str
    command: str
    started_at: datetime

    @property
    def log(self) -> str:
        return f"{self.directory}/log"

    @property
    def rc_file(self) -> str:
        return f"{self.directory}/rc"


@dataclass(frozen=True)
class JobState:
    """One look at a job: running, finished (with rc) or lost."""

    state: str  # "running" | "finished" | "lost"
    rc: int | None
    log_size: int
    log_tail: str


@dataclass(frozen=True)
class JobResult:
    """A finished job: its exit status and whole (redacted) log."""

    handle: JobHandle
    rc: int
    log: str
    duration_s: float
    reconnects: int


Progress = Callable[[str, JobState | None, float], None]


def start(session: Session, name: str, command: str, domain: str | None = None) -> JobHandle:
    """Start ``command`` detached on ``session``'s server; returns at once with its handle."""
    label = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}-{label}"
    directory = f"{JOB_ROOT}/{job_id}"
    context = f"mdsenv {quote(domain)} >/dev/null && " if domain else ""
    rc = f"{directory}/rc"
    # The command runs in a subshell so that an ``exit`` in it still leaves its rc file.
    script = f"{PROLOGUE}{context}( {command}\n); echo $? > {rc}.tmp && mv {rc}.tmp {rc}"
    # Only nohup goes to the background (not the whole ``mkdir && ...`` list): ``$!`` is
    # then the job's pid, and no process holding the channel's stdout keeps this exec
    # open until the job ends (OpenSSH closes the channel only when they are all gone).
    line = (
        f"mkdir -p {directory} && {{ nohup bash -c {quote(script)} > {directory}/log 2>&1 "
        f"< /dev/null & echo $!; }}"
    )
    cmd = Command(line, _pid, name=f"start job {name}", mutating=True, timeout_s=30)
    result = session.run(cmd, check=True)
    assert result.data is not None
    return JobHandle(
        session.name, name, job_id, result.data, directory, command, datetime.now(timezone.utc)
    )


def _pid(text: str) -> int:
    m = re.search(r"(?m)^\s*(\d+)\s*$", text)
    if not m:
        raise ValueError(f"no pid in {text!r}")
    return int(m.group(1))


def _parse_poll(text: str) -> JobState:
    lines = text.splitlines()
    head = lines[0] if lines else ""
    size = int(lines[1]) if len(lines) > 1 and lines[1].strip().isdigit() else 0
    tail = "\n".join(lines[2:])
    if head.startswith("rc="):
        value = head[3:].strip()
        return JobState("finished", int(value) if value.lstrip("-").isdigit() else 255, size, tail)
    if head == "running":
        return JobState("running", None, size, tail)
    if head == "lost":
        return JobState("lost", None, size, tail)
    raise ValueError(f"unexpected job poll output {text!r}")


def poll(session: Session, handle: JobHandle, tail_lines: int = 5) -> JobState:
    """One look at the job (one exec)."""
    d = handle.directory
    # A killed job that nobody reaped (an init that does not reap orphans, as in many
    # containers) stays a zombie: kill -0 succeeds on it, but it is not running.
    line = (
        f"if [ -f {d}/rc ]; then echo rc=$(cat {d}/rc); elif kill -0 {handle.pid} "
        f"2>/dev/null && ! grep -qs '^State:.*Z' /proc/{handle.pid}/status; "
        f"then echo running; else echo lost; fi; "
        f"wc -c < {d}/log 2>/dev/null || echo 0; tail -n {tail_lines} {d}/log 2>/dev/null"
    )
    return session.run(
        Command(line, _parse_poll, name=f"poll job {handle.name}", timeout_s=30), check=True
    ).value()


def _resilient(
    session: Session,
    fn: Callable[[], T],
    deadline: float,
    progress: Progress | None,
    label: str,
    counter: list[int],
) -> T:
    """Run ``fn``; on a dropped connection reconnect (with backoff) until ``deadline``."""
    while True:
        try:
            return fn()
        except (ConnectionLostError, UnreachableError, CommandTimeout) as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            if progress is not None:
                progress(
                    f"{label}: connection lost ({exc.message}); reconnecting",
                    None,
                    time.monotonic(),
                )
            counter[0] += 1
            try:
                session.transport.reconnect(left)
            except (UnreachableError, ConnectionLostError):
                if time.monotonic() >= deadline:
                    raise
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


def wait(
    session: Session,
    handle: JobHandle,
    timeout_s: float,
    interval_s: float = 2.0,
    progress: Progress | None = None,
) -> JobResult:
    """Poll until the job ends; reconnects after drops; raises JobError on failure/timeout."""
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    reconnects = [0]
    while True:
        state = _resilient(
            session, lambda: poll(session, handle), deadline, progress, handle.name, reconnects
        )
        if progress is not None:
            progress(handle.name, state, time.monotonic() - t0)
        if state.state == "finished":
            log = _resilient(
                session,
                lambda: (
                    session.run(
                        Command(
                            f"cat {handle.log}",
                            lambda t: t,
                            name=f"log of {handle.name}",
                            timeout_s=60,
                        ),
                        check=True,
                    ).stdout
                ),
                deadline + 60,
                progress,
                handle.name,
                reconnects,
            )
            result = JobResult(handle, state.rc or 0, log, time.monotonic() - t0, reconnects[0])
            if state.rc != 0:
                raise JobError(
                    handle.server,
                    handle.name,
                    f"failed with exit status {state.rc}",
                    state.log_tail,
                    {"rc": state.rc, "log": log},
                )
            return result
        if state.state == "lost":
            raise JobError(
                handle.server,
                handle.name,
                "disappeared without an exit status (the server rebooted or the "
                "process was killed)",
                state.log_tail,
            )
        if time.monotonic() + interval_s > deadline:
            raise JobError(
                handle.server,
                handle.name,
                f"did not finish within {timeout_s:g} s (still running as pid "
                f"{handle.pid}; it was not stopped)",
                state.log_tail,
            )
        time.sleep(interval_s)


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


def poll_until(
    session: Session,
    check: Callable[[Session], tuple[bool, str]],
    timeout_s: float,
    interval_s: float = 2.0,
    progress: Progress | None = None,
    label: str = "waiting",
) -> str:
    """Call ``check`` until it returns (True, detail); survives drops and reboots.

    ``check`` returns (done, detail); detail is shown to ``progress``. Returns the last
    detail; raises JobError on timeout.
    """
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    counter = [0]
    detail = ""
    while True:
        done, detail = _resilient(
            session, lambda: check(session), deadline, progress, label, counter
        )
        if progress is not None:
            progress(f"{label}: {detail}", None, time.monotonic() - t0)
        if done:
            return detail
        if time.monotonic() + interval_s > deadline:
            raise JobError(
                session.name, label, f"not done within {timeout_s:g} s (last state: {detail})"
            )
        time.sleep(interval_s)
