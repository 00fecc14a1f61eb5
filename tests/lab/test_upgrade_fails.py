"""Scenario ``upgrade-fails``: the last MDS's CPUSE upgrade ends Failed, the primary's does not."""

from __future__ import annotations

import argparse

from mdstools.cli.lab import _validate_lab_options
from mdstools.lab import scenarios
from mdstools.lab.model import Deployment
from tests.lab.conftest import LabFactory, run_on
from tests.lab.test_cpuse import PKG_NAME, clish_c, field, imported, wait_for


def upgrade(dep: Deployment, server: str) -> str:
    """Import, verify and upgrade ``server`` with clish; returns the package's last status."""
    s = dep.server(server)
    imported(dep, server)
    assert clish_c(dep, server, "installer verify 1 not-interactive").rc == 0
    boots = s.boot_count
    r = clish_c(dep, server, "installer upgrade 1 not-interactive")
    assert r.rc == 0, r.out
    first = field(clish_c(dep, server, "show installer package 1").out, "Status")
    assert first.startswith("Installing")
    wait_for(lambda: s.online and s.boot_count > boots, timeout=20)
    return field(clish_c(dep, server, f"show installer package {PKG_NAME}").out, "Status")


def test_listed_as_a_scenario() -> None:
    assert "upgrade-fails" in scenarios.SCENARIOS


def test_last_mds_upgrade_fails_after_the_primary(labs: LabFactory) -> None:
    dep = labs("upgrade-fails", time_scale=0.002, mds=3)
    assert upgrade(dep, "mds1") == "Installed"
    assert upgrade(dep, "mds2") == "Installed"
    assert upgrade(dep, "mds3") == "Failed"
    out = clish_c(dep, "mds3", "show version all").out
    assert "Product version Check Point Gaia R81.10" in out
    for name in ("mds1", "mds2"):
        assert "Gaia R81.20" in clish_c(dep, name, "show version all").out
    s = dep.server("mds3")
    wait_for(lambda: dep.server_state(s) == "up", timeout=20)
    mdsstat = run_on(dep, "mds3", "mdsstat")
    rows = [line for line in mdsstat.out.splitlines() if "| CMA" in line]
    assert rows and all(" down " in row for row in rows), mdsstat.out
    assert all(dep.dms_state(d) == "down" for d in s.locals if not d.is_global)
    assert s.vfs.is_dir("/opt/CPmds-R81.10") and not s.vfs.exists("/opt/CPmds-R81.20")


def test_lab_fix_lets_the_upgrade_succeed(labs: LabFactory) -> None:
    dep = labs("upgrade-fails", time_scale=0.002)
    assert upgrade(dep, "mds2") == "Failed"
    assert "mds2: the next upgrade can succeed" in scenarios.fix(dep)
    s = dep.server("mds2")
    boots = s.boot_count
    assert clish_c(dep, "mds2", "installer upgrade 1 not-interactive").rc == 0
    wait_for(lambda: s.online and s.boot_count > boots, timeout=20)
    assert s.version.name == "R81.20"


def test_lab_up_lists_it() -> None:
    ns = argparse.Namespace(scenario="nope", mds=2, mlm=1, domains=5)
    problem = _validate_lab_options(ns)
    assert problem is not None and "upgrade-fails" in problem and "snapshot-space-short" in problem
