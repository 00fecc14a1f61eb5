"""Phases 03-05: upgrade one server at a time and wait for it to come back (R5, R8, R4).

CPUSE: ``installer upgrade <package> not-interactive`` returns at once; the step is done
when ``show installer package`` says ``Installed`` AND ``fw ver`` reports the target, which
happens only after the reboot: the wait survives the dropped connection and the port that
refuses while the server reboots. mds_setup: option "Upgrade" runs as a detached job.
Servers already on the target are skipped, so a resumed campaign does not repeat them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from mdstools import jobs
from mdstools.checks import CheckResult
from mdstools.commands import upgrade, versions
from mdstools.errors import MdstoolsError
from mdstools.procedure.common import mdsstat_of, scaled, wait_all_up
from mdstools.procedure.verification import ensure_imported, package_name
from mdstools.run import DryResult, Run
from mdstools.session import Session

UPGRADE_TIMEOUT_S = 3 * 3600


@dataclass(frozen=True)
class UpgradeOutcome:
    server: str
    before: str | None
    after: str | None
    outcome: str
    duration_s: float
    not_up: tuple[str, ...] = ()


def _version(sess: Session) -> str | None:
    r = sess.run(versions.fw_ver())
    return r.data.version if r.ok and r.data else None


def upgrade_server(run: Run, name: str) -> UpgradeOutcome:
    """Upgrade ``name`` to the target and wait until it runs it; skip if it already does."""
    sess = run.session(name)
    target = run.inventory.target_version
    t0 = time.monotonic()
    before = _version(sess)
    if before == target:
        return UpgradeOutcome(name, before, before, "already on target (skipped)", 0.0)
    run.journal.write("step", event="upgrade-start", server=name, before=before, target=target)
    if run.inventory.upgrade_method == "mds_setup":
        path = run.inventory.upgrade_package or "$MDSDIR/scripts/mds_setup"
        line = f"printf '2\\ny\\n' | {path}"
        if run.dry_run:
            print(f"DRY RUN {name}: would run {line} (detached)", flush=True)
            return UpgradeOutcome(name, before, before, "dry run", 0.0)
        jobs.start(sess, "mds_setup upgrade", line)
    else:
        ensure_imported(run, sess)
        run.execute(name, upgrade.lock_database_override())
        res = run.execute(name, upgrade.installer_upgrade(package_name(run)))
        if isinstance(res, DryResult):
            return UpgradeOutcome(name, before, before, "dry run", 0.0)
        if not res.ok or "not allowed" in res.stdout.lower():
            raise MdstoolsError(
                f"{name}: the upgrade did not start: {(res.stdout or res.stderr).strip()[-300:]}",
                "fix the cause (phase 01 lists the verifier's findings)",
            )
    pkg = package_name(run)

    def done(s: Session) -> tuple[bool, str]:
        if run.inventory.upgrade_method == "cpuse":
            detail = s.run(upgrade.show_installer_package(pkg))
            st = detail.data.status if detail.ok and detail.data else "unknown"
            if st != "Installed":
                return False, f"package {st}"
        ver = _version(s)
        return ver == target, f"version {ver}"

    jobs.poll_until(
        sess,
        done,
        scaled(run, UPGRADE_TIMEOUT_S),
        scaled(run, 15.0),
        run.progress,
        label=f"{name} upgrade",
    )
    table = wait_all_up(run, name, timeout_s=scaled(run, 1800), interval_s=scaled(run, 10.0))
    not_up = tuple(r.name or r.type for r in table.rows if not r.all_up)
    after = _version(sess)
    run.journal.write("step", event="upgrade-end", server=name, after=after, not_up=list(not_up))
    return UpgradeOutcome(name, before, after, "upgraded", time.monotonic() - t0, not_up)


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
        "upgraded servers on target",
        not bad,
        f"{', '.join(o.server for o in outcomes)} run {run.inventory.target_version}"
        if not bad
        else "not on target: " + ", ".join(bad),
        "R4",
        next_step="look at the package status (show installer package) and the server's console",
    )


def processes_after(outcomes: list[UpgradeOutcome]) -> CheckResult:
    """After the reboot every DMS should start; the ones that do not are handled in 06."""
    bad = [f"{o.server}/{n}" for o in outcomes for n in o.not_up]
    return CheckResult(
        "domain servers up after the upgrade",
        not bad,
        "every process came up after the reboot" if not bad else "not up yet: " + ", ".join(bad),
        "R12",
        "warning",
        evidence=tuple(bad),
        next_step="phase 06 starts the DMSs that are down (mdsstart_customer)",
    )


def primary_on_target(run: Run) -> CheckResult:
    """R5: secondaries are upgraded only after the primary runs the target version."""
    primary = run.inventory.primary.name
    ver = _version(run.session(primary))
    target = run.inventory.target_version
    return CheckResult(
        "primary on target",
        ver == target,
        f"{primary} runs {ver}" + ("" if ver == target else f", not {target}"),
        "R5",
        next_step="run phase 03 (upgrade the primary) first",
    )


def mdss_on_target(run: Run) -> CheckResult:
    """R5/R8: log servers are upgraded after every MDS."""
    target = run.inventory.target_version
    bad = [f"{m.name}={_version(run.session(m.name))}" for m in run.inventory.mdss]
    bad = [b for b in bad if not b.endswith(f"={target}")]
    return CheckResult(
        "every MDS on target",
        not bad,
        f"every MDS runs {target}" if not bad else "not on target: " + ", ".join(bad),
        "R5",
        next_step="run phases 03 and 04 first",
    )


def current_mdsstat(run: Run, name: str) -> pd.DataFrame:
    from mdstools import frames

    return frames.process_rows({name: mdsstat_of(run.session(name)).rows})
