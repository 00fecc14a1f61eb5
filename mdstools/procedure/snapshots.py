"""Phase 02's last step: a Gaia snapshot of every MDS and MLM before any upgrade (B1).

The snapshot is the way back of a failed upgrade (runbook 09 reverts to it): one per
server, named after the ticket and the server (:func:`snapshot_name`). Each server's space
is checked first (``show snapshots``' last line: what a new snapshot needs, what it has);
then ``add snapshot`` is sent to every server, one after another, each returning at once,
so that the servers create their snapshots at the same time; then each is waited for
(``show snapshots`` until it is a restore point) and read (``show snapshot <name> all``:
size, version, date). The result goes into ``backups.json``'s ``"snapshots"`` and one
journal entry per snapshot. A rerun of 02 deletes the ticket's earlier snapshot and takes
it again, so that it matches the new freeze markers.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from mdstools import jobs
from mdstools.checks import CheckResult
from mdstools.errors import MdstoolsError, TransportError
from mdstools.procedure import steps
from mdstools.procedure.common import found, scaled
from mdstools.procedure.prepare import update_backups
from mdstools.records import SnapshotDetail, SnapshotList
from mdstools.run import DryResult, Run
from mdstools.session import Session

#: The key of ``backups.json`` that lists the snapshots (runbook 09 reads it).
KEY = "snapshots"
#: Creating one takes about 30 min (docs/durations.md); the wait ends after this, before
#: the notebook cell's own limit (the phase's timeout_s, 2 h) would.
CREATE_TIMEOUT_S = 90 * 60.0
POLL_S = 60.0
MAX_NAME = 64
_OUTSIDE = re.compile(r"[^A-Za-z0-9_-]")
#: Why a server has no snapshot: the operator set the parameter ``take_snapshots`` False.
NOT_WANTED = "not taken: the parameter take_snapshots=false"
DRY = "dry run: not taken"
SPACE_COLUMNS = ["server", "snapshot", "needed", "available", "earlier", "error"]
COLUMNS = ["server", "name", "version", "taken_at", "size", "size_bytes", "status", "detail"]


def snapshot_name(ticket: str, server: str) -> str:
    """``mdstools_<ticket>_<server>`` when every character is in ``[A-Za-z0-9_-]`` and it
    fits 64 characters; otherwise the characters outside replaced by ``_``, cut, and ended by
    ``_`` and 8 hex digits of the SHA-256 of the ticket and server, so that tickets that
    differ only there (``CHG.1``, ``CHG_1``) never share a snapshot."""
    raw = f"mdstools_{ticket}_{server}"
    name = _OUTSIDE.sub("_", raw)
    if name == raw and len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(f"{ticket}\0{server}".encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}_{digest}"


def wanted(run: Run) -> bool:
    """The parameter ``take_snapshots``: True unless the operator set it False (an escape hatch
    for servers that cannot take a Gaia snapshot; the gates and the record say so)."""
    return bool(run.params.get("take_snapshots", True))


def gigabytes(size: int | None) -> str:
    """Bytes as Gaia writes them: ``7.8G`` (``?`` when unknown)."""
    return "?" if size is None else f"{size / 1024**3:.1f}G"


# -- space -----------------------------------------------------------------------------------
def space(run: Run) -> pd.DataFrame:
    """Per MDS and MLM: the space a new snapshot needs and the space for snapshots, read
    from ``show snapshots``; ``earlier`` is the size of this ticket's snapshot of an earlier
    run, deleted before the new one is taken (so counted as free)."""
    rows = []
    for server in run.inventory.servers:
        name = snapshot_name(run.ticket, server.name)
        row: dict[str, Any] = {"server": server.name, "snapshot": name, "earlier": 0}
        if not wanted(run):
            rows.append({**row, "error": NOT_WANTED})
            continue
        sess = run.session(server.name)
        listed = sess.run(steps.SHOW_SNAPSHOTS.command(run.inventory))
        if not listed.ok or listed.data is None:
            rows.append({**row, "error": listed.error or "no answer"})
            continue
        data: SnapshotList = listed.data
        if name in data.complete:
            row["earlier"] = _size_of(run, sess, name) or 0
        missing = [
            what
            for what, v in (("needed", data.needed_bytes), ("available", data.available_bytes))
            if v is None
        ]
        rows.append(
            {
                **row,
                "needed": data.needed_bytes,
                "available": data.available_bytes,
                "error": f"show snapshots gave no {' and no '.join(missing)} space figure"
                if missing
                else None,
            }
        )
    df = pd.DataFrame(rows, columns=SPACE_COLUMNS)
    df = df.astype({"needed": "Int64", "available": "Int64", "earlier": "Int64"})
    df.insert(2, "space", [_in_words(r) for r in df.to_dict(orient="records")])
    return df


def _in_words(row: Mapping[Any, Any]) -> str:
    """``needs 7.8G of 52.5G`` (and what an earlier snapshot of the ticket frees)."""
    if isinstance(row["error"], str):
        return "not checked" if row["error"] == NOT_WANTED else "unknown"
    freed = f" (+{gigabytes(int(row['earlier']))} freed)" if row["earlier"] else ""
    return f"needs {gigabytes(int(row['needed']))} of {gigabytes(int(row['available']))}{freed}"


def _shortage(row: Mapping[Any, Any]) -> str | None:
    """``mds2 (needs 7.8G, 3.0G available: 4.8G missing)``, or None when it has the space."""
    error = row.get("error")
    if error == NOT_WANTED:
        return None
    if isinstance(error, str):
        return f"{row['server']} (space for snapshots unknown: {error})"
    needed, free = int(row["needed"]), int(row["available"]) + int(row["earlier"])
    if needed <= free:
        return None
    return (
        f"{row['server']} (needs {gigabytes(needed)}, {gigabytes(free)} available: "
        f"{gigabytes(needed - free)} missing)"
    )


def _size_of(run: Run, sess: Session, name: str) -> int | None:
    """The size in bytes of snapshot ``name`` (None when it cannot be read)."""
    r = sess.run(steps.SNAPSHOT_DETAIL.command(run.inventory, name=name))
    return r.data.size_bytes if r.ok and r.data is not None else None


def space_check(df: pd.DataFrame) -> CheckResult:
    """B1: every MDS and MLM has the space a new snapshot needs; names each server that
    has not, with what is missing."""
    rows = df.to_dict(orient="records")
    if rows and all(r["error"] == NOT_WANTED for r in rows):
        return CheckResult(
            name="snapshot space",
            passed=False,
            severity="info",
            reason="not checked: the parameter take_snapshots=false, 02 takes no Gaia snapshot",
            requirement="B1",
        )
    short = [s for s in (_shortage(r) for r in rows) if s]
    return CheckResult(
        name="snapshot space",
        passed=not short,
        reason="every MDS and MLM has the space a new snapshot needs"
        if not short
        else "not enough space for a snapshot: " + ", ".join(short),
        requirement="B1",
        evidence=tuple(short),
        next_step="free space on the backup volume (delete old snapshots: 'show snapshots', "
        "'delete snapshot <name>'), then rerun 02",
    )


# -- taking them -----------------------------------------------------------------------------
@dataclass(kw_only=True)
class Taken:
    """One server's snapshot as the record keeps it (``backups.json``'s ``"snapshots"``)."""

    server: str
    name: str
    version: str = ""
    taken_at: str = ""
    size: str = ""
    size_bytes: int = 0
    status: str = "failed"
    detail: str = ""


def take(run: Run) -> pd.DataFrame:
    """B1: ``add snapshot`` on every MDS and MLM (an earlier one of this ticket deleted
    first), then each waited for and read; recorded in ``backups.json`` and the journal."""
    started = time.monotonic()
    taken = [
        _start(run, s.name) if wanted(run) else _not_wanted(run, s.name)
        for s in run.inventory.servers
    ]
    deadline = started + scaled(run, CREATE_TIMEOUT_S)
    for t in taken:
        if t.status == "started":
            _finish(run, t, deadline)
    for t in taken:
        run.journal.write(
            "step",
            event="snapshot",
            server=t.server,
            name=t.name,
            status=t.status,
            size=t.size,
            version=t.version,
            detail=t.detail,
        )
    _record(run, taken)
    return pd.DataFrame([asdict(t) for t in taken], columns=COLUMNS)


def _start(run: Run, server: str) -> Taken:
    """The snapshot of ``server`` started (``status`` "started"), or why not."""
    t = Taken(server=server, name=snapshot_name(run.ticket, server))
    sess = run.session(server)
    try:
        listed: SnapshotList = sess.run(
            steps.SHOW_SNAPSHOTS.command(run.inventory), check=True
        ).value()
        if t.name in listed.creating and run.waits(server, f"snapshot {t.name} to be created"):
            found(run, server, f"snapshot {t.name}", "in progress", "an earlier run's: waited for")
            _wait(run, sess, t.name, time.monotonic() + scaled(run, CREATE_TIMEOUT_S))
        if t.name in listed.creating or t.name in listed.complete:
            found(run, server, f"snapshot {t.name}", "already done", "deleted and taken again")
            gone = run.execute(server, steps.DELETE_SNAPSHOT.command(run.inventory, name=t.name))
            if not isinstance(gone, DryResult) and gone.exit_status != 0:
                return _failed(t, f"delete snapshot: {gone.stdout.strip()}")
        add = steps.ADD_SNAPSHOT.command(run.inventory, name=t.name, ticket=run.ticket)
        res = run.execute(server, add)
    except TransportError:
        raise
    except MdstoolsError as exc:
        return _failed(t, str(exc))
    if isinstance(res, DryResult):
        run.waits(server, f"snapshot {t.name} to be created")
        return Taken(server=server, name=t.name, status="skipped", detail=DRY)
    if res.exit_status != 0:
        return _failed(t, f"add snapshot: {res.stdout.strip() or res.error or res.exit_status}")
    t.status = "started"
    return t


def _not_wanted(run: Run, server: str) -> Taken:
    """No snapshot of ``server``: the operator set the parameter ``take_snapshots`` False."""
    return Taken(
        server=server,
        name=snapshot_name(run.ticket, server),
        status="skipped",
        detail=f"{NOT_WANTED} (operator {run.operator}): runbook 09 cannot revert this server",
    )


def _failed(t: Taken, detail: str) -> Taken:
    t.status, t.detail = "failed", detail
    return t


def _wait(run: Run, sess: Session, name: str, deadline: float) -> None:
    """Poll ``show snapshots`` until ``name`` is a restore point: an MdstoolsError naming
    the server when it is neither being created nor complete, a JobError after
    ``deadline``."""
    interval = scaled(run, POLL_S)

    def check(s: Session) -> tuple[bool, str]:
        listed: SnapshotList = s.run(
            steps.SHOW_SNAPSHOTS.command(run.inventory), check=True
        ).value()
        if name in listed.complete:
            return True, f"{name} created"
        if name not in listed.creating:
            raise MdstoolsError(
                f"{sess.name}: snapshot {name} is neither being created nor a restore point",
                "read 'show snapshots' and /var/log/messages on the server, then rerun 02",
            )
        pct = listed.creating[name]
        return False, f"{name} being created" + (f" ({pct}% done)" if pct is not None else "")

    left = max(interval, deadline - time.monotonic())
    jobs.poll_until(sess, check, left, interval, run.progress, label=f"{sess.name} snapshot")


def _finish(run: Run, t: Taken, deadline: float) -> None:
    """Wait for ``t``'s snapshot, then fill in its size, version and date."""
    sess = run.session(t.server)
    try:
        _wait(run, sess, t.name, deadline)
        r = sess.run(steps.SNAPSHOT_DETAIL.command(run.inventory, name=t.name))
    except TransportError:
        raise
    except MdstoolsError as exc:
        _failed(t, str(exc))
        return
    d: SnapshotDetail | None = r.data if r.ok else None
    t.status = "complete"
    t.taken_at = (d.date if d and d.date else None) or datetime.now(timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    t.version = (d.version if d else None) or ""
    t.size_bytes = (d.size_bytes if d else None) or 0
    t.size = (d.size if d else None) or ""
    t.detail = "" if d else f"created; its details unreadable: {r.error}"


def _record(run: Run, taken: list[Taken]) -> None:
    """``backups.json``'s ``"snapshots"``; a dry run's, none taken, leaves the record as it
    was (it names the snapshots an earlier run took, still on the servers)."""
    if all(t.detail == DRY for t in taken):
        return
    update_backups(run, KEY, [asdict(t) for t in taken])


def taken_check(df: pd.DataFrame) -> CheckResult:
    """B1: a complete snapshot of every MDS and MLM (a dry run's, not taken, passes; none
    taken because the operator set ``take_snapshots`` False is a WARNING that says so)."""
    rows = df.to_dict(orient="records")
    if rows and all(str(r["detail"]).startswith(NOT_WANTED) for r in rows):
        return CheckResult(
            name="snapshot of every MDS and MLM",
            passed=False,
            severity="warning",
            reason="no Gaia snapshot taken (the parameter take_snapshots=false): the way back of a "
            "failed upgrade is the backups only, runbook 09 cannot revert",
            requirement="B1",
            next_step="take a snapshot another way (the hypervisor's) before 03, or rerun 02 "
            "with take_snapshots=true",
        )
    bad = [
        f"{r['server']} ({r['detail'] or r['status']})"
        for r in rows
        if r["status"] != "complete" and r["detail"] != DRY
    ]
    return CheckResult(
        name="snapshot of every MDS and MLM",
        passed=not bad,
        reason="a snapshot of every MDS and MLM was taken"
        if not bad
        else "no snapshot of " + ", ".join(bad),
        requirement="B1",
        evidence=tuple(bad),
        next_step="read 'show snapshots' on the server, fix the cause and rerun 02",
    )
