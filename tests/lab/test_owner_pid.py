"""A lab started for another process (``lab up --owner-pid``, as a rehearsal starts its twin)
stops by itself when that process ends, even when it is killed and cannot take it down."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from mdstools.lab import runtime, scenarios

pytestmark = [pytest.mark.lab]


def test_the_lab_stops_when_its_owner_is_killed(tmp_path: Path) -> None:
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    lab_dir = tmp_path / "lab"
    try:
        state = runtime.up(
            lab_dir, scenarios.LabOptions(domains=1, mlm=0, mds=1, owner_pid=owner.pid)
        )
        assert runtime.control(lab_dir, {"action": "status"})
        owner.kill()
        owner.wait()
        deadline = time.monotonic() + 30
        while runtime.read_state(lab_dir) is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert runtime.read_state(lab_dir) is None, "the lab still runs without its owner"
        assert f"its owner, pid {owner.pid}, has ended" in (lab_dir / "lab.log").read_text()
        with pytest.raises(runtime.LabRuntimeError):
            runtime.control(lab_dir, {"action": "status"}, timeout=5)
        assert state["pid"] != owner.pid
    finally:
        owner.kill()
        runtime.down(lab_dir)


def test_a_bad_owner_pid_is_refused(tmp_path: Path) -> None:
    p = subprocess.run(
        [
            *(sys.executable, "-m", "mdstools", "lab", "up"),
            "--dir",
            str(tmp_path / "l"),
            "--owner-pid",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 2 and "--owner-pid must be" in p.stderr, p.stderr
