"""Shared by the reliability suite: what a fault, a bad input or hostile data must not break.

Every case states the exit code and the message it expects, and checks two invariants with
the helpers below: no file outside the reports folder changed (:func:`tree_digest` before and
after), and ``mdstools verify`` still tells the truth about the record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import pytest

from mdstools.runbook import RUNBOOKS

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder carries the ``reliability`` marker (``-m reliability``)."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.reliability)


def tree_digest(root: Path, exclude: Iterable[Path] = ()) -> dict[str, str]:
    """relative path -> SHA-256 of every file below ``root`` except those under ``exclude``."""
    skip = [p.resolve() for p in exclude]
    out: dict[str, str] = {}
    if not root.exists():
        return out
    for p in sorted(root.rglob("*")):
        rp = p.resolve()
        if any(rp == s or s in rp.parents for s in skip) or not p.is_file():
            continue
        out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The paths added, removed or changed between two :func:`tree_digest` results."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


@pytest.fixture
def runbooks_unchanged() -> Iterable[None]:
    """Fails the test if it changed anything in the repository's ``runbooks/``."""
    before = tree_digest(RUNBOOKS)
    yield
    assert changed(before, tree_digest(RUNBOOKS)) == [], "runbooks/ was changed"
