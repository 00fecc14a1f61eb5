"""The change freeze watchdog (R6), continuous management (R13), backup space (X1)."""

from __future__ import annotations

import subprocess
import time

import pytest

from mdstools.lab import runtime
from tests.runbooks.conftest import Factory, Lab, top_cell

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(600)]


def change_during_03(lab: object, ticket: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run 00..03; while the primary upgrades, an admin publishes a change on mds2's dom2."""
    assert isinstance(lab, Lab)
    cmd = lab.campaign_argv(ticket, "--to", "03", *extra)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=lab.dir
    )
    deadline = time.monotonic() + 300
    while True:
        status = runtime.control(lab.dir / "lab", {"action": "status"})
        if any(
            s["name"] == "mds1" and s["upgrading"] and s["state"] == "down"
            for s in status["servers"]
        ):
            break
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    runtime.control(
        lab.dir / "lab",
        {
            "action": "change",
            "domain": "dom2",
            "on": "mds2",
            "admin": "night-shift",
            "object": "urgent_host",
        },
    )
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def test_change_during_03_fails_04_and_its_first_cell_names_it(lab_factory: Factory) -> None:
    """R6: the watchdog of the next phase names a change published on mds2 during 03."""
    lab = lab_factory("default")
    first = change_during_03(lab, "CHG-F")
    assert first.returncode == 0, first.stderr[-2000:]
    p = lab.campaign("CHG-F", "--resume")
    assert p.returncode == 1 and "stopped at phase 04" in p.stderr
    nb = lab.notebook("CHG-F", "04_upgrade_secondaries.ipynb")
    watch = next(c for c in nb.cells if c.cell_type == "code" and "freeze.watch(run)" in c.source)
    shown = "".join(str(o) for o in watch.outputs)
    assert "urgent_host" in shown and "night-shift" in shown and "mds2" in shown
    assert "collision risk" in shown
    top = top_cell(nb)
    assert "change freeze (R6)" in top and "urgent_host" in top
    assert "continuous_management" in top


def test_with_continuous_management_the_campaign_completes(lab_factory: Factory) -> None:
    """R13: the risk is reported at every phase, carried to 07, and resolved without loss."""
    lab = lab_factory("default")
    first = change_during_03(lab, "CHG-CM", "-p", "continuous_management=true")
    assert first.returncode == 0, first.stderr[-2000:]
    p = lab.campaign("CHG-CM", "--resume", "-p", "continuous_management=true")
    assert p.returncode == 0, p.stderr[-3000:]
    report = lab.reports / "CHG-CM"
    for ph in ("04", "05", "06"):
        text = (report / f"freeze_watch_{ph}.csv").read_text()
        assert "urgent_host" in text and "collision risk" in text, ph
    nb = (report / "07_synchronize_ha.ipynb").read_text()
    assert "continuous management (R13)" in nb and "urgent_host" in nb
    with (report / "reentry.csv").open() as f:
        assert f.read().count("\n") == 1, "nothing lost: the changed side was retained"
    status = runtime.control(lab.dir / "lab", {"action": "status"})
    dom2 = next(d for d in status["domains"] if d["name"] == "dom2")
    assert dom2["servers"]["mds1"]["revisions"] == dom2["servers"]["mds2"]["revisions"] == 1
