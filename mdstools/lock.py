"""One run at a time per deployment (X4): a lock file per inventory environment.

``<reports>/.locks/<environment>.lock`` is created atomically and holds who holds it (pid,
host, ticket, phase, start time, a token). A lock whose process is gone (same host) is
*stale*: it is reported, and broken only when asked (``--break-lock``). The token is
handed to the runbook kernel (``MDSTOOLS_LOCK_TOKEN``) so that a notebook started by the
lock holder runs, while one started elsewhere refuses.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mdstools.errors import MdstoolsError

ENV_TOKEN = "MDSTOOLS_LOCK_TOKEN"


class LockHeld(MdstoolsError):
    """Another run holds the lock of this environment (CLI exit code 3)."""

    def __init__(self, path: Path, holder: dict[str, Any], stale: bool) -> None:
        self.path = path
        self.holder = holder
        self.stale = stale
        who = (
            f"pid {holder.get('pid')} on {holder.get('host')}, ticket {holder.get('ticket')}, "
            f"phase {holder.get('phase')}, since {holder.get('started')}"
        )
        if stale:
            super().__init__(
                f"a STALE lock of {holder.get('environment')} is left by {who} "
                "(that process is gone)",
                "check that nothing runs, then pass --break-lock",
            )
        else:
            super().__init__(
                f"another run holds the lock of {holder.get('environment')}: {who}",
                "wait for it to finish; never run two upgrades at once",
            )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Lock:
    """A held lock; release it with :meth:`release` (idempotent)."""

    path: Path
    token: str
    info: dict[str, Any]

    def release(self) -> None:
        try:
            current = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return
        if current.get("token") == self.token:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_path(reports: Path, environment: str) -> Path:
    return reports / ".locks" / f"{environment}.lock"


def holder(reports: Path, environment: str) -> tuple[dict[str, Any], bool] | None:
    """(holder info, stale?) of the current lock, or None."""
    path = lock_path(reports, environment)
    try:
        info: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"environment": environment, "pid": "?", "host": "?"}, False
    stale = info.get("host") == socket.gethostname() and not _alive(int(info.get("pid", 0)))
    return info, stale


def acquire(
    reports: Path,
    environment: str,
    ticket: str,
    phase: str,
    break_stale: bool = False,
    pid: int | None = None,
) -> Lock:
    """Take the lock or raise LockHeld (with the holder); a stale lock only with break_stale."""
    path = lock_path(reports, environment)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {
        "environment": environment,
        "pid": pid or os.getpid(),
        "host": socket.gethostname(),
        "ticket": ticket,
        "phase": phase,
        "token": uuid.uuid4().hex,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            current = holder(reports, environment)
            if current is None:
                continue
            held, stale = current
            if stale and break_stale:
                path.unlink(missing_ok=True)
                continue
            raise LockHeld(path, held, stale) from None
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
        return Lock(path, str(info["token"]), info)
    raise LockHeld(path, {"environment": environment}, False)


def update(lock: Lock, **fields: Any) -> None:
    """Change what the lock says (e.g. the current phase of a campaign)."""
    lock.info.update(fields)
    lock.path.write_text(json.dumps(lock.info))


def held_by_token(reports: Path, environment: str, token: str | None) -> bool:
    current = holder(reports, environment)
    return bool(token) and current is not None and current[0].get("token") == token
