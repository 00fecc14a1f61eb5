"""``procedure.common`` driven by data (``data/common.py``) on the fake fleet."""

from __future__ import annotations

from pathlib import Path

import pytest

from mdstools.commands import mdsstat, services
from mdstools.procedure.common import run_job
from mdstools.run import DryResult
from tests.procedure.data.common import CASES
from tests.procedure.harness import Case, params, play, scripted


@pytest.mark.parametrize("case", params(CASES))
def test_common(case: Case, tmp_path: Path) -> None:
    """Each case: the result or error, the exact commands per server, the journal."""
    play(case, tmp_path)


@pytest.mark.parametrize("dry_run", [False, True])
def test_the_dry_run_rules_of_the_run(dry_run: bool, tmp_path: Path) -> None:
    """``show_instead`` shows a change and sends nothing in a dry run, never a read;
    ``waits`` waits outside a dry run and, in one, says what it would have waited for."""
    s = scripted(tmp_path, {"mds1": {"mdsstart": "started\n"}}, dry_run=dry_run)
    change = services.mdsstart()
    assert (s.run.show_instead("mds1", change) is not None) == dry_run
    assert s.run.show_instead("mds1", mdsstat.mdsstat()) is None
    if dry_run:
        assert isinstance(run_job(s.run, "mds1", "restart", change, timeout_s=60), DryResult)
    assert s.run.waits("mds1", "every process up") is not dry_run
    assert s.commands() == {}
    waited = [e for e in s.events(["step"]) if e.get("event") == "would-wait"]
    assert [e["step"] for e in waited] == (
        ["job restart to end", "every process up"] if dry_run else []
    )
    assert [e["command"] for e in s.events(["dry-run"])] == (
        ["mdsstart", "mdsstart"] if dry_run else []
    )
