"""The Management API's cost model in the lab (docs/durations.md): what a call pays, the
session limit, sessions left open, initializing after a reboot, the rate limit, the counters
of ``lab status``.

Costs are measured with the lab's own accounting: a manual clock advances exactly by what
the calls sleep, and ``ApiMeter`` counts what they paid; nothing here times the wall clock.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from mdstools import cli
from mdstools.cli.lab import lab_options
from mdstools.lab import api_options, runtime, scenarios
from mdstools.lab.mgmt import metering
from mdstools.lab.mgmt.errors import ERROR_EXIT_STATUS
from mdstools.lab.model import Deployment
from mdstools.lab.shell import Shell
from tests.lab.conftest import PROFILE, LabFactory, run_on
from tests.lab.test_mgmt import api

LATENCY = 2.0


def call(dep: Deployment, args: str, server: str = "mds1", rc: int = 0) -> dict[str, Any]:
    """``mgmt_cli ARGS --format json`` on ``server``; its body."""
    return api(lambda srv, cmd: run_on(dep, srv, cmd), server, args, rc)


def refused(dep: Deployment, args: str, server: str = "mds1") -> dict[str, Any]:
    """The error body of a call the server refuses."""
    body = call(dep, args, server, rc=ERROR_EXIT_STATUS)
    assert set(body) == {"code", "message"}
    return body


def counters(dep: Deployment, server: str | None = None) -> dict[str, Any]:
    """The ``api`` part of ``lab status --format json`` (one server's, if named)."""
    snap = dep.summary()["api"]
    assert isinstance(snap, dict)
    return dict(snap["servers"][server]) if server else dict(snap)


def manual(labs: LabFactory, **kw: object) -> Deployment:
    """A lab whose clock moves only by what the calls pay (one product second = one)."""
    return labs(manual_clock=True, time_scale=1.0, **kw)


def login(dep: Deployment, path: str, extra: str = "") -> None:
    r = run_on(dep, "mds1", f"mgmt_cli login -r true {extra} --format json > {path}")
    assert r.rc == 0, r.out


def test_the_default_lab_pays_nothing_and_counts(labs: LabFactory) -> None:
    dep = labs()
    assert not dep.api.costs.enabled and dep.api.costs.max_sessions == 100
    call(dep, "-r true show-domains")
    c = counters(dep)
    assert (c["logins"], c["logouts"], c["open_sessions"], c["paid_seconds"]) == (1, 1, 0, 0)


def test_a_session_pays_its_login_once(labs: LabFactory) -> None:
    dep = manual(labs, api_latency=LATENCY)
    start = dep.clock.now()
    login(dep, "/tmp/id.json")
    assert counters(dep, "mds1")["paid_seconds"] == pytest.approx(LATENCY)
    for _ in range(3):
        call(dep, "-s /tmp/id.json show-session")
    call(dep, "-s /tmp/id.json logout")
    session = LATENCY * (1 + 3 * 0.05 + 0.02)
    assert counters(dep, "mds1")["paid_seconds"] == pytest.approx(session)
    call(dep, "-r true show-domains")  # implicit: login, command, publish, logout
    implicit = LATENCY * (1 + 0.05 + 0.05 + 0.02)
    c = counters(dep, "mds1")
    assert c["paid_seconds"] == pytest.approx(session + implicit)
    assert dep.clock.now() - start == pytest.approx(session + implicit)
    assert (c["logins"], c["logouts"], c["open_sessions"]) == (2, 2, 0)


def test_a_failed_implicit_call_pays_what_it_did(labs: LabFactory) -> None:
    """A command that fails still logs out (no publish); a failed login pays the login."""
    dep = manual(labs, api_latency=LATENCY)
    refused(dep, "-r true show-session uid nosuch")
    assert counters(dep, "mds1")["paid_seconds"] == pytest.approx(LATENCY * (1 + 0.05 + 0.02))
    refused(dep, "-r true -d nosuch show-ha-state", server="mds2")
    c = counters(dep, "mds2")
    assert (c["paid_seconds"], c["logins"], c["refused"]) == (
        pytest.approx(LATENCY),
        0,
        {"err_login_failed": 1},
    )


def test_a_read_only_login_costs_half(labs: LabFactory) -> None:
    dep = manual(labs, api_latency=LATENCY)
    login(dep, "/tmp/ro.json", "read-only true")
    c = counters(dep, "mds1")
    assert c["paid_seconds"] == pytest.approx(LATENCY / 2)
    assert (c["read_only_logins"], c["open_sessions"], c["open_read_write_sessions"]) == (1, 1, 0)


def test_the_101st_read_write_session_is_refused(labs: LabFactory) -> None:
    dep = labs()
    for i in range(100):
        login(dep, f"/tmp/s{i}.json")
    body = refused(dep, "login -r true")
    assert body["code"] == metering.TOO_MANY_SESSIONS == "err_too_many_sessions"
    assert refused(dep, "-r true show-domains")["code"] == "err_too_many_sessions"
    login(dep, "/tmp/ro.json", "read-only true")  # read-only sessions do not count
    assert call(dep, "-r true show-domains", server="mds2")["total"] >= 1  # per server
    call(dep, "-s /tmp/s0.json logout")
    login(dep, "/tmp/again.json")
    c = counters(dep)
    assert c["refused"] == {"err_too_many_sessions": 2}
    assert c["servers"]["mds1"]["open_read_write_sessions"] == 100
    assert c["max_concurrent_sessions"] == 101  # 100 read/write and the read-only one


def test_the_session_limit_is_a_setting(labs: LabFactory) -> None:
    dep = labs(max_sessions=2)
    login(dep, "/tmp/a.json")
    login(dep, "/tmp/b.json")
    assert refused(dep, "login -r true")["code"] == "err_too_many_sessions"


def test_sessions_left_open_count_until_they_expire(labs: LabFactory) -> None:
    dep = manual(labs, api_latency=LATENCY)
    login(dep, "/tmp/left.json")
    login(dep, "/tmp/kept.json")
    dep.clock.advance(500)
    call(dep, "-s /tmp/kept.json keepalive")
    dep.clock.advance(150)  # 650 s after the first login, 150 s after the keepalive
    c = counters(dep)
    assert (c["open_sessions"], c["expired"]) == (1, 1)
    body = refused(dep, "-s /tmp/left.json show-session")
    assert body["code"] == "generic_err_wrong_session_id"
    call(dep, "-s /tmp/kept.json show-session")
    sessions = call(dep, "-s /tmp/kept.json show-sessions")
    assert sessions["total"] == 1


def test_without_the_cost_model_sessions_never_expire(labs: LabFactory) -> None:
    dep = manual(labs)
    login(dep, "/tmp/old.json")
    dep.clock.advance(100_000)
    call(dep, "-s /tmp/old.json show-session")
    assert counters(dep)["open_sessions"] == 1


def test_the_api_initializes_after_a_reboot(labs: LabFactory) -> None:
    dep = manual(labs, api_init_after_boot=120.0)
    call(dep, "-r true show-domains")  # lab up is no boot: the API answers at once
    login(dep, "/tmp/before.json")
    mds1 = dep.server("mds1")
    dep.reboot(mds1)
    dep.clock.advance(dep.timings.reboot)
    dep.scheduler.run_due()
    assert mds1.online
    dep.clock.advance(dep.timings.mds_start)  # the MDS processes are up
    body = refused(dep, "-r true show-domains")
    assert body == {"code": "generic_server_initializing", "message": metering.INITIALIZING_MESSAGE}
    call(dep, "-r true show-domains", server="mds2")
    dep.clock.advance(121)
    call(dep, "-r true show-domains")
    c = counters(dep, "mds1")
    assert c["refused"] == {"generic_server_initializing": 1}
    assert c["open_sessions"] == 0  # the reboot forgot the session


def test_calls_beyond_the_rate_limit_are_refused(labs: LabFactory) -> None:
    dep = manual(labs, api_rate_limit=3.0)
    for _ in range(3):
        call(dep, "-r true show-domains")
    body = refused(dep, "-r true show-domains")
    assert body == {
        "code": "err_too_many_requests",
        "message": "Too many requests in a given amount of time",
    }
    call(dep, "-r true show-domains", server="mds2")
    dep.clock.advance(1.0)
    call(dep, "-r true show-domains")
    assert counters(dep, "mds1")["refused"] == {"err_too_many_requests": 1}


def test_a_call_pays_without_holding_the_deployment(
    labs: LabFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one call sleeps its cost, another thread can take the deployment lock: calls
    on other channels overlap instead of queueing."""
    dep = labs(api_latency=LATENCY)
    free: list[bool] = []

    def sleep(sh: Shell, seconds: float) -> None:
        def other() -> None:
            got = dep.lock.acquire(timeout=5)
            free.append(got)
            if got:
                dep.lock.release()

        t = threading.Thread(target=other)
        t.start()
        t.join()

    monkeypatch.setattr(Shell, "sleep", sleep)
    call(dep, "-r true show-domains")
    assert free == [True, True]  # the login, then command + publish + logout


def test_status_counters_and_line(labs: LabFactory) -> None:
    dep = manual(labs, api_latency=1.0)
    login(dep, "/tmp/st.json")
    call(dep, "-r true show-domains")
    snap = counters(dep)
    assert {"logins", "open_sessions", "max_concurrent_sessions"} <= set(snap)
    assert (snap["logins"], snap["open_sessions"], snap["max_concurrent_sessions"]) == (2, 1, 2)
    assert snap["settings"]["latency_s"] == 1.0 and snap["settings"]["sessions_expire"]
    line = api_options.status_line(snap)
    assert line.startswith("api: 2 calls, 2 logins, 1 logouts, 1 sessions open (peak 2")


def test_slow_scenario_and_lab_up_options() -> None:
    slow = scenarios.SCENARIOS["slow"]
    assert (slow.time_scale, slow.command_latency) == (1.0, 0.3)
    costs = scenarios.api_costs(scenarios.LabOptions(scenario="slow"), slow)
    assert (costs.latency, costs.init_after_boot, costs.rate_limit) == (1.0, 120.0, 0.0)
    assert scenarios.api_costs(scenarios.LabOptions(api_latency=0.0), slow).latency == 0.0
    args = cli.build_parser().parse_args(
        ["lab", "up", "--api-latency", "0.5", "--api-rate-limit", "100", "--api-max-sessions", "7"]
    )
    opts = lab_options(args)
    assert (opts.api_latency, opts.api_rate_limit, opts.max_sessions) == (0.5, 100.0, 7)
    assert opts.api_init_after_boot is None
    assert scenarios.api_arguments(opts) == [
        "--api-latency",
        "0.5",
        "--api-rate-limit",
        "100.0",
        "--api-max-sessions",
        "7",
    ]
    bad = cli.build_parser().parse_args(["lab", "up", "--api-latency", "-1"])
    assert api_options.problem(bad) is not None
    assert scenarios.api_arguments(scenarios.LabOptions()) == []


@pytest.mark.lab
def test_lab_up_options_over_ssh_and_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``lab up`` hands the options to the lab process; over SSH the third read/write login
    is refused; ``lab status`` shows the counters (JSON) and one line of them (text)."""
    from tests.lab.test_ssh import start_lab

    lab = start_lab(tmp_path, time_scale=0.001, api_latency=5.0, max_sessions=2)
    try:
        for name in ("a", "b"):
            rc, _, _ = lab.run("mds1", f"{PROFILE}mgmt_cli login -r true > /tmp/{name}.txt")
            assert rc == 0
        rc, out, _ = lab.run("mds1", f"{PROFILE}mgmt_cli login -r true --format json")
        assert rc == ERROR_EXIT_STATUS and json.loads(out)["code"] == "err_too_many_sessions"
        assert cli.main(["lab", "status", "--dir", str(tmp_path), "--format", "json"]) == 0
        snap = json.loads(capsys.readouterr().out)["api"]
        assert (snap["logins"], snap["open_sessions"], snap["max_concurrent_sessions"]) == (
            2,
            2,
            2,
        )
        assert snap["paid_seconds"] == pytest.approx(10.0)
        assert snap["refused"] == {"err_too_many_sessions": 1}
        assert snap["settings"]["session_limit"] == 2
        assert cli.main(["lab", "status", "--dir", str(tmp_path)]) == 0
        last = capsys.readouterr().out.splitlines()[-1]
        assert last.startswith("api: 3 calls, 2 logins, 0 logouts, 2 sessions open (peak 2")
    finally:
        runtime.down(tmp_path)


def test_the_api_initializes_again_after_mdsstart(labs: LabFactory) -> None:
    """``mdsstop; mdsstart`` restarts the API server with the MDS's processes: it answers
    "initializing" for the same time as after a reboot, counted in ``lab status`` alike;
    an ``mdsstart`` of a running MDS (only its DMSs down) does not restart it."""
    dep = manual(labs, api_init_after_boot=120.0)
    r = run_on(dep, "mds1", "mdsstop; mdsstart")
    assert r.rc == 0, r.out
    dep.clock.advance(dep.timings.mds_start)  # the MDS processes are up
    dep.scheduler.run_due()
    body = refused(dep, "-r true show-domains")
    assert body == {"code": "generic_server_initializing", "message": metering.INITIALIZING_MESSAGE}
    call(dep, "-r true show-domains", server="mds2")
    dep.clock.advance(121)
    call(dep, "-r true show-domains")
    assert counters(dep, "mds1")["refused"] == {"generic_server_initializing": 1}
    assert counters(dep)["refused"] == {"generic_server_initializing": 1}
    assert run_on(dep, "mds1", "mdsstop_customer dom1; mdsstart").rc == 0
    call(dep, "-r true show-domains")
