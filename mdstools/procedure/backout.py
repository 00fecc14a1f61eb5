"""Phase 09, the way back: revert what the campaign changed to the Gaia snapshots of phase
02 (B2), after showing what the revert loses (B3), and validate against the baseline (B4).

Which servers: those whose version differs from the baseline of phase 00, or whose upgrade
this ticket's journal shows started (phases 03-05), narrowed by ``backout_servers``. Each
needs a usable snapshot: recorded complete in ``backups.json`` by phase 02, and listed
complete by ``show snapshots`` on the server. If any chosen server lacks one, nothing is
reverted: the phase fails before the first change and says what to do for that server
(clean install of the source version, then ``mds_restore`` of its backup of phase 02). To
go back on the others first, leave that server out of ``backout_servers``.

The reverts run one server at a time, in the reverse of the upgrade order (log servers,
secondaries, the primary): ``set snapshot revert`` (the server reboots and the connection
drops), a wait until it booted again on the snapshot's version, ``mdsstart`` and a wait
until every process is up. Then the primary is made active for every domain (a domain in
Collision keeps the primary's database) and the standbys are synchronized, as in 02 and 07.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from mdstools import audit, jobs, status
from mdstools.checks import CheckResult
from mdstools.commands.snapshot import NAME as SNAPSHOT_NAME
from mdstools.errors import MdstoolsError, TransportError
from mdstools.escape import markdown_text
from mdstools.procedure import discover, freeze, prepare, steps, sync
from mdstools.procedure.common import found, ha_state, run_job, scaled, version_of, wait_all_up
from mdstools.records import UNKNOWN, ChangeRecord, SnapshotList
from mdstools.run import DryResult, Run
from mdstools.session import Session
from mdstools.words import plural

COMPLETE = "complete"
REVERT_TIMEOUT_S = 2 * 3600
STATE = "backout_state.json"
REENTRY_PREFIX = "backout_"


@dataclass(frozen=True, kw_only=True)
class Target:
    """One server as the back-out sees it: its versions, whether the ticket changed it, its
    snapshot and backup of phase 02."""

    server: str
    role: str
    baseline: str | None
    now: str | None
    upgrade_started: bool
    snapshot: str = ""
    snapshot_version: str = ""
    snapshot_status: str = ""
    snapshot_detail: str = ""
    taken_at: str = ""
    on_server: bool | None = None
    backup: str = ""
    backup_sha256: str = ""

    @property
    def changed(self) -> bool:
        """Its version differs from the baseline, or its upgrade was started."""
        return self.upgrade_started or (self.baseline is not None and self.now != self.baseline)

    @property
    def problem(self) -> str:
        """Why its snapshot cannot be used ("" when it can)."""
        if not self.snapshot:
            return "no snapshot of phase 02 in backups.json"
        if self.snapshot_status != COMPLETE:
            why = f" ({self.snapshot_detail})" if self.snapshot_detail else ""
            return f"snapshot {self.snapshot} recorded as {self.snapshot_status or 'unknown'}{why}"
        if not SNAPSHOT_NAME.fullmatch(self.snapshot):
            return f"snapshot name {self.snapshot!r} is not a Gaia snapshot name"
        if self.on_server is None:
            return f"show snapshots could not be read on {self.server}"
        if not self.on_server:
            return f"snapshot {self.snapshot} is not listed complete by show snapshots"
        return ""

    @property
    def version_after(self) -> str | None:
        """The version the server runs after the revert: the snapshot's, else the baseline's."""
        return self.snapshot_version or self.baseline


def records(run: Run) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Phase 02's ``backups.json``: (the backups, the snapshots); a list without snapshots
    when the record is the older list of backups, empty lists when there is none."""
    try:
        data = json.loads((run.report_dir / prepare.BACKUPS).read_text())
    except (FileNotFoundError, ValueError):
        return [], []
    if isinstance(data, list):
        return [b for b in data if isinstance(b, dict)], []
    if not isinstance(data, dict):
        return [], []
    backups = [b for b in data.get("backups", []) if isinstance(b, dict)]
    snaps = [s for s in data.get("snapshots", []) if isinstance(s, dict)]
    return backups, snaps


def upgrades_started(run: Run) -> set[str]:
    """The servers whose upgrade this ticket's journal shows started (phases 03-05) and
    not reverted since (by an earlier run of 09)."""
    open_: dict[str, bool] = {}
    for e in audit.read_journal(run.report_dir / audit.JOURNAL):
        if e.get("kind") != "step":
            continue
        if e.get("event") == "upgrade-start":
            open_[str(e.get("server"))] = True
        elif e.get("event") == "revert-end" and not e.get("failed"):
            open_[str(e.get("server"))] = False
    return {server for server, started in open_.items() if started}


def _listed(run: Run) -> dict[str, SnapshotList | None]:
    """``show snapshots`` of every server, in parallel (None where it could not be read)."""
    cmd = steps.SNAPSHOT_THERE.command(run.inventory)

    def read(name: str) -> SnapshotList | None:
        r = run.session(name).run(cmd)
        return r.data if r.ok and r.data is not None else None

    out = run.fleet.map(lambda s: read(s.name))
    return {name: (o.value if o.ok else None) for name, o in out.items()}


def targets(run: Run) -> list[Target]:
    """Every server of the inventory: baseline, live version, upgrade started, its
    snapshot (record and server) and backup; in the order of the upgrade."""
    base = discover.load_baseline(run) or {}
    baseline = {s.get("name"): s.get("version") for s in base.get("servers", [])}
    now = run.fleet.map(lambda s: version_of(run, s.name))
    started = upgrades_started(run)
    backups, snaps = records(run)
    backup_of = {str(b.get("server")): b for b in backups}
    snap_of = {str(s.get("server")): s for s in snaps}
    listed = _listed(run)
    out = []
    for srv in run.inventory.servers:
        snap = snap_of.get(srv.name, {})
        back = backup_of.get(srv.name, {})
        names = listed.get(srv.name)
        out.append(
            Target(
                server=srv.name,
                role=srv.role,
                baseline=baseline.get(srv.name),
                now=now[srv.name].value if now[srv.name].ok else None,
                upgrade_started=srv.name in started,
                snapshot=str(snap.get("name") or ""),
                snapshot_version=str(snap.get("version") or ""),
                snapshot_status=str(snap.get("status") or ""),
                snapshot_detail=str(snap.get("detail") or ""),
                taken_at=str(snap.get("taken_at") or ""),
                on_server=None if names is None else str(snap.get("name")) in names.complete,
                backup=str(back.get("file") or ""),
                backup_sha256=str(back.get("sha256") or ""),
            )
        )
    return out


def targets_frame(found_: list[Target]) -> pd.DataFrame:
    """One row per server: versions, whether the ticket changed it, its snapshot."""
    rows = [
        {
            "server": t.server,
            "role": t.role,
            "baseline": t.baseline,
            "now": t.now,
            "upgrade started": t.upgrade_started,
            "to revert": t.changed,
            "snapshot": t.snapshot or "(none)",
            "snapshot version": t.snapshot_version,
            "taken at": t.taken_at,
            "usable": "yes" if not t.problem else t.problem,
        }
        for t in found_
    ]
    cols = ["server", "role", "baseline", "now", "upgrade started", "to revert", "snapshot"]
    return pd.DataFrame(rows, columns=[*cols, "snapshot version", "taken at", "usable"])


def default_servers(found_: list[Target]) -> list[str]:
    """The servers the ticket changed: the default of ``backout_servers``."""
    return [t.server for t in found_ if t.changed]


def select_question(found_: list[Target]) -> str:
    """The question of the ``backout_servers`` decision."""
    changed = default_servers(found_)
    return (
        "Servers to revert to their snapshot of phase 02 (preset: "
        + (", ".join(changed) if changed else "none: no server was changed by this ticket")
        + ")"
    )


def chosen(run: Run, found_: list[Target], names: list[str]) -> list[Target]:
    """The targets named, in the order of the reverts: log servers, secondaries (last
    first), the primary. An unknown name stops the phase."""
    known = {t.server: t for t in found_}
    unknown = [n for n in names if n not in known]
    if unknown:
        run.fail(
            f"backout_servers names servers not in the inventory: {', '.join(unknown)}",
            f"use some of {', '.join(known)}",
        )
    order = [s.name for s in run.inventory.log_servers]
    order += [s.name for s in reversed(run.inventory.secondaries)]
    order.append(run.inventory.primary.name)
    return [known[n] for n in order if n in names]


def snapshots_check(picked: list[Target]) -> CheckResult:
    """B2: every server to revert has a usable snapshot; otherwise nothing is reverted."""
    bad = [f"{t.server}: {t.problem}" for t in picked if t.problem]
    return CheckResult(
        name="a snapshot for every server to revert",
        passed=not bad,
        reason=(
            f"{plural(len(picked), 'server')} to revert, each with its complete snapshot"
            if picked
            else "no server to revert"
        )
        if not bad
        else "no usable snapshot: " + "; ".join(bad) + "; nothing was reverted",
        requirement="B2",
        evidence=tuple(bad),
        next_step="follow the manual steps shown for that server (clean install, then "
        "mds_restore of its backup), or leave it out of backout_servers to revert the others",
    )


def manual_steps(picked: list[Target]) -> str:
    """What to do by hand for each server to revert without a usable snapshot (Markdown)."""
    md = markdown_text
    items = []
    for t in picked:
        if not t.problem:
            continue
        version = t.baseline or "the source version"
        restore = (
            f"then, with the MDS stopped (<code>mdsstop</code>), <code>mds_restore "
            f"{md(t.backup)}</code> (SHA-256 <code>{md(t.backup_sha256) or 'not recorded'}"
            "</code>: compare <code>sha256sum</code> first)"
            if t.backup
            else "there is no backup of it from phase 02: re-create it as Check Point's "
            "installation guide describes"
        )
        items.append(
            f"- **{md(t.server)}** ({md(t.problem)}): copy the backup off the server (a clean "
            f"install erases it), clean install {md(version)}, {restore}; then run 09 again "
            "(or 08) to validate"
        )
    if not items:
        return "Every server to revert has its snapshot: nothing to do by hand."
    return "### Not reverted automatically\n" + "\n".join(items)


def _epoch_ms(iso: str) -> int | None:
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp() * 1000)


def losses(run: Run, picked: list[Target]) -> list[ChangeRecord]:
    """B3: the changes the way back loses: those published on a server to revert after its
    snapshot, and those published since the freeze on an MDS other than the primary (the
    full sync from the primary writes over them). The change freeze's watch finds them:
    the markers of 02, then ``show-changes`` where they moved."""
    primary = run.inventory.primary.name
    after = {t.server: _epoch_ms(t.taken_at) or 0 for t in picked}
    return [
        c
        for c in freeze.collect(run)
        if (c.server in after and (c.publish_posix or 0) > after[c.server]) or c.server != primary
    ]


def reentry(run: Run, lost: list[ChangeRecord]) -> pd.DataFrame:
    """B3: the lost changes as 07's re-entry list: ``backout_reentry.csv`` and a DRAFT
    ``mgmt_cli`` batch ``backout_reentry_draft.mgmt.txt``."""
    domains = sorted({c.domain for c in lost})
    sides = [
        freeze.Forensics(
            domain=d,
            sides={
                s: [c for c in lost if c.domain == d and c.server == s]
                for s in sorted({c.server for c in lost if c.domain == d})
            },
            recommended="",
            reason="reverted to the snapshot of phase 02",
        )
        for d in domains
    ]
    kept = {d: "snapshot of 02" for d in domains}
    return freeze.reentry(run, sides, kept, prefix=REENTRY_PREFIX)


def confirm_question(picked: list[Target], lost: pd.DataFrame, found: Sequence[Target] = ()) -> str:
    """The confirmation of the reverts in words; it warns when servers the ticket changed
    are left out (``found`` less ``picked``): the deployment then stays on mixed versions."""
    if not picked:
        return "No server to revert: only make the primary active and synchronize"
    each = ", ".join(f"{t.server} ({t.now} -> {t.version_after}, {t.snapshot})" for t in picked)
    chosen = {t.server for t in picked}
    left = [t for t in found if t.server not in chosen and t.now != t.baseline]
    warning = (
        "; WARNING: "
        + ", ".join(f"{t.server} stays on {t.now}" for t in left)
        + " (left out): the deployment stays on mixed versions, which do not synchronize, "
        "and the end check against the baseline fails"
        if left
        else ""
    )
    return (
        f"Revert {each}: each reboots; {plural(len(lost), 'change')} published after the "
        "snapshots are lost (listed for re-entry); then mdsstart, the primary active for every "
        f"domain, the standbys synchronized{warning}"
    )


@dataclass(frozen=True, kw_only=True)
class Reverted:
    server: str
    before: str | None
    after: str | None
    outcome: str
    duration_s: float


def revert_all(run: Run, picked: list[Target]) -> pd.DataFrame:
    """B2: each server in turn: revert, the reboot waited through, mdsstart, every process
    up. Stops at the first server that does not come back on its version."""
    rows = []
    for t in picked:
        r = revert_server(run, t)
        rows.append(r.__dict__)
        if r.outcome in ("reverted", "dry run"):
            _start_processes(run, t.server)
    cols = ["server", "before", "after", "outcome", "duration_s"]
    return pd.DataFrame(rows, columns=cols)


def revert_server(run: Run, t: Target) -> Reverted:
    """``set snapshot revert`` on ``t.server`` and the wait until it booted again on the
    snapshot's version. A revert this ticket's journal shows under way (a run stopped
    during it) is waited for, never sent twice; a dry run shows it and waits for nothing."""
    sess = run.session(t.server)
    t0 = time.monotonic()
    booted = None if run.dry_run else _pending(run, t.server)
    if booted is None:
        booted = _boot(run, sess)
        cmd = steps.REVERT.command(run.inventory, snapshot=t.snapshot)
        if run.show_instead(t.server, cmd) is not None:
            run.waits(t.server, f"the revert to {t.snapshot} (the reboot, then {t.version_after})")
            return Reverted(
                server=t.server, before=t.now, after=t.now, outcome="dry run", duration_s=0.0
            )
        run.journal.write(
            "step", event="revert-start", server=t.server, snapshot=t.snapshot, booted=booted
        )
        _send(run, sess, t, cmd)
    else:
        found(run, t.server, "revert", "in progress", f"started earlier, booted {booted} before")
    _wait_reverted(run, sess, t, booted)
    after = version_of(run, t.server)
    run.journal.write("step", event="revert-end", server=t.server, after=after)
    return Reverted(
        server=t.server,
        before=t.now,
        after=after,
        outcome="reverted",
        duration_s=time.monotonic() - t0,
    )


def _pending(run: Run, server: str) -> str | None:
    """The boot time recorded by a revert of ``server`` this ticket started and did not end."""
    booted: str | None = None
    for e in audit.read_journal(run.report_dir / audit.JOURNAL):
        if e.get("kind") == "step" and e.get("server") == server:
            if e.get("event") == "revert-start":
                booted = str(e.get("booted"))
            elif e.get("event") == "revert-end":
                booted = None
    return booted


def _boot(run: Run, sess: Session) -> str:
    """When the server booted (``uptime -s``): the revert is over once this changed."""
    return str(sess.run(steps.BOOT_TIME.command(run.inventory), check=True).value())


def _send(run: Run, sess: Session, t: Target, cmd: Any) -> None:
    """Send the revert; a connection that drops as the server goes down is expected."""
    try:
        res = sess.run(cmd)
    except TransportError:
        return
    if not res.ok:
        run.journal.write("step", event="revert-end", server=t.server, after=t.now, failed=True)
        raise MdstoolsError(
            f"{t.server}: the revert did not start: {(res.stdout or res.stderr).strip()[-300:]}",
            "check the snapshot with 'show snapshots' on the server",
        )


def _wait_reverted(run: Run, sess: Session, t: Target, booted: str) -> None:
    """Poll, through the reboot, until the server booted again and runs its version."""
    inv = run.inventory

    def done(s: Session) -> tuple[bool, str]:
        now = s.run(steps.BOOT_TIME.command(inv)).data
        ver = s.run(steps.UNTIL_REVERTED.command(inv)).data
        version = ver.version if ver else None
        rebooted = now is not None and now != booted
        return rebooted and version == t.version_after, f"version {version}" + (
            "" if rebooted else ", not rebooted yet"
        )

    jobs.poll_until(
        sess,
        done,
        scaled(run, REVERT_TIMEOUT_S),
        scaled(run, 15.0),
        run.progress,
        label=f"{t.server} revert",
        budget_s=None,
    )


def _start_processes(run: Run, server: str) -> None:
    """``mdsstart`` as a job of the ticket (again at every revert), then every process up."""
    job = run_job(
        run,
        server,
        steps.MDSSTART.job,
        steps.MDSSTART.command(run.inventory),
        timeout_s=3600,
        reuse_finished=False,
    )
    if not isinstance(job, DryResult):
        wait_all_up(run, server, timeout_s=scaled(run, 1800), interval_s=scaled(run, 10.0))


def reverted_check(done: pd.DataFrame) -> CheckResult:
    """B2: every reverted server runs its version again (a dry run's are only shown)."""
    bad = [
        f"{r['server']}={r['after']}"
        for _, r in done.iterrows()
        if r["outcome"] not in ("reverted", "dry run")
    ]
    shown = int((done["outcome"] == "dry run").sum()) if not done.empty else 0
    reason = f"{plural(len(done) - shown, 'server')} reverted" + (
        f", {shown} shown by the dry run" if shown else ""
    )
    return CheckResult(
        name="servers reverted",
        passed=not bad,
        reason=reason if not bad else "not reverted: " + ", ".join(bad),
        requirement="B2",
        next_step="look at the server's console; run 09 again to wait for it",
    )


def restore_ha(run: Run) -> pd.DataFrame:
    """The primary active for every domain (02's switch), a domain in Collision keeping the
    primary's database, then the standbys synchronized (07's steps). Every action taken."""
    primary = run.inventory.primary.name
    switched = prepare.make_active_on_primary(run, prepare.to_switch(ha_state(run), primary))
    first = pd.DataFrame(
        {
            "domain": switched["domain"],
            "action": "set-ha-state active",
            "server": primary,
            "outcome": switched["outcome"],
        },
        columns=["domain", "action", "server", "outcome"],
    )
    snap = sync.view(run)
    rest = sync.apply(run, snap, {d: primary for d in sync.collided(snap)})
    return pd.concat([first, rest], ignore_index=True)


def compare(run: Run, snap: status.Snapshot, ha: pd.DataFrame | None = None) -> list[CheckResult]:
    """B4: 08's checks against the baseline, with the baseline's versions instead of the
    target, and every domain active on the primary. ``ha`` is :func:`restore_ha`'s table:
    where the release cannot show the sync status, its outcomes are the evidence."""
    base = discover.load_baseline(run)
    failed = _failed_actions(ha)
    results = [
        _sync_evidence(r, snap, failed)
        for r in discover.compare(run, snap)
        if not r.name.startswith("versions on ")
    ]
    if base is None:
        return results
    before = {s["name"]: s.get("version") for s in base.get("servers", [])}
    now = {s.name: s.version for s in snap.servers}
    bad = [f"{n}={now.get(n)} (was {v})" for n, v in before.items() if now.get(n) != v]
    primary = run.inventory.primary.name
    elsewhere = [d.name for d in snap.domains if d.active_servers != [primary]]
    return [
        CheckResult(
            name="versions as in the baseline",
            passed=not bad,
            reason="every server runs its version of the baseline"
            if not bad
            else "not as in the baseline: " + ", ".join(bad),
            requirement="B4",
            evidence=tuple(bad),
            next_step="revert those servers (backout_servers) or reinstall them",
        ),
        CheckResult(
            name="every domain active on the primary",
            passed=not elsewhere,
            reason=f"every domain is active on {primary}"
            if not elsewhere
            else f"not active on {primary} alone: " + ", ".join(elsewhere),
            requirement="B4",
            evidence=tuple(elsewhere),
            next_step="run 09 again (it makes the primary active), or phase 02's switch",
        ),
        *results,
    ]


def unreadable_sync(snap: status.Snapshot) -> bool:
    """No domain's sync status can be read: every MDS runs a release without
    ``show-ha-status`` (before R81.20 JHF T43), as the source version often is."""
    values = [v for d in snap.domains for v in d.sync_status.values()]
    return bool(values) and all(v == UNKNOWN for v in values)


def settled(run: Run) -> status.Snapshot:
    """The end state, written to ``backout_state.json``: once every domain is synchronized
    (or the wait timed out); at once when the sync status cannot be read at all."""
    snap = sync.view(run)
    if not unreadable_sync(snap):
        snap = sync.wait_synchronized(run)
    discover.save(run, snap, STATE)
    return snap


def _failed_actions(ha: pd.DataFrame | None) -> list[str]:
    """The actions of :func:`restore_ha` that did not succeed, in words."""
    if ha is None or ha.empty:
        return []
    return [
        f"{r['domain']}: {r['action']}: {r['outcome']}"
        for _, r in ha.iterrows()
        if str(r["outcome"]).startswith("FAILED")
    ]


def _sync_evidence(result: CheckResult, snap: status.Snapshot, failed: list[str]) -> CheckResult:
    """08's synchronization check, a warning when the release cannot tell (every status
    unknown) and every HA action of the back-out succeeded (each waited for: the
    evidence); an error naming them when some failed."""
    if result.passed or not unreadable_sync(snap):
        return result
    if failed:
        return replace(
            result,
            reason="the sync status cannot be read on this release, and "
            f"{plural(len(failed), 'HA action')} of the back-out failed: " + "; ".join(failed[:3]),
            evidence=tuple(failed),
            next_step="read each failure above; synchronize those domains from the primary "
            "(SmartConsole or ha-full-sync), then check their HA status",
        )
    return replace(
        result,
        severity="warning",
        reason="the sync status cannot be read on this release (show-ha-status needs R81.20 "
        "JHF T43 or later); every full sync of the HA step succeeded, each waited for",
        next_step="check the domains' HA status in SmartConsole",
    )
