"""``procedure.backout`` driven by data (``data/backout.py``) on the fake fleet: the way
back of phase 09 (B2 revert only what changed, B3 what the revert loses, B4 the end state
against the baseline)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mdstools.procedure import backout
from tests.procedure.data.backout import CASES
from tests.procedure.harness import Case, params, play


@pytest.mark.parametrize("case", params(CASES))
def test_backout(case: Case, tmp_path: Path) -> None:
    """Each case: the result or error, the exact commands per server, the journal."""
    play(case, tmp_path)


@pytest.mark.parametrize(
    ("outcomes", "passed", "reason"),
    [
        (["reverted", "reverted"], True, "2 servers reverted"),
        (["dry run"], True, "0 servers reverted, 1 shown by the dry run"),
        ([], True, "0 servers reverted"),
        (["reverted", "failed"], False, "not reverted: mds1=R81.20"),
    ],
)
def test_reverted_check(outcomes: list[str], passed: bool, reason: str) -> None:
    """B2: the gate after the reverts counts what a dry run only showed apart."""
    done = pd.DataFrame(
        [
            {"server": s, "before": "R81.20", "after": "R81.20", "outcome": o, "duration_s": 0.0}
            for s, o in zip(["mds2", "mds1"], outcomes, strict=False)
        ],
        columns=["server", "before", "after", "outcome", "duration_s"],
    )
    check = backout.reverted_check(done)
    assert (check.passed, check.reason) == (passed, reason)
