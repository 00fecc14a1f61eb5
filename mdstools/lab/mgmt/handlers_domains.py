"""``show-domains``, ``show-domain``, ``show-global-domain``, ``show-mdss``, ``show-mds``."""

from __future__ import annotations

import uuid

from mdstools.lab.mgmt.context import Ctx
from mdstools.lab.mgmt.errors import MgmtCliError, not_found
from mdstools.lab.mgmt.registry import command
from mdstools.lab.mgmt.render import JsonObj
from mdstools.lab.mgmt.shapes import domain_ref, filtered, object_meta, paginate, server_uid
from mdstools.lab.model import Deployment, Domain, DomainServer, SimServer


def _domain_server_obj(d: DomainServer) -> JsonObj:
    return {
        "name": d.name,
        "type": "management server" if d.kind == "CMA" else "log server",
        "ipv4-address": d.ip,
        "multi-domain-server": d.host.name,
        "active": d.kind == "CMA" and d.ha_state == "active",
        "version": d.object_version,  # LAB EXTENSION, see show-domains
    }


def _domain_obj(dom: Domain, full: bool) -> JsonObj:
    obj: JsonObj = {"uid": dom.uid, "name": dom.name, "type": "domain", "domain": domain_ref(None)}
    if not full:
        return obj
    obj.update(object_meta())
    obj["icon"] = "Objects/domain"
    obj["domain-type"] = "domain"
    obj["servers"] = [_domain_server_obj(d) for d in dom.dms + dom.dls]
    obj["global-domain-assignments"] = []
    return obj


@command("show-domains")
def _show_domains(ctx: Ctx) -> JsonObj:
    """``show-domains [details-level full] [filter X] [limit N] [offset N]``: user domains only.

    Never lists Global (``show-global-domain`` does). ``details-level full`` adds
    ``servers[]`` (``name``, ``type`` ``management server``/``log server``,
    ``ipv4-address``, ``multi-domain-server``, ``active``) and, a LAB EXTENSION not seen on
    a real server, ``version``: the domain server's object version, which
    ``mds_fix_cmas_clms_version`` corrects. A log server is never ``active`` (INFERRED).
    """
    doms = filtered(ctx.dep.user_domains, ctx, lambda d: d.name)
    page, head = paginate(doms, ctx, 50)
    head["objects"] = [_domain_obj(d, ctx.full) for d in page]
    return head


@command("show-domain")
def _show_domain(ctx: Ctx) -> JsonObj:
    """``show-domain name X`` (or ``uid X``): one user domain at full detail."""
    key = ctx.param("name") or ctx.param("uid")
    if not key:
        raise MgmtCliError("generic_err_missing_required_parameters", "Missing parameter: [name]")
    dom = next((d for d in ctx.dep.user_domains if key in (d.name, d.uid)), None)
    if dom is None:
        raise not_found(key)
    return _domain_obj(dom, True)


@command("show-global-domain")
def _show_global_domain(ctx: Ctx) -> JsonObj:
    """``show-global-domain``: the Global domain, members by MDS name and no address.

    As an R82 lab note shows: ``{"name": "", "ipv4-address": "", "multi-domain-server":
    X, "active": B}`` per MDS.
    """
    glob = next(d for d in ctx.dep.domains if d.is_global)
    obj: JsonObj = {
        "uid": glob.uid,
        "name": glob.name,
        "type": "global domain",
        "domain": domain_ref(None),
    }
    obj.update(object_meta())
    obj["icon"] = "Objects/domain"
    obj["domain-type"] = "global domain"
    obj["servers"] = [
        {
            "name": "",
            "ipv4-address": "",
            "multi-domain-server": d.host.name,
            "active": d.ha_state == "active",
        }
        for d in glob.dms
    ]
    return obj


def _mds_obj(dep: Deployment, s: SimServer, full: bool, show_domains: bool) -> JsonObj:
    if not full:
        return {
            "folder": {
                "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, "global-objects.lab")),
                "name": "Global Objects",
            },
            "domain": domain_ref(None, "system domain"),
            "type": "mds",
            "name": s.name,
            "uid": server_uid(s),
        }

    def ref(name: str, kind: str) -> JsonObj:
        return {
            "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.{kind}.lab")),
            "name": name,
            "type": kind,
        }

    obj: JsonObj = {
        "uid": server_uid(s),
        "name": s.name,
        "type": "mds",
        "domain": domain_ref(None),
        "ipv4-address": s.ip,
        "ip-pool-first": "",
        "ip-pool-last": "",
        "server-type": "multi-domain server" if s.kind == "MDS" else "multi-domain log server",
        "version": ref(s.version.name, "version"),
        "hardware": ref("Open server", "hardware"),
        "os": ref("Gaia", "os"),
        "sic-name": f"cn=cp_mgmt,o={s.name}..lab{s.index:04d}",
        "sic-state": "trust established",
    }
    if show_domains:
        obj["domains"] = [
            {"uid": d.domain.uid, "name": d.domain.name, "type": "domain"}
            for d in s.locals
            if not d.is_global
        ]
        obj["global-domains"] = [
            {"uid": d.domain.uid, "name": d.domain.name, "type": "global domain"}
            for d in s.locals
            if d.is_global
        ]
    obj.update({"comments": "", "color": "black", "tags": []})
    return obj


@command("show-mdss", scope="system")
def _show_mdss(ctx: Ctx) -> JsonObj:
    """``show-mdss [details-level full] [show-domains false]``: every MDS and MLM.

    Standard objects as the official example (``folder``, ``domain``, ``type``, ``name``,
    ``uid``); ``full`` uses the INFERRED ``show-mds`` layout: ``server-type``
    (``multi-domain server`` / ``multi-domain log server``), ``version.name`` the release the
    server runs, ``hardware``, ``os``, ``sic-*``, ``domains[]``, ``global-domains[]``.
    """
    servers = filtered(ctx.dep.servers, ctx, lambda s: s.name)
    page, head = paginate(servers, ctx, 50)
    head["objects"] = [_mds_obj(ctx.dep, s, ctx.full, ctx.flag("show-domains", True)) for s in page]
    return head


@command("show-mds", scope="system")
def _show_mds(ctx: Ctx) -> JsonObj:
    """``show-mds name X`` (or ``uid X``): one MDS/MLM at full detail (see ``show-mdss``)."""
    key = ctx.param("name") or ctx.param("uid")
    if not key:
        raise MgmtCliError("generic_err_missing_required_parameters", "Missing parameter: [name]")
    s = next((x for x in ctx.dep.servers if key in (x.name, server_uid(x))), None)
    if s is None:
        raise not_found(key)
    return _mds_obj(ctx.dep, s, True, ctx.flag("show-domains", True))
