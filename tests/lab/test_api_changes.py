"""The client's one-session scripts for a change and for a task wait, run by the lab's shell
in process (no SSH): they work in its bash subset, and leave no session open, also when the
wait ends at its bound before the task does."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mdstools import mgmt_api
from mdstools.commands import ha
from mdstools.inventory import Connection, Role, Server
from mdstools.lab.model import Deployment
from mdstools.session import Session
from mdstools.transport.fake import FakeTransport
from tests.lab.conftest import make_lab, run_on


@pytest.fixture
def slow_lab() -> Iterator[Deployment]:
    """The default lab at a time scale where a set-ha-state task takes 0.1 s."""
    dep = make_lab(time_scale=0.01)
    yield dep
    dep.scheduler.stop()


def client(dep: Deployment, name: str) -> Session:
    """A client session whose execs the lab's shell runs on server ``name``."""

    def respond(command: str, stdin: str | None) -> tuple[str, str, int]:
        ran = run_on(dep, name, command, stdin or "", profile=False)
        return ran.out, ran.err, ran.rc

    server = Server(
        name=name,
        host="127.0.0.1",
        port=22,
        role=Role.SECONDARY,
        shell="bash",
        connection=Connection(),
    )
    return Session(server, FakeTransport(name, respond))


def usage(dep: Deployment, name: str) -> dict[str, Any]:
    servers: dict[str, dict[str, Any]] = dep.api.snapshot(dep.clock.now())["servers"]  # type: ignore[assignment]
    return servers[name]


def test_a_switch_and_its_wait_each_use_one_session_and_leave_none(slow_lab: Deployment) -> None:
    sess = client(slow_lab, "mds2")
    ref = mgmt_api.change(sess, "dom1", lambda s: ha.set_ha_state("dom1", "active", s))
    after_change = usage(slow_lab, "mds2")
    assert after_change["logins"] == 1 and after_change["read_only_logins"] == 0
    assert after_change["open_sessions"] == 0

    early = mgmt_api.wait_task(sess, "dom1", ref.task_id, timeout_s=0.01, interval_s=0.01)
    assert early.status == "in progress"
    assert usage(slow_lab, "mds2")["open_sessions"] == 0

    start = time.monotonic()
    done = mgmt_api.wait_task(sess, "dom1", ref.task_id, timeout_s=5, interval_s=0.02)
    assert done.succeeded and time.monotonic() - start < 5
    end = usage(slow_lab, "mds2")
    assert end["logins"] == 3 and end["read_only_logins"] == 2
    assert end["open_sessions"] == 0
    state = run_on(slow_lab, "mds2", ha.mgmt("show-ha-state")).out
    assert ha.parse_ha_state(state)


def test_a_switch_to_standby_expires_its_session_and_is_no_error(slow_lab: Deployment) -> None:
    sess = client(slow_lab, "mds1")
    ref = mgmt_api.change(sess, "dom1", lambda s: ha.set_ha_state("dom1", "standby", s))
    assert ref.login_required
    task = mgmt_api.wait_task(sess, "dom1", ref.task_id, timeout_s=5, interval_s=0.02)
    assert task.succeeded
    after = usage(slow_lab, "mds1")
    assert after["open_sessions"] == 0 and after["expired"] == 1


def test_name_logins_refused_a_change_falls_back_to_the_uid() -> None:
    """The ``name-login-refused`` scenario: a read/write login by the domain's name is
    refused (``err_login_failed``), read-only ones and logins by UID work. A change falls
    back to the UID that ``show-domains`` of the same server gives, read only then."""
    dep = make_lab("name-login-refused", time_scale=0.01)
    try:
        refused = run_on(dep, "mds2", "mgmt_cli login -r true -d dom1 --format json")
        assert json.loads(refused.out)["code"] == "err_login_failed"
        assert run_on(dep, "mds2", "mgmt_cli login -r true -d dom1 read-only true").rc == 0
        sess = client(dep, "mds2")
        asked: list[str] = []

        def uid() -> str | None:
            asked.append("dom1")
            return mgmt_api.domain_uid(sess, "dom1")

        notes: list[str] = []
        ref = mgmt_api.change(
            sess, "dom1", lambda s: ha.set_ha_state("dom1", "active", s), uid=uid, notes=notes
        )
        task = mgmt_api.wait_task(sess, "dom1", ref.task_id, timeout_s=5, interval_s=0.02)
        assert task.succeeded
        assert asked == ["dom1"]
        assert notes == ["mds2: login to domain dom1 by name failed; retried with its UID"]
        assert usage(dep, "mds2")["refused"] == {"err_login_failed": 2}  # by hand, the change
    finally:
        dep.scheduler.stop()
