"""Procedures on the fake transport: no lab, no SSH, no kernel, no real waiting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mdstools import jobs


class Clock:
    """A monotonic clock that a sleep advances at once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        """Advance the clock by ``seconds`` at once."""
        self.slept.append(seconds)
        self.now += seconds


def never_blocking(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Every wait of ``jobs`` (polls, reconnects) on a clock that never blocks, and no run
    id inherited from the environment, for as long as ``monkeypatch`` holds."""
    c = Clock()
    monkeypatch.setattr(jobs, "_clock", c)
    monkeypatch.setattr(jobs, "_sleep", c.sleep)
    monkeypatch.delenv("MDSTOOLS_RUN_ID", raising=False)
    return c


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """Every test of this folder runs on a clock that never blocks."""
    yield never_blocking(monkeypatch)
