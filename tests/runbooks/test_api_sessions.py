"""Phases and status on a lab with the Management API's cost model, counted by the lab (never
timed): the logins a phase pays; no session left open after each phase of a campaign, a
failed phase, a phase aborted by SIGTERM; the session limit and a rate limit met."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mdstools import mgmt_api
from mdstools.lab import runtime, scenarios
from mdstools.phases import CAMPAIGN
from tests.runbooks.conftest import SCALE, Lab, top_cell

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(600)]

DOMAINS = 12
DOMAINS_ABORTED = 40


@pytest.fixture
def costly_lab(tmp_path: Path) -> Iterator[Lab]:
    """A lab on R81.20 (so that ``show-ha-status`` is read per domain) whose API logins
    cost a product second."""
    opts = scenarios.LabOptions(
        domains=DOMAINS, time_scale=float(SCALE), source="R81.20", target="R82", api_latency=1.0
    )
    runtime.up(tmp_path / "lab", opts)
    try:
        yield Lab(tmp_path, "default")
    finally:
        runtime.down(tmp_path / "lab")


def test_phase_00_leaves_no_session_and_pays_few_read_write_logins(costly_lab: Lab) -> None:
    lab = costly_lab
    p = lab.cli(
        "run",
        "00",
        "-i",
        str(lab.inventory),
        "--ticket",
        "CHG-API-1",
        "--reports",
        str(lab.reports),
        "-p",
        f"time_scale={SCALE}",
    )
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    api = lab.control(action="status")["api"]  # type: ignore[index]
    assert api["open_sessions"] == 0
    assert api["refused"] == {}
    # Every domain (and Global) read in its own read-only session; the read/write logins
    # left are the few System Data calls, where each domain used to cost one.
    assert api["read_only_logins"] >= DOMAINS + 1
    assert api["logins"] - api["read_only_logins"] < DOMAINS // 2
    assert api["logouts"] == api["logins"]
    assert api["max_concurrent_sessions"] <= mgmt_api.EXECS_PER_SERVER


# -- sessions never left open: every phase, a failed one, an aborted one; the limits met ----
def _up(tmp_path: Path, scenario: str = "default", scale: str = SCALE, **kw: Any) -> Lab:
    opts = scenarios.LabOptions(scenario=scenario, time_scale=float(scale), **kw)
    runtime.up(tmp_path / "lab", opts)
    return Lab(tmp_path, scenario)


def _api(lab: Lab) -> dict[str, Any]:
    api = lab.control(action="status")["api"]  # type: ignore[index]
    assert isinstance(api, dict)
    return api


def _settled(lab: Lab, budget_s: float = 5.0) -> dict[str, Any]:
    """The counters once no session is open (the logouts of execs that ended a moment ago
    may still be on their way), or after ``budget_s``."""
    deadline = time.monotonic() + budget_s
    api = _api(lab)
    while (api["open_sessions"] or api["logins"] != api["logouts"]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
        api = _api(lab)
    return api


def assert_no_session_left(api: dict[str, Any], where: str) -> None:
    """Every login logged out: none open, none expired (an abandoned session expires after
    its timeout, which at a small time scale is short), as many logouts as logins."""
    assert api["open_sessions"] == 0, (where, api)
    assert api["expired"] == 0, (where, api)
    assert api["logouts"] == api["logins"], (where, api)


def _phase(lab: Lab, ticket: str, phase_id: str, scale: str = SCALE) -> list[str]:
    """The arguments of a campaign of the one phase ``phase_id``."""
    return lab.campaign_args(ticket, "--from", phase_id, "--to", phase_id, scale=scale)


def test_every_phase_of_a_campaign_leaves_no_session(tmp_path: Path) -> None:
    """The default campaign one phase at a time on a lab whose logins cost a second and
    whose API initializes for 120 s after each reboot: every phase passes (the upgrades'
    reboots do not fail it), and after each one no session is open or abandoned. (That an
    initializing API is waited out is asserted call by call in
    tests/integration/test_api_sessions.py.)"""
    lab = _up(tmp_path, api_latency=1.0, api_init_after_boot=120.0)
    try:
        for ph in CAMPAIGN:
            p = lab.cli(*_phase(lab, "CHG-API-ALL", ph.id))
            assert p.returncode == 0, (ph.id, p.stdout[-2000:], p.stderr[-3000:])
            assert_no_session_left(_settled(lab), f"after phase {ph.id}")
        api = _api(lab)
    finally:
        runtime.down(tmp_path / "lab")
    assert api["read_only_logins"] > 0, "the freeze markers and the watch use sessions"
    assert api["max_concurrent_sessions"] <= mgmt_api.EXECS_PER_SERVER
    assert set(api["refused"]) <= {"generic_server_initializing", "generic_err_object_not_found"}


def test_a_failed_phase_leaves_no_session(tmp_path: Path) -> None:
    """Phase 02 stops on the short backup space (X1) after reading the freeze markers."""
    lab = _up(tmp_path, "backup-space-short", api_latency=1.0)
    try:
        p = lab.campaign("CHG-API-FAIL", "--to", "02")
        api = _settled(lab)
    finally:
        runtime.down(tmp_path / "lab")
    assert p.returncode != 0, p.stdout[-2000:]
    assert "FAILED" in top_cell(lab.notebook("CHG-API-FAIL", "02_prepare_ha.ipynb"))
    assert api["logins"] > 0
    assert_no_session_left(api, "after the failed phase 02")


def test_an_aborted_phase_leaves_no_session(tmp_path: Path) -> None:
    """SIGTERM to the process group of ``mdstools campaign`` (CLI and kernel) while domains
    are being read in read-only sessions: every session is logged out all the same (the
    execs already started on the server finish their share and log out; none is left)."""
    scale = "0.01"
    lab = _up(
        tmp_path,
        scale=scale,
        domains=DOMAINS_ABORTED,
        source="R81.20",
        target="R82",
        api_latency=20.0,
    )
    try:
        proc = lab.spawn(
            [sys.executable, "-m", "mdstools", *_phase(lab, "CHG-API-TERM", "00", scale)]
        )
        try:
            deadline = time.monotonic() + 120
            while _api(lab)["open_sessions"] == 0 or _api(lab)["read_only_logins"] < 2:
                assert proc.poll() is None, "the phase ended before a session was seen open"
                assert time.monotonic() < deadline, "no session opened in 120 s"
                time.sleep(0.02)
            os.killpg(proc.pid, signal.SIGTERM)
            at_kill = _api(lab)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        api = _settled(lab)
    finally:
        runtime.down(tmp_path / "lab")
    assert proc.returncode != 0
    assert "ABORTED" in top_cell(lab.notebook("CHG-API-TERM", "00_discover.ipynb"))
    assert at_kill["open_sessions"] > 0, "the kill came while sessions were open"
    assert_no_session_left(api, "after SIGTERM")


def _status_under_limits(tmp_path: Path, **limits: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``mdstools status --format json`` on a lab of 6 domains on R81.20 with ``limits``:
    (its JSON, the lab's API counters once settled)."""
    lab = _up(tmp_path, scale="0.05", domains=6, source="R81.20", target="R82", **limits)
    try:
        p = lab.cli("status", "-i", str(lab.inventory), "--format", "json")
        api = _settled(lab)
    finally:
        runtime.down(tmp_path / "lab")
    assert p.returncode == 0, p.stderr[-3000:]
    snap: dict[str, Any] = json.loads(p.stdout)
    return snap, api


def _every_domain_read(snap: dict[str, Any]) -> None:
    names = {d["name"] for d in snap["domains"]}
    assert {f"dom{i}" for i in range(1, 7)} <= names, snap["notes"]
    assert not any("err_too_many" in n for n in snap["notes"]), snap["notes"]


def test_the_session_limit_is_met_without_failing(tmp_path: Path) -> None:
    """One read/write session per server at most: status reads every domain (read-only
    sessions take no slot), and phase 00 passes; every session logged out."""
    scale = "0.05"
    snap, api = _status_under_limits(tmp_path / "status", max_sessions=1)
    _every_domain_read(snap)
    assert_no_session_left(api, "after status")
    lab = _up(tmp_path / "phase", scale=scale, domains=6, max_sessions=1)
    try:
        p = lab.cli(*_phase(lab, "CHG-API-LIM", "00", scale))
        api = _settled(lab)
    finally:
        runtime.down(tmp_path / "phase" / "lab")
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    assert_no_session_left(api, "after phase 00")
    assert api["max_concurrent_sessions"] <= mgmt_api.EXECS_PER_SERVER


def test_a_rate_limit_leaves_no_session_open(tmp_path: Path) -> None:
    """Three calls per product second: the reads are refused and retried, and so are the
    logouts: a logout refused by the rate limit would leave its session open until timeout."""
    snap, api = _status_under_limits(tmp_path, api_rate_limit=3.0)
    assert api["refused"].get("err_too_many_requests", 0) >= 1, api["refused"]
    _every_domain_read(snap)
    assert_no_session_left(api, "after status")


@pytest.fixture(scope="module")
def one_call_per_second(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Status's JSON on a lab that takes one API call per product second."""
    snap, api = _status_under_limits(tmp_path_factory.mktemp("rate1"), api_rate_limit=1.0)
    assert api["refused"].get("err_too_many_requests", 0) >= 1, api["refused"]
    return snap


def test_a_rate_limit_does_not_lose_the_domains(one_call_per_second: dict[str, Any]) -> None:
    """``show-domains`` and ``show-ha-state`` (implicit sessions, outside the per-domain
    reads) refused are retried: status never shows no domain at all."""
    names = {d["name"] for d in one_call_per_second["domains"]}
    assert {f"dom{i}" for i in range(1, 7)} <= names, one_call_per_second["notes"]


def test_a_rate_limit_is_met_by_every_domain_read(one_call_per_second: dict[str, Any]) -> None:
    """Every domain's show-ha-status read in the end, no "too many" note left: the rounds
    after a refused one run fewer execs at once, each call tried again in place, paced."""
    _every_domain_read(one_call_per_second)
