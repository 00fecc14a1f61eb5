"""``procedure.sync`` driven by data (``data/sync.py``) on the fake fleet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mdstools.errors import MdstoolsError
from mdstools.procedure import sync
from tests.procedure.data.sync import CASES, RETAIN, RETAIN_BAD
from tests.procedure.harness import Case, params, play


@pytest.mark.parametrize("case", params(CASES))
def test_sync(case: Case, tmp_path: Path) -> None:
    """Each case: the result or error, the exact commands per server, the journal."""
    play(case, tmp_path)


@pytest.mark.parametrize(("value", "retained"), RETAIN)
def test_parse_retain(value: Any, retained: dict[str, str]) -> None:
    """``retain_database_on`` as one server, ``domain=server`` pairs or a mapping."""
    assert sync.parse_retain(value, ["dom1", "dom3"], ["mds1", "mds2"]) == retained


@pytest.mark.parametrize(("value", "message"), RETAIN_BAD)
def test_parse_retain_refuses_unknown_servers(value: Any, message: str) -> None:
    """A server that is not an MDS of the inventory is named, with the allowed ones."""
    with pytest.raises(MdstoolsError) as exc:
        sync.parse_retain(value, ["dom1", "dom3"], ["mds1", "mds2"])
    assert exc.value.message == message and "mds1, mds2" in exc.value.hint
