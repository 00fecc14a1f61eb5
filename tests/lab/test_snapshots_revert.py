"""``set snapshot revert``: the server goes down and comes back as the snapshot holds it."""

from __future__ import annotations

import time

from mdstools.lab.model import Deployment
from tests.lab.conftest import LabFactory, run_on
from tests.lab.test_cpuse import clish_c, field, imported, wait_for
from tests.lab.test_snapshots import add, complete

NAME = "mdstools_CHG1_mds1"


def upgraded(dep: Deployment, server: str = "mds1") -> None:
    """Upgrade ``server`` to R81.20 with CPUSE and wait until it is back with its DMSs up."""
    s = dep.server(server)
    imported(dep, server)
    boots = s.boot_count
    assert clish_c(dep, server, "installer upgrade 1 not-interactive").rc == 0
    wait_for(lambda: s.online and s.boot_count > boots, timeout=20)
    assert s.version.name == "R81.20"
    dms = dep.domain("dom1").on(server)
    assert dms is not None
    wait_for(lambda: dep.dms_state(dms) == "up", timeout=20)


def reverted(dep: Deployment, server: str, name: str) -> float:
    """Run the revert over the lab's shell; returns the seconds the server was away."""
    s = dep.server(server)
    boots = s.boot_count
    start = time.monotonic()
    r = clish_c(dep, server, f"set snapshot revert {name}")
    assert (r.rc, r.out) == (
        0,
        f"Reverting to snapshot {name}. The machine will reboot when done.\n",
    )
    wait_for(lambda: not s.online)
    wait_for(lambda: s.online and s.boot_count > boots, timeout=30)
    return time.monotonic() - start


def test_revert_undoes_an_upgrade_and_keeps_var_log(labs: LabFactory) -> None:
    dep = labs(time_scale=0.002)
    s = dep.server("mds1")
    prep = "mkdir -p /var/log/mds_backups /home/admin && echo before > /home/admin/marker"
    assert run_on(dep, "mds1", prep).rc == 0
    assert add(dep, NAME).rc == 0
    complete(dep, NAME)
    after = (
        "echo after > /home/admin/marker; echo new > /home/admin/new.txt; "
        "echo backup > /var/log/mds_backups/b.tar"
    )
    assert run_on(dep, "mds1", after).rc == 0
    dom2 = dep.domain("dom2").on("mds1")
    assert dom2 is not None and dom2.ha_state == "active"
    dep.set_ha_state(dom2, "standby")
    upgraded(dep)
    rev = dep.lab_change("dom1", "mds1", obj="published_after_snapshot")

    away = reverted(dep, "mds1", NAME)

    t = dep.timings
    assert away >= dep.clock.dur(t.snapshot_revert + t.reboot) * 0.9
    assert "Gaia R81.10" in clish_c(dep, "mds1", "show version all").out
    assert s.vfs.read_text("/home/admin/marker") == "before\n"
    assert not s.vfs.exists("/home/admin/new.txt")
    assert s.vfs.read_text("/var/log/mds_backups/b.tar") == "backup\n"
    assert s.vfs.is_dir("/opt/CPmds-R81.10") and not s.vfs.exists("/opt/CPmds-R81.20")
    assert "Fresh_install" not in clish_c(dep, "mds1", "show installer packages installed").out
    dom1 = dep.domain("dom1").on("mds1")
    assert dom1 is not None
    assert rev.uid not in dom1.revision_ids()
    assert "published_after_snapshot" in [c.name for r in dom1.lost for c in r.changes]
    assert dom2.ha_state == "active"
    wait_for(lambda: dep.dms_state(dom1) == "up", timeout=20)
    mdsstat = run_on(dep, "mds1", "mdsstat")
    assert mdsstat.rc == 0 and "dom1_Server" in mdsstat.out
    assert field(clish_c(dep, "mds1", f"show snapshot {NAME} all").out, "status") == "complete"


def test_revert_refuses_a_snapshot_being_created(labs: LabFactory) -> None:
    dep = labs(time_scale=0.002)
    assert add(dep, "slow_one").rc == 0
    r = clish_c(dep, "mds1", "set snapshot revert slow_one")
    assert (r.rc, r.out) == (1, "Snapshot slow_one is not complete\n")
    assert dep.server("mds1").online


def test_revert_twice_to_the_same_snapshot(labs: LabFactory) -> None:
    dep = labs(mds=1, mlm=0, domains=1)
    s = dep.server("mds1")
    assert add(dep, "base").rc == 0
    complete(dep, "base")
    for n in (1, 2):
        assert run_on(dep, "mds1", f"echo {n} > /root/round").rc == 0
        reverted(dep, "mds1", "base")
        assert not s.vfs.exists("/root/round")
