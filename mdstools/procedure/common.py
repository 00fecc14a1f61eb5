"""Steps shared by several phases: versions, mdsstat, HA state, Management API tasks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from mdstools import jobs, mgmt_api
from mdstools.commands import ha, mdsstat, versions
from mdstools.commands.base import Command
from mdstools.errors import MdstoolsError, TransportError
from mdstools.procedure.steps import Step
from mdstools.records import HaStateEntry, MdsStat, MgmtTask, TaskRef
from mdstools.run import DryResult, Run
from mdstools.session import Session


def version_of(run: Run, server: str) -> str | None:
    """The release ``fw ver`` reports on ``server`` (None if it cannot tell)."""
    r = run.session(server).run(versions.fw_ver())
    return r.data.version if r.ok and r.data is not None else None


def versions_all(run: Run) -> dict[str, str | None]:
    """``fw ver`` on every server, in parallel; unreachable servers map to None."""
    out = run.fleet.map(lambda s: version_of(run, s.name))
    return {name: (o.value if o.ok else None) for name, o in out.items()}


def mdsstat_of(session: Session) -> MdsStat:
    """``mdsstat`` of the server of ``session``; an error when it cannot be read."""
    return session.run(mdsstat.mdsstat(), check=True).value()


def ha_state(run: Run, domain: str | None = None) -> list[HaStateEntry]:
    """``show-ha-state`` from the primary (System Data), else from another MDS.

    An MDS whose API answers "not now" (initializing after a reboot or a restart, too
    many requests or sessions) is waited for with a progress line, through the backoff of
    :func:`mgmt_api.run_retrying` within its budget (scaled); only an MDS that still
    answers so after it, or fails otherwise, gives way to the next."""
    errors: list[str] = []
    for mds in [run.inventory.primary, *list(run.inventory.secondaries)]:
        try:
            return mgmt_api.run_retrying(
                run.session(mds.name),
                ha.show_ha_state(domain),
                time_scale=scaled(run, 1.0, floor=0.0),
            ).value()
        except MdstoolsError as exc:
            errors.append(f"{mds.name}: {exc}")
    raise MdstoolsError(
        "no MDS answered show-ha-state: " + "; ".join(errors),
        "check that the MDSs are up (mdsstat) and the API server is running",
    )


def wait_task(
    run: Run,
    server: str,
    domain: str | None,
    task_id: str,
    timeout_s: float = 1800,
    interval_s: float = 2.0,
) -> MgmtTask:
    """Wait until the task ends, polling ``show-task`` every ``interval_s`` (like the
    official clients, every 2 s) in ONE read-only session for the whole wait
    (:func:`mgmt_api.wait_task`); a dropped connection is waited out and the wait goes on
    in a new session. Raises JobError when the task is not done within ``timeout_s``, the
    ApiError of ``show-task`` when it fails."""
    timeout_s, interval_s = scaled(run, timeout_s, 1.0), scaled(run, interval_s)
    sess = run.session(server)
    last: dict[str, MgmtTask] = {}
    start = time.monotonic()

    def check(s: Session) -> tuple[bool, str]:
        left = max(interval_s, timeout_s - (time.monotonic() - start))
        task = mgmt_api.wait_task(
            s,
            domain,
            task_id,
            timeout_s=left,
            interval_s=interval_s,
            time_scale=scaled(run, 1.0, floor=0.0),
        )
        last["task"] = task
        return task.done, f"{task.name or 'task'} {task.status} {task.progress or 0}%"

    jobs.poll_until(sess, check, timeout_s, interval_s, run.progress, label=f"{server} task")
    return last["task"]


def api_change(
    run: Run, server: str, step: Step, **args: str
) -> TaskRef | DryResult | MdstoolsError:
    """``step`` (an HA command that starts a task) for ``args["domain"]`` on ``server``, in
    one read/write session (:func:`mgmt_api.change`): the task started, the dry run's
    :class:`DryResult` (the exec shown instead), or the error that refused it. A login by
    the domain's name that fails is tried again with its UID (``show-domains`` of that
    server, read only then); the fallback is printed and journaled."""
    domain = args["domain"]
    build = step.in_session(run.inventory, **args)
    shown = run.show_instead(server, mgmt_api.change_command(domain, build))
    if shown is not None:
        return shown
    sess, scale = run.session(server), scaled(run, 1.0, floor=0.0)
    notes: list[str] = []
    try:
        ref: TaskRef = mgmt_api.change(
            sess,
            domain,
            build,
            uid=lambda: mgmt_api.domain_uid(sess, domain, time_scale=scale),
            time_scale=scale,
            notes=notes,
        )
    except TransportError:
        raise
    except MdstoolsError as exc:
        return exc
    finally:
        for note in notes:
            print(note, flush=True)
            run.journal.write("step", event="uid-login", server=server, domain=domain, note=note)
    return ref


def wait_all_up(run: Run, server: str, timeout_s: float, interval_s: float = 5.0) -> MdsStat:
    """Poll ``mdsstat`` until every process of ``server`` is up; returns the last table."""
    sess = run.session(server)
    last: dict[str, MdsStat] = {}

    def check(s: Session) -> tuple[bool, str]:
        table = mdsstat_of(s)
        last["t"] = table
        down = [r.name or r.type for r in table.rows if not r.all_up]
        return not down, (
            f"{len(down)} not up: {', '.join(down[:5])}" if down else "every process is up"
        )

    try:
        jobs.poll_until(sess, check, timeout_s, interval_s, run.progress, label=f"{server} mdsstat")
    except TransportError:
        raise
    except MdstoolsError:
        if "t" not in last:
            raise
    return last["t"]


def found(run: Run, server: str, step: str, decision: str, detail: str) -> None:
    """Journal (``step`` event) and show what a step found already done or in progress."""
    run.journal.write(
        "step", event="found", server=server, step=step, found=decision, detail=detail
    )
    print(f"{server}: {step}: {decision} ({detail})", flush=True)


def run_job(
    run: Run,
    server: str,
    name: str,
    *commands: Command[Any],
    timeout_s: float,
    interval_s: float = 10.0,
    reuse_finished: bool | Callable[[], bool] = True,
) -> jobs.JobResult | DryResult:
    """``commands`` (joined with ``;``) as a detached job of this ticket, run once across
    reruns (:func:`jobs.resume_or_start`): a running one is waited for, one already done is
    not started again; both are journaled. A job changes the server: in a dry run each of
    its commands is shown instead (:meth:`Run.show_instead`) and the :class:`DryResult` of
    the whole is returned.

    ``reuse_finished`` may be a function, asked only when the job is about to be looked
    for (not in a dry run); ``timeout_s`` and ``interval_s`` are realistic durations
    (scaled here).
    """
    got = start_job(
        run, server, name, *commands, timeout_s=timeout_s, reuse_finished=reuse_finished
    )
    if isinstance(got, (jobs.JobResult, DryResult)):
        return got
    return finish_job(run, server, got, timeout_s=timeout_s, interval_s=interval_s)


@dataclass(frozen=True)
class Started:
    """A job :func:`start_job` started, or found running, for :func:`finish_job`."""

    handle: jobs.JobHandle
    found: str


def start_job(
    run: Run,
    server: str,
    name: str,
    *commands: Command[Any],
    timeout_s: float,
    reuse_finished: bool | Callable[[], bool] = True,
) -> jobs.JobResult | DryResult | Started:
    """The first half of :func:`run_job`, so that the jobs of several servers run at once:
    a job already done gives its result (a dry run its :class:`DryResult`), else it is
    started, or found running, and :func:`finish_job` waits for it."""
    shown = [run.show_instead(server, replace(c, mutating=True)) for c in commands]
    line = "; ".join(c.line for c in commands)
    if all(s is not None for s in shown):
        run.waits(server, f"job {name} to end")
        return DryResult(server, line)

    def seen(decision: str, h: jobs.JobHandle) -> None:
        detail = f"job {h.directory}, pid {h.pid}, started {h.started_at:%Y-%m-%d %H:%M:%S} UTC"
        found(run, server, name, decision, detail)

    got = jobs.find_or_start(
        run.session(server),
        run.ticket,
        name,
        line,
        timeout_s=scaled(run, timeout_s),
        progress=run.progress,
        on_found=seen,
        reuse_finished=reuse_finished() if callable(reuse_finished) else reuse_finished,
    )
    return got if isinstance(got, jobs.JobResult) else Started(*got)


def finish_job(
    run: Run, server: str, started: Started, *, timeout_s: float, interval_s: float = 10.0
) -> jobs.JobResult:
    """The second half of :func:`run_job`: the job :func:`start_job` left running, waited
    for (``timeout_s`` and ``interval_s`` realistic, scaled here)."""
    result = jobs.wait(
        run.session(server),
        started.handle,
        scaled(run, timeout_s),
        scaled(run, interval_s),
        run.progress,
    )
    return replace(result, found=started.found) if started.found else result


def scaled(run: Run, seconds: float, floor: float = 0.05) -> float:
    """A realistic duration (timeout, poll interval) times the ``time_scale`` parameter.

    1.0 on real servers; the lab's runs pass the lab's scale so that a 30-minute timeout
    becomes seconds there.
    """
    return max(floor, seconds * float(run.params.get("time_scale") or 1.0))
