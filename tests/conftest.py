"""Shared by the whole suite: the order in which the tests are handed out.

``make test`` runs the suite on two pytest-xdist workers that take the next tests as they
finish (``--maxschedchunk 2``). The tests that take long (marked ``slow``: whole campaigns,
many of a minute) come first, then the other ones against the lab, then the rest; so both
workers share the long tests from the start and the many short ones fill the end, instead
of one worker running the last campaigns alone while the other has finished.
"""

from __future__ import annotations

import pytest


def order_key(item: pytest.Item) -> int:
    """0 for a ``slow`` test, 1 for another ``lab`` test, 2 for the rest."""
    if item.get_closest_marker("slow") is not None:
        return 0
    if item.get_closest_marker("lab") is not None:
        return 1
    return 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first; within each group the collection order stays as it was."""
    items.sort(key=order_key)
