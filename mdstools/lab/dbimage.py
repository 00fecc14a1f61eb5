"""The MDS databases of one server as a Gaia snapshot or an ``mds_backup`` archive holds them."""

from __future__ import annotations

from dataclasses import dataclass

from mdstools.lab.model import Revision, SimServer


@dataclass
class DmsImage:
    """One DMS's database: its published sessions, HA state, sync status, object version."""

    revisions: list[Revision]
    ha_state: str
    sync_status: str
    last_sync: float | None
    object_version: str


@dataclass
class BackupImage:
    """What an ``mds_backup`` archive holds, found by the digest written in the archive."""

    server: str
    version: str
    taken_at: float  # wall clock
    dms: dict[str, DmsImage]


def capture(server: SimServer) -> dict[str, DmsImage]:
    """Each local DMS's database, by domain name."""
    return {
        d.domain.name: DmsImage(
            list(d.revisions), d.ha_state, d.sync_status, d.last_sync, d.object_version
        )
        for d in server.locals
    }


def restore(server: SimServer, images: dict[str, DmsImage]) -> None:
    """Put each local DMS's database back as ``images`` holds it.

    Sessions the DMS holds that the image lacks are lost: they move to the DMS's ``lost``
    list, as after a full synchronization from the other side.
    """
    for d in server.locals:
        held = images.get(d.domain.name)
        if held is None:
            continue
        kept = {r.uid for r in held.revisions}
        d.lost.extend(r for r in d.revisions if r.uid not in kept)
        d.revisions = list(held.revisions)
        d.ha_state = held.ha_state
        d.sync_status = held.sync_status
        d.last_sync = held.last_sync
        d.object_version = held.object_version
