"""``procedure.prepare`` driven by data (``data/prepare.py``) on the fake fleet."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.procedure.data.prepare import CASES
from tests.procedure.harness import Case, params, play


@pytest.mark.parametrize("case", params(CASES))
def test_prepare(case: Case, tmp_path: Path) -> None:
    """Each case: the result or error, the exact commands per server, the journal."""
    play(case, tmp_path)
