"""Management API changes and task waits on the fake transport: the script of a change (a
read/write login, the command in its session, the publish when asked, the logout, the trap),
the wait for a task in one read-only session, and the retries of "not now" answers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from mdstools import mgmt_api
from mdstools.commands import ha
from mdstools.commands.base import BATCH_MARK, Command
from mdstools.errors import ApiError
from mdstools.inventory import Connection, Role, Server
from mdstools.records import TaskRef
from mdstools.session import Session
from mdstools.transport.fake import FakeTransport

TASK = "ac3e43e5-efa9-48da-9463-1756fdf87635"
Respond = Callable[[str, str | None], tuple[str, str, int]]


def error(code: str) -> str:
    return json.dumps({"code": code, "message": f"{code} (fake)"})


def task_ref() -> str:
    return json.dumps({"task-id": TASK, "login-required": "false"})


def task(status: str) -> str:
    return json.dumps({"tasks": [{"task-id": TASK, "status": status, "progress-percentage": 100}]})


def printed(domain: str, login: str = "", *items: str) -> str:
    """What a one-session script prints: the login's error, else each item's answer."""
    out = f"\n{BATCH_MARK}login {domain}\n{login}"
    if login:
        return out
    keys = [domain, *(f"{domain} #{i}" for i in range(1, len(items)))]
    return out + "".join(f"\n{BATCH_MARK}{k}\n{t}" for k, t in zip(keys, items, strict=True))


def session(answers: list[str]) -> tuple[Session, list[str]]:
    """A session whose execs print ``answers`` one after another (the last repeated)."""
    calls: list[str] = []

    def respond(command: str, stdin: str | None) -> tuple[str, str, int]:
        calls.append(command[command.index("umask 077") :])
        return answers[min(len(calls), len(answers)) - 1], "", 0

    server = Server(
        name="mds1",
        host="192.0.2.11",
        port=22,
        role=Role.PRIMARY,
        shell="bash",
        connection=Connection(),
    )
    return Session(server, FakeTransport("mds1", respond)), calls


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(mgmt_api.time, "sleep", slept.append)
    return slept


def to_active(s: str) -> Command[TaskRef]:
    return ha.set_ha_state("dom1", "active", s)


def test_a_change_is_one_read_write_session_logged_out_always() -> None:
    sess, calls = session([printed("dom1", "", task_ref())])
    ref = mgmt_api.change(sess, "dom1", to_active)
    assert ref == TaskRef(TASK, False)
    (script,) = calls
    trap = re.search(r"trap '([^']*)' EXIT; trap 'exit 129' HUP; trap 'exit 143' TERM", script)
    assert trap is not None and 'mdstools_logout "$f"' in trap.group(1)
    assert (
        "if mgmt_cli login -r true -d 'dom1' --format json > \"$d/s1\"; "
        "then printf '\\n%s\\n' '### mdstools item dom1'; "
        "mgmt_cli set-ha-state new-state 'active' -s \"$d/s1\" --format json; "
        'mdstools_logout "$d/s1"; '
        'else cat "$d/s1"; fi; rm -f "$d/s1"'
    ) in script
    assert "read-only" not in script and "publish" not in script
    assert "-r true -d 'dom1' set-ha-state" not in script


def test_the_exec_of_a_change_changes_the_server() -> None:
    cmd = mgmt_api.change_command("dom1", to_active)
    assert cmd.mutating and "set-ha-state" in cmd.line


def test_a_change_that_needs_it_is_published_in_its_session() -> None:
    sess, calls = session([printed("dom1", "", task_ref(), json.dumps({"task-id": "p1"}))])
    mgmt_api.change(sess, "dom1", to_active, publish=True)
    assert (
        "mgmt_cli set-ha-state new-state 'active' -s \"$d/s1\" --format json; "
        "printf '\\n%s\\n' '### mdstools item dom1 #1'; "
        'mgmt_cli publish -s "$d/s1" --format json; '
        'mdstools_logout "$d/s1"'
    ) in calls[0]


def test_a_refused_publish_is_the_error_of_the_change() -> None:
    sess, _ = session([printed("dom1", "", task_ref(), error("err_publish_failed"))])
    with pytest.raises(ApiError) as info:
        mgmt_api.change(sess, "dom1", to_active, publish=True)
    assert info.value.code == "err_publish_failed"


def test_a_refused_change_raises_its_code() -> None:
    sess, calls = session([printed("dom1", "", error("err_validation_failed"))])
    with pytest.raises(ApiError) as info:
        mgmt_api.change(sess, "dom1", to_active)
    assert info.value.code == "err_validation_failed" and len(calls) == 1


@pytest.mark.parametrize("where", ["login", "command"])
def test_a_change_answered_not_now_is_retried(where: str, no_sleep: list[float]) -> None:
    busy = (
        printed("dom1", error("generic_server_initializing"))
        if where == "login"
        else printed("dom1", "", error("err_too_many_requests"))
    )
    sess, calls = session([busy, busy, printed("dom1", "", task_ref())])
    lines: list[str] = []
    ref = mgmt_api.change(sess, "dom1", to_active, time_scale=0.01, progress=lines.append)
    assert ref.task_id == TASK and len(calls) == 3
    assert no_sleep == [0.05, 0.1]
    assert lines[0].startswith("waiting for the Management API on mds1")


def test_a_change_not_taken_within_the_budget_is_an_error() -> None:
    sess, _ = session([printed("dom1", error("err_too_many_sessions"))])
    with pytest.raises(ApiError) as info:
        mgmt_api.change(sess, "dom1", to_active, budget_s=10, progress=lambda s: None)
    assert info.value.code == "err_too_many_sessions"
    assert "set_ha_state on dom1 not sent" in str(info.value)


def test_a_change_by_name_refused_logs_in_with_the_uid() -> None:
    sess, calls = session(
        [printed("dom1", error("err_login_failed")), printed("dom1", "", task_ref())]
    )
    notes: list[str] = []
    mgmt_api.change(sess, "dom1", to_active, uid="uid-1", notes=notes)
    assert "login -r true -d 'uid-1' --format json" in calls[1]
    assert notes == ["mds1: login to domain dom1 by name failed; retried with its UID"]


def test_the_uid_is_asked_for_only_when_the_login_by_name_fails() -> None:
    asked: list[str] = []

    def uid() -> str | None:
        asked.append("dom1")
        return "uid-1"

    sess, _ = session([printed("dom1", "", task_ref())])
    mgmt_api.change(sess, "dom1", to_active, uid=uid)
    assert asked == []
    sess, calls = session(
        [printed("dom1", error("err_login_failed")), printed("dom1", "", task_ref())]
    )
    mgmt_api.change(sess, "dom1", to_active, uid=uid)
    assert asked == ["dom1"] and "-d 'uid-1'" in calls[1]


def test_no_uid_known_leaves_the_login_error() -> None:
    sess, calls = session([printed("dom1", error("err_login_failed"))])
    with pytest.raises(ApiError) as info:
        mgmt_api.change(sess, "dom1", to_active, uid=lambda: None)
    assert info.value.code == "err_login_failed" and len(calls) == 1


def test_a_task_is_waited_for_in_one_read_only_session() -> None:
    sess, calls = session([printed("dom1", "", task("succeeded"))])
    got = mgmt_api.wait_task(sess, "dom1", TASK, timeout_s=30, interval_s=2)
    assert got.status == "succeeded" and got.done
    (script,) = calls
    assert script.count("mgmt_cli login") == 1
    assert "if mgmt_cli login -r true -d 'dom1' read-only true --format json" in script
    show = f"mgmt_cli show-task task-id '{TASK}' details-level 'full' -s \"$d/s1\" --format json"
    assert (
        f'n=0; while :; do {show} > "$d/t" 2>&1; '
        'grep -q \'"in progress"\' "$d/t" || break; '
        'n=$((n+1)); [ "$n" -ge 15 ] && break; sleep 2; done; cat "$d/t"; '
        'mdstools_logout "$d/s1"'
    ) in script
    assert "-r true -d 'dom1' show-task" not in script
    assert re.search(r"trap '[^']*mdstools_logout[^']*' EXIT", script)


def test_a_task_wait_bounded_by_its_timeout_returns_the_last_state() -> None:
    sess, calls = session([printed("dom1", "", task("in progress"))])
    got = mgmt_api.wait_task(sess, "dom1", TASK, timeout_s=0.5, interval_s=0.05)
    assert got.status == "in progress" and not got.done
    assert '[ "$n" -ge 10 ] && break; sleep 0.05;' in calls[0]


def test_a_task_wait_answered_not_now_is_retried(no_sleep: list[float]) -> None:
    sess, calls = session(
        [
            printed("dom1", error("generic_server_initializing")),
            printed("dom1", "", task("succeeded")),
        ]
    )
    got = mgmt_api.wait_task(
        sess, "dom1", TASK, timeout_s=30, interval_s=2, progress=lambda s: None
    )
    assert got.succeeded and len(calls) == 2 and no_sleep == [5.0]


def test_a_task_that_show_task_does_not_know_is_an_error() -> None:
    sess, _ = session([printed("dom1", "", error("generic_err_object_not_found"))])
    with pytest.raises(ApiError) as info:
        mgmt_api.wait_task(sess, "dom1", TASK, timeout_s=30, interval_s=2)
    assert info.value.code == "generic_err_object_not_found"


def test_a_tiny_poll_interval_is_slept_as_a_plain_decimal() -> None:
    sess, calls = session([printed("dom1", "", task("succeeded"))])
    mgmt_api.wait_task(sess, "dom1", TASK, timeout_s=0.001, interval_s=0.00001)
    assert "; sleep 0.01; done" in calls[0]
