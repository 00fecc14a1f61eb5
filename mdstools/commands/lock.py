"""The campaign lock file on the primary MDS: ``/var/log/mdstools/lock.json``.

Operators on different jump hosts meet here. The file is created in one atomic step
(``set -o noclobber``: bash opens it with ``O_EXCL``), then read back so that the caller
compares the token it wrote with the one the file holds. It is removed only by the
holder (the token must match) or when an operator breaks it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mdstools.commands._text import fail, lines, quote
from mdstools.commands.base import Command

__all__ = [
    "LOCK_DIR",
    "LOCK_FILE",
    "LockFileState",
    "parse_lock_state",
    "read_lock",
    "release_lock",
    "remove_lock",
    "take_lock",
]

LOCK_DIR = "/var/log/mdstools"
LOCK_FILE = f"{LOCK_DIR}/lock.json"
MARK = "mdstools-lock: "
OUTCOMES = ("taken", "held", "released", "kept", "present", "absent")
_TOKEN = re.compile(r"^[0-9a-f]{8,64}$")


@dataclass(frozen=True)
class LockFileState:
    """What a lock command saw: its ``outcome`` (taken, held, released, kept, present,
    absent) and the lock file's content (``holder``; None when there is none, ``{}`` when
    it is not a JSON object)."""

    outcome: str
    holder: dict[str, Any] | None


def _token(token: str) -> str:
    if not _TOKEN.match(token):
        raise ValueError(f"lock token {token!r} is not a hexadecimal token")
    return token


def take_lock(info: dict[str, Any]) -> Command[LockFileState]:
    """Create the lock file with ``info`` unless it exists, then print it.

    ``mkdir -p /var/log/mdstools && if (set -o noclobber; printf '%s\\n' '<json>' >
    /var/log/mdstools/lock.json) 2>/dev/null; then echo 'mdstools-lock: taken'; else echo
    'mdstools-lock: held'; fi; cat /var/log/mdstools/lock.json 2>/dev/null``.

    Example record: ``LockFileState("held", {"ticket": "CHG1", "pid": 4242, ...})``.
    """
    _token(str(info.get("token", "")))
    body = json.dumps(info)
    line = (
        f"mkdir -p {quote(LOCK_DIR)} && "
        f"if (set -o noclobber; printf '%s\\n' {quote(body)} > {quote(LOCK_FILE)}) 2>/dev/null; "
        f"then echo {quote(MARK + 'taken')}; else echo {quote(MARK + 'held')}; fi; "
        f"cat {quote(LOCK_FILE)} 2>/dev/null"
    )
    return Command(
        line, parse_lock_state, name="take lock", timeout_s=30.0, mutating=True, ok_codes=(0, 1)
    )


def read_lock() -> Command[LockFileState]:
    """``if test -e <file>; then echo 'mdstools-lock: present'; cat <file>; else echo
    'mdstools-lock: absent'; fi``: who holds the lock, if anyone.

    Example record: ``LockFileState("absent", None)``.
    """
    f = quote(LOCK_FILE)
    line = (
        f"if test -e {f}; then echo {quote(MARK + 'present')}; cat {f}; "
        f"else echo {quote(MARK + 'absent')}; fi"
    )
    return Command(line, parse_lock_state, name="read lock", timeout_s=30.0)


def release_lock(token: str) -> Command[LockFileState]:
    """Remove the lock file only if it holds ``token``.

    ``if grep -qF '"token": "<token>"' <file> 2>/dev/null; then rm -f <file> && echo
    'mdstools-lock: released'; else echo 'mdstools-lock: kept'; fi``.

    Example record: ``LockFileState("released", None)``.
    """
    f = quote(LOCK_FILE)
    needle = quote(f'"token": "{_token(token)}"')
    line = (
        f"if grep -qF {needle} {f} 2>/dev/null; then rm -f {f} && echo "
        f"{quote(MARK + 'released')}; else echo {quote(MARK + 'kept')}; fi"
    )
    return Command(line, parse_lock_state, name="release lock", timeout_s=30.0, mutating=True)


def remove_lock() -> Command[LockFileState]:
    """``rm -f <file> && echo 'mdstools-lock: released'``: break a lock whose file holds no
    token (unreadable). Only on an operator's request.

    Example record: ``LockFileState("released", None)``.
    """
    line = f"rm -f {quote(LOCK_FILE)} && echo {quote(MARK + 'released')}"
    return Command(line, parse_lock_state, name="remove lock", timeout_s=30.0, mutating=True)


def parse_lock_state(text: str) -> LockFileState:
    """The marker line, then the lock file's JSON (if any).

    Example record: ``mdstools-lock: held`` / ``{"ticket": "CHG1", "pid": 4242}`` ->
    ``LockFileState("held", {"ticket": "CHG1", "pid": 4242})``; a file that is not a JSON
    object gives ``holder={}``.
    """
    rows = lines(text)
    at = next((i for i, r in enumerate(rows) if r.startswith(MARK)), None)
    if at is None:
        raise fail("lock", f"no '{MARK.strip()}' line (is {LOCK_DIR} writable?)", text)
    outcome = rows[at][len(MARK) :].strip()
    if outcome not in OUTCOMES:
        raise fail("lock", f"unknown lock outcome {outcome!r}", text)
    body = "\n".join(rows[at + 1 :]).strip()
    if not body:
        return LockFileState(outcome, None if outcome not in ("held", "present") else {})
    try:
        data = json.loads(body)
    except ValueError:
        return LockFileState(outcome, {})
    return LockFileState(outcome, data if isinstance(data, dict) else {})
