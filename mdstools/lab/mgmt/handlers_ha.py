"""The HA commands: ``show-ha-state``, ``show-ha-status``, ``set-ha-state``, ``ha-full-sync``."""

from __future__ import annotations

from mdstools.lab import ha_api
from mdstools.lab.mgmt.context import Ctx
from mdstools.lab.mgmt.registry import command
from mdstools.lab.mgmt.render import JsonObj
from mdstools.lab.mgmt.shapes import SYSTEM_DATA, SYSTEM_DATA_UID, domain_ref, stamp
from mdstools.lab.mgmt.tasks import start_task
from mdstools.lab.model import DomainServer


def _ha_server_obj(d: DomainServer) -> JsonObj:
    obj: JsonObj = {} if d.is_global else {"name": d.name}
    obj.update(
        {"ip-address": d.ip, "ha-state": ha_api.ha_state(d), "multi-domain-server": d.host.name}
    )
    return obj


@command("show-ha-state", since="1.6.1", ha=True)
def _show_ha_state(ctx: Ctx) -> JsonObj:
    """``show-ha-state``: every domain (Global first) from System Data; the session's domain
    from a domain session (same ``domains[]`` shape, one entry: INFERRED).

    Shape of ``docs/formats.md#show-ha-state``: ``uid``, ``name``, ``domain-type``, ``servers[]``
    (``name`` for a user domain only, ``ip-address``, ``ha-state``,
    ``multi-domain-server``). In a Collision the domain lists two ``active`` servers.
    """
    ctx.dep.sync_all()
    doms = ctx.dep.domains if ctx.domain is None else [ctx.domain]
    out: list[JsonObj] = []
    for dom in doms:
        entry = domain_ref(dom)
        entry["servers"] = [_ha_server_obj(d) for d in dom.dms]
        out.append(entry)
    return {"domains": out}


@command("show-ha-status", since="1.9.1", available=lambda v: v.has_ha_status, ha=True)
def _show_ha_status(ctx: Ctx) -> JsonObj:
    """``show-ha-status`` (R81.20 JHF and later): the local server's view of its peers.

    From a domain session: ``uid``, ``name``, ``domain-type``, ``servers[]`` (the OTHER
    domain servers: ``ip-address``, ``ha-state``, ``multi-domain-server``,
    ``last-successful-sync`` when synced, ``sync-state``), ``successfully-synced``. From
    System Data only the aggregate. The words come from :mod:`mdstools.lab.ha_api`.
    """
    dep = ctx.dep
    dep.sync_all()
    local = ctx.local
    if local is None:
        return {
            "uid": SYSTEM_DATA_UID,
            "name": SYSTEM_DATA,
            "domain-type": "mds",
            "successfully-synced": ha_api.system_synced(dep, ctx.server),
        }
    servers: list[JsonObj] = []
    for peer in ha_api.peers(local):
        status = ha_api.peer_sync(dep, local, peer)
        obj: JsonObj = {
            "ip-address": peer.ip,
            "ha-state": ha_api.ha_state(peer),
            "multi-domain-server": peer.host.name,
        }
        if status.last_successful_sync is not None:
            obj["last-successful-sync"] = stamp(status.last_successful_sync)
        if ha_api.shows_sync_state(peer, status):
            obj["sync-state"] = status.sync_state
        servers.append(obj)
    body = domain_ref(local.domain)
    body["servers"] = servers
    body["successfully-synced"] = ha_api.successfully_synced(dep, local)
    return body


@command("set-ha-state", scope="domain", since="1.6.1", ha=True)
def _set_ha_state(ctx: Ctx) -> JsonObj:
    """``set-ha-state new-state active|standby``: switches the LOCAL domain server.

    The state changes at once (errors, e.g. already in that state, are the call's error);
    the task reports completion after ``timings.set_ha_state`` scaled seconds. Returns
    ``task-id`` and ``login-required`` (``"true"`` when switching to standby: the session
    expires). Task details (INFERRED): ``statusCode``/``statusDescription``.
    """
    local = ctx.need_local()
    new_state = ctx.require("new-state").lower()
    ctx.dep.set_ha_state(local, new_state)
    who = local.name or f"Global domain on {local.host.name}"
    task = start_task(
        ctx, "Set HA State", ctx.dep.timings.set_ha_state, f"{who} is now {new_state}"
    )
    standby = new_state == "standby"
    if standby and ctx.session is not None:
        ctx.session.expired = True
        ctx.dep.api.ended(ctx.session.sid, ctx.session.server)
    return {"task-id": task.task_id, "login-required": "true" if standby else "false"}


@command("ha-full-sync", scope="domain", since="1.6.1", ha=True)
def _ha_full_sync(ctx: Ctx) -> JsonObj:
    """``ha-full-sync name PEER``: overwrites the standby PEER with the local (active) copy.

    PEER is the peer's domain-server name (``dom1_Server_2``), its IP, or for Global the
    MDS name. Validated now (``Deployment.full_sync``); the copy happens when the task
    finishes after ``timings.full_sync`` scaled seconds (``complete_full_sync``: the peer's
    own changes are lost, recorded in its ``lost``). Returns ``task-id``.
    """
    local = ctx.need_local()
    peer = ctx.dep.full_sync(local, ctx.require("name"))
    dep = ctx.dep
    task = start_task(
        ctx,
        "Full Sync",
        dep.timings.full_sync,
        f"Full sync from {local.host.name} to {peer.host.name} completed",
        effect=lambda: dep.complete_full_sync(local, peer),
    )
    return {"task-id": task.task_id}
