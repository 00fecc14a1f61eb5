"""``procedure.common`` driven by data (``data/common.py``) on the fake fleet."""

from __future__ import annotations

from pathlib import Path

import pytest

from mdstools import mgmt_api
from mdstools.commands import mdsstat, services
from mdstools.procedure.common import ha_state, run_job
from mdstools.run import DryResult
from tests.procedure.data.common import CASES
from tests.procedure.harness import Case, ha_state_json, mgmt_error, params, play, scripted


@pytest.mark.parametrize("case", params(CASES))
def test_common(case: Case, tmp_path: Path) -> None:
    """Each case: the result or error, the exact commands per server, the journal."""
    play(case, tmp_path)


@pytest.mark.parametrize("dry_run", [False, True])
def test_the_dry_run_rules_of_the_run(dry_run: bool, tmp_path: Path) -> None:
    """``show_instead`` shows a change and sends nothing in a dry run, never a read;
    ``waits`` waits outside a dry run and, in one, says what it would have waited for."""
    s = scripted(tmp_path, {"mds1": {"mdsstart": "started\n"}}, dry_run=dry_run)
    change = services.mdsstart()
    assert (s.run.show_instead("mds1", change) is not None) == dry_run
    assert s.run.show_instead("mds1", mdsstat.mdsstat()) is None
    if dry_run:
        assert isinstance(run_job(s.run, "mds1", "restart", change, timeout_s=60), DryResult)
    assert s.run.waits("mds1", "every process up") is not dry_run
    assert s.commands() == {}
    waited = [e for e in s.events(["step"]) if e.get("event") == "would-wait"]
    assert [e["step"] for e in waited] == (
        ["job restart to end", "every process up"] if dry_run else []
    )
    assert [e["command"] for e in s.events(["dry-run"])] == (
        ["mdsstart", "mdsstart"] if dry_run else []
    )


def test_ha_state_waits_for_an_initializing_primary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The primary's API answers "initializing" twice (after a reboot or mdsstart): it is
    waited for with a progress line, never left for another MDS."""
    slept: list[float] = []
    monkeypatch.setattr(mgmt_api.time, "sleep", slept.append)
    initializing = mgmt_error("generic_server_initializing", "Server is initializing.")
    answer = ha_state_json({"dom1": {"mds1": "active", "mds2": "standby"}})
    s = scripted(
        tmp_path,
        {
            "mds1": {"show-ha-state": [initializing, initializing, answer]},
            "mds2": {"show-ha-state": answer},
        },
        params={"time_scale": 0.01},
    )
    entries = ha_state(s.run)
    assert {(e.domain, e.mds, e.ha_state) for e in entries} >= {("dom1", "mds1", "active")}
    assert [c for c in s.commands()["mds1"] if "show-ha-state" in c] == [
        "mgmt_cli -r true show-ha-state --format json"
    ] * 3
    assert "mds2" not in s.commands()
    assert slept == pytest.approx([0.05, 0.1])
    err = capsys.readouterr().err
    assert "waiting for the Management API on mds1 (initializing after a reboot), 0 s so far" in err
    assert "5 s so far" in err


def test_ha_state_gives_way_to_the_next_mds_after_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mgmt_api.time, "sleep", lambda s: None)
    initializing = mgmt_error("generic_server_initializing", "Server is initializing.")
    answer = ha_state_json({"dom1": {"mds1": "standby", "mds2": "active"}})
    s = scripted(
        tmp_path, {"mds1": {"show-ha-state": initializing}, "mds2": {"show-ha-state": answer}}
    )
    entries = ha_state(s.run)
    assert ("dom1", "mds2", "active") in {(e.domain, e.mds, e.ha_state) for e in entries}
    assert len(s.commands()["mds1"]) > 2
