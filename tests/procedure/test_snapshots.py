"""``procedure.snapshots`` (B1: a Gaia snapshot of every MDS and MLM in 02) driven by data
(``data/snapshots.py``) on the fake fleet."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.procedure.data.snapshots import CASES
from tests.procedure.harness import Case, params, play


@pytest.mark.parametrize("case", params(CASES))
def test_snapshots(case: Case, tmp_path: Path) -> None:
    """Each case: the result, the exact commands per server, the journal."""
    play(case, tmp_path)
