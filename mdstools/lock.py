"""One upgrade at a time per environment (X4), whoever and wherever starts it.

Two locks, both naming the holder (environment, pid, host, ticket, phase, operator, start
time, a token):

* **host-wide**: ``<lock dir>/<environment>.lock``, created atomically (``O_EXCL``), the same
  for every working directory and reports folder of this user on this host. The lock dir
  is ``$MDSTOOLS_LOCK_DIR``, else ``$XDG_STATE_HOME/mdstools/locks``, else
  ``~/.local/state/mdstools/locks`` (mode 0700). The CLI takes it for a whole run or
  campaign and hands its token to the runbook kernel (``MDSTOOLS_LOCK_TOKEN``); a notebook
  started elsewhere (JupyterLab) takes it itself.
* **on the primary MDS**: ``/var/log/mdstools/lock.json`` (:mod:`mdstools.commands.lock`),
  so that operators on different jump hosts meet. Every mutating phase takes it (or
  confirms its token) when it starts and releases it when it ends.

A lock whose process is gone (same host) is *stale*: it is reported, and broken only when
asked (``--break-lock``). A lock on the MDS taken from another host cannot be judged by its
pid: it is reported with its owner and age, and broken only when asked.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mdstools.commands.lock import LOCK_FILE, read_lock, release_lock, remove_lock, take_lock
from mdstools.errors import ExitCode, MdstoolsError

if TYPE_CHECKING:
    from mdstools.inventory import Inventory
    from mdstools.session import Session

ENV_TOKEN = "MDSTOOLS_LOCK_TOKEN"
ENV_DIR = "MDSTOOLS_LOCK_DIR"
ENV_BREAK = "MDSTOOLS_BREAK_LOCK"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _shown(value: Any) -> str:
    """A holder field as shown in a message: one line, no control characters, bounded."""
    text = _CONTROL.sub("?", str(value))
    return text if len(text) <= 80 else text[:77] + "..."


def age(started: Any, now: datetime | None = None) -> str:
    """How long ago ``started`` (ISO 8601) was: ``42 s``, ``5 min``, ``3 h 10 min``."""
    try:
        then = datetime.fromisoformat(str(started))
    except ValueError:
        return "unknown age"
    if then.tzinfo is None:
        then = then.replace(tzinfo=timezone.utc)
    seconds = max(0, int(((now or datetime.now(timezone.utc)) - then).total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def describe(holder: dict[str, Any]) -> str:
    """The holder in words: pid, host, ticket, operator, phase, start time and age."""
    return (
        f"pid {_shown(holder.get('pid', '?'))} on {_shown(holder.get('host', '?'))}, "
        f"ticket {_shown(holder.get('ticket', '?'))}, "
        f"operator {_shown(holder.get('operator', '?'))}, "
        f"phase {_shown(holder.get('phase', '?'))}, since {_shown(holder.get('started', '?'))} "
        f"({age(holder.get('started'))} ago)"
    )


class LockHeld(MdstoolsError):
    """Another run holds the lock of this environment (CLI exit code 3).

    ``where`` is the lock file (``mds1:/var/log/mdstools/lock.json`` for the one on the
    primary MDS); ``stale`` when its process is gone; ``foreign`` when it was taken from
    another host (its pid cannot be checked from here).
    """

    exit = ExitCode.LOCKED

    def __init__(
        self,
        where: str,
        holder: dict[str, Any],
        stale: bool,
        foreign: bool = False,
        environment: str = "",
    ) -> None:
        self.where = where
        self.holder = holder
        self.stale = stale
        self.foreign = foreign
        env = _shown(holder.get("environment") or environment or "?")
        who = describe(holder)
        if not holder:
            super().__init__(
                f"the lock of {env} ({where}) is held, but its file says by whom in no "
                "readable way",
                "check that nothing runs, then pass --break-lock",
            )
        elif stale:
            super().__init__(
                f"a STALE lock of {env} ({where}) is left by {who} (that process is gone)",
                "check that nothing runs, then pass --break-lock",
            )
        elif foreign:
            super().__init__(
                f"the lock of {env} ({where}) is held from another host: {who}",
                "ask its operator; if that run is over (it cannot be checked from here), "
                "pass --break-lock",
            )
        else:
            super().__init__(
                f"another run holds the lock of {env} ({where}): {who}",
                "wait for it to finish; never run two upgrades at once",
            )


class LockDirError(MdstoolsError):
    """The host-wide lock directory cannot be created or written (CLI exit code 2)."""

    exit = ExitCode.USAGE

    def __init__(self, directory: Path, reason: str) -> None:
        self.directory = directory
        super().__init__(
            f"cannot use the lock directory {directory}: {reason}",
            f"set {ENV_DIR} to a writable directory of this user (the same for every run "
            "on this host)",
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pid(value: Any) -> int | None:
    try:
        pid = int(value)
    except (TypeError, ValueError):
        return None
    return pid if pid > 0 else None


def holder_pid(holder: dict[str, Any]) -> int | None:
    """The holder's pid as a number, None when it is missing or not one."""
    return _pid(holder.get("pid"))


def is_stale(holder: dict[str, Any]) -> bool:
    """True when the holder ran on this host and its process is gone."""
    if holder.get("host") != socket.gethostname():
        return False
    pid = _pid(holder.get("pid"))
    return pid is None or not _alive(pid)


def lock_dir() -> Path:
    """``$MDSTOOLS_LOCK_DIR``, else ``$XDG_STATE_HOME/mdstools/locks``, else
    ``~/.local/state/mdstools/locks``."""
    env = os.environ.get(ENV_DIR, "").strip()
    if env:
        return Path(env).expanduser()
    state = os.environ.get("XDG_STATE_HOME", "").strip()
    if state and Path(state).is_absolute():
        return Path(state) / "mdstools" / "locks"
    return Path.home() / ".local" / "state" / "mdstools" / "locks"


def lock_path(environment: str) -> Path:
    """The host-wide lock file of ``environment``."""
    name = environment if _NAME.match(environment) else uuid.uuid5(uuid.NAMESPACE_URL, environment)
    return lock_dir() / f"{name}.lock"


def _ready(directory: Path) -> Path:
    """Create the lock directory (mode 0700) and check that it can be written."""
    if not directory.is_absolute():
        raise LockDirError(
            directory, "not an absolute path (a relative one would differ per working directory)"
        )
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise LockDirError(directory, exc.strerror or str(exc)) from None
    if not directory.is_dir():
        raise LockDirError(directory, "not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise LockDirError(directory, "not writable")
    return directory


@dataclass(kw_only=True)
class Lock:
    """A held host-wide lock; release it with :meth:`release` (idempotent).

    ``broken`` is the holder of a stale lock that was broken to take this one.
    """

    path: Path
    token: str
    info: dict[str, Any]
    broken: dict[str, Any] | None = None

    def release(self) -> None:
        try:
            current = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return
        if isinstance(current, dict) and current.get("token") == self.token:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(environment: str) -> tuple[dict[str, Any], bool] | None:
    """(holder info, stale?) of the host-wide lock of ``environment``, or None.

    A lock file that is not readable JSON (a run killed between creating and writing it) is
    reported as stale once it is a few seconds old.
    """
    path = lock_path(environment)
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        info = None
    if not isinstance(info, dict):
        try:
            old = time.time() - path.stat().st_mtime > 5
        except OSError:
            return None
        return {"environment": environment, "pid": "?", "host": "?"}, old
    return info, is_stale(info)


def new_info(
    environment: str, ticket: str, phase: str, operator: str, pid: int | None = None
) -> dict[str, Any]:
    """What a lock says about its holder, with a fresh token."""
    return {
        "environment": environment,
        "pid": pid or os.getpid(),
        "host": socket.gethostname(),
        "ticket": ticket,
        "phase": phase,
        "operator": operator,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "token": uuid.uuid4().hex,
    }


def acquire(
    environment: str,
    ticket: str,
    phase: str,
    operator: str = "",
    break_stale: bool = False,
    pid: int | None = None,
) -> Lock:
    """Take the host-wide lock or raise LockHeld (with the holder); a stale lock is broken
    only with ``break_stale``. LockDirError when the lock directory cannot be used."""
    path = lock_path(environment)
    _ready(path.parent)
    info = new_info(environment, ticket, phase, operator, pid)
    broken: dict[str, Any] | None = None
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            current = holder(environment)
            if current is None:
                continue
            held, stale = current
            if stale and break_stale:
                path.unlink(missing_ok=True)
                broken = held
                continue
            raise LockHeld(str(path), held, stale, environment=environment) from None
        except OSError as exc:
            raise LockDirError(path.parent, exc.strerror or str(exc)) from None
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(info, f)
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise LockDirError(path.parent, exc.strerror or str(exc)) from None
        return Lock(path=path, token=str(info["token"]), info=info, broken=broken)
    raise LockHeld(str(path), {"environment": environment}, False, environment=environment)


def update(lock: Lock, **fields: Any) -> None:
    """Change what the lock says (e.g. the current phase of a campaign)."""
    lock.info.update(fields)
    tmp = lock.path.with_name(lock.path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(lock.info))
    tmp.replace(lock.path)


def held_by_token(environment: str, token: str | None) -> bool:
    """True when the host-wide lock of ``environment`` holds ``token``."""
    current = holder(environment)
    return bool(token) and current is not None and current[0].get("token") == token


# -- the lock file on the primary MDS ------------------------------------------------


@dataclass
class RemoteLock:
    """The lock file on the primary MDS, held with ``token``; :meth:`release` is
    idempotent and never raises (a failure is reported on stderr and returned)."""

    session: Session
    token: str
    info: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.session.name}:{LOCK_FILE}"

    def release(self) -> bool:
        return release_remote(self.session, self.token)


def take_remote(
    session: Session,
    info: dict[str, Any],
    break_lock: bool = False,
    journal: Callable[..., Any] | None = None,
) -> RemoteLock:
    """Take the lock file on ``session``'s server with ``info`` (or confirm that it holds
    ``info["token"]``); raise LockHeld with the holder otherwise.

    ``break_lock`` removes a lock held by another token first, unless its process is
    alive on this host; the break goes to ``journal("lock", ...)``.
    """
    where = f"{session.name}:{LOCK_FILE}"
    token = str(info["token"])
    env = str(info.get("environment", ""))
    broke = False
    for attempt in range(3):
        state = session.run(take_lock(info), check=True).data
        assert state is not None
        if state.outcome == "taken" or (state.holder or {}).get("token") == token:
            return RemoteLock(session, token, info)
        held = state.holder or {}
        if not held and attempt == 0:  # being written this instant, or unreadable
            time.sleep(1.0)
            again = session.run(read_lock(), check=True).data
            if again is None or again.outcome == "absent":
                continue
            held = again.holder or {}
        stale = bool(held) and is_stale(held)
        foreign = bool(held) and held.get("host") != socket.gethostname()
        alive_here = bool(held) and not stale and not foreign
        if not break_lock or alive_here or broke:
            raise LockHeld(where, held, stale, foreign, environment=env)
        other = str(held.get("token", ""))
        try:
            gone = session.run(release_lock(other) if other else remove_lock(), check=True).data
        except ValueError:  # not a token of ours: the file is not what mdstools writes
            gone = session.run(remove_lock(), check=True).data
        broke = True
        if journal is not None:
            journal(
                "lock",
                event="broken",
                where=where,
                holder=held,
                stale=stale,
                removed=bool(gone and gone.outcome == "released"),
            )
        print(f"lock: broke the lock on {where} held by {describe(held)}", flush=True)
    raise LockHeld(where, {"environment": env}, False, environment=env)


def release_remote(session: Session, token: str) -> bool:
    """Remove the lock file on ``session``'s server if it holds ``token``; True when it is
    gone. Never raises: a failure is one line on stderr (the lock then stays, with our
    token, until our next phase or ``--break-lock``)."""
    try:
        state = session.run(release_lock(token), check=True).data
    except (MdstoolsError, ValueError) as exc:
        print(f"lock: could not release the lock on {session.name}: {exc}", file=sys.stderr)
        return False
    return state is not None and state.outcome == "released"


def release_remote_of(inventory: Inventory, token: str) -> bool:
    """Release the lock file of ``inventory``'s primary MDS held with ``token`` over a
    connection of its own (after a run that ended without releasing it)."""
    from mdstools.fleet import Fleet

    fleet = Fleet(inventory)
    try:
        session = fleet.session(inventory.primary.name)
    except MdstoolsError as exc:
        fleet.close()
        print(
            f"lock: could not release the lock on {inventory.primary.name}: {exc}",
            file=sys.stderr,
        )
        return False
    try:
        return release_remote(session, token)
    finally:
        fleet.close()
