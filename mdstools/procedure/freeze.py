"""The change freeze (R6), continuous management (R13) and Collision forensics (R14, R15).

Phase 02 records, for every DMS on every MDS, the last published session (the marker).
Every later phase starts with :func:`watch`: the changes published since the freeze, per
domain and per MDS (who, when, which objects), each marked *safe* (made on the DMS whose
database the plan retains: the primary's, or the side ``retain_database_on`` names) or a
*collision risk*. Headless, a risk fails the phase unless ``continuous_management=True``;
then it is reported and carried forward to phase 07. The markers of all MDSs are read at
once (:func:`collect`), and recorded in inventory order.

In phase 07, for each domain in Collision: both sides' changes since the freeze side by
side, a recommendation (retain the side whose loss is smaller; the primary's when equal),
the decision, and after the sync the re-entry list of the discarded side's changes: a
checklist, ``reentry.csv`` and a DRAFT ``mgmt_cli`` batch file.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from mdstools import mgmt_api, ui
from mdstools.checks import CheckResult
from mdstools.commands import ha
from mdstools.errors import ApiError, MdstoolsError
from mdstools.escape import (
    csv_cell,
    fits_shell_word,
    markdown_text,
    shell_comment,
    shell_word,
    terminal_text,
    visible,
)
from mdstools.procedure import steps
from mdstools.procedure.common import scaled, wait_task
from mdstools.procedure.prepare import FREEZE
from mdstools.records import COLLISION, ChangeRecord, PublishedSession
from mdstools.run import Run
from mdstools.status import Snapshot
from mdstools.words import plural

CHANGE_COLUMNS = ["domain", "server", "admin", "time", "operation", "type", "object", "risk"]


def load_freeze(run: Run) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads((run.report_dir / FREEZE).read_text())
        return data
    except (FileNotFoundError, ValueError):
        return None


def freeze_start_iso(freeze: dict[str, Any]) -> str:
    """The freeze start as ISO 8601 without zone (show-changes' ``from-date`` form), UTC."""
    started = datetime.fromisoformat(freeze["started_at"]).astimezone(timezone.utc)
    return started.strftime("%Y-%m-%dT%H:%M:%S")


def retained_side(run: Run, domain: str) -> str:
    """The MDS whose database the plan keeps for ``domain``: retain_database_on, else primary."""
    value = run.params.get("retain_database_on")
    if isinstance(value, str) and "=" in value:
        mapping = dict(p.split("=", 1) for p in value.split(",") if "=" in p)
        return mapping.get(domain, run.inventory.primary.name).strip()
    if isinstance(value, dict):
        return str(value.get(domain, run.inventory.primary.name))
    if isinstance(value, str) and value:
        return value
    return run.inventory.primary.name


NOT_READ = "not_read"
DMS_SILENT = "its DMS refuses the login: stopped or starting"
"""Why a domain hosted on an MDS (phase 02 read its marker there) was not read when the
login to it failed: a DMS that is not running. Nobody can publish on it while it does not
run; phase 06 starts the DMSs and names those that do not start."""
"""The key, in the watch's frame's ``attrs``, of what the watch could not read: ``{where:
why}``, where is an MDS (none of its domains read) or "DOMAIN on MDS"."""


@dataclass(frozen=True)
class _Markers:
    """What one MDS answered for the markers: each domain's last published session (None
    where the server does not host it), the notes of the reads (a UID fallback), and why
    each domain whose answer could not be read was not."""

    published: dict[str, PublishedSession | None]
    notes: list[str]
    unread: dict[str, str]


_SAY_LOCK = threading.Lock()


def _say(line: str) -> None:
    """A progress line of a read (a wait for the API) on stderr, written whole: the MDSs
    are read at once, and their lines never interleave mid-line."""
    with _SAY_LOCK:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _last_published(run: Run, server: str, domains: list[str]) -> _Markers:
    """The last published session of every domain's DMS on ``server``, each domain in its
    own read-only API session (:mod:`mdstools.mgmt_api`). A domain the server does not
    host (its login fails and phase 02 read no marker of it there) gives None; any other
    answer that is not a session (an error, a text that is not a session's JSON) makes the
    domain unread, with why; an API that cannot take calls raises ApiError. Writes nothing
    to the record: it runs in a thread per MDS (:func:`_read_all`)."""
    freeze = load_freeze(run)
    hosted = {d for d, m in _hosted(freeze) if m == server} if freeze else set()
    notes: list[str] = []
    texts = mgmt_api.read_domains(
        run.session(server),
        domains,
        lambda d, s: [steps.WATCH_PUBLISHED.command(run.inventory, session=s).line],
        time_scale=scaled(run, 1.0, floor=0.0),
        progress=_say,
        notes=notes,
    )
    out: dict[str, PublishedSession | None] = {}
    unread: dict[str, str] = {}
    for d, (text,) in texts.items():
        try:
            out[d] = ha.parse_last_published_session(text)
        except ApiError as exc:
            out[d] = None
            if exc.code != mgmt_api.LOGIN_FAILED:
                unread[d] = str(exc)
            elif d in hosted:
                unread[d] = f"{DMS_SILENT} ({exc})"
        except (MdstoolsError, ValueError) as exc:
            out[d] = None
            unread[d] = str(exc)
    return _Markers(out, notes, unread)


def _read_all(run: Run, servers: list[str], domains: list[str]) -> list[Future[_Markers]]:
    """The markers of every server in ``servers``, read at once (a thread per server, each
    on the server's own session, at most ``mgmt_api.EXECS_PER_SERVER`` execs there): one
    finished future per server, in the order of ``servers``, holding what that server
    answered or the exception that stopped its read."""
    if not servers:
        return []
    for name in servers:
        run.session(name)  # every session made here, not by the threads
    with ThreadPoolExecutor(max_workers=len(servers), thread_name_prefix="freeze") as pool:
        return [pool.submit(_last_published, run, name, domains) for name in servers]


def changes_since(run: Run, server: str, domain: str, since_iso: str) -> list[ChangeRecord]:
    """Every object change published on ``server``'s DMS of ``domain`` since ``since_iso``.
    An API that answers "not now" (initializing after a reboot) is waited for with a
    progress line, within :func:`mgmt_api.run_retrying`'s budget (scaled)."""
    sess = run.session(server)
    inv = run.inventory
    scale = scaled(run, 1.0, floor=0.0)
    task_id = mgmt_api.run_retrying(
        sess, steps.SHOW_CHANGES.command(inv, domain=domain, since=since_iso), time_scale=scale
    ).value()
    wait_task(run, server, domain, task_id, timeout_s=600, interval_s=1.0)
    _, records = mgmt_api.run_retrying(
        sess, steps.CHANGES_TASK.command(inv, domain=domain, task=task_id), time_scale=scale
    ).value()
    return [replace(r, server=server) for r in records]


def _markers(freeze: dict[str, Any]) -> dict[tuple[str, str], int | None]:
    return {(m["domain"], m["server"]): m.get("publish_posix") for m in freeze["markers"]}


def _hosted(freeze: dict[str, Any]) -> set[tuple[str, str]]:
    """The (domain, server) pairs whose marker phase 02 read (its row has no error)."""
    return {(m["domain"], m["server"]) for m in freeze["markers"] if not m.get("error")}


def _not_read(run: Run, unread: dict[str, str], server: str, why: str, domain: str = "") -> None:
    """Record that the changes of ``domain`` on ``server`` (of the whole server when no
    domain) could not be read: a journal line, a printed line, an entry of ``unread``."""
    where = f"{domain} on {server}" if domain else server
    unread[where] = why
    if domain:
        run.journal.write("freeze", server=server, domain=domain, error=why)
    else:
        run.journal.write("freeze", server=server, error=why)
    print(terminal_text(f"changes on {where} not read: {why}"), flush=True)


def collect(run: Run, unread: dict[str, str] | None = None) -> list[ChangeRecord]:
    """Changes published since the freeze on every reachable MDS (the markers read through
    one read-only API session per domain, all MDSs at once; ``show-changes`` only where the
    marker moved, one MDS after another).

    The record is the one reading the MDSs one after another would leave: each MDS's notes,
    or its error when it could not be read (that MDS is skipped, the others are kept), in
    inventory order. What could not be read (an MDS, or a domain on an MDS: its marker's
    answer was no session, or its changes could not be read) is journaled, printed, and
    added to ``unread`` (``{where: why}``): the caller must not take it for "unchanged". An
    unexpected exception (a bug, not a server's failure) of one MDS's read is raised once
    the MDSs before it are recorded, as reading in order raised it; one of a later MDS is
    journaled, not lost."""
    unread = {} if unread is None else unread
    freeze = load_freeze(run)
    if freeze is None:
        return []
    markers = _markers(freeze)
    since = freeze_start_iso(freeze)
    domains = sorted({d for d, _ in markers})
    names = [m.name for m in run.inventory.mdss]
    reads = _read_all(run, names, domains)
    found: list[ChangeRecord] = []
    for i, (name, read) in enumerate(zip(names, reads, strict=True)):
        try:
            now = read.result()
        except MdstoolsError as exc:
            _not_read(run, unread, name, str(exc))
            continue
        except Exception:
            _journal_unexpected(run, names[i + 1 :], reads[i + 1 :])
            raise
        for note in now.notes:
            run.journal.write("freeze", server=name, note=note)
        for dom in domains:
            if dom in now.unread:
                _not_read(run, unread, name, now.unread[dom], dom)
                continue
            ps = now.published.get(dom)
            before = markers.get((dom, name))
            if ps is None or ps.publish_posix is None or ps.publish_posix == before:
                continue
            try:
                changes = changes_since(run, name, dom, since)
            except MdstoolsError as exc:
                _not_read(run, unread, name, str(exc), dom)
                continue
            found.extend(r for r in changes if before is None or (r.publish_posix or 0) > before)
    return _dedupe(run, found)


def _journal_unexpected(run: Run, names: list[str], reads: list[Future[_Markers]]) -> None:
    """Journal the unexpected exception of each of these reads (not an MdstoolsError: a
    server's ordinary failure), when an earlier MDS's own is about to be raised."""
    for name, read in zip(names, reads, strict=True):
        exc = read.exception()
        if exc is not None and not isinstance(exc, MdstoolsError):
            run.journal.write("freeze", server=name, error=f"{type(exc).__name__}: {exc}")


def _dedupe(run: Run, found: list[ChangeRecord]) -> list[ChangeRecord]:
    """A session synchronized to several DMSs is one change: keep the copy of the side the
    plan retains (else the first seen)."""
    best: dict[tuple[str, str, str, str], ChangeRecord] = {}
    for c in found:
        key = (c.domain, c.session_uid, c.object_uid, c.operation)
        if key not in best or c.server == retained_side(run, c.domain):
            best[key] = c
    return list(best.values())


def risk(run: Run, change: ChangeRecord) -> str:
    return "safe" if change.server == retained_side(run, change.domain) else "collision risk"


def frame(run: Run, found: list[ChangeRecord]) -> pd.DataFrame:
    rows = [
        {
            "domain": c.domain,
            "server": c.server,
            "admin": c.admin,
            "time": c.publish_time,
            "operation": c.operation,
            "type": c.object_type,
            "object": c.object_name,
            "risk": risk(run, c),
        }
        for c in found
    ]
    df = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    if not df.empty:
        df = df.sort_values(["risk", "domain", "time"], kind="stable").reset_index(drop=True)
    return df


def authoritative(run: Run) -> str:
    """Which side is authoritative now (the record says it at every phase, R13)."""
    primary = run.inventory.primary.name
    if run.params.get("continuous_management"):
        return (
            f"continuous management (R13): the DMSs of {primary} are authoritative once it "
            "is upgraded; changes on other MDSs are collision risks carried to phase 07"
        )
    return (
        f"change freeze (R6): nobody changes any DMS database; {primary}'s databases are "
        "the ones kept"
    )


def watch(run: Run) -> pd.DataFrame:
    """The watchdog cell of every phase after 02: changes since the freeze and their risk.
    What could not be read is in the frame's ``attrs[NOT_READ]`` (:func:`watch_check`)."""
    unread: dict[str, str] = {}
    found = collect(run, unread)
    df = frame(run, found)
    df.attrs[NOT_READ] = dict(unread)
    risks = int((df["risk"] == "collision risk").sum()) if not df.empty else 0
    if unread:
        run.journal.write("freeze-watch", changes=len(found), risks=risks, not_read=sorted(unread))
    else:
        run.journal.write("freeze-watch", changes=len(found), risks=risks)
    print(f"authoritative: {terminal_text(authoritative(run))}", flush=True)
    for _, r in df.iterrows():
        print(
            terminal_text(
                f"change since the freeze: {r['domain']} on {r['server']} by {r['admin']} at "
                f"{r['time']}: {r['operation']} {r['type']} {r['object']} ({r['risk']})"
            ),
            flush=True,
        )
    if not df.empty:
        run.write_file(f"freeze_watch_{run.phase.id}.csv", df.map(csv_cell).to_csv(index=False))
    return df


def watch_check(run: Run, df: pd.DataFrame, blocking: bool = True) -> CheckResult:
    """R6: no change since the freeze on a DMS whose database will not be retained.

    A watch that could not read an MDS, or a domain on one (``df.attrs[NOT_READ]``), cannot
    vouch for it: the check fails naming them, an error when ``blocking`` (03-06: wait
    until the server answers and run the phase again), a warning in 07."""
    if load_freeze(run) is None:
        return CheckResult(
            name="change freeze",
            passed=False,
            reason="no freeze markers (phase 02 not run for this ticket)",
            requirement="R6",
            severity="warning",
            next_step="run phase 02 first",
        )
    risky = df[df["risk"] == "collision risk"] if not df.empty else df
    items = tuple(
        f"{r['domain']} on {r['server']} by {r['admin']} at {r['time']}: "
        f"{r['operation']} {r['type']} {r['object']}"
        for _, r in risky.iterrows()
    )
    unread: dict[str, str] = df.attrs.get(NOT_READ) or {}
    if any(not why.startswith(DMS_SILENT) for why in unread.values()):
        return _unread_check(run, unread, items, blocking)
    if unread and not items:
        return _silent_check(unread)
    if not items:
        return CheckResult(
            name="change freeze",
            passed=True,
            reason=f"{plural(len(df), 'change')} since the freeze, none at risk"
            if len(df)
            else "no change since the freeze",
            requirement="R6",
        )
    carried = bool(run.params.get("continuous_management")) or not blocking
    return CheckResult(
        name="change freeze",
        passed=False,
        reason=f"{plural(len(items), 'change')} at risk of being lost: " + "; ".join(items[:3]),
        requirement="R6",
        severity="warning" if carried else "error",
        evidence=items,
        next_step="continuous management: carried forward to phase 07"
        if carried
        else "stop the changes; if they must continue, set continuous_management = True in "
        f"the parameters cell of phase {run.phase.id} (headless: -p "
        "continuous_management=true) and run it again: it holds for the later phases of this "
        "ticket (R13); phase 07 decides which database to retain",
    )


def _silent_check(unread: dict[str, str]) -> CheckResult:
    """The R6 warning of a watch that read everything but DMSs that do not run."""
    where = sorted(unread)
    return CheckResult(
        name="change freeze",
        passed=False,
        reason=f"no change since the freeze where it could read; not read: "
        f"{', '.join(where[:5])}"
        + (f" and {len(where) - 5} more" if len(where) > 5 else "")
        + f" ({DMS_SILENT})",
        requirement="R6",
        severity="warning",
        evidence=tuple(f"not read: {w}: {unread[w]}" for w in where),
        next_step="a DMS that does not run takes no change; phase 06 starts the DMSs and names "
        "those that do not start, and the watch of each later phase reads them again",
    )


def _unread_check(
    run: Run, unread: dict[str, str], items: tuple[str, ...], blocking: bool
) -> CheckResult:
    """The failed R6 check of a watch that could not read ``unread`` (and found ``items``
    at risk where it could)."""
    where = sorted(unread)
    reason = (
        f"changes since the freeze not read on {', '.join(where[:5])}"
        + (f" and {len(where) - 5} more" if len(where) > 5 else "")
        + ": no change there can be ruled out"
    )
    if items:
        reason += f"; {plural(len(items), 'change')} at risk elsewhere: " + "; ".join(items[:3])
    return CheckResult(
        name="change freeze",
        passed=False,
        reason=reason,
        requirement="R6",
        severity="error" if blocking else "warning",
        evidence=tuple(f"not read: {w}: {unread[w]}" for w in where) + items,
        next_step=f"the server is down, rebooting or its API is starting: wait until it "
        f"answers (mdstools status) and run phase {run.phase.id} again"
        if blocking
        else "check those MDSs for changes since the freeze (SmartConsole, show-changes) "
        "before deciding which database to retain",
    )


# -- Collision forensics (07) -------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Forensics:
    domain: str
    sides: dict[str, list[ChangeRecord]]
    recommended: str
    reason: str

    @property
    def lossless_choice(self) -> str | None:
        """The side to retain when only one side changed anything (nothing is lost)."""
        changed = [s for s, cs in self.sides.items() if cs]
        return changed[0] if len(changed) == 1 else (self.recommended if not changed else None)


def forensics(run: Run, domain: str, servers: list[str]) -> Forensics:
    """Both sides' changes since the freeze and the recommendation for one collided domain."""
    freeze = load_freeze(run)
    since = freeze_start_iso(freeze) if freeze else "1970-01-01T00:00:00"
    sides = {s: changes_since(run, s, domain, since) for s in servers}
    primary = run.inventory.primary.name
    # retaining X loses the other sides' changes; pick the smallest loss, primary on a tie
    losses = {s: sum(len(v) for o, v in sides.items() if o != s) for s in servers}
    best = min(losses.values())
    candidates = [s for s in servers if losses[s] == best]
    rec = primary if primary in candidates else candidates[0]
    counts = ", ".join(f"{s} {len(v)}" for s, v in sides.items())
    reason = (
        f"retaining {rec} loses {plural(best, 'change')}; changes since the freeze: {counts}"
        + ("; the primary's when equal" if len(candidates) > 1 else "")
    )
    return Forensics(domain=domain, sides=sides, recommended=rec, reason=reason)


def collisions(run: Run, snap: Snapshot) -> list[Forensics]:
    """R14: the forensics of every domain of ``snap`` in Collision, between the servers of
    its sync status."""
    return [
        forensics(run, d.name, sorted(d.sync_status))
        for d in snap.domains
        if COLLISION in d.sync_status.values()
    ]


def show(found: list[Forensics]) -> None:
    """Each collided domain's heading (the recommendation and why) and its sides' changes."""
    for f in found:
        ui.markdown(heading(f))
        ui.display(sides_frame(f))


def heading(f: Forensics) -> str:
    """The Markdown heading of one collided domain: the recommendation and why."""
    return (
        f"### {markdown_text(f.domain)}: recommended {markdown_text(f.recommended)} \u2014 "
        f"{markdown_text(f.reason)}"
    )


def _how(f: Forensics, server: str) -> str:
    """Why ``server``'s database is kept for ``f.domain``: decided, or automatic (lossless)."""
    if f.lossless_choice != server:
        return "decided"
    if any(f.sides.values()):
        return "automatic: changed on one side only, nothing lost"
    return "automatic: no change on either side"


def choice_question(found: list[Forensics]) -> str:
    """The question of the retain decision: the domains it decides, and the ones that are
    decided automatically (changed on one side only, or on neither: nothing is lost)."""
    pending = [f.domain for f in found if f.lossless_choice is None]
    auto = [f"{f.domain} keeps {f.lossless_choice}'s" for f in found if f.lossless_choice]
    text = f"Database to retain for {', '.join(pending) or 'no domain'}"
    if auto:
        text += f" ({'; '.join(auto)} automatically: nothing is lost there)"
    return text


def retain_words(found: list[Forensics], retain: dict[str, str]) -> str:
    """The retained databases in words, e.g. "retain mds1's database for dom1; dom3 keeps
    mds2's (changed on one side only, nothing lost)"."""
    by_server: dict[str, list[str]] = {}
    auto: list[str] = []
    for f in found:
        server = retain.get(f.domain)
        if server is None:
            continue
        how = _how(f, server)
        if how == "decided":
            by_server.setdefault(server, []).append(f.domain)
        else:
            auto.append(f"{f.domain} keeps {server}'s ({how.removeprefix('automatic: ')})")
    parts = [f"retain {s}'s database for {', '.join(ds)}" for s, ds in by_server.items()]
    return "; ".join(parts + auto) or "no domain is in Collision: nothing to retain"


def retain_frame(found: list[Forensics], retain: dict[str, str]) -> pd.DataFrame:
    """One row per collided domain: the database kept, how it was decided, what is lost."""
    rows = [
        {
            "domain": f.domain,
            "retained": retain.get(f.domain, ""),
            "how": _how(f, retain.get(f.domain, "")),
            "changes lost": sum(len(cs) for s, cs in f.sides.items() if s != retain.get(f.domain)),
        }
        for f in found
    ]
    return pd.DataFrame(rows, columns=["domain", "retained", "how", "changes lost"])


def sides_frame(f: Forensics) -> pd.DataFrame:
    rows = [
        {
            "server": s,
            "admin": c.admin,
            "time": c.publish_time,
            "operation": c.operation,
            "type": c.object_type,
            "object": c.object_name,
        }
        for s, cs in f.sides.items()
        for c in cs
    ]
    return pd.DataFrame(rows, columns=["server", "admin", "time", "operation", "type", "object"])


def decide(run: Run, found: list[Forensics], explicit: dict[str, str]) -> dict[str, str]:
    """The retained side per domain: explicit decisions first, then lossless automatic ones.

    A domain where only one side changed anything needs no decision (nothing is lost); it is
    recorded as decided automatically.
    """
    out = dict(explicit)
    for f in found:
        if f.domain in out:
            continue
        auto = f.lossless_choice
        if auto is not None:
            out[f.domain] = auto
            run.journal.write(
                "decision",
                name=f"retain {f.domain}",
                value=auto,
                operator=run.operator,
                how="automatic (no change is lost)",
            )
    return out


def summary(found: list[Forensics], pending: list[str]) -> str:
    """One line per collided domain needing a decision: both sides' changes, the advice."""
    parts = []
    for f in found:
        if f.domain not in pending:
            continue
        sides = "; ".join(
            f"{s} changed {len(cs)}: "
            + ", ".join(
                f"{c.operation} {c.object_type} {c.object_name} by {c.admin}" for c in cs[:3]
            )
            for s, cs in f.sides.items()
        )
        parts.append(f"{f.domain} ({sides}; recommended: retain {f.recommended})")
    return "Collision needs a decision: " + " | ".join(parts)


def retained(run: Run, found: list[Forensics], choice: Any, servers: list[str]) -> dict[str, str]:
    """R15: the side to retain per collided domain (explicit decision, else lossless auto).

    A missing decision where changes would be lost stops the phase, naming the domains,
    both sides' changes, the recommendation and the parameter to set.
    """
    from mdstools.procedure.sync import parse_retain
    from mdstools.ui import DecisionMissing

    pending = [f.domain for f in found if f.lossless_choice is None]
    explicit: dict[str, str] = {}
    given = run.params.get("retain_database_on")
    if isinstance(given, str) and "=" in given:
        explicit = parse_retain(given, [f.domain for f in found], servers)
        for f in found:
            if f.domain in explicit:
                run.journal.write(
                    "decision",
                    name=f"retain {f.domain}",
                    value=explicit[f.domain],
                    operator=run.operator,
                    how="parameter",
                )
    if pending and not all(d in explicit for d in pending):
        try:
            value = choice.value() if choice is not None else None
        except DecisionMissing:
            advice = ",".join(f"{f.domain}={f.recommended}" for f in found if f.domain in pending)
            run.fail(
                summary(found, pending),
                f"decide which database to retain: -p retain_database_on={advice} "
                "(or one server for all), or choose in the widget",
            )
            raise
        more = parse_retain(value, pending, servers)
        explicit = {**more, **explicit}
    return decide(run, found, explicit)


DRAFTABLE = {"host", "network", "group", "service-tcp", "service-udp"}
_FIELD_ARGS = {
    "host": ["ipv4-address", "ip-address"],
    "network": ["subnet4", "mask-length4", "subnet", "mask-length"],
    "group": ["members"],
    "service-tcp": ["port"],
    "service-udp": ["port"],
}


def _mgmt_value(value: str) -> bool:
    """Whether ``mgmt_cli`` reads ``value`` as the value the server sent: an argument can
    carry it, it does not start with ``-`` (mgmt_cli takes its options, ``-d``, ``-m``,
    ``--format``, anywhere on the line, so such a value could change where or how the
    command runs), and it holds no U+FFFD (what the server sent was not valid text)."""
    return fits_shell_word(value) and not value.startswith("-") and "\ufffd" not in value


def _mgmt_line(c: ChangeRecord) -> str | None:
    """The ``mgmt_cli`` command re-entering ``c``; None when it must be re-entered by hand
    (a type or operation the draft does not cover, or a value mgmt_cli cannot take as is)."""
    if c.object_type not in DRAFTABLE:
        return None
    verb = {"added": "add", "modified": "set", "deleted": "delete"}.get(c.operation)
    if verb is None:
        return None
    fields = [c.fields[k] for k in _FIELD_ARGS[c.object_type] if c.fields.get(k)]
    fields = fields if verb != "delete" else []
    members = [m for v in fields for m in v.split(",")] if c.object_type == "group" else []
    if not all(_mgmt_value(v) for v in [c.domain, c.object_name, *fields, *members]):
        return None
    args = ["name", shell_word(c.object_name)]
    if verb != "delete":
        for key in _FIELD_ARGS[c.object_type]:
            if c.fields.get(key):
                value = c.fields[key]
                if key == "members":
                    for i, member in enumerate(value.split(","), 1):
                        args += [f"members.{i}", shell_word(member)]
                    continue
                args += [key, shell_word(value)]
    return (
        f"mgmt_cli -r true -d {shell_word(c.domain)} {verb}-{c.object_type} "
        + " ".join(args)
        + " --format json"
    )


def draft(ticket: str, lost: list[ChangeRecord]) -> str:
    """The DRAFT ``mgmt_cli`` batch re-entering ``lost``: one comment line per change (names
    shown with their invisible characters escaped), then its command or a MANUAL note.

    Every name in a command is quoted as one shell word; a name containing line breaks or
    other invisible characters is announced by a WARNING line, because its quoted form spans
    several lines or hides characters from the reviewer.
    """
    lines = [
        shell_comment(
            f"DRAFT re-entry batch for ticket {ticket}, generated by mdstools on "
            f"{datetime.now(timezone.utc).isoformat(timespec='seconds')}"
        ),
        "# REVIEW EVERY LINE BEFORE RUNNING IT. Run on the MDS that holds the active DMS.",
        "# These changes were published on the side that was NOT retained and are lost.",
    ]
    for c in lost:
        line = _mgmt_line(c)
        lines.append(
            shell_comment(
                f"{c.domain}: {c.operation} {c.object_type} {c.object_name} by {c.admin}"
                f" at {c.publish_time} on {c.server}"
            )
        )
        if line is None:
            lines.append(
                shell_comment(
                    f"MANUAL: re-enter {c.object_type} '{c.object_name}' ({c.operation}) "
                    "in SmartConsole"
                )
            )
            continue
        if visible(line) != line:
            lines.append(
                "# WARNING: a name below contains line breaks or invisible characters (shown "
                "escaped above); its quoted value spans lines or hides them: check it"
            )
        lines.append(line)
    return "\n".join(lines) + "\n"


def reentry(
    run: Run, found: list[Forensics], retained: dict[str, str], prefix: str = ""
) -> pd.DataFrame:
    """R15: every change of the discarded side(s): CSV, DRAFT mgmt_cli batch, checklist;
    the files' names start with ``prefix`` (09's back-out: ``backout_``)."""
    lost = [
        c for f in found for s, cs in f.sides.items() if s != retained.get(f.domain) for c in cs
    ]
    rows = [
        {
            "domain": c.domain,
            "lost on": c.server,
            "retained": retained.get(c.domain),
            "admin": c.admin,
            "time": c.publish_time,
            "operation": c.operation,
            "type": c.object_type,
            "object": c.object_name,
            "fields": ";".join(f"{k}={v}" for k, v in sorted(c.fields.items())),
            "how": "draft mgmt_cli" if _mgmt_line(c) else "manual (SmartConsole)",
        }
        for c in lost
    ]
    cols = [
        "domain",
        "lost on",
        "retained",
        "admin",
        "time",
        "operation",
        "type",
        "object",
        "fields",
        "how",
    ]
    df = pd.DataFrame(rows, columns=cols)
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=cols)
    w.writeheader()
    w.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
    names = f"{prefix}reentry.csv", f"{prefix}reentry_draft.mgmt.txt"
    run.write_file(names[0], buf.getvalue())
    run.write_file(names[1], draft(run.ticket, lost))
    run.journal.write("reentry", changes=len(lost), csv=names[0], draft=names[1])
    return df


def checklist(df: pd.DataFrame) -> str:
    """The re-entry list as a markdown checklist for the notebook."""
    if df.empty:
        return "No change was lost: nothing to re-enter."
    md = markdown_text
    items = [
        f"- [ ] **{md(r['domain'])}**: {md(r['operation'])} {md(r['type'])} "
        f"<code>{md(r['object'])}</code> ({md(r['fields']) if r['fields'] else 'no fields'}) "
        f"by {md(r['admin'])} at {md(r['time'])}, lost on {md(r['lost on'])} -- {md(r['how'])}"
        for _, r in df.iterrows()
    ]
    return (
        "### Changes to re-enter\n"
        + "\n".join(items)
        + (
            "\n\nDraft commands: `reentry_draft.mgmt.txt` (review before running); the list: "
            "`reentry.csv`."
        )
    )
