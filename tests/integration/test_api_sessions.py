"""The Management API client against the lab's cost model, over real SSH: what a status
costs in sessions (counted by the lab, never timed), and a reboot's initializing API waited
out (:mod:`mdstools.mgmt_api`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from mdstools import inventory, mgmt_api, status
from mdstools.commands import ha, versions
from mdstools.commands.base import Command
from mdstools.fleet import Fleet
from mdstools.lab import runtime
from mdstools.phases import phase
from mdstools.procedure import common
from mdstools.run import Run
from tests.integration.test_lab_client import cli, lab_up

pytestmark = pytest.mark.lab

DOMAINS = 12
R81_20 = {"source": "R81.20", "target": "R82"}
"""show-ha-status needs R81.20: a lab whose servers run it."""


def api_counters(path: Path) -> dict[str, Any]:
    """The ``api`` part of ``lab status --format json``."""
    api = runtime.control(path, {"action": "status"})["api"]
    assert isinstance(api, dict)
    return api


def test_status_reads_each_domain_in_one_read_only_session(tmp_path: Path) -> None:
    lab_up(tmp_path, domains=DOMAINS, api_latency=0.5, **R81_20)
    try:
        p = cli("status", "-i", str(tmp_path / "inventory.yml"), "--format", "json")
        api = api_counters(tmp_path)
    finally:
        runtime.down(tmp_path)
    assert p.returncode == 0, p.stderr
    assert api["open_sessions"] == 0
    assert api["refused"] == {}
    # One read-only login per domain (plus Global), its show-ha-status in that session;
    # the read/write logins left are show-domains and show-ha-state on the primary, where
    # every domain used to cost one.
    assert api["read_only_logins"] == DOMAINS + 1
    assert api["logins"] - api["read_only_logins"] == 2
    assert api["logouts"] == api["logins"]
    assert api["max_concurrent_sessions"] <= mgmt_api.EXECS_PER_SERVER


def _wait_ssh(fleet: Fleet, name: str, budget_s: float = 60.0) -> None:
    deadline = time.monotonic() + budget_s
    while True:
        try:
            if fleet.session(name).run(versions.fw_ver()).ok:
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def test_a_rebooted_servers_initializing_api_is_waited_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mgmt_api, "FIRST_WAIT_S", 0.5)
    monkeypatch.setattr(mgmt_api, "MAX_WAIT_S", 1.0)
    lab_up(tmp_path, domains=2, time_scale=0.01, api_init_after_boot=400.0)
    lines: list[str] = []
    try:
        inv = inventory.load(tmp_path / "inventory.yml")
        with Fleet(inv) as fleet:
            runtime.control(tmp_path, {"action": "reboot", "server": "mds1"})
            _wait_ssh(fleet, "mds1")
            got = mgmt_api.read_domains(
                fleet.session("mds1"),
                ["dom1", "dom2"],
                lambda d, s: [ha.mgmt("show-last-published-session", session=s)],
                progress=lines.append,
            )
        api = api_counters(tmp_path)
    finally:
        runtime.down(tmp_path)
    assert lines and all(
        line.startswith("waiting for the Management API on mds1 (initializing after a reboot)")
        for line in lines
    )
    assert api["refused"].get("generic_server_initializing", 0) >= 1
    assert api["open_sessions"] == 0
    for dom in ("dom1", "dom2"):
        ha.parse_last_published_session(got[dom][0])


def test_ha_state_waits_for_the_primarys_api_after_mdsstart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``mdsstop; mdsstart`` on the primary restarts its API, which answers "initializing"
    for a while: ``common.ha_state`` waits for it with a progress line instead of turning to
    the secondary (whose API is never asked)."""
    lab_up(tmp_path, domains=2, time_scale=0.01, api_init_after_boot=120.0)
    try:
        inv = inventory.load(tmp_path / "inventory.yml")
        with Fleet(inv) as fleet:
            restart = fleet.session("mds1").run(shell_command("mdsstop; mdsstart"))
            assert restart.ok, restart.stdout
        run = Run(
            inventory=inv,
            ticket="CHG-API-INIT",
            operator="tester",
            phase=phase("02"),
            reports=tmp_path / "reports",
            interactive=False,
            dry_run=False,
            params={"time_scale": 0.01},
        )
        entries = common.ha_state(run)
        api = api_counters(tmp_path)
    finally:
        runtime.down(tmp_path)
    assert {e.domain for e in entries} >= {"dom1", "dom2"}
    assert api["servers"]["mds1"]["refused"].get("generic_server_initializing", 0) >= 1
    assert "mds2" not in api["servers"] or api["servers"]["mds2"]["calls"] == 0
    err = capsys.readouterr().err
    assert "waiting for the Management API on mds1 (initializing after a reboot)" in err


def shell_command(line: str) -> Command[str]:
    """A plain shell line as a command whose value is its output."""
    return Command(line, lambda text: text, name=line, timeout_s=120)


def test_status_after_the_change_still_reads_every_domain(tmp_path: Path) -> None:
    lab_up(tmp_path, domains=3, **R81_20)
    try:
        with Fleet(inventory.load(tmp_path / "inventory.yml")) as fleet:
            snap = status.collect(fleet)
    finally:
        runtime.down(tmp_path)
    assert not snap.notes or all("show-ha-status" not in n for n in snap.notes), snap.notes
    assert {d.name for d in snap.domains} >= {"dom1", "dom2", "dom3"}
