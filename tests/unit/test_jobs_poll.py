"""The job poll line, run by a real bash: a job that ends between two looks is finished."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mdstools import jobs
from mdstools.jobs import JobHandle


class _BashSession:
    """Runs each command's line in a local bash after ``prelude``; parses as the server's."""

    name = "local"

    def __init__(self, prelude: str) -> None:
        self.prelude = prelude

    def run(self, cmd: Any, check: bool = False) -> Any:
        out = subprocess.run(
            ["bash", "-c", self.prelude + cmd.line], capture_output=True, text=True, check=False
        ).stdout

        class _R:
            def value(self) -> Any:
                return cmd.parse(out)

        return _R()


def _handle(directory: Path) -> JobHandle:
    return JobHandle(
        server="local",
        name="job",
        job_id="j",
        pid=999_999,
        directory=str(directory),
        command="true",
        started_at=datetime.now(timezone.utc),
    )


def test_a_job_that_writes_its_rc_and_ends_between_two_looks_is_finished(tmp_path: Path) -> None:
    """The rc file appears after the first look, and the process is gone by kill -0."""
    prelude = f"kill() {{ echo 7 > {tmp_path}/rc; return 1; }}; "
    state = jobs.poll(_BashSession(prelude), _handle(tmp_path))  # type: ignore[arg-type]
    assert state.state == "finished" and state.rc == 7


def test_a_job_gone_without_an_rc_is_lost(tmp_path: Path) -> None:
    state = jobs.poll(_BashSession("kill() { return 1; }; "), _handle(tmp_path))  # type: ignore[arg-type]
    assert state.state == "lost"


def test_a_live_job_is_running(tmp_path: Path) -> None:
    state = jobs.poll(_BashSession("kill() { return 0; }; "), _handle(tmp_path))  # type: ignore[arg-type]
    assert state.state == "running"
