"""``show-servers-and-processes``: the API form of ``mdsstat``."""

from __future__ import annotations

from mdstools.lab.mgmt.context import Ctx
from mdstools.lab.mgmt.registry import command
from mdstools.lab.mgmt.render import JsonObj
from mdstools.lab.mgmt.shapes import domain_ref
from mdstools.lab.model import ProcessRow

PROCESS_SERVER_TYPES: dict[str, str] = {
    "MDS": "mds",  # verbatim
    "CMA": "domain-server",  # verbatim
    "MLM": "mlm",  # INFERRED: no example shows a Multi-Domain Log Server
    "CLM": "log-server",  # INFERRED: no example shows a Domain Log Server
}
"""``type`` of a ``show-servers-and-processes`` entry by ``mdsstat`` row type."""


def _server_status(row: ProcessRow) -> str:
    if row.all_up:
        return "up"
    states = {s for s, _ in row.cells.values()}
    for worst in ("down", "pnd", "init", "N/A"):
        if worst in states:
            return worst
    return "down"


@command(
    "show-servers-and-processes",
    scope="system",
    since="1.8.1",
    available=lambda v: v.has_servers_and_processes,
)
def _show_servers_and_processes(ctx: Ctx) -> JsonObj:
    """``show-servers-and-processes``: the API form of ``mdsstat`` for this server.

    One entry per ``mdsstat`` row: ``name``, ``type`` (see :data:`PROCESS_SERVER_TYPES`),
    ``domain``, ``ip-address``, ``server-status`` and ``processes[]`` (``name``,
    ``status`` as the ``mdsstat`` cell: ``up``/``down``/``pnd``/``init``/``N/A``/``N/R``,
    and ``pid`` as a string when there is one).
    """
    out: list[JsonObj] = []
    for row in ctx.dep.rows(ctx.server):
        if row.type in ("MDS", "MLM"):
            name, dom_ref = ctx.server.name, domain_ref(None)
        else:
            d = ctx.server.local(row.name)
            name, dom_ref = row.name, domain_ref(d.domain if d else None)
        procs: list[JsonObj] = []
        for col, (status, pid) in row.cells.items():
            p: JsonObj = {"name": col, "status": status}
            if pid is not None:
                p["pid"] = str(pid)
            procs.append(p)
        out.append(
            {
                "name": name,
                "type": PROCESS_SERVER_TYPES.get(row.type, row.type.lower()),
                "domain": dom_ref,
                "ip-address": row.ip,
                "server-status": _server_status(row),
                "processes": procs,
            }
        )
    return {"servers": out}
