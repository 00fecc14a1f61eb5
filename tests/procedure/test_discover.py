"""``procedure.discover`` driven by data (``data/discover.py``) on the fake fleet."""

from __future__ import annotations

from pathlib import Path

import pytest

from mdstools import status
from mdstools.errors import ExitCode
from tests.procedure.data.discover import CASES, fleet
from tests.procedure.harness import Case, ha_state_json, mgmt_error, params, play, scripted


@pytest.mark.parametrize("case", params(CASES))
def test_discover(case: Case, tmp_path: Path) -> None:
    """Each case: the result or error, the exact commands per server, the journal."""
    play(case, tmp_path)


def test_domains_no_mds_could_read_are_unknown_not_none(tmp_path: Path) -> None:
    """Every MDS's Management API refuses show-domains and show-ha-state: the snapshot has
    no domain, and a blocking check says they are unknown, so status cannot pass."""
    refused = mgmt_error("err_login_failed", "Authentication to server failed.")
    answers = fleet(ha_state_json({}))
    answers["mds1"] = {**answers["mds1"], "show-domains": refused, "show-ha-state": refused}
    answers["mds2"] = {**answers["mds2"], "show-domains": refused, "show-ha-state": refused}
    s = scripted(tmp_path, answers, phase_id="00")
    snap = status.collect(s.run.fleet)
    assert snap.domains == []
    unknown = [c for c in snap.checks if c.name == "domains and HA state read"]
    assert len(unknown) == 1 and unknown[0].blocking and not unknown[0].passed
    assert snap.exit_code() == ExitCode.FAILED
