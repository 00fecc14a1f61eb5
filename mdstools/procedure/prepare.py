"""Phase 02: every DMS active on the primary (R7, R1), backups (X1), the change freeze (R6)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mdstools import jobs, mgmt_api
from mdstools.checks import CheckResult
from mdstools.commands import ha
from mdstools.errors import ApiError, MdstoolsError, ParseError, TransportError
from mdstools.procedure import steps
from mdstools.procedure.common import (
    Started,
    api_change,
    finish_job,
    found,
    ha_state,
    run_job,
    scaled,
    start_job,
    wait_task,
)
from mdstools.records import BackupFile, HaStateEntry, PublishedSession, TaskRef
from mdstools.run import DryResult, Run
from mdstools.session import Session

FREEZE = "freeze.json"
#: how long one mds_backup may take (realistic seconds, scaled)
BACKUP_TIMEOUT_S = 4 * 3600
BACKUPS = "backups.json"


def ha_frame(entries: list[HaStateEntry], primary: str) -> pd.DataFrame:
    """Active/standby per domain; domains not active on the primary first."""
    by: dict[str, dict[str, str]] = {}
    for e in entries:
        by.setdefault(e.domain, {})[e.mds] = e.ha_state
    rows = []
    for dom, states in by.items():
        actives = [m for m, s in states.items() if s == "active"]
        rows.append(
            {
                "domain": dom,
                "active": ", ".join(actives) or "none",
                "on primary": actives == [primary],
                **{m: s for m, s in sorted(states.items())},
            }
        )
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=["domain", "active", "on primary"])
    return df.sort_values("on primary", kind="stable").reset_index(drop=True)


def to_switch(entries: list[HaStateEntry], primary: str) -> list[str]:
    """Domains (Global included) whose DMS on the primary is not the only active one."""
    by: dict[str, list[HaStateEntry]] = {}
    for e in entries:
        by.setdefault(e.domain, []).append(e)
    return sorted(
        d for d, es in by.items() if [e.mds for e in es if e.ha_state == "active"] != [primary]
    )


def confirm_question(switch: list[str], primary: str) -> str:
    """The confirmation of phase 02 in words: what is switched (or that nothing is)."""
    ha = (
        f"make {primary}'s DMS active for {', '.join(switch)}"
        if switch
        else f"every DMS is already active on {primary}: nothing to switch"
    )
    return f"{ha}; back up every MDS, start the change freeze"


@dataclass(frozen=True)
class Switch:
    domain: str
    from_servers: str
    outcome: str


def make_active_on_primary(run: Run, domains: list[str]) -> pd.DataFrame:
    """R7/R1: ``set-ha-state new-state active`` on the primary's DMS of each domain."""
    primary = run.inventory.primary.name
    before: dict[str, list[str]] = {}
    for e in ha_state(run):
        if e.ha_state == "active":
            before.setdefault(e.domain, []).append(e.mds)
    out: list[Switch] = []
    for dom in domains:
        if before.get(dom) == [primary]:
            found(run, primary, f"set-ha-state {dom} active", "already done", "active on it")
            out.append(Switch(dom, primary, "already active on the primary"))
            continue
        res = api_change(run, primary, steps.MAKE_ACTIVE, domain=dom)
        if isinstance(res, DryResult):
            run.waits(primary, f"the task of set-ha-state {dom} active")
            out.append(Switch(dom, ", ".join(before.get(dom, [])), "dry run: not switched"))
            continue
        if isinstance(res, MdstoolsError):
            out.append(Switch(dom, ", ".join(before.get(dom, [])), f"failed: {res}"))
            continue
        task = wait_task(run, primary, dom, res.task_id, interval_s=scaled(run, 2.0))
        out.append(Switch(dom, ", ".join(before.get(dom, [])), task.status))
    # a peer that could not be told (other version, down) may still be active: demote it,
    # where the primary is active now (never the last active of a domain, nor in a dry run)
    after = ha_state(run)
    for dom in [s.domain for s in out if _active_on_primary(s)]:
        for e in after:
            if e.domain == dom and e.ha_state == "active" and e.mds != primary:
                ref = api_change(run, e.mds, steps.DEMOTE, domain=dom)
                if isinstance(ref, TaskRef):
                    wait_task(run, e.mds, dom, ref.task_id, interval_s=scaled(run, 2.0))
    return pd.DataFrame([s.__dict__ for s in out], columns=["domain", "from_servers", "outcome"])


def _active_on_primary(switch: Switch) -> bool:
    """The domain is active on the primary after its switch (or was already)."""
    return switch.outcome == "already active on the primary" or switch.outcome.startswith(
        "succeeded"
    )


# -- backup (X1) ---------------------------------------------------------------------------
def free_space(run: Run) -> pd.DataFrame:
    """Free space of the backup directory on every MDS."""
    d = run.inventory.backup_dir
    rows = []
    for m in run.inventory.mdss:
        sess = run.session(m.name)
        sess.run(steps.BACKUP_DIR.command(run.inventory))
        r = sess.run(steps.FREE_SPACE.command(run.inventory))
        fs = r.data if r.ok else None
        rows.append(
            {
                "server": m.name,
                "directory": d,
                "available MB": fs.available_kb // 1024 if fs else None,
                "filesystem": fs.filesystem if fs else r.error,
            }
        )
    return pd.DataFrame(rows, columns=["server", "directory", "available MB", "filesystem"])


def space_check(space: pd.DataFrame, min_free_mb: int) -> CheckResult:
    short = [
        f"{r['server']} (free space unknown)"
        if pd.isna(r["available MB"])
        else f"{r['server']} ({r['available MB']} MB)"
        for _, r in space.iterrows()
        if pd.isna(r["available MB"]) or r["available MB"] < min_free_mb
    ]
    return CheckResult(
        name="backup space",
        passed=not short,
        reason=f"every MDS has at least {min_free_mb} MB free in the backup directory"
        if not short
        else f"less than {min_free_mb} MB free: " + ", ".join(short),
        requirement="X1",
        next_step="free space in the backup directory or point backup_dir at a larger file system",
    )


def run_backups(run: Run) -> pd.DataFrame:
    """X1: ``mds_backup`` on every MDS at once (a detached job each), then, server by server,
    the wait, size, path and SHA-256, written to ``backups.json``'s ``"backups"``
    (:func:`update_backups`).

    Once per ticket and server: a backup job of this ticket still running is waited for,
    one that succeeded is not run again (its archive is the one written since it started).
    """
    cmd = steps.MDS_BACKUP.command(run.inventory)
    started: dict[str, jobs.JobResult | DryResult | Started | MdstoolsError] = {}
    for m in run.inventory.mdss:
        try:
            started[m.name] = start_job(
                run, m.name, steps.MDS_BACKUP.job, cmd, timeout_s=BACKUP_TIMEOUT_S
            )
        except TransportError:
            raise
        except MdstoolsError as exc:
            started[m.name] = exc
    rows = [_backup_row(run, name, got) for name, got in started.items()]
    df = pd.DataFrame(rows, columns=["server", "file", "size MB", "sha256"])
    update_backups(run, "backups", json.loads(df.to_json(orient="records")))
    return df


def update_backups(run: Run, key: str, value: list[dict[str, Any]]) -> None:
    """``backups.json`` with ``key`` (``"backups"``, ``"snapshots"``) set to ``value`` and
    the other parts kept as an earlier run left them: until 02 takes its snapshots again,
    the record names those still on the servers. A list (the record's older form) is its
    backups."""
    path = run.report_dir / BACKUPS
    record: dict[str, Any] = {}
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        record = old if isinstance(old, dict) else {"backups": old}
    record[key] = value
    run.write_file(BACKUPS, json.dumps(record, indent=2) + "\n")


def _backup_row(
    run: Run, server: str, got: jobs.JobResult | DryResult | Started | MdstoolsError
) -> dict[str, object]:
    """One MDS's row: its backup job waited for (taken again when its archive is gone)."""
    if isinstance(got, DryResult):
        return {"server": server, "file": "(dry run)", "size MB": None, "sha256": ""}
    sess = run.session(server)
    try:
        if isinstance(got, MdstoolsError):
            raise got
        job = (
            finish_job(run, server, got, timeout_s=BACKUP_TIMEOUT_S)
            if isinstance(got, Started)
            else got
        )
        files = _archives_since(run, sess, job)
        if not files and job.found == "already done":
            # the archive of the earlier backup is gone: take it again
            cmd = steps.MDS_BACKUP.command(run.inventory)
            again = run_job(
                run,
                server,
                steps.MDS_BACKUP.job,
                cmd,
                timeout_s=BACKUP_TIMEOUT_S,
                reuse_finished=False,
            )
            assert not isinstance(again, DryResult)
            job = again
            files = _archives_since(run, sess, job)
    except TransportError:
        raise
    except MdstoolsError as exc:
        return {"server": server, "file": f"FAILED: {exc}", "size MB": None, "sha256": ""}
    newest = max(files, key=lambda f: f.mtime) if files else None
    sha = steps.BACKUP_SHA256
    digest = (
        (sess.run(sha.command(run.inventory, archive=newest.path)).data or "") if newest else ""
    )
    return {
        "server": server,
        "file": newest.path if newest else "(no archive found)",
        "size MB": round(newest.size / 1e6, 1) if newest else None,
        "sha256": digest,
    }


def _archives_since(run: Run, sess: Session, job: jobs.JobResult) -> list[BackupFile]:
    """The backup archives written since ``job`` started (server clock)."""
    since = job.handle.started_at.timestamp() - 1
    listed = sess.run(steps.BACKUP_FILES.command(run.inventory)).data or []
    return [f for f in listed if f.mtime >= since]


def backups_check(df: pd.DataFrame) -> CheckResult:
    bad = [
        str(r["server"])
        for _, r in df.iterrows()
        if not str(r["file"]).startswith("/") and r["file"] != "(dry run)"
    ]
    return CheckResult(
        name="backup of every MDS",
        passed=not bad,
        reason="an mds_backup archive exists for every MDS"
        if not bad
        else "no backup for " + ", ".join(bad),
        requirement="X1",
        next_step="read the job log in the record, fix and rerun 02",
    )


# -- change freeze (R6) ----------------------------------------------------------------------
Marker = tuple[PublishedSession | None, str | None]


def _markers_on(run: Run, server: str, domains: list[str]) -> dict[str, Marker]:
    """Each domain's last published session on ``server`` and, when it could not be read,
    why; every domain in its own read-only API session (:mod:`mdstools.mgmt_api`)."""
    try:
        texts = mgmt_api.read_domains(
            run.session(server),
            domains,
            lambda d, s: [steps.LAST_PUBLISHED.command(run.inventory, session=s).line],
            time_scale=scaled(run, 1.0, floor=0.0),
        )
    except ApiError as exc:
        return {d: (None, str(exc)) for d in domains}
    out: dict[str, Marker] = {}
    for d, (text,) in texts.items():
        try:
            out[d] = (ha.show_last_published_session(d).parse(text), None)
        except ApiError as exc:
            out[d] = (None, str(exc))
        except ParseError as exc:
            out[d] = (None, f"parse error: {exc.reason}")
    return out


def freeze_markers(run: Run) -> pd.DataFrame:
    """R6: the last published session of every DMS database, when the freeze starts.

    A dry run reads the markers but records no freeze (``freeze.json`` is a record file, not
    a command, so the run's dry-run rules do not cover it): the watch of the later phases
    would take a dry run's freeze for a real one.
    """
    domains = sorted({e.domain for e in ha_state(run)})
    rows = []
    for m in run.inventory.mdss:
        markers = _markers_on(run, m.name, domains)
        for dom in domains:
            ps, error = markers[dom]
            rows.append(
                {
                    "domain": dom,
                    "server": m.name,
                    "last publish": ps.publish_time if ps else None,
                    "publish_posix": ps.publish_posix if ps else None,
                    "by": ps.user if ps else None,
                    "session": ps.uid if ps else None,
                    "error": error,
                }
            )
    df = pd.DataFrame(
        rows,
        columns=["domain", "server", "last publish", "publish_posix", "by", "session", "error"],
    )
    freeze = {
        "started_by": run.operator,
        "run_id": run.run_id,
        "started_at": run.started.isoformat(timespec="seconds"),
        "markers": json.loads(df.to_json(orient="records")),
    }
    if not run.dry_run:
        run.write_file(FREEZE, json.dumps(freeze, indent=2) + "\n")
    return df
