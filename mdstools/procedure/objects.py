"""Phase 06: update the object versions on every MDS (R11, R12), exactly as the guide says.

On each MDS, in this order, each with its output in the record: ``mdsstat``; start any DMS
that is down with ``mdsstart_customer <DMS>``; ``mdsenv``;
``$MDSDIR/scripts/mds_fix_cmas_clms_version -c ALL``; ``mdsstop; mdsstart``; ``mdsstat``
until every DMS is up again.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from mdstools import jobs, mgmt_api
from mdstools.checks import CheckResult
from mdstools.commands import ha, objects
from mdstools.errors import MdstoolsError, TransportError
from mdstools.procedure import steps
from mdstools.procedure.common import mdsstat_of, run_job, scaled, wait_all_up
from mdstools.records import DomainServerInfo
from mdstools.run import DryResult, Run
from mdstools.session import Session


def object_versions(run: Run) -> list[DomainServerInfo]:
    """DMS/DLS objects with the version attribute, from ``show-domains`` on the primary.

    Real servers may not expose the attribute through the API (the lab does, marked as a
    lab extension): then versions are None and the check says to look in SmartConsole.
    """
    return domain_servers(run)


def domain_servers(run: Run) -> list[DomainServerInfo]:
    """``show-domains`` on the primary: its DMS and DLS objects. An API that answers "not
    now" (initializing after ``mdsstart`` or a reboot) is waited for with a progress line,
    within :func:`mgmt_api.run_retrying`'s budget (scaled)."""
    return mgmt_api.run_retrying(
        run.session(run.inventory.primary.name),
        ha.show_domains(),
        time_scale=scaled(run, 1.0, floor=0.0),
    ).value()


def versions_frame(
    before: list[DomainServerInfo], after: list[DomainServerInfo] | None = None
) -> pd.DataFrame:
    later = {d.name: d.version for d in (after or [])}
    rows = [
        {
            "domain": d.domain,
            "object": d.name,
            "server": d.mds,
            "type": d.type,
            "version before": d.version,
            "version after": later.get(d.name),
        }
        for d in before
    ]
    return pd.DataFrame(
        rows, columns=["domain", "object", "server", "type", "version before", "version after"]
    )


def versions_check(run: Run, infos: list[DomainServerInfo]) -> CheckResult:
    """R11: every DMS/DLS object has the target version."""
    target = run.inventory.target_version
    if infos and all(d.version is None for d in infos):
        return CheckResult(
            name="object versions updated",
            passed=False,
            reason="this server's API does not show object versions",
            requirement="R11",
            severity="warning",
            next_step="check the versions of the Domain servers in SmartConsole",
        )
    bad = [f"{d.name}={d.version}" for d in infos if d.version != target]
    return CheckResult(
        name="object versions updated",
        passed=not bad,
        reason=f"every DMS/DLS object is {target}"
        if not bad
        else "outdated: " + ", ".join(bad[:10]),
        requirement="R11",
        evidence=tuple(bad),
        next_step="run mds_fix_cmas_clms_version -c ALL on each MDS",
    )


Step = Callable[[str, str], None]
"""Records one step of an MDS (what was done, its outcome) in the table and prints it."""


def on_mds(run: Run, name: str) -> pd.DataFrame:
    """R12 on one MDS; returns one row per step with its outcome."""
    sess = run.session(name)
    rows: list[dict[str, object]] = []

    def step(what: str, outcome: str) -> None:
        rows.append({"server": name, "step": what, "outcome": outcome})
        print(f"{name}: {what}: {outcome}", flush=True)

    _start_down(run, sess, name, step)
    env = sess.run(steps.MDSENV.command(run.inventory))
    step("mdsenv", env.stdout.strip() or env.error or "")
    fixed_now = _fix_versions(run, name, step)
    _restart(run, name, step, fixed_now=fixed_now)
    if run.waits(name, "every process up (mdsstat)"):
        final = wait_all_up(run, name, timeout_s=scaled(run, 1800), interval_s=scaled(run, 10.0))
        still = [r.name or r.type for r in final.rows if not r.all_up]
        step(
            "mdsstat until all up",
            "every process is up" if not still else f"NOT up: {', '.join(still)}",
        )
    return pd.DataFrame(rows, columns=["server", "step", "outcome"])


def _start_down(run: Run, sess: Session, name: str, step: Step) -> None:
    """``mdsstat``, then ``mdsstart_customer`` for each DMS that is not up."""
    table = jobs.call(sess, mdsstat_of, scaled(run, 1800), run.progress, f"{name} mdsstat")
    down = [r.name for r in table.domain_rows if not r.all_up and r.name]
    step(
        "mdsstat",
        f"{len(table.domain_rows)} domain servers, {len(down)} not up"
        + (f": {', '.join(down)}" if down else ""),
    )
    for dms in down:
        res = run.execute(name, steps.START_DMS.command(run.inventory, dms=dms))
        if isinstance(res, DryResult):
            outcome = "dry run"
        elif res.ok:
            outcome = "started"
        else:
            tail = (res.stderr or res.stdout).strip().splitlines()[-1:]
            outcome = f"FAILED ({res.error}{': ' + tail[0] if tail else ''})"
        step(f"mdsstart_customer {dms}", outcome)


def _fix_versions(run: Run, name: str, step: Step) -> bool:
    """``mds_fix_cmas_clms_version -c ALL`` as a job of the ticket; False when a fix done
    earlier for this ticket still holds (so the restart done then counts too)."""
    fix = steps.FIX_VERSIONS.command(run.inventory)
    fixed_now = True
    try:
        # a fix done earlier for this ticket counts only while its effect is there
        result = run_job(
            run,
            name,
            steps.FIX_VERSIONS.job,
            fix,
            timeout_s=3 * 3600,
            reuse_finished=lambda: not _outdated_on(run, name),
        )
        if isinstance(result, DryResult):
            step(fix.line, "dry run")
            return fixed_now
        fixed_now = result.found != "already done"
        parsed = objects.parse_fix_cmas_clms_version(result.log)
        step(fix.line, f"exit 0; {_describe(parsed)}" + _how(result))
        return fixed_now
    except TransportError:
        raise
    except MdstoolsError as exc:
        step(fix.line, f"FAILED: {exc}")
        return fixed_now


def _restart(run: Run, name: str, step: Step, *, fixed_now: bool) -> None:
    """``mdsstop; mdsstart`` as a job of the ticket, reused only if the fix was too."""
    inv = run.inventory
    restart = steps.RESTART.command(inv)
    try:
        result = run_job(
            run,
            name,
            steps.RESTART.job,
            *steps.RESTART.commands(inv),
            timeout_s=3 * 3600,
            reuse_finished=not fixed_now,
        )
        step(restart.line, "dry run" if isinstance(result, DryResult) else "done" + _how(result))
    except TransportError:
        raise
    except MdstoolsError as exc:
        step(restart.line, f"FAILED: {exc}")


def _outdated_on(run: Run, name: str) -> bool:
    """Some DMS/DLS object of ``name`` is not on the target version (False: cannot tell)."""
    try:
        infos = object_versions(run)
    except TransportError:
        raise
    except MdstoolsError:
        return False
    target = run.inventory.target_version
    return any(d.mds == name and d.version is not None and d.version != target for d in infos)


def _how(result: jobs.JobResult) -> str:
    return "" if result.found == "started" else f" ({result.found} before this run)"


def _describe(parsed: object) -> str:
    outcomes = getattr(parsed, "outcomes", ()) or ()
    if outcomes:
        failed = [o for o in outcomes if not getattr(o, "ok", True)]
        return f"{len(outcomes) - len(failed)} objects updated, {len(failed)} failed"
    return "output recorded"


def steps_check(frames_: list[pd.DataFrame]) -> CheckResult:
    """R12: every step on every MDS succeeded and every process is up again."""
    df = (
        pd.concat(frames_, ignore_index=True)
        if frames_
        else pd.DataFrame(columns=["server", "step", "outcome"])
    )
    bad = [
        f"{r['server']}: {r['step']}: {r['outcome']}"
        for _, r in df.iterrows()
        if "FAILED" in str(r["outcome"]) or "NOT up" in str(r["outcome"])
    ]
    return CheckResult(
        name="R12 steps on every MDS",
        passed=not bad,
        reason="every step succeeded and every DMS is up" if not bad else "; ".join(bad[:3]),
        requirement="R12",
        evidence=tuple(bad),
        next_step="fix the DMS that does not start (its $FWDIR/log/fwm.elg), "
        "then run phase 06 again (--resume)",
    )
