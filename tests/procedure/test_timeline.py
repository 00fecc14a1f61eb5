"""``procedure.timeline`` driven by data (``data/timeline.py``) on the fake fleet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mdstools.procedure import timeline
from tests.procedure.data.timeline import CASES, COUNTED, UPGRADES
from tests.procedure.harness import Case, params, play


@pytest.mark.parametrize("case", params(CASES))
def test_timeline(case: Case, tmp_path: Path) -> None:
    """Each case: the result or error, the exact commands per server, the journal."""
    play(case, tmp_path)


@pytest.mark.parametrize(
    ("events", "state", "current", "counted"),
    [c[1:] for c in COUNTED],
    ids=[c[0] for c in COUNTED],
)
def test_counted_runs(
    events: list[dict[str, Any]],
    state: dict[str, Any],
    current: str | None,
    counted: dict[str, str],
) -> None:
    """Only the run on record (else the last that ended, or the current one) counts."""
    assert timeline.counted_runs(events, state, current) == counted


def test_spans_keep_every_upgrade_and_the_decisions_of_counted_runs() -> None:
    """A server is down from its upgrade's start to its end whichever run upgraded it; a
    dry run's decision is left out."""
    counted = timeline.counted_runs(UPGRADES, {}).values()
    data = timeline.spans(UPGRADES, counted)
    t0 = data["phases"]["04"][0]
    assert data["phases"]["04"][1] - t0 == 720
    assert data["upgrades"]["mds2"][1] - data["upgrades"]["mds2"][0] == 600
    assert [(d["decision"], d["value"], d["how"]) for d in data["decisions"]] == [
        ("confirm", "confirmed", "button in the notebook")
    ]
