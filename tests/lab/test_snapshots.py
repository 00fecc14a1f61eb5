"""Gaia snapshots in the lab: ``add/show/delete snapshot``, the space and duration model."""

from __future__ import annotations

import re
import time

from mdstools.lab import snapshots
from mdstools.lab.model import Deployment
from tests.lab.conftest import LabFactory, Ran
from tests.lab.test_cpuse import clish_c, wait_for

SPACE_RE = re.compile(
    r"^Creation of an additional snapshot on the backup volume can take up to "
    r"(\d+\.\d)([GM])\. Available space for snapshots: (\d+\.\d)([GM])$"
)


def add(dep: Deployment, name: str, server: str = "mds1", desc: str = "before upgrade") -> Ran:
    return clish_c(dep, server, f"add snapshot {name} desc '{desc}'")


def complete(dep: Deployment, name: str, server: str = "mds1") -> None:
    wait_for(lambda: name in listed(clish_c(dep, server, "show snapshots").out))


def listed(out: str) -> list[str]:
    """The complete restore points of a ``show snapshots`` output."""
    lines = out.splitlines()
    assert lines[:2] == ["Restore points:", "---------------"], out
    return [line for line in lines[2:-1] if " " not in line]


def info(out: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in out.splitlines())


def test_empty_list_shows_the_space(labs: LabFactory) -> None:
    dep = labs()
    r = clish_c(dep, "mds1", "show snapshots")
    assert r.rc == 0
    lines = r.out.splitlines()
    assert lines[:2] == ["Restore points:", "---------------"]
    assert len(lines) == 3
    m = SPACE_RE.match(lines[2])
    assert m, lines[2]
    assert (m.group(1), m.group(2)) == ("8.0", "G")
    assert (m.group(3), m.group(4)) == ("60.0", "G")


def test_add_returns_at_once_then_completes(labs: LabFactory) -> None:
    dep = labs(time_scale=0.002)
    start = time.monotonic()
    r = add(dep, "mdstools_T1_mds1")
    assert time.monotonic() - start < dep.clock.dur(dep.timings.snapshot_create) / 3
    assert r.rc == 0, r.out
    assert r.out == (
        "Creating snapshot mdstools_T1_mds1. It can take a while; see 'show snapshots'.\n"
    )
    out = clish_c(dep, "mds1", "show snapshots").out
    assert re.search(r"^Snapshot mdstools_T1_mds1 is being created \(\d+% done\)$", out, re.M)
    assert listed(out) == []
    fields = info(clish_c(dep, "mds1", "show snapshot mdstools_T1_mds1 all").out)
    assert fields["status"] == "in progress"
    complete(dep, "mdstools_T1_mds1")
    assert time.monotonic() - start >= dep.clock.dur(dep.timings.snapshot_create) * 0.9
    r = clish_c(dep, "mds1", "show snapshot mdstools_T1_mds1 all")
    assert r.rc == 0
    fields = info(r.out)
    assert fields["name"] == "mdstools_T1_mds1"
    assert fields["description"] == "before upgrade"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fields["date"])
    assert fields["size"] == "8.0G"
    assert fields["version"] == "R81.10"
    assert fields["status"] == "complete"
    last = clish_c(dep, "mds1", "show snapshots").out.splitlines()[-1]
    m = SPACE_RE.match(last)
    assert m and m.group(3) == "52.0"


def test_add_errors(labs: LabFactory) -> None:
    dep = labs(time_scale=0.002)
    for bad in ("a.b", "x" * 65, "sp@ce"):
        r = add(dep, bad)
        assert (r.rc, r.out) == (1, "Invalid name\n"), bad
    assert add(dep, "x" * 64).rc == 0
    r = add(dep, "second")
    assert (r.rc, r.out) == (1, "Another snapshot operation is in progress\n")
    r = add(dep, "x" * 64)
    assert (r.rc, r.out.strip()) == (1, f"Snapshot {'x' * 64} already exists")
    complete(dep, "x" * 64)
    r = add(dep, "x" * 64)
    assert r.rc == 1 and "already exists" in r.out


def test_space_check(labs: LabFactory) -> None:
    dep = labs("snapshot-space-short")
    last = dep.mdss[-1].name
    r = add(dep, "s1", server=last)
    assert r.rc == 1
    assert r.out == "Not enough space for the snapshot: 8.0G needed, 5.0G available\n"
    assert dep.server(last).snapshots == {}
    out = clish_c(dep, last, "show snapshots").out
    assert out.splitlines()[-1].endswith("Available space for snapshots: 5.0G")
    assert add(dep, "s1", server="mds1").rc == 0


def test_space_is_used_by_kept_snapshots_and_freed_by_delete(labs: LabFactory) -> None:
    dep = labs()
    dep.server("mds1").snapshot_space = 18 * snapshots.GIB
    assert add(dep, "one").rc == 0
    complete(dep, "one")
    assert add(dep, "two").rc == 0
    complete(dep, "two")
    r = add(dep, "three")
    assert r.rc == 1 and r.out.startswith("Not enough space") and "2.0G available" in r.out
    r = clish_c(dep, "mds1", "delete snapshot one")
    assert (r.rc, r.out) == (0, "Snapshot one deleted\n")
    assert listed(clish_c(dep, "mds1", "show snapshots").out) == ["two"]
    assert add(dep, "three").rc == 0


def test_unknown_names(labs: LabFactory) -> None:
    dep = labs()
    for cmd in ("show snapshot nope all", "delete snapshot nope", "set snapshot revert nope"):
        r = clish_c(dep, "mds1", cmd)
        assert (r.rc, r.out) == (1, "Snapshot nope does not exist\n"), cmd


def test_a_reboot_discards_a_snapshot_being_created(labs: LabFactory) -> None:
    dep = labs(time_scale=0.002)
    s = dep.server("mds1")
    assert add(dep, "early").rc == 0
    boots = s.boot_count
    dep.reboot(s)
    wait_for(lambda: s.online and s.boot_count > boots)
    assert listed(clish_c(dep, "mds1", "show snapshots").out) == []
    assert s.snapshots == {}
