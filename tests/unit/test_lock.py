"""The two locks of an environment: the host-wide lock file, and the lock file commands on
the primary MDS run in the lab's bash (no SSH: the shell as an exec channel runs it)."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdstools import lock
from mdstools.commands.lock import (
    LOCK_FILE,
    LockFileState,
    parse_lock_state,
    read_lock,
    release_lock,
    remove_lock,
    take_lock,
)
from mdstools.errors import ParseError
from mdstools.inventory import Connection, Role, Server
from mdstools.lab.model import Deployment
from mdstools.session import Session
from mdstools.transport.fake import FakeTransport
from tests.lab.conftest import make_lab, run_on


@pytest.fixture
def lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "state" / "locks"
    monkeypatch.setenv(lock.ENV_DIR, str(target))
    return target


@pytest.fixture(scope="module")
def dep() -> Iterator[Deployment]:
    d = make_lab()
    yield d
    d.scheduler.stop()


def dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def holder_info(**over: object) -> dict[str, object]:
    info: dict[str, object] = {
        "environment": "prod",
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "ticket": "CHG1",
        "phase": "03",
        "operator": "alice",
        "started": "2026-11-29T10:00:00+00:00",
        "token": uuid.uuid4().hex,
    }
    info.update(over)
    return info


# -- where the host-wide lock lives ---------------------------------------------------
def test_lock_dir_is_the_env_variable_then_xdg_state_then_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv(lock.ENV_DIR, raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    assert lock.lock_dir() == tmp_path / "home" / ".local" / "state" / "mdstools" / "locks"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert lock.lock_dir() == tmp_path / "xdg" / "mdstools" / "locks"
    monkeypatch.setenv(lock.ENV_DIR, str(tmp_path / "explicit"))
    assert lock.lock_dir() == tmp_path / "explicit"
    assert lock.lock_path("prod-emea") == tmp_path / "explicit" / "prod-emea.lock"


def test_the_lock_is_the_same_whatever_the_working_directory(
    lock_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs of one environment from two directories meet the same lock file."""
    (tmp_path / "w1").mkdir()
    (tmp_path / "w2").mkdir()
    monkeypatch.chdir(tmp_path / "w1")
    first = lock.acquire("prod", "CHG1", "02", "alice")
    assert stat.S_IMODE(lock_dir.stat().st_mode) == 0o700
    monkeypatch.chdir(tmp_path / "w2")
    with pytest.raises(lock.LockHeld) as exc:
        lock.acquire("prod", "CHG2", "02", "bob")
    assert not exc.value.stale
    text = str(exc.value)
    assert f"pid {os.getpid()}" in text and "ticket CHG1" in text and "operator alice" in text
    assert str(lock_dir / "prod.lock") in text
    first.release()
    second = lock.acquire("prod", "CHG2", "02", "bob")
    assert json.loads((lock_dir / "prod.lock").read_text())["ticket"] == "CHG2"
    first.release()  # not its token: nothing happens
    assert (lock_dir / "prod.lock").exists()
    second.release()
    assert not (lock_dir / "prod.lock").exists()


def test_a_stale_lock_is_reported_and_broken_only_when_asked(lock_dir: Path) -> None:
    lock_dir.mkdir(parents=True)
    left = holder_info(pid=dead_pid(), ticket="CHG-DEAD")
    (lock_dir / "prod.lock").write_text(json.dumps(left))
    with pytest.raises(lock.LockHeld) as exc:
        lock.acquire("prod", "CHG2", "02", "bob")
    assert exc.value.stale and "STALE" in str(exc.value) and "--break-lock" in str(exc.value)
    assert "CHG-DEAD" in str(exc.value)
    held = lock.acquire("prod", "CHG2", "02", "bob", break_stale=True)
    assert held.broken == left
    held.release()


def test_a_live_lock_is_not_broken_by_break_lock(lock_dir: Path) -> None:
    held = lock.acquire("prod", "CHG1", "02", "alice")
    with pytest.raises(lock.LockHeld) as exc:
        lock.acquire("prod", "CHG2", "02", "bob", break_stale=True)
    assert not exc.value.stale
    held.release()


def test_a_lock_dir_that_cannot_be_created_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(lock.ENV_DIR, str(blocker / "locks"))
    with pytest.raises(lock.LockDirError) as exc:
        lock.acquire("prod", "CHG1", "02", "alice")
    text = str(exc.value)
    assert str(blocker / "locks") in text and lock.ENV_DIR in text and "\n" not in text


def test_a_relative_lock_dir_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative directory would be another lock in every working directory."""
    monkeypatch.setenv(lock.ENV_DIR, "locks")
    with pytest.raises(lock.LockDirError) as exc:
        lock.acquire("prod", "CHG1", "02", "alice")
    assert "not an absolute path" in str(exc.value) and lock.ENV_DIR in str(exc.value)


def test_holder_fields_are_shown_on_one_line_without_control_characters() -> None:
    info = holder_info(operator="eve\x1b[31m\nrm -rf /", ticket="T" * 300)
    text = str(lock.LockHeld("x", info, stale=False))
    assert "\x1b" not in text and "\n" not in text and len(text) < 600


def test_age_in_words() -> None:
    from datetime import datetime, timezone

    now = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc)
    assert lock.age("2026-11-29T11:59:30+00:00", now) == "30 s"
    assert lock.age("2026-11-29T11:55:00+00:00", now) == "5 min"
    assert lock.age("2026-11-29T08:50:00+00:00", now) == "3 h 10 min"
    assert lock.age("yesterday", now) == "unknown age"


# -- the lock file on the primary MDS -------------------------------------------------
def sh(dep: Deployment, command: str) -> str:
    r = run_on(dep, "mds1", command)
    return r.out


def run_cmd(dep: Deployment, cmd: object) -> LockFileState:
    line = cmd.line  # type: ignore[attr-defined]
    parsed: LockFileState = cmd.parse(sh(dep, line))  # type: ignore[attr-defined]
    return parsed


def test_the_lock_file_is_created_once_and_removed_only_with_its_token(dep: Deployment) -> None:
    run_on(dep, "mds1", f"rm -f {LOCK_FILE}")
    mine, theirs = holder_info(), holder_info(ticket="CHG2", operator="bob")
    assert run_cmd(dep, take_lock(mine)) == LockFileState("taken", mine)
    assert run_cmd(dep, take_lock(theirs)) == LockFileState("held", mine)
    assert run_cmd(dep, read_lock()) == LockFileState("present", mine)
    assert run_cmd(dep, release_lock(str(theirs["token"]))).outcome == "kept"
    assert run_cmd(dep, read_lock()).holder == mine
    assert run_cmd(dep, release_lock(str(mine["token"]))).outcome == "released"
    assert run_cmd(dep, read_lock()) == LockFileState("absent", None)
    assert run_cmd(dep, take_lock(theirs)).outcome == "taken"
    assert run_cmd(dep, remove_lock()).outcome == "released"
    assert run_cmd(dep, read_lock()).outcome == "absent"


def test_an_unreadable_lock_file_is_held_by_someone_unknown(dep: Deployment) -> None:
    run_on(dep, "mds1", f"mkdir -p /var/log/mdstools; echo garbage > {LOCK_FILE}")
    assert run_cmd(dep, take_lock(holder_info())) == LockFileState("held", {})
    run_on(dep, "mds1", f"rm -f {LOCK_FILE}")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operator=st.text(min_size=1, max_size=40), ticket=st.text(min_size=1, max_size=20))
def test_holder_values_stay_data_on_the_server(dep: Deployment, operator: str, ticket: str) -> None:
    """Whatever the operator and ticket say (quotes, ``$()``, ``;``), the server stores and
    returns them unchanged and runs nothing of them."""
    run_on(dep, "mds1", f"rm -f {LOCK_FILE} /tmp/pwned")
    info = holder_info(operator=operator, ticket=ticket)
    got = run_cmd(dep, take_lock(info))
    assert got == LockFileState("taken", info)
    assert run_cmd(dep, take_lock(holder_info())).holder == info
    assert run_cmd(dep, release_lock(str(info["token"]))).outcome == "released"
    assert "pwned" not in sh(dep, "ls /tmp")


def test_hostile_values_do_not_run() -> None:
    line = take_lock(holder_info(operator="x'; touch /tmp/pwned; echo '")).line
    dep = make_lab()
    try:
        run_on(dep, "mds1", line)
        assert "pwned" not in run_on(dep, "mds1", "ls /tmp").out
    finally:
        dep.scheduler.stop()


def test_a_token_must_be_hexadecimal() -> None:
    with pytest.raises(ValueError):
        release_lock("abc'; rm -rf /; echo '")
    with pytest.raises(ValueError):
        take_lock(holder_info(token="not a token"))


def test_parse_without_a_marker_keeps_the_raw_text() -> None:
    with pytest.raises(ParseError) as exc:
        parse_lock_state("mkdir: cannot create directory '/var/log/mdstools': Read-only\n")
    assert "Read-only" in exc.value.raw


# -- taking the lock on the primary: the decisions of take_remote ----------------------
def lab_session(dep: Deployment) -> Session:
    """A session whose transport is the lab's bash on mds1 (an exec channel, in-process)."""

    def respond(command: str, stdin: str | None) -> tuple[str, str, int]:
        r = run_on(dep, "mds1", command, stdin or "", profile=False)
        return r.out, r.err, r.rc

    server = Server(
        name="mds1",
        host="192.0.2.11",
        port=22,
        role=Role.PRIMARY,
        shell="bash",
        connection=Connection(),
    )
    return Session(server, FakeTransport("mds1", respond))


def test_take_remote_takes_confirms_refuses_and_breaks(dep: Deployment) -> None:
    run_on(dep, "mds1", f"rm -f {LOCK_FILE}")
    sess = lab_session(dep)
    journal: list[dict[str, object]] = []

    def note(kind: str, **fields: object) -> None:
        journal.append({"kind": kind, **fields})

    mine = holder_info(ticket="CHG-MINE")
    held = lock.take_remote(sess, mine)
    assert held.where == f"mds1:{LOCK_FILE}"
    assert lock.take_remote(sess, dict(mine, phase="04")).token == mine["token"], "confirmed"
    other = holder_info(ticket="CHG-OTHER")
    with pytest.raises(lock.LockHeld) as exc:
        lock.take_remote(sess, other, break_lock=True, journal=note)
    assert not exc.value.stale and not exc.value.foreign, "alive on this host: never broken"
    assert "ticket CHG-MINE" in str(exc.value) and journal == []
    assert held.release() and run_cmd(dep, read_lock()).outcome == "absent"
    assert not held.release(), "releasing twice removes nothing"

    foreign = holder_info(host="jump2.example", pid=1, ticket="CHG-JUMP2")
    run_cmd(dep, take_lock(foreign))
    with pytest.raises(lock.LockHeld) as exc:
        lock.take_remote(sess, other)
    assert exc.value.foreign and "held from another host" in str(exc.value)
    lock.take_remote(sess, other, break_lock=True, journal=note)
    assert journal == [
        {
            "kind": "lock",
            "event": "broken",
            "where": f"mds1:{LOCK_FILE}",
            "holder": foreign,
            "stale": False,
            "removed": True,
        }
    ]
    assert run_cmd(dep, read_lock()).holder == other
    assert lock.release_remote(sess, str(other["token"]))


def test_take_remote_on_an_unreadable_lock_file(dep: Deployment) -> None:
    run_on(dep, "mds1", f"mkdir -p /var/log/mdstools; echo '<<garbage' > {LOCK_FILE}")
    sess = lab_session(dep)
    with pytest.raises(lock.LockHeld) as exc:
        lock.take_remote(sess, holder_info())
    assert "no readable way" in str(exc.value) and "--break-lock" in str(exc.value)
    mine = holder_info()
    lock.take_remote(sess, mine, break_lock=True)
    assert run_cmd(dep, read_lock()).holder == mine
    assert lock.release_remote(sess, str(mine["token"]))
