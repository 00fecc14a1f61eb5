"""``procedure.upgrade`` driven by data (``data/upgrade.py``) on the fake fleet."""

from __future__ import annotations

from pathlib import Path

import pytest

from mdstools.procedure import upgrade
from mdstools.procedure.upgrade import ServerState
from tests.procedure.data.upgrade import CASES, DECISIONS
from tests.procedure.harness import Case, params, play


@pytest.mark.parametrize("case", params(CASES))
def test_upgrade(case: Case, tmp_path: Path) -> None:
    """Each case: the result or error, the exact commands per server, the journal."""
    play(case, tmp_path)


@pytest.mark.parametrize(("method", "state", "under_way", "action"), DECISIONS)
def test_decide(method: str, state: ServerState, under_way: bool, action: str) -> None:
    """What the upgrade step does from what the server and the journal say."""
    assert upgrade.decide(method, state, "R81.20", under_way).action == action
