"""``mdstools demo``, the README's first command: the campaign 00..08 on a fresh lab, the
record verified, the lab taken down; never the back-out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mdstools import audit
from mdstools.lab import runtime
from mdstools.phases import CAMPAIGN
from tests.runbooks.conftest import SCALE

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(600)]


def test_demo_runs_the_campaign_verifies_and_takes_the_lab_down(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    p = subprocess.run(
        [
            *(sys.executable, "-m", "mdstools", "demo", "--ticket", "DEMO-T", "--domains", "2"),
            *("--time-scale", SCALE, "--dir", str(lab_dir), "--reports", str(tmp_path / "r")),
        ],
        capture_output=True,
        text=True,
        timeout=500,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "MDSTOOLS_LOCK_DIR": str(tmp_path / "locks")},
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    assert "demo passed" in p.stdout and "verify: OK" in p.stdout, p.stdout
    record = tmp_path / "r" / "DEMO-T"
    notebooks = sorted(f.name for f in record.glob("*.ipynb"))
    assert notebooks == sorted(ph.notebook for ph in CAMPAIGN), notebooks
    phases = {e["phase"] for e in audit.read_journal(record / audit.JOURNAL)}
    assert phases == {ph.id for ph in CAMPAIGN}, phases
    with pytest.raises(runtime.LabRuntimeError):
        runtime.control(lab_dir, {"action": "status"}, timeout=5)
