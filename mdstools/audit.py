"""The audit record of a ticket: the journal, the manifest and its hash chain, ``verify``.

``reports/<ticket>/journal.jsonl``: one JSON line per event, append-only:

* ``command``: server, redacted command, mode, domain, exit status, duration, SHA-256 of
  the (redacted) output, ok/error, mutating or not, dry run or not;
* ``decision``: what was decided, the value, who, when, and how (widget or parameter);
* ``gate``: a check's verdict with its requirement id and evidence;
* ``phase``: start and end of a runbook, with its verdict;
* ``file``: a file of the record about to be written (its name and SHA-256);
* ``run``: a headless run's end (verdict, notebook); ``seal``: a manifest entry written.

``reports/<ticket>/manifest.json``: after each headless run an entry with the SHA-256 of
every file of the report (except the manifest itself), the length and SHA-256 of the
journal at that moment, a digest of each phase of ``state.json``, and the hash of the
previous entry, so that each run is chained to the one before. (For an entry written
without the journal's length, the sealed part is the prefix whose SHA-256 it recorded.)

A run that is journaled but not sealed (a notebook run in JupyterLab, or a headless run
that could not write its seal) is a state of its own: the journal grew only by complete
lines after the sealed part, every file that is new or changed since the seal was named
with that content by a ``file`` event of those lines, and ``state.json`` changed only for
phases of those runs. :func:`verify` reports such runs as not sealed yet; anything else
that differs is a change. :func:`check_before_write` refuses to write on top of a record
that does not verify (:class:`~mdstools.errors.RecordDamaged`), and the next seal covers
the unsealed runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mdstools import fsio
from mdstools.errors import MdstoolsError, RecordDamaged, RecordWriteError
from mdstools.secrets import redact

JOURNAL = "journal.jsonl"
MANIFEST = "manifest.json"
STATE = "state.json"
_IGNORED_DIRS = {".work", ".ipynb_checkpoints"}
_TICKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ZERO = "0" * 64


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def validate_ticket(ticket: str) -> str:
    """``ticket`` when it is a safe folder name for ``reports/<ticket>``; else MdstoolsError.

    1 to 64 characters: letters, digits, ``.``, ``_``, ``-``, starting with a letter or a
    digit, and no ``..``: never a path, never outside the reports folder.
    """
    if not ticket or not ticket.strip():
        raise MdstoolsError(
            "no ticket given",
            "pass the change ticket id (mdstools run ... --ticket CHG123, or the runbook "
            "parameter ticket); it names the folder reports/<ticket>",
        )
    if _TICKET.fullmatch(ticket) is None or ".." in ticket:
        shown = ticket if len(ticket) <= 40 else ticket[:40] + "..."
        raise MdstoolsError(
            f"ticket {shown!r} is not a valid ticket id ({len(ticket)} characters)",
            "use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, "
            "without '/' or '..', e.g. CHG4711",
        )
    return ticket


class Journal:
    """Append-only JSON lines; safe to call from several threads (one per server).

    Each event is one line written whole or not at all (:func:`fsio.append_line`).
    """

    def __init__(self, path: Path, run_id: str = "", phase: str = "") -> None:
        self.path = path
        self.run_id = run_id
        self.phase = phase
        self._lock = threading.Lock()
        fsio.ensure_dir(path.parent)

    def write(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"ts": now(), "run_id": self.run_id, "phase": self.phase, "kind": kind, **fields}
        line = redact(json.dumps(event, default=str, sort_keys=False))
        with self._lock:
            fsio.append_line(self.path, line)
        return event

    def write_file(self, path: Path, data: str | bytes) -> None:
        """Journal ``path`` with the SHA-256 of ``data``, then write it atomically.

        The journal line comes first: a record file that is new or changed since the last
        seal is accounted for only by such a line.
        """
        raw = data.encode() if isinstance(data, str) else data
        rel = path.relative_to(self.path.parent).as_posix()
        with _sealing(self.path.parent, shared=True):
            self.write("file", path=rel, sha256=sha256_bytes(raw), bytes=len(raw))
            fsio.atomic_write_bytes(path, raw)

    def events(self) -> list[dict[str, Any]]:
        return read_journal(self.path)


def read_journal(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_state(path: Path) -> dict[str, Any]:
    """``state.json`` read strictly: missing -> empty state; unreadable or of the wrong
    shape -> :class:`RecordDamaged` naming the file."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {"phases": {}}
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordDamaged(str(path), f"cannot be read ({exc})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RecordDamaged(str(path), f"is not valid JSON ({exc})") from None
    phases = data.get("phases") if isinstance(data, dict) else None
    if not isinstance(phases, dict):
        raise RecordDamaged(str(path), "has the wrong shape (no 'phases' object)")
    for pid, rec in phases.items():
        if not isinstance(rec, dict) or not isinstance(rec.get("verdict"), str):
            raise RecordDamaged(str(path), f"phase {pid!r} has the wrong shape (no verdict)")
    result: dict[str, Any] = data
    return result


def _phase_digests(state: dict[str, Any]) -> dict[str, str]:
    return {
        pid: sha256_text(json.dumps(rec, sort_keys=True, default=str))
        for pid, rec in state.get("phases", {}).items()
    }


def report_files(report_dir: Path) -> dict[str, str]:
    """relative path -> SHA-256 of every file of the report, except the manifest."""
    out: dict[str, str] = {}
    for p in sorted(report_dir.rglob("*")):
        if not p.is_file() or p.name == MANIFEST or fsio.is_temporary(p.name):
            continue
        rel = p.relative_to(report_dir)
        if any(part in _IGNORED_DIRS or part.startswith(".lock") for part in rel.parts):
            continue
        out[rel.as_posix()] = sha256_file(p)
    return out


def _entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class UnsealedRun:
    """A run whose journal lines came after the last seal."""

    run_id: str
    phase: str
    first_line: int
    last_line: int

    def describe(self) -> str:
        return (
            f"run {self.run_id} of phase {self.phase or '?'} "
            f"(journal lines {self.first_line}..{self.last_line})"
        )


@dataclass(frozen=True, kw_only=True)
class Verification:
    """What :func:`verify` found: ``ok`` when nothing differs from what was sealed and
    journaled (unsealed runs are listed in ``unsealed`` and do not make it fail)."""

    ok: bool
    problems: tuple[str, ...]
    head: str | None
    runs: int
    unsealed: tuple[UnsealedRun, ...] = ()
    is_report: bool = True


@dataclass
class _Line:
    number: int
    start: int
    event: dict[str, Any]


def _read_manifest(path: Path, problems: list[str]) -> list[dict[str, Any]] | None:
    try:
        manifest = json.loads(path.read_text())
        runs = manifest["runs"]
        if not isinstance(runs, list) or not all(isinstance(e, dict) for e in runs):
            raise TypeError("'runs' is not a list of entries")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problems.append(f"{MANIFEST}: unreadable ({type(exc).__name__}: {exc})")
        return []
    if not runs:
        problems.append(f"{MANIFEST}: no runs")
    prev = ZERO
    for i, entry in enumerate(runs):
        label = f"{MANIFEST}: run {i + 1} ({entry.get('phase', '?')}, {entry.get('run_id', '?')})"
        if entry.get("prev") != prev:
            problems.append(f"{label}: chain broken (prev does not match the entry before)")
        if entry.get("hash") != _entry_hash(entry):
            problems.append(f"{label}: entry was edited (its hash does not match)")
        if not isinstance(entry.get("files"), dict):
            problems.append(f"{label}: has no list of files")
        prev = str(entry.get("hash", ""))
    return runs


def _read_lines(data: bytes, problems: list[str]) -> list[_Line]:
    lines: list[_Line] = []
    pos = 0
    number = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        number += 1
        if end < 0:
            problems.append(
                f"{JOURNAL}: line {number} is cut short (no end of line): a write was "
                "interrupted or the file was cut"
            )
            break
        raw = data[pos:end]
        try:
            event = json.loads(raw)
            if not isinstance(event, dict) or "kind" not in event:
                raise ValueError("not an event object")
        except (ValueError, UnicodeDecodeError):
            problems.append(f"{JOURNAL}: line {number} is not a JSON event")
        else:
            lines.append(_Line(number, pos, event))
        pos = end + 1
    return lines


def _prefix_length(data: bytes, digest: str) -> int | None:
    """The length of the prefix of ``data``, ending at a line end, whose SHA-256 is
    ``digest`` (how an entry without the journal's length sealed it); None if none is."""
    h = hashlib.sha256()
    if h.hexdigest() == digest:
        return 0
    pos = 0
    while (end := data.find(b"\n", pos)) >= 0:
        h.update(data[pos : end + 1])
        pos = end + 1
        if h.hexdigest() == digest:
            return pos
    return None


def _sealed_journal(entries: list[dict[str, Any]], data: bytes, problems: list[str]) -> int | None:
    """Check the journal's part sealed by each entry; the length sealed last (None when
    it cannot be trusted: then the whole file is compared like any other)."""
    size: int | None = 0
    for i, entry in enumerate(entries):
        size, digest = entry.get("journal_bytes"), entry.get("journal_sha256")
        if not isinstance(size, int) or not isinstance(digest, str):
            files = entry.get("files")
            empty = hashlib.sha256().hexdigest()
            digest = str(files.get(JOURNAL, empty)) if isinstance(files, dict) else empty
            size = _prefix_length(data, digest)
        if size is None or len(data) < size or sha256_bytes(data[:size]) != digest:
            problems.append(f"{JOURNAL}: the part sealed in run {i + 1} was changed or cut")
            size = None
    return size


def _check_seal_lines(
    lines: list[_Line], entries: list[dict[str, Any]] | None, problems: list[str]
) -> None:
    """Every ``seal`` line names an entry of the manifest (none removed, none lost)."""
    hashes = {str(e.get("hash")) for e in entries or []}
    for ln in lines:
        if ln.event.get("kind") != "seal":
            continue
        if entries is None:
            problems.append(
                f"{MANIFEST}: missing, but {JOURNAL} line {ln.number} records that run "
                f"{ln.event.get('run_id')} of phase {ln.event.get('phase')} was sealed"
            )
            return
        if str(ln.event.get("entry")) not in hashes:
            problems.append(
                f"{JOURNAL}: line {ln.number} names a seal that is not in {MANIFEST} "
                "(an entry was removed)"
            )


def _unsealed_runs(
    lines: list[_Line], sealed_bytes: int | None, problems: list[str]
) -> dict[str, UnsealedRun]:
    """The runs with lines after the sealed part of the journal."""
    unsealed: dict[str, UnsealedRun] = {}
    for ln in lines:
        ev = ln.event
        if sealed_bytes is None or ln.start < sealed_bytes or ev.get("kind") == "seal":
            continue
        rid = ev.get("run_id")
        if not isinstance(rid, str) or not rid:
            problems.append(f"{JOURNAL}: line {ln.number} names no run (not written by a run)")
            continue
        before = unsealed.get(rid)
        unsealed[rid] = UnsealedRun(
            run_id=rid,
            phase=before.phase if before and before.phase else str(ev.get("phase", "")),
            first_line=before.first_line if before else ln.number,
            last_line=ln.number,
        )
    return unsealed


def _journaled_versions(
    lines: list[_Line], unsealed: dict[str, UnsealedRun]
) -> dict[str, set[str]]:
    """path -> SHA-256 of every version the unsealed runs wrote (a run still going when a
    seal was written may have journaled a file just before it)."""
    journaled: dict[str, set[str]] = {}
    for ln in lines:
        ev = ln.event
        if (
            ev.get("kind") == "file"
            and isinstance(ev.get("path"), str)
            and str(ev.get("run_id", "")) in unsealed
        ):
            journaled.setdefault(ev["path"], set()).add(str(ev.get("sha256")))
    return journaled


def _check_files(
    entries: list[dict[str, Any]] | None,
    current: dict[str, str],
    journaled: dict[str, set[str]],
    sealed_bytes: int | None,
    problems: list[str],
) -> None:
    """Every file sealed is there with its hash or a version journaled since; every other
    file is journaled with its content."""
    runs = entries or []
    files = runs[-1].get("files") if runs else {}
    sealed: dict[str, str] = files if isinstance(files, dict) else {}
    journal_by_prefix = sealed_bytes is not None
    for i, entry in enumerate(runs[:-1]):
        for rel in sorted(set(entry.get("files") or {}) - set(sealed)):
            problems.append(f"{rel}: sealed in run {i + 1}, absent from the last seal")
    for rel, digest in sorted(sealed.items()):
        if rel not in current:
            problems.append(f"{rel}: missing (sealed in the last run)")
        elif current[rel] == digest or (rel == JOURNAL and journal_by_prefix):
            continue
        elif rel in journaled and current[rel] not in journaled[rel]:
            problems.append(
                f"{rel}: changed (its SHA-256 matches neither the seal nor any version "
                "journaled since)"
            )
        elif rel not in journaled:
            problems.append(f"{rel}: changed since it was sealed (SHA-256 differs)")
    unaccounted = [
        rel
        for rel in sorted(set(current) - set(sealed))
        if not (rel == JOURNAL and journal_by_prefix)
        and current[rel] not in journaled.get(rel, set())
    ]
    if entries is None and unaccounted:
        problems.insert(
            0,
            f"{MANIFEST}: missing, and {len(unaccounted)} file(s) here were written by no "
            f"run that {JOURNAL} records (a sealed record lost its manifest)",
        )
    problems.extend(
        f"{rel}: not in the manifest and not journaled by any run since the last seal "
        "(added or changed by hand)"
        for rel in unaccounted
    )


def _check_state(
    path: Path,
    entries: list[dict[str, Any]],
    changed: bool,
    unsealed: dict[str, UnsealedRun],
    problems: list[str],
) -> None:
    """``state.json`` parses, and differs from the seal only in phases of unsealed runs."""
    if not path.exists():
        return
    try:
        state = load_state(path)
    except RecordDamaged as exc:
        problems.append(f"{STATE}: {exc.message.split(': ', 1)[-1]}")
        return
    sealed = entries[-1].get("state_phases") if entries else {}
    if not changed or not isinstance(sealed, dict):
        return
    now_phases = _phase_digests(state)
    for pid in sorted(set(sealed) - set(now_phases)):
        problems.append(f"{STATE}: phase {pid} was sealed and is gone")
    for pid, digest in sorted(now_phases.items()):
        rid = str(state["phases"][pid].get("run_id", ""))
        if sealed.get(pid) != digest and rid not in unsealed:
            problems.append(
                f"{STATE}: phase {pid} changed, but its run {rid or '?'} has no journal "
                "lines since the last seal"
            )


def _analyse(report_dir: Path) -> Verification:
    manifest_path = report_dir / MANIFEST
    journal_path = report_dir / JOURNAL
    if not report_dir.is_dir() or not (manifest_path.exists() or journal_path.exists()):
        current = report_files(report_dir) if report_dir.is_dir() else {}
        return Verification(
            ok=not current,
            problems=tuple(
                f"{rel}: present, but there is no {JOURNAL} or {MANIFEST} to account for it"
                for rel in sorted(current)
            ),
            head=None,
            runs=0,
            is_report=False,
        )
    problems: list[str] = []
    runs = _read_manifest(manifest_path, problems)
    entries = runs or []
    try:
        data = journal_path.read_bytes()
    except FileNotFoundError:
        data = b""
    except OSError as exc:
        problems.append(f"{JOURNAL}: cannot be read ({exc.strerror})")
        data = b""
    lines = _read_lines(data, problems)
    sealed_bytes = _sealed_journal(entries, data, problems)
    _check_seal_lines(lines, runs, problems)
    unsealed = _unsealed_runs(lines, sealed_bytes, problems)
    current = report_files(report_dir)
    _check_files(runs, current, _journaled_versions(lines, unsealed), sealed_bytes, problems)
    last_files = entries[-1].get("files") if entries else None
    sealed_state = last_files.get(STATE) if isinstance(last_files, dict) else None
    state_changed = current.get(STATE) != sealed_state
    _check_state(report_dir / STATE, entries, state_changed, unsealed, problems)
    head = entries[-1].get("hash") if entries else None
    return Verification(
        ok=not problems,
        problems=tuple(problems),
        head=str(head) if head else None,
        runs=len(entries),
        unsealed=tuple(sorted(unsealed.values(), key=lambda u: u.first_line)),
    )


def verify(report_dir: Path) -> Verification:
    """Recompute every file hash, the chain and the journal's sealed part; ``problems``
    names what does not match, ``unsealed`` the runs journaled since the last seal.

    Runs that are writing meanwhile wait (a journal line and its file are read together,
    never one without the other)."""
    with _writers_held(report_dir):
        return _analyse(report_dir)


def check_before_write(report_dir: Path) -> Verification:
    """Refuse (:class:`RecordDamaged`) to write into ``report_dir`` unless its record
    verifies; an entirely new folder passes. Returns what :func:`verify` found."""
    with _writers_held(report_dir):
        return _refuse_damaged(report_dir, _analyse(report_dir))


def _refuse_damaged(report_dir: Path, result: Verification) -> Verification:
    if result.problems:
        first = result.problems[0]
        path, _, what = first.partition(": ")
        more = len(result.problems) - 1
        raise RecordDamaged(
            str(report_dir / path),
            what + (f" (and {more} more: mdstools verify {report_dir} lists them)" if more else ""),
        )
    return result


@contextlib.contextmanager
def _writers_held(report_dir: Path) -> Iterator[None]:
    """The lock of :func:`_sealing`, taken exclusively while the record is read, where the
    folder can be opened (a folder that does not exist has nothing to read)."""
    try:
        fd: int | None = os.open(report_dir, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        fd = None
    if fd is None:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _sealing(report_dir: Path, shared: bool = False) -> Iterator[None]:
    """A lock on the report folder itself (so that no file is added for it): exclusive
    while a seal is written (two runs of a ticket may end together), shared while a file
    is journaled and written, so that a seal never sees one without the other."""
    try:
        fd = os.open(report_dir, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise RecordWriteError(str(report_dir), exc) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def seal(report_dir: Path, run: dict[str, Any], journal: Journal | None = None) -> dict[str, Any]:
    """Append a manifest entry for ``run`` (run_id, phase, verdict ...) over the report's
    files, the journal so far and the phases of ``state.json``; it covers the runs journaled
    since the last seal. Refuses (:class:`RecordDamaged`) when the record does not verify."""
    with _sealing(report_dir):
        _refuse_damaged(report_dir, _analyse(report_dir))
        path = report_dir / MANIFEST
        runs: list[dict[str, Any]] = json.loads(path.read_text())["runs"] if path.exists() else []
        journal_path = report_dir / JOURNAL
        data = journal_path.read_bytes() if journal_path.exists() else b""
        before = _sealed_journal(runs, data, []) or 0
        covers: list[str] = []
        for raw in data[before:].splitlines():
            event = json.loads(raw)
            if event.get("kind") != "seal" and event.get("run_id") not in covers:
                covers.append(str(event.get("run_id")))
        entry = {
            **run,
            "sealed_at": now(),
            "files": report_files(report_dir),
            "journal_bytes": len(data),
            "journal_sha256": sha256_bytes(data),
            "state_phases": _phase_digests(load_state(report_dir / STATE)),
            "covers": covers,
            "prev": runs[-1]["hash"] if runs else ZERO,
        }
        entry["hash"] = _entry_hash(entry)
        manifest = {"version": 2, "runs": [*runs, entry]}
        fsio.atomic_write_text(path, json.dumps(manifest, indent=2) + "\n")
        (journal or Journal(journal_path, str(run.get("run_id", "")), "")).write(
            "seal", entry=entry["hash"], runs=len(runs) + 1
        )
    return entry
