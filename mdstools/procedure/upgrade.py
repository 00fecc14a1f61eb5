"""Phases 03-05: upgrade one server at a time and wait for it to come back (R5, R8, R4).

CPUSE: ``installer upgrade <package> not-interactive`` returns at once; the step is done
when ``show installer package`` says ``Installed`` AND ``fw ver`` reports the target, which
happens only after the reboot: the wait survives the dropped connection and the port that
refuses while the server reboots. mds_setup: option "Upgrade" runs as a detached job of the
ticket.

Before starting, the step reads what it would change (:func:`decide`): a server already on
the target is skipped; an upgrade already in progress (``Installing NN%``, ``Installed``
before the reboot, the ticket's ``mds_setup`` job) is waited for, never started twice; a
server that does not answer while the journal shows its upgrade under way is rebooting, and
is waited for as long as an upgrade takes. Each such finding is journaled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from mdstools import audit, jobs
from mdstools.checks import CheckResult
from mdstools.commands import versions
from mdstools.errors import MdstoolsError
from mdstools.procedure import steps
from mdstools.procedure.common import found, mdsstat_of, scaled, wait_all_up
from mdstools.procedure.verification import ensure_imported
from mdstools.run import Run
from mdstools.session import Session

UPGRADE_TIMEOUT_S = 3 * 3600
MDS_SETUP_JOB = steps.MDS_SETUP_UPGRADE.job


@dataclass(frozen=True, kw_only=True)
class UpgradeOutcome:
    server: str
    before: str | None
    after: str | None
    outcome: str
    duration_s: float
    not_up: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ServerState:
    """What a server says about its upgrade: ``fw ver``, the CPUSE package, the job."""

    version: str | None
    package: str | None = None  # CPUSE status: Installing, Installed, Imported, ... None
    progress: int | None = None
    job: str | None = None  # the ticket's mds_setup job: running, finished, lost, None
    job_rc: int | None = None

    def describe(self) -> str:
        if self.package is not None:
            pct = f" {self.progress}%" if self.progress is not None else ""
            return f"package {self.package}{pct}, version {self.version}"
        if self.job is not None:
            rc = f" rc {self.job_rc}" if self.job_rc is not None else ""
            return f"mds_setup job {self.job}{rc}, version {self.version}"
        return f"version {self.version}"


@dataclass(frozen=True)
class Decision:
    """What to do about one server's upgrade: ``skip``, ``finished``, ``wait`` or ``start``."""

    action: str
    detail: str


def decide(method: str, state: ServerState, target: str, started_before: bool) -> Decision:
    """The upgrade step's choice from what the server says and what the journal says.

    ``started_before``: this ticket's journal shows an upgrade of the server started and
    not ended (a run stopped while it went on).
    """
    if state.version == target:
        if started_before:
            return Decision("finished", f"the upgrade started earlier is done ({target})")
        return Decision("skip", f"already on {target}")
    if method == "cpuse":
        if state.package == "Installing":
            return Decision("wait", f"upgrade already in progress (found {state.describe()})")
        if state.package == "Installed":
            return Decision(
                "wait",
                f"upgrade installed, not yet rebooted into {target} (found {state.describe()})",
            )
        return Decision("start", f"found {state.describe()}")
    if state.job == "running":
        return Decision("wait", f"upgrade already in progress (found {state.describe()})")
    if state.job in ("finished", "lost") and state.job_rc in (0, None) and started_before:
        return Decision("wait", f"upgrade started earlier (found {state.describe()})")
    return Decision("start", f"found {state.describe()}")


def started_before(run: Run, name: str) -> bool:
    """This ticket's journal shows an upgrade of ``name`` started and not ended."""
    open_ = False
    for e in audit.read_journal(run.report_dir / audit.JOURNAL):
        if e.get("kind") == "step" and e.get("server") == name:
            if e.get("event") == "upgrade-start":
                open_ = True
            elif e.get("event") == "upgrade-end":
                open_ = False
    return open_


def _version(sess: Session) -> str | None:
    r = sess.run(versions.fw_ver())
    return r.data.version if r.ok and r.data else None


def read_state(run: Run, sess: Session) -> ServerState:
    """``fw ver`` and, by method, the CPUSE package status or the ticket's mds_setup job."""
    version = _version(sess)
    if run.inventory.upgrade_method == "cpuse":
        detail = sess.run(steps.PACKAGE.command(run.inventory))
        data = detail.data if detail.ok else None
        return ServerState(
            version=version,
            package=data.status if data else None,
            progress=data.progress if data else None,
        )
    job = jobs.find(sess, run.ticket, MDS_SETUP_JOB)
    if job is None:
        return ServerState(version=version)
    return ServerState(version=version, job=job.state.state, job_rc=job.state.rc)


def upgrade_server(run: Run, name: str) -> UpgradeOutcome:
    """Upgrade ``name`` to the target and wait until it runs it; skip if it already does;
    wait for (never repeat) an upgrade already in progress.

    In a dry run the upgrade is shown, not sent, and nothing is waited for (the run's
    rules: :meth:`Run.show_instead`, :meth:`Run.waits`). The one question about the dry run
    asked here is before both: an upgrade that this ticket's journal shows under way does
    not count in a dry run, or the first read would wait through a reboot for as long as
    an upgrade takes.
    """
    sess = run.session(name)
    target = run.inventory.target_version
    t0 = time.monotonic()
    timeout = scaled(run, UPGRADE_TIMEOUT_S)
    earlier = started_before(run, name) and not run.dry_run
    state = _first_read(run, sess, name, timeout, earlier)
    choice = decide(run.inventory.upgrade_method, state, target, earlier)
    before = state.version
    if choice.action == "skip":
        return UpgradeOutcome(
            server=name,
            before=before,
            after=before,
            outcome="already on target (skipped)",
            duration_s=0.0,
        )
    if choice.action in ("wait", "finished") and not run.waits(
        name, f"the upgrade: {choice.detail}"
    ):
        return UpgradeOutcome(
            server=name, before=before, after=before, outcome="dry run", duration_s=0.0
        )
    if choice.action in ("wait", "finished"):
        found(
            run,
            name,
            "upgrade",
            "in progress" if choice.action == "wait" else "done",
            choice.detail,
        )
    else:
        start = _start(run, sess, name, before, target)
        if start is not None:
            return start
    # a "Failed" left by an earlier attempt is not this attempt's result until it changes
    _wait_on_target(run, sess, name, timeout, stale_failed=state.package == "Failed")
    return _after_reboot(run, sess, name, before, t0)


def _first_read(run: Run, sess: Session, name: str, timeout: float, earlier: bool) -> ServerState:
    """The server's state before the step acts; an upgrade under way (``earlier``) may keep
    it silent through a reboot, so the read then waits as long as the upgrade may take."""
    return jobs.call(
        sess,
        lambda s: read_state(run, s),
        timeout,
        run.progress,
        label=f"{name} upgrade",
        budget_s=None if earlier else jobs.FROM_INVENTORY,
    )


def _wait_on_target(
    run: Run, sess: Session, name: str, timeout: float, *, stale_failed: bool
) -> None:
    """Poll until the package is installed (CPUSE) and ``fw ver`` reports the target; a
    CPUSE ``Failed`` other than the stale one of an earlier attempt ends the step."""
    target = run.inventory.target_version
    stale = [stale_failed]

    def done(s: Session) -> tuple[bool, str]:
        if run.inventory.upgrade_method == "cpuse":
            detail = s.run(steps.PACKAGE.command(run.inventory))
            st = detail.data.status if detail.ok and detail.data else "unknown"
            stale[0] = stale[0] and st == "Failed"
            if st == "Failed" and not stale[0]:
                raise MdstoolsError(
                    f"{name}: the upgrade failed (show installer package says Failed)",
                    "read the installation log that show installer package names, fix the "
                    "cause, then run this phase again",
                )
            if st != "Installed":
                pct = detail.data.progress if detail.ok and detail.data else None
                return False, f"package {st}" + (f" {pct}%" if pct is not None else "")
        ver = _version(s)
        return ver == target, f"version {ver}"

    jobs.poll_until(
        sess,
        done,
        timeout,
        scaled(run, 15.0),
        run.progress,
        label=f"{name} upgrade",
        budget_s=None,
    )


def _after_reboot(
    run: Run, sess: Session, name: str, before: str | None, t0: float
) -> UpgradeOutcome:
    """Wait for every process to come up, journal the end and give the outcome."""
    table = wait_all_up(run, name, timeout_s=scaled(run, 1800), interval_s=scaled(run, 10.0))
    not_up = tuple(r.name or r.type for r in table.rows if not r.all_up)
    after = _version(sess)
    run.journal.write("step", event="upgrade-end", server=name, after=after, not_up=list(not_up))
    return UpgradeOutcome(
        server=name,
        before=before,
        after=after,
        outcome="upgraded",
        duration_s=time.monotonic() - t0,
        not_up=not_up,
    )


def _start(
    run: Run, sess: Session, name: str, before: str | None, target: str
) -> UpgradeOutcome | None:
    """Send the upgrade, journaled first as started; an outcome when it ends the step here
    (a dry run shows it instead), else None."""
    inv = run.inventory
    dry = UpgradeOutcome(
        server=name, before=before, after=before, outcome="dry run", duration_s=0.0
    )
    after_shown = f"the upgrade to {target} (the reboot, then every process up)"
    if inv.upgrade_method == "mds_setup":
        cmd = steps.MDS_SETUP_UPGRADE.command(inv)
        if run.show_instead(name, cmd) is not None:
            run.waits(name, after_shown)
            return dry
        run.journal.write("step", event="upgrade-start", server=name, before=before, target=target)
        jobs.start(sess, MDS_SETUP_JOB, cmd.line, ticket=run.ticket)
        return None
    ensure_imported(run, sess)
    run.execute(name, steps.LOCK_OVERRIDE.command(inv))
    cmd = steps.INSTALLER_UPGRADE.command(inv)
    if run.show_instead(name, cmd) is not None:
        run.waits(name, after_shown)
        return dry
    run.journal.write("step", event="upgrade-start", server=name, before=before, target=target)
    res = sess.run(cmd)
    if not res.ok or "not allowed" in res.stdout.lower():
        raise MdstoolsError(
            f"{name}: the upgrade did not start: {(res.stdout or res.stderr).strip()[-300:]}",
            "read the reason above; if the verifier found errors, phase 01 lists them",
        )
    return None


def outcomes_frame(outcomes: list[UpgradeOutcome]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "server": o.server,
                "before": o.before,
                "after": o.after,
                "outcome": o.outcome,
                "minutes": round(o.duration_s / 60, 1),
                "not up after": ", ".join(o.not_up),
            }
            for o in outcomes
        ],
        columns=["server", "before", "after", "outcome", "minutes", "not up after"],
    )


def on_target(run: Run, outcomes: list[UpgradeOutcome]) -> CheckResult:
    """R4: the upgraded servers run the target version."""
    bad = [
        f"{o.server}={o.after}"
        for o in outcomes
        if o.after != run.inventory.target_version and o.outcome != "dry run"
    ]
    return CheckResult(
        name="upgraded servers on target",
        passed=not bad,
        reason=(
            f"{', '.join(o.server for o in outcomes)} "
            f"{'runs' if len(outcomes) == 1 else 'run'} {run.inventory.target_version}"
            if outcomes
            else "no server to upgrade"
        )
        if not bad
        else "not on target: " + ", ".join(bad),
        requirement="R4",
        next_step="look at the package status (show installer package) and the server's console",
    )


def processes_after(outcomes: list[UpgradeOutcome]) -> CheckResult:
    """After the reboot every DMS should start; the ones that do not are handled in 06."""
    bad = [f"{o.server}/{n}" for o in outcomes for n in o.not_up]
    return CheckResult(
        name="domain servers up after the upgrade",
        passed=not bad,
        reason="every process came up after the reboot"
        if not bad
        else "not up yet: " + ", ".join(bad),
        requirement="R12",
        severity="warning",
        evidence=tuple(bad),
        next_step="phase 06 starts the DMSs that are down (mdsstart_customer)",
    )


def primary_on_target(run: Run) -> CheckResult:
    """R5: secondaries are upgraded only after the primary runs the target version."""
    primary = run.inventory.primary.name
    ver = _version(run.session(primary))
    target = run.inventory.target_version
    return CheckResult(
        name="primary on target",
        passed=ver == target,
        reason=f"{primary} runs {ver}" + ("" if ver == target else f", not {target}"),
        requirement="R5",
        next_step="run phase 03 (upgrade the primary) first",
    )


def mdss_on_target(run: Run) -> CheckResult:
    """R5/R8: log servers are upgraded after every MDS."""
    target = run.inventory.target_version
    bad = [f"{m.name}={_version(run.session(m.name))}" for m in run.inventory.mdss]
    bad = [b for b in bad if not b.endswith(f"={target}")]
    return CheckResult(
        name="every MDS on target",
        passed=not bad,
        reason=f"every MDS runs {target}" if not bad else "not on target: " + ", ".join(bad),
        requirement="R5",
        next_step="run phases 03 and 04 first",
    )


def current_mdsstat(run: Run, name: str) -> pd.DataFrame:
    from mdstools import frames

    return frames.process_rows({name: mdsstat_of(run.session(name)).rows})
