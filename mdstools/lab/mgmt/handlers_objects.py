"""``add-``, ``set-`` and ``delete-`` of the object types the lab keeps (host, network ...)."""

from __future__ import annotations

import uuid

from mdstools.lab.mgmt.context import Ctx
from mdstools.lab.mgmt.errors import MgmtCliError, not_found
from mdstools.lab.mgmt.registry import command
from mdstools.lab.mgmt.render import JsonObj
from mdstools.lab.mgmt.sessions import ROOT_USER
from mdstools.lab.mgmt.shapes import domain_ref, object_meta
from mdstools.lab.model import Change, DomainServer

OBJECT_TYPES: dict[str, str] = {
    "host": "Objects/host",
    "network": "NetworkObjects/network",
    "group": "General/group",
    "service-tcp": "Protocols/TCP",
    "service-udp": "Protocols/UDP",
}
"""Object types the lab can add, set and delete, with their icon."""

_CONTROL_KEYS = {
    "name",
    "uid",
    "details-level",
    "ignore-warnings",
    "ignore-errors",
    "set-if-exists",
}
_RENAMED = {"ip-address": "ipv4-address"}
_OPERATION = {"add": "added", "set": "modified", "delete": "deleted"}


def _fields_in(params: JsonObj) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in params.items():
        if k in _CONTROL_KEYS:
            continue
        out[k] = ",".join(str(x) for x in v) if isinstance(v, list) else str(v)
    return out


def fields_out(otype: str, fields: dict[str, str]) -> JsonObj:
    """Stored fields as an ``otype`` object shows them (``ipv4-address``, members as a list)."""
    out: JsonObj = {}
    for k, v in fields.items():
        key = _RENAMED.get(k, k)
        out[key] = v.split(",") if otype == "group" and k == "members" else v
    return out


def _objects(local: DomainServer, pending: list[Change]) -> dict[tuple[str, str], Change]:
    """The objects of the local database (plus a session's pending changes) by (type, name)."""
    objs: dict[tuple[str, str], Change] = {}
    changes = [
        c for r in sorted(local.revisions, key=lambda r: r.publish_time) for c in r.changes
    ] + pending
    for c in changes:
        key = (c.type, c.name)
        if c.operation == "deleted":
            objs.pop(key, None)
        elif c.operation == "modified" and key in objs:
            merged = dict(objs[key].fields)
            merged.update(c.fields)
            objs[key] = Change(c.uid, c.name, c.type, "added", merged)
        else:
            objs[key] = Change(c.uid, c.name, c.type, "added", dict(c.fields))
    return objs


def _edit(ctx: Ctx, op: str, otype: str) -> JsonObj:
    local = ctx.need_local()
    pending = ctx.session.pending if ctx.session is not None else []
    existing = _objects(local, pending)
    name = ctx.param("name")
    if name is None and ctx.param("uid"):
        name = next(
            (c.name for c in existing.values() if c.type == otype and c.uid == ctx.param("uid")),
            None,
        )
        if name is None:
            raise not_found(str(ctx.param("uid")))
    if name is None:
        raise MgmtCliError("generic_err_missing_required_parameters", "Missing parameter: [name]")
    current = existing.get((otype, name))
    if op == "add" and current is not None:
        msg = f"More than one object named '{name}' exists."
        raise MgmtCliError(
            "err_validation_failed",
            "Validation failed with 1 error",
            errors=[{"message": msg, "current-session": True}],
        )
    if op != "add" and current is None:
        raise not_found(name)
    uid = current.uid if current is not None else str(uuid.uuid4())
    fields = _fields_in(ctx.params)
    change = Change(uid, name, otype, _OPERATION[op], fields)
    if ctx.session is not None:
        ctx.session.pending.append(change)
    else:
        ctx.dep.publish(local, [change], admin=ROOT_USER)
    if op == "delete":
        return {"message": "OK"}
    shown = dict(current.fields) if current is not None and op == "set" else {}
    shown.update(fields)
    obj: JsonObj = {"uid": uid, "name": name, "type": otype, "domain": domain_ref(ctx.domain)}
    obj.update(fields_out(otype, shown))
    obj.update(object_meta())
    obj["icon"] = OBJECT_TYPES[otype]
    return obj


def _register_edits() -> None:
    for otype in OBJECT_TYPES:
        for op in ("add", "set", "delete"):

            def handler(ctx: Ctx, op: str = op, otype: str = otype) -> JsonObj:
                return _edit(ctx, op, otype)

            handler.__doc__ = (
                f"``{op}-{otype} name X [field value]...``: without ``-s`` an implicit "
                "session (login, change, publish, logout) that prints the object; with "
                "``-s`` the change waits in the session until ``publish``."
            )
            command(f"{op}-{otype}")(handler)


_register_edits()
