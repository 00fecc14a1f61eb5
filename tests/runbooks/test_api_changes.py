"""Phase 02's HA switches on a lab with the Management API's cost model: each switch one
read/write session, each wait for its task one read-only session, none left open; the
sessions and logins counted by the lab (never timed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mdstools import audit, inventory, mgmt_api
from mdstools.commands import ha
from mdstools.fleet import Fleet
from mdstools.lab import runtime, scenarios
from tests.runbooks.conftest import SCALE, Lab

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(600)]

SWITCHED = ("dom1", "dom2")
DOMAINS = 3


@pytest.fixture
def costly_lab(tmp_path: Path) -> Iterator[Lab]:
    """The default lab whose API logins cost a product second."""
    opts = scenarios.LabOptions(domains=DOMAINS, time_scale=float(SCALE), api_latency=1.0)
    runtime.up(tmp_path / "lab", opts)
    try:
        yield Lab(tmp_path, "default")
    finally:
        runtime.down(tmp_path / "lab")


def api(lab: Lab) -> dict[str, Any]:
    """The ``api`` part of ``lab status``."""
    got = lab.control(action="status")["api"]  # type: ignore[index]
    assert isinstance(got, dict)
    return got


def run(lab: Lab, phase: str, *params: str) -> None:
    p = lab.cli(
        "run",
        phase,
        "-i",
        str(lab.inventory),
        "--ticket",
        "CHG-API-2",
        "--reports",
        str(lab.reports),
        "-p",
        f"time_scale={SCALE}",
        *params,
    )
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]


def test_phase_02_switches_in_one_session_each_and_leaves_none(costly_lab: Lab) -> None:
    lab = costly_lab
    with Fleet(inventory.load(lab.inventory)) as fleet:
        for dom in SWITCHED:
            fleet.session("mds2").run(ha.set_ha_state(dom, "active"), check=True)
    run(lab, "01")
    before = api(lab)["servers"].get("mds1", {})
    run(lab, "02", "-p", "confirm=true")
    after = api(lab)
    mds1 = {k: v for k, v in after["servers"]["mds1"].items() if isinstance(v, int)}
    delta = {k: v - before.get(k, 0) for k, v in mds1.items()}
    assert after["open_sessions"] == 0
    assert not set(after["refused"]) & set(mgmt_api.RETRYABLE)
    assert delta["logouts"] == delta["logins"]
    # On the primary, per switched domain ONE read-only login for the whole wait for its
    # task (each poll of show-task used to be a login of its own), besides one per domain
    # (and Global) for the freeze markers; set-ha-state itself is one read/write session.
    assert delta["read_only_logins"] == len(SWITCHED) + DOMAINS + 1
    with Fleet(inventory.load(lab.inventory)) as fleet:
        entries = fleet.session("mds1").run(ha.show_ha_state(), check=True).value()
    assert {e.domain for e in entries if e.ha_state == "active" and e.mds == "mds1"} >= set(
        SWITCHED
    )


def test_phase_02_switches_by_uid_where_logins_by_name_are_refused(tmp_path: Path) -> None:
    """The ``name-login-refused`` scenario: each switch's read/write login by the domain's
    name is refused, and the switch logs in with the domain's UID (``show-domains`` of the
    primary, read then) instead; the phase passes and the journal says so per domain."""
    opts = scenarios.LabOptions(
        scenario="name-login-refused", domains=DOMAINS, time_scale=float(SCALE)
    )
    runtime.up(tmp_path / "lab", opts)
    try:
        lab = Lab(tmp_path, "name-login-refused")
        with Fleet(inventory.load(lab.inventory)) as fleet:
            for dom in SWITCHED:
                fleet.session("mds2").run(ha.set_ha_state(dom, "active"), check=True)
        run(lab, "01")
        run(lab, "02", "-p", "confirm=true")
        with Fleet(inventory.load(lab.inventory)) as fleet:
            entries = fleet.session("mds1").run(ha.show_ha_state(), check=True).value()
        refused = api(lab)["servers"]["mds1"]["refused"]
    finally:
        runtime.down(tmp_path / "lab")
    assert {e.domain for e in entries if e.ha_state == "active" and e.mds == "mds1"} >= set(
        SWITCHED
    )
    assert refused.get("err_login_failed") == len(SWITCHED)
    journal = audit.read_journal(lab.reports / "CHG-API-2" / audit.JOURNAL)
    fallbacks = [e for e in journal if e.get("event") == "uid-login"]
    assert sorted(e["domain"] for e in fallbacks) == list(SWITCHED)
    assert all(e["server"] == "mds1" for e in fallbacks)
