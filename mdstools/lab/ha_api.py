"""How the lab's HA situation reads in the Management API: the ONE place of that mapping.

The lab's model keeps, per Domain Management Server, the SmartConsole "High Availability
Status" wording (``Synchronized``, ``Never been synchronized``, ``Collision``; the model's
constants ``SYNCHRONIZED``, ``NEVER_SYNCED``, ``COLLISION``). The Management API does not
use those words: ``show-ha-status`` gives each peer a ``sync-state`` (``Ok``,
``Communication Error`` or ``Sync Error``), a ``last-successful-sync`` that is left out when
the peer has not synced successfully, and a domain-wide ``successfully-synced`` boolean.

This module follows the mapping of ``docs/formats.md#synchronization-words``, which is
INFERRED, not captured:

| situation (checked in this order)                     | sync-state            | last sync |
|-------------------------------------------------------|-----------------------|-----------|
| the peer is not up (DMS or MDS down, server offline)  | Communication Error   | omitted   |
| Collision (either side, with diverged databases)      | Sync Error            | omitted   |
| the two MDSs run different versions (mid-upgrade)     | Communication Error   | omitted   |
| Never been synchronized (either side)                 | Sync Error            | omitted   |
| Synchronized                                          | Ok                    | shown     |

``successfully-synced`` is ``true`` only when every peer is ``Ok``. In a Collision each
active DMS keeps ``ha-state: active``, so ``show-ha-state`` lists two actives for the domain
(:func:`ha_state` reports the model's state as it is). ``sync-state`` is shown for standby
peers (the schema says "shown only for standby peers") and, as an inferred extension, for an
active peer that is not ``Ok`` (the other active of a Collision).

A capture of ``show-ha-status`` / ``show-ha-state`` from a real MDS (in Collision, and
mid-upgrade) can replace this table: nothing else in the lab decides these words.
"""

from __future__ import annotations

from dataclasses import dataclass

from mdstools.lab.model import COLLISION, NEVER_SYNCED, Deployment, DomainServer, SimServer

OK = "Ok"
COMMUNICATION_ERROR = "Communication Error"
SYNC_ERROR = "Sync Error"


@dataclass(frozen=True)
class PeerSync:
    """What ``show-ha-status`` says about one peer, seen from the local domain server."""

    sync_state: str
    last_successful_sync: float | None  # epoch seconds; None: the key is left out

    @property
    def ok(self) -> bool:
        return self.sync_state == OK


def ha_state(d: DomainServer) -> str:
    """``active`` or ``standby`` as ``show-ha-state`` prints it (two actives in a Collision)."""
    return "active" if d.ha_state == "active" else "standby"


def peers(local: DomainServer) -> list[DomainServer]:
    """The other Domain Management Servers of ``local``'s domain (never ``local`` itself)."""
    return [p for p in local.domain.dms if p is not local]


def _diverged(a: DomainServer, b: DomainServer) -> bool:
    return a.revision_ids() != b.revision_ids()


def peer_sync(dep: Deployment, local: DomainServer, peer: DomainServer) -> PeerSync:
    """The API's view of ``peer`` from ``local`` (the table of the module docstring)."""
    if dep.dms_state(peer) != "up":
        return PeerSync(COMMUNICATION_ERROR, None)
    if peer.sync_status == COLLISION or (local.sync_status == COLLISION and _diverged(local, peer)):
        return PeerSync(SYNC_ERROR, None)
    if local.host.version.name != peer.host.version.name:
        return PeerSync(COMMUNICATION_ERROR, None)
    if NEVER_SYNCED in (local.sync_status, peer.sync_status):
        return PeerSync(SYNC_ERROR, None)
    return PeerSync(OK, peer.last_sync if peer.last_sync is not None else local.last_sync)


def shows_sync_state(peer: DomainServer, status: PeerSync) -> bool:
    """Whether ``sync-state`` is printed for ``peer`` (standby peers, or any peer not Ok)."""
    return ha_state(peer) == "standby" or not status.ok


def successfully_synced(dep: Deployment, local: DomainServer) -> bool:
    """``successfully-synced`` of ``show-ha-status`` from ``local``: every peer is Ok."""
    return all(peer_sync(dep, local, p).ok for p in peers(local))


def system_synced(dep: Deployment, server: SimServer) -> bool:
    """``successfully-synced`` of ``show-ha-status`` from the System Data domain.

    Every domain (Global included) seen from this MDS's own copy; a server without copies
    (a Multi-Domain Log Server) looks from each domain's active DMS.
    """
    for dom in dep.domains:
        view = dom.on(server.name) if server.kind == "MDS" else None
        if view is None or view.kind != "CMA":
            actives = dom.actives()
            view = actives[0] if actives else (dom.dms[0] if dom.dms else None)
        if view is not None and not successfully_synced(dep, view):
            return False
    return True
