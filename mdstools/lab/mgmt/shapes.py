"""Shapes every response shares: time stamps, domain and server references, pages."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from mdstools.lab.mgmt.context import Ctx
from mdstools.lab.mgmt.render import JsonObj
from mdstools.lab.model import Domain, DomainServer, Revision, SimServer

SYSTEM_DATA = "System Data"
SYSTEM_DATA_UID = "a0eebc99-afed-4ef8-bb6d-fedfedfedfed"  # verbatim in the official examples


def stamp(epoch: float) -> JsonObj:
    """``{posix, iso-8601}`` (milliseconds; the lab's servers run in UTC)."""
    iso = datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M%z")
    return {"posix": round(epoch * 1000), "iso-8601": iso}


def domain_ref(dom: Domain | None, system_type: str = "mds") -> JsonObj:
    """``{uid, name, domain-type}`` of a domain (System Data when ``dom`` is None)."""
    if dom is None:
        return {"uid": SYSTEM_DATA_UID, "name": SYSTEM_DATA, "domain-type": system_type}
    return {
        "uid": dom.uid,
        "name": dom.name,
        "domain-type": "global domain" if dom.is_global else "domain",
    }


def server_uid(s: SimServer) -> str:
    """A stable uid for the MDS or MLM ``s``."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{s.name}.server.lab"))


def paginate(items: list[Any], ctx: Ctx, default_limit: int) -> tuple[list[Any], JsonObj]:
    """The page of ``items`` that ``limit``/``offset`` ask for and its ``from``/``to``/``total``."""
    limit = ctx.number("limit", default_limit)
    offset = ctx.number("offset", 0)
    page = items[offset : offset + limit]
    head: JsonObj = {
        "from": offset + 1 if page else 0,
        "to": offset + len(page),
        "total": len(items),
    }
    return page, head


def filtered(names: Iterable[Any], ctx: Ctx, key: Callable[[Any], str]) -> list[Any]:
    """The items whose ``key`` contains the ``filter`` parameter (case-insensitive), in order."""
    text = ctx.param("filter")
    return [n for n in names if not text or text.lower() in key(n).lower()]


def object_meta() -> JsonObj:
    """The meta fields every object shows (``tags``, ``read-only``, ``comments``, ``color``)."""
    return {"tags": [], "read-only": False, "comments": "", "color": "black"}


def newest_first(local: DomainServer | None) -> list[Revision]:
    """The published sessions of ``local``'s database, newest first (none without a copy)."""
    if local is None:
        return []
    return sorted(local.revisions, key=lambda r: r.publish_time, reverse=True)
