"""A phase run on a lab with the Management API's cost model: the sessions it leaves and the
logins it pays, counted by the lab (never timed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mdstools import mgmt_api
from mdstools.lab import runtime, scenarios
from tests.runbooks.conftest import SCALE, Lab

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(600)]

DOMAINS = 12


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
