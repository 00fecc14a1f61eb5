"""Adversarial ticket ids against the Gaia snapshot names of phase 02. Two valid ticket ids
that differ only in a character the snapshot name cannot hold (``CHG.1`` and ``CHG_1``) get
the same snapshot name unless the name then ends with a digest of the ticket and server:
else phase 02 of the second ticket would delete the first ticket's snapshot as "this
ticket's earlier one", and the first ticket's back-out (09) would revert to a snapshot it
did not take."""

from __future__ import annotations

import pytest

from mdstools.procedure.snapshots import snapshot_name


@pytest.mark.parametrize(("one", "other"), [("CHG.1", "CHG_1"), ("A.B.C", "A_B.C")])
def test_two_tickets_never_share_a_snapshot_name(one: str, other: str) -> None:
    assert snapshot_name(one, "mds1") != snapshot_name(other, "mds1")


def test_a_long_ticket_keeps_a_unique_name_of_at_most_64_characters() -> None:
    first = snapshot_name("A" * 64, "mds1")
    second = snapshot_name("A" * 63 + "B", "mds1")
    assert first != second and len(first) <= 64 and len(second) <= 64
