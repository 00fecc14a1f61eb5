"""What 09 says before and after it acts: the confirmation names servers left out (mixed
versions), and the synchronization check on a release without a sync status trusts only
HA actions that succeeded."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from mdstools.checks import CheckResult
from mdstools.procedure import backout


def target(server: str, now: str, baseline: str = "R81.10") -> backout.Target:
    return backout.Target(
        server=server,
        role="secondary",
        baseline=baseline,
        now=now,
        upgrade_started=now != baseline,
        snapshot=f"mdstools_T_{server}",
        snapshot_version=baseline,
        snapshot_status="complete",
    )


def test_the_confirmation_warns_of_servers_left_on_the_new_version() -> None:
    found = [target("mds1", "R81.20"), target("mds2", "R81.20"), target("mlm1", "R81.10")]
    question = backout.confirm_question([found[0]], pd.DataFrame(), found)
    assert "WARNING: mds2 stays on R81.20" in question and "mixed versions" in question
    assert "mlm1" not in question.split("WARNING")[1]
    whole = backout.confirm_question(found[:2], pd.DataFrame(), found)
    assert "WARNING" not in whole


def _sync_check() -> CheckResult:
    return CheckResult(
        name="synchronized", passed=False, reason="unknown", requirement="R10", severity="error"
    )


def test_an_unreadable_sync_status_is_a_warning_only_when_every_ha_action_succeeded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(backout, "unreadable_sync", lambda snap: True)
    snap: Any = object()
    ha = pd.DataFrame(
        [
            {
                "domain": "dom1",
                "action": "ha-full-sync mds1 -> d",
                "server": "mds1",
                "outcome": "succeeded",
            },
            {
                "domain": "dom2",
                "action": "ha-full-sync mds1 -> d",
                "server": "mds1",
                "outcome": "FAILED: err_ha_invalid_operation",
            },
        ]
    )
    failed = backout._failed_actions(ha)
    assert failed == ["dom2: ha-full-sync mds1 -> d: FAILED: err_ha_invalid_operation"]
    bad = backout._sync_evidence(_sync_check(), snap, failed)
    assert bad.severity == "error" and "1 HA action of the back-out failed" in bad.reason
    ok = backout._sync_evidence(_sync_check(), snap, backout._failed_actions(ha.iloc[:1]))
    assert ok.severity == "warning" and "every full sync of the HA step succeeded" in ok.reason
