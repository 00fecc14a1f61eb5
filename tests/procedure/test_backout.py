"""``procedure.backout`` driven by data (``data/backout.py``) on the fake fleet: the way
back of phase 09 (B2 revert only what changed, B3 what the revert loses, B4 the end state
against the baseline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.procedure.data.backout import CASES
from tests.procedure.harness import Case, params, play


@pytest.mark.parametrize("case", params(CASES))
def test_backout(case: Case, tmp_path: Path) -> None:
    """Each case: the result or error, the exact commands per server, the journal."""
    play(case, tmp_path)
