"""The audit record of a ticket: the journal, the manifest and its hash chain, ``verify``.

``reports/<ticket>/journal.jsonl``: one JSON line per event, append-only:

* ``command``: server, redacted command, mode, domain, exit status, duration, SHA-256 of
  the (redacted) output, ok/error, mutating or not, dry run or not;
* ``decision``: what was decided, the value, who, when, and how (widget or parameter);
* ``gate``: a check's verdict with its requirement id and evidence;
* ``phase``: start and end of a runbook, with its verdict.

``reports/<ticket>/manifest.json``: after each run an entry with the SHA-256 of every
file of the report (except the manifest itself) and the hash of the previous entry, so
that each run is chained to the one before. :func:`verify` recomputes everything and
names the first file or entry that does not match.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mdstools.secrets import redact

JOURNAL = "journal.jsonl"
MANIFEST = "manifest.json"
_IGNORED_DIRS = {".work", ".ipynb_checkpoints"}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Journal:
    """Append-only JSON lines; safe to call from several threads (one per server)."""

    def __init__(self, path: Path, run_id: str = "", phase: str = "") -> None:
        self.path = path
        self.run_id = run_id
        self.phase = phase
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"ts": now(), "run_id": self.run_id, "phase": self.phase, "kind": kind, **fields}
        line = redact(json.dumps(event, default=str, sort_keys=False))
        with self._lock, self.path.open("a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        return event

    def events(self) -> list[dict[str, Any]]:
        return read_journal(self.path)


def read_journal(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def report_files(report_dir: Path) -> dict[str, str]:
    """relative path -> SHA-256 of every file of the report, except the manifest."""
    out: dict[str, str] = {}
    for p in sorted(report_dir.rglob("*")):
        if not p.is_file() or p.name == MANIFEST:
            continue
        rel = p.relative_to(report_dir)
        if any(part in _IGNORED_DIRS or part.startswith(".lock") for part in rel.parts):
            continue
        out[rel.as_posix()] = sha256_file(p)
    return out


def _entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def seal(report_dir: Path, run: dict[str, Any]) -> dict[str, Any]:
    """Append a manifest entry for ``run`` (run_id, phase, verdict ...) over the report's files."""
    path = report_dir / MANIFEST
    manifest: dict[str, Any] = (
        json.loads(path.read_text()) if path.exists() else {"version": 1, "runs": []}
    )
    runs: list[dict[str, Any]] = manifest["runs"]
    prev = runs[-1]["hash"] if runs else "0" * 64
    entry = {**run, "sealed_at": now(), "files": report_files(report_dir), "prev": prev}
    entry["hash"] = _entry_hash(entry)
    runs.append(entry)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(path)
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    problems: tuple[str, ...]
    head: str | None
    runs: int


def verify(report_dir: Path) -> Verification:
    """Recompute every file hash and the chain; ``problems`` names what does not match."""
    path = report_dir / MANIFEST
    if not path.exists():
        return Verification(False, (f"{path}: no manifest (nothing was sealed here)",), None, 0)
    try:
        manifest = json.loads(path.read_text())
        runs: list[dict[str, Any]] = manifest["runs"]
    except (ValueError, KeyError, TypeError) as exc:
        return Verification(False, (f"{MANIFEST}: unreadable ({exc})",), None, 0)
    problems: list[str] = []
    prev = "0" * 64
    for i, entry in enumerate(runs):
        label = f"{MANIFEST}: run {i + 1} ({entry.get('phase', '?')}, {entry.get('run_id', '?')})"
        if entry.get("prev") != prev:
            problems.append(f"{label}: chain broken (prev does not match the entry before)")
        if entry.get("hash") != _entry_hash(entry):
            problems.append(f"{label}: entry was edited (its hash does not match)")
        prev = entry.get("hash", "")
    if not runs:
        return Verification(False, (f"{MANIFEST}: no runs",), None, 0)
    sealed: dict[str, str] = runs[-1]["files"]
    current = report_files(report_dir)
    for rel, digest in sorted(sealed.items()):
        if rel not in current:
            problems.append(f"{rel}: missing (sealed in the last run)")
        elif current[rel] != digest:
            problems.append(f"{rel}: changed since it was sealed (SHA-256 differs)")
    for rel in sorted(set(current) - set(sealed)):
        problems.append(f"{rel}: not in the manifest (added after the last run was sealed)")
    return Verification(not problems, tuple(problems), runs[-1]["hash"], len(runs))
