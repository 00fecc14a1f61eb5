"""Gaia snapshots in the lab: ``add/show/delete snapshot`` and ``set snapshot revert``.

A Gaia snapshot is an image of the root volume (``lv_current``) taken into the volume
group's unallocated space; the log partition (``/var/log``) is not in it
(``docs/formats.md#gaia-snapshots``). The lab models:

* the image: every file outside ``/var/log``, the release, the Jumbo, the CPUSE packages and
  the MDS databases (each local DMS's published sessions, HA state, sync status and object
  version), captured when ``add snapshot`` starts;
* its size: what the root file system uses (about 8 GB on a lab server); the space for
  snapshots: ``SimServer.snapshot_space`` (``SNAPSHOT_SPACE``) less the snapshots kept;
* creation in the background for ``Timings.snapshot_create`` per ``REFERENCE_SIZE`` (a
  reboot while it runs discards it); one snapshot operation at a time;
* a revert: the command returns, the server goes down for ``Timings.snapshot_revert`` plus
  a reboot and comes back as the image holds; ``/var/log`` stays as it is, what was published
  on that server after the snapshot is lost (listed in the DMS's ``lost``). The snapshots
  themselves live outside the root volume and survive.

Texts are RECONSTRUCTED (no verbatim sample is public): module constants, so that a capture
from a real box can replace them.
"""

from __future__ import annotations

import copy
import re
import time
from dataclasses import dataclass

from mdstools.lab import dbimage
from mdstools.lab.clish import clish_command
from mdstools.lab.dbimage import DmsImage
from mdstools.lab.model import Deployment, Package, SimServer
from mdstools.lab.shell import IO
from mdstools.lab.versions import VersionProfile
from mdstools.lab.vfs import VfsImage

KEEP = "/var/log"  # the log partition: not in a snapshot, kept by a revert
GIB = 1024**3
MIB = 1024**2
REFERENCE_SIZE = 8 * GIB  # the size Timings.snapshot_create is for
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
START_GRACE = 0.2  # real seconds between a revert's answer and the server going down

# -- texts (RECONSTRUCTED, docs/formats.md#gaia-snapshots) ----------------------------------
CREATING = "Creating snapshot {name}. It can take a while; see 'show snapshots'."
EXISTS = "Snapshot {name} already exists"
NO_SPACE = "Not enough space for the snapshot: {need} needed, {free} available"
BUSY = "Another snapshot operation is in progress"
INVALID_NAME = "Invalid name"
UNKNOWN = "Snapshot {name} does not exist"
INCOMPLETE = "Snapshot {name} is not complete"
REVERTING = "Reverting to snapshot {name}. The machine will reboot when done."
DELETED = "Snapshot {name} deleted"
LIST_HEAD = ("Restore points:", "---------------")
BEING_CREATED = "Snapshot {name} is being created ({pct}% done)"
SPACE_LINE = (
    "Creation of an additional snapshot on the backup volume can take up to {need}. "
    "Available space for snapshots: {free}"
)
USAGE_ADD = 'Usage: add snapshot <name> desc "<description>"'


@dataclass
class ServerImage:
    """What a revert puts back on the server."""

    version: VersionProfile
    jumbo: int | None
    packages: dict[str, Package]
    files: VfsImage
    dms: dict[str, DmsImage]  # by domain name


@dataclass
class Snapshot:
    """One Gaia snapshot of one server."""

    name: str
    description: str
    taken_at: float  # wall clock
    started: float  # lab time
    ready_at: float  # lab time
    size: int  # bytes
    boot: int  # the server's boot count when it started
    image: ServerImage
    done: bool = False


def size_text(nbytes: int) -> str:
    """``7.8G`` or ``600.0M``: one decimal, ``G`` from 1 GiB up."""
    if nbytes >= GIB:
        return f"{nbytes / GIB:.1f}G"
    return f"{nbytes / MIB:.1f}M"


def image_size(server: SimServer) -> int:
    """Bytes a snapshot of ``server`` takes now: what its root file system uses."""
    root = server.vfs.mount_for("/")
    return server.vfs.used_kb(root) * 1024 if root is not None else REFERENCE_SIZE


def capture(server: SimServer) -> ServerImage:
    """The server's root volume and databases as a snapshot holds them."""
    return ServerImage(
        server.version,
        server.jumbo,
        copy.deepcopy(server.packages),
        server.vfs.image(KEEP),
        dbimage.capture(server),
    )


def settle(dep: Deployment, server: SimServer) -> None:
    """Mark finished snapshots complete; drop those a reboot interrupted."""
    now = dep.clock.now()
    with dep.lock:
        for name, snap in list(server.snapshots.items()):
            if snap.done:
                continue
            if snap.boot != server.boot_count:
                del server.snapshots[name]
                dep.log(f"{server.name}: snapshot {name} discarded (the server rebooted)")
            elif now >= snap.ready_at:
                snap.done = True
                dep.log(f"{server.name}: snapshot {name} complete")


def available(server: SimServer) -> int:
    """Bytes left for snapshots."""
    return max(0, server.snapshot_space - sum(s.size for s in server.snapshots.values()))


def progress(dep: Deployment, snap: Snapshot) -> int:
    span = max(snap.ready_at - snap.started, 1e-9)
    return max(0, min(99, int(100 * (dep.clock.now() - snap.started) / span)))


def _add_problem(server: SimServer, name: str, need: int) -> str | None:
    if not NAME_RE.match(name):
        return INVALID_NAME
    if name in server.snapshots:
        return EXISTS.format(name=name)
    if any(not s.done for s in server.snapshots.values()):
        return BUSY
    free = available(server)
    if need > free:
        return NO_SPACE.format(need=size_text(need), free=size_text(free))
    return None


def _parse_add(args: list[str]) -> tuple[str, str] | None:
    """(name, description) from ``<name> [desc <text>]``; None when malformed."""
    if not args:
        return None
    name, rest = args[0], args[1:]
    if not rest:
        return name, ""
    if rest[0].lower() != "desc" or len(rest) < 2:
        return None
    return name, " ".join(rest[1:])


@clish_command("add", "snapshot")
def _add(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``add snapshot <name> desc "<text>"``: start a snapshot in the background.

    Returns at once (``Creating snapshot <name>. ...``); ``show snapshots`` shows it
    ``being created (N% done)`` until it is listed as a restore point. Refused (exit 1) for
    an invalid or existing name, another snapshot being created, or too little space.
    """
    parsed = _parse_add(args)
    if parsed is None:
        io.print(USAGE_ADD)
        return 1
    name, desc = parsed
    settle(dep, server)
    with dep.lock:
        need = image_size(server)
        problem = _add_problem(server, name, need)
        if problem:
            io.print(problem)
            return 1
        now = dep.clock.now()
        duration = dep.clock.dur(dep.timings.snapshot_create * need / REFERENCE_SIZE)
        snap = Snapshot(
            name,
            desc,
            dep.clock.wall(),
            now,
            now + duration,
            need,
            server.boot_count,
            capture(server),
        )
        server.snapshots[name] = snap
        dep.log(f"{server.name}: snapshot {name} started ({size_text(need)})")
    dep.scheduler.at(snap.ready_at + 1e-6, lambda: settle(dep, server))
    io.print(CREATING.format(name=name))
    return 0


@clish_command("show", "snapshots")
def _show_all(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``show snapshots``: the restore points, the one being created, and the space line."""
    settle(dep, server)
    with dep.lock:
        snaps = sorted(server.snapshots.values(), key=lambda s: s.started)
        for line in LIST_HEAD:
            io.print(line)
        for s in snaps:
            if s.done:
                io.print(s.name)
        for s in snaps:
            if not s.done:
                io.print(BEING_CREATED.format(name=s.name, pct=progress(dep, s)))
        need, free = image_size(server), available(server)
    io.print(SPACE_LINE.format(need=size_text(need), free=size_text(free)))
    return 0


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@clish_command("show", "snapshot")
def _show_one(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``show snapshot <name> [all]``: ``key: value`` lines (name, description, date,
    size, version, status)."""
    if not args:
        io.print("Usage: show snapshot <name> all")
        return 1
    settle(dep, server)
    snap = server.snapshots.get(args[0])
    if snap is None:
        io.print(UNKNOWN.format(name=args[0]))
        return 1
    for key, value in (
        ("name", snap.name),
        ("description", snap.description),
        ("date", _iso(snap.taken_at)),
        ("size", size_text(snap.size)),
        ("version", snap.image.version.name),
        ("status", "complete" if snap.done else "in progress"),
    ):
        io.print(f"{key}: {value}")
    return 0


@clish_command("delete", "snapshot")
def _delete(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``delete snapshot <name>``: remove a complete snapshot and free its space."""
    if not args:
        io.print("Usage: delete snapshot <name>")
        return 1
    name = args[0]
    settle(dep, server)
    with dep.lock:
        snap = server.snapshots.get(name)
        if snap is None:
            io.print(UNKNOWN.format(name=name))
            return 1
        if not snap.done:
            io.print(BUSY)
            return 1
        del server.snapshots[name]
        dep.log(f"{server.name}: snapshot {name} deleted")
    io.print(DELETED.format(name=name))
    return 0


@clish_command("set", "snapshot", "revert")
def _revert(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``set snapshot revert <name>``: revert the server to a complete snapshot.

    No prompt in ``clish -c`` mode. Prints ``Reverting to snapshot <name>. The machine will
    reboot when done.`` and returns 0; then the server goes down (connections drop) for
    ``Timings.snapshot_revert`` plus a reboot and comes back as the snapshot holds it.
    """
    name = args[0] if args else ""
    settle(dep, server)
    with dep.lock:
        snap = server.snapshots.get(name)
        if snap is None:
            io.print(UNKNOWN.format(name=name))
            return 1
        if not snap.done:
            io.print(INCOMPLETE.format(name=name))
            return 1
        if any(not s.done for s in server.snapshots.values()):
            io.print(BUSY)
            return 1
        boot = server.boot_count
        dep.log(f"{server.name}: revert to snapshot {name} requested")
    io.print(REVERTING.format(name=name))
    delay = max(dep.clock.dur(2.0), START_GRACE)
    dep.scheduler.after(delay, lambda: revert(dep, server, name, boot))
    return 0


def revert(dep: Deployment, server: SimServer, name: str, boot: int) -> None:
    """Take ``server`` down for the revert and a reboot, with the snapshot's content back."""
    with dep.lock:
        snap = server.snapshots.get(name)
        if snap is None or server.boot_count != boot:
            return
    t, c = dep.timings, dep.clock
    dep.reboot(server, down_for=c.dur(t.snapshot_revert + t.reboot))
    with dep.lock:
        apply(server, snap.image)
        dep.log(f"{server.name}: reverted to snapshot {name} ({snap.image.version.name})")


def apply(server: SimServer, image: ServerImage) -> None:
    """Put ``image`` back on ``server`` (down at the time); ``/var/log`` stays as it is.

    Sessions published on the server after the snapshot are lost (``dbimage.restore``).
    """
    server.version = image.version
    server.jumbo = image.jumbo
    server.packages = copy.deepcopy(image.packages)
    server.upgrade = None
    server.vfs.restore_image(image.files, KEEP)
    dbimage.restore(server, image.dms)
