"""A twin of a real deployment: a lab built from a status document.

The document is what ``mdstools status --format json`` prints or phase 00 writes as
``baseline.json`` (``docs/formats.md#the-status-document``). The lab reads it as data, by
its structure, and never imports the client: every value is checked here (types, the
lab's name rules, sizes), unknown fields are ignored, and a file that is not such a
document raises :class:`TwinDocumentError` naming what is missing or wrong.

What the twin mirrors: the servers by name, role and order (the primary need not be
first), each server's release and build (a mixed-version deployment stays mixed), its
``mdsstat`` columns and which of them show ``N/R``, whether its processes and each DMS/DLS
were up, every domain by name with its DMS and DLS names and IPs on the servers that hold
them, the active MDS of each domain (Global included) and the HA state (a domain in
Collision gets one made-up published session on each active side, so that the databases
differ; ``Never been synchronized`` is kept until the first synchronization; the other
words, ``Synchronized`` and ``unknown``, are the lab's synchronized state: ``unknown`` comes
from a release without ``show-ha-status`` or a peer that is down, which the twin mirrors as
such), a domain with no active DMS, and the login shell (bash when unknown). A domain that
``show-ha-state`` did not list is active on the primary. Not mirrored: process ids, the
servers' addresses, the databases' contents, anything secret (the document has none; the
lab makes its own keys and passwords).
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mdstools.lab.clock import Clock
from mdstools.lab.model import (
    COLLISION,
    GLOBAL,
    NEVER_SYNCED,
    Change,
    Deployment,
    Domain,
    DomainServer,
    Revision,
    SimServer,
    Timings,
)
from mdstools.lab.versions import VERSIONS, profile
from mdstools.lab.vfs import Mount

MAX_SERVERS = 16
MAX_DOMAINS = 5000
MAX_COLUMNS = 16
MAX_FILE_BYTES = 64 << 20
ENVIRONMENT_SUFFIX = "-twin"

SERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
"""A server's name: what an inventory accepts (the twin's inventory uses the same names)."""
OBJECT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
"""A domain's, DMS's or DLS's name: what the lab's programs take as one shell word."""
COLUMN = re.compile(r"[A-Z0-9_]{1,12}")
BUILD = re.compile(r"[A-Za-z0-9_.-]{1,16}")
ROLES = {"primary": "MDS", "secondary": "MDS", "log-server": "MLM"}
KIND_OF_TYPE = {"CMA": "MDS", "CLM": "MLM"}
SHELLS = ("bash", "clish")
UP = ("up", "N/R")


class TwinDocumentError(ValueError):
    """The file is not a status document a twin can be made from; the message says why."""


@dataclass(frozen=True)
class TwinServer:
    """One server as the document shows it."""

    name: str
    role: str
    kind: str  # MDS | MLM
    version: str
    build: str | None
    columns: tuple[str, ...]
    not_running: frozenset[str] | None
    up: bool
    login_shell: str
    ip: str | None


@dataclass(frozen=True)
class TwinDomainServer:
    """One DMS (CMA) or DLS (CLM) row of a server's ``mdsstat``."""

    server: str
    kind: str  # CMA | CLM
    name: str
    ip: str
    up: bool
    not_running: frozenset[str] | None
    row: int  # its position in the document: the order of ``mdsstat``'s rows


@dataclass(frozen=True)
class TwinDomain:
    """A domain: its domain servers, its active MDSs and each MDS's synchronization word."""

    name: str
    servers: tuple[TwinDomainServer, ...]
    active: tuple[str, ...]
    sync: dict[str, str]


@dataclass(frozen=True)
class TwinSpec:
    """What a twin is built from (checked)."""

    environment: str | None
    target: str | None  # the inventory's target_version, when the document has it
    servers: tuple[TwinServer, ...]
    domains: tuple[TwinDomain, ...]  # the Global domain first
    source: str  # where it was read from, for the log

    @property
    def inventory_environment(self) -> str:
        """The twin inventory's environment: ``<original>-twin``, or ``twin``."""
        if not self.environment:
            return ENVIRONMENT_SUFFIX[1:]
        return self.environment[: 63 - len(ENVIRONMENT_SUFFIX)] + ENVIRONMENT_SUFFIX

    def count(self, kind: str) -> int:
        return sum(1 for s in self.servers if s.kind == kind)


def _shown(value: object, limit: int = 40) -> str:
    text = repr(value)
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fail(where: str, what: str) -> TwinDocumentError:
    return TwinDocumentError(f"{where}: {what}")


def _type_name(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


def _obj(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, f"an object is expected, found {_type_name(value)}")
    return value


def _list(doc: dict[str, Any], key: str, where: str = "") -> list[Any]:
    value = doc.get(key)
    if not isinstance(value, list):
        what = "missing" if value is None else f"a {_type_name(value)}"
        raise _fail(
            f"{where}{key}" if where else "not a baseline or status document",
            f'no "{key}" list ({what})' if not where else f"a list is expected ({what})",
        )
    return value


def _name(value: object, where: str, rule: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not rule.fullmatch(value):
        raise _fail(where, f"{_shown(value)} is not a name the twin takes ({what})")
    return value


SERVER_WHAT = "1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit"
OBJECT_WHAT = "1 to 64 letters, digits, '.', '_' or '-', not starting with '.' or '-'"


def _processes(value: object, where: str) -> tuple[tuple[str, ...], frozenset[str], bool]:
    """The columns, which of them are ``N/R``, and whether every one is up."""
    procs = _obj(value, where)
    if len(procs) > MAX_COLUMNS:
        raise _fail(where, f"{len(procs)} process columns; the twin takes at most {MAX_COLUMNS}")
    columns: list[str] = []
    not_running: set[str] = set()
    up = True
    for col, cell in procs.items():
        if not COLUMN.fullmatch(col):
            raise _fail(where, f"{_shown(col)} is not a process column (A-Z, 0-9, _)")
        status = _obj(cell, f"{where}.{col}").get("status")
        if not isinstance(status, str) or len(status) > 16:
            raise _fail(f"{where}.{col}.status", f"a short text, not {_shown(status)}")
        columns.append(col)
        if status == "N/R":
            not_running.add(col)
        up = up and status in UP
    return tuple(columns), frozenset(not_running), up


def _ip(value: object, where: str) -> str:
    try:
        return str(ipaddress.ip_address(value if isinstance(value, str) else ""))
    except ValueError:
        raise _fail(where, f"{_shown(value)} is not an IP address") from None


def _server(item: object, i: int) -> TwinServer:
    where = f"servers[{i}]"
    s = _obj(item, where)
    name = _name(s.get("name"), f"{where}.name", SERVER_NAME, SERVER_WHAT)
    role = s.get("role")
    if role not in ROLES:
        raise _fail(f"{where}.role", f"{_shown(role)}: one of {', '.join(ROLES)} is expected")
    if s.get("reachable") is not True:
        raise _fail(
            where,
            f"{name} was not reachable when the file was taken (its release is unknown); "
            "take the file again when every server answers",
        )
    version = s.get("version")
    if version not in VERSIONS:
        raise _fail(
            f"{where}.version",
            f"{_shown(version)}: the lab knows {', '.join(sorted(VERSIONS))}",
        )
    build = s.get("build")
    if build is not None and (not isinstance(build, str) or not BUILD.fullmatch(build)):
        raise _fail(f"{where}.build", f"{_shown(build)} is not a build number")
    columns, not_running, up = _processes(s.get("processes"), f"{where}.processes")
    shell = s.get("login_shell")
    if shell is not None and shell not in SHELLS:
        raise _fail(f"{where}.login_shell", f"{_shown(shell)}: bash, clish or null")
    host = s.get("host")
    try:
        ip: str | None = str(ipaddress.IPv4Address(host)) if isinstance(host, str) else None
    except ValueError:
        ip = None
    return TwinServer(
        name=name,
        role=str(role),
        kind=ROLES[str(role)],
        version=str(version),
        build=build,
        columns=columns,
        not_running=not_running if columns else None,
        up=up,
        login_shell=shell or "bash",
        ip=ip,
    )


def _servers(doc: dict[str, Any]) -> tuple[TwinServer, ...]:
    items = _list(doc, "servers")
    if not items:
        raise _fail("servers", "the list is empty")
    if len(items) > MAX_SERVERS:
        raise _fail("servers", f"{len(items)} servers; a twin has at most {MAX_SERVERS}")
    servers = tuple(_server(item, i) for i, item in enumerate(items))
    names = [s.name for s in servers]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise _fail(f"servers[{i}].name", f"{name} appears twice")
    primaries = [s.name for s in servers if s.role == "primary"]
    if len(primaries) != 1:
        raise _fail("servers", f"exactly one primary MDS is expected, found {len(primaries)}")
    return servers


def _domain_server(item: object, i: int, kinds: dict[str, str]) -> tuple[str, TwinDomainServer]:
    where = f"domain_servers[{i}]"
    d = _obj(item, where)
    server = d.get("server")
    if server not in kinds:
        raise _fail(f"{where}.server", f"{_shown(server)} is not one of the servers")
    kind = d.get("type")
    if kind not in KIND_OF_TYPE or KIND_OF_TYPE[str(kind)] != kinds[str(server)]:
        expected = "CMA" if kinds[str(server)] == "MDS" else "CLM"
        raise _fail(f"{where}.type", f"{_shown(kind)}: {expected} is expected on {server}")
    name = _name(d.get("name"), f"{where}.name", OBJECT_NAME, OBJECT_WHAT)
    if d.get("domain") is None:
        raise _fail(
            f"{where}.domain",
            f"the domain of {name} is unknown (no MDS answered show-domains when the file "
            "was taken); take the file again",
        )
    domain = _name(d.get("domain"), f"{where}.domain", OBJECT_NAME, OBJECT_WHAT)
    if domain == GLOBAL:
        raise _fail(f"{where}.domain", "the Global domain has no rows of its own in mdsstat")
    _, not_running, up = _processes(d.get("processes"), f"{where}.processes")
    return domain, TwinDomainServer(
        server=str(server),
        kind=str(kind),
        name=name,
        ip=_ip(d.get("ip"), f"{where}.ip"),
        up=up,
        not_running=not_running,
        row=i,
    )


def _ha(doc: dict[str, Any], mdss: set[str]) -> dict[str, tuple[tuple[str, ...], dict[str, str]]]:
    """Each domain of ``domains[]``: its active MDSs and synchronization words."""
    out: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {}
    items = _list(doc, "domains")
    if len(items) > MAX_DOMAINS + 1:
        raise _fail("domains", f"{len(items)} domains; a twin has at most {MAX_DOMAINS}")
    for i, item in enumerate(items):
        where = f"domains[{i}]"
        d = _obj(item, where)
        name = _name(d.get("name"), f"{where}.name", OBJECT_NAME, OBJECT_WHAT)
        actives = d.get("active_servers")
        if actives is None and d.get("active_server") is not None:
            actives = [d.get("active_server")]
        if not isinstance(actives, list) or not all(a in mdss for a in actives):
            raise _fail(f"{where}.active_servers", "a list of the document's MDSs is expected")
        sync = d.get("sync_status") or {}
        if not isinstance(sync, dict) or not all(
            k in mdss and isinstance(v, str) and len(v) <= 40 for k, v in sync.items()
        ):
            raise _fail(f"{where}.sync_status", "MDS -> synchronization word is expected")
        if name in out:
            raise _fail(f"{where}.name", f"{name} appears twice")
        out[name] = (tuple(actives), dict(sync))
    return out


def _domains(doc: dict[str, Any], servers: tuple[TwinServer, ...]) -> tuple[TwinDomain, ...]:
    kinds = {s.name: s.kind for s in servers}
    rows = _list(doc, "domain_servers")
    if len(rows) > MAX_DOMAINS * MAX_SERVERS:
        raise _fail("domain_servers", f"{len(rows)} rows; more than a twin can hold")
    by_domain: dict[str, list[TwinDomainServer]] = {}
    seen: set[tuple[str, str, str]] = set()
    for i, item in enumerate(rows):
        domain, ds = _domain_server(item, i, kinds)
        for key in (
            ("domain", ds.server, domain),
            ("name", ds.server, ds.name),
            ("IP", ds.server, ds.ip),
        ):
            if key in seen:
                raise _fail(f"domain_servers[{i}]", f"{ds.server} has {key[0]} {key[2]} twice")
            seen.add(key)
        by_domain.setdefault(domain, []).append(ds)
    mdss = {s.name for s in servers if s.kind == "MDS"}
    ha = _ha(doc, mdss)
    order = [n for n in ha if n != GLOBAL] + [n for n in by_domain if n not in ha]
    if not order:
        raise _fail(
            "domains",
            "no domains (no MDS answered show-domains and show-ha-state when the file was "
            "taken, or the deployment has none); take the file again",
        )
    if len(order) > MAX_DOMAINS:
        raise _fail("domains", f"{len(order)} domains; a twin has at most {MAX_DOMAINS}")
    primary = next(s.name for s in servers if s.role == "primary")
    glob_active, glob_sync = ha.get(GLOBAL, ((primary,), {}))
    out = [TwinDomain(name=GLOBAL, servers=(), active=glob_active, sync=glob_sync)]
    for name in order:
        held = by_domain.get(name)
        if not held:
            raise _fail("domains", f"{name} has no DMS in domain_servers")
        if name in ha:
            active, sync = ha[name]
        else:  # not in show-ha-state: as a new domain, active on the primary
            on = [d.server for d in held if d.kind == "CMA"]
            active, sync = ((primary,) if primary in on else tuple(on[:1])), {}
        out.append(TwinDomain(name=name, servers=tuple(held), active=active, sync=sync))
    return tuple(out)


def parse(data: object, source: str = "the document") -> TwinSpec:
    """Check a parsed status document and return what a twin is built from."""
    doc = _obj(data, "not a baseline or status document")
    env = doc.get("environment")
    if env is not None and (not isinstance(env, str) or not SERVER_NAME.fullmatch(env)):
        raise _fail("environment", f"{_shown(env)} is not an environment name ({SERVER_WHAT})")
    target = doc.get("target_version")
    if target is not None and (not isinstance(target, str) or not BUILD.fullmatch(target)):
        raise _fail("target_version", f"{_shown(target)} is not a release name")
    servers = _servers(doc)
    return TwinSpec(
        environment=env,
        target=target,
        servers=servers,
        domains=_domains(doc, servers),
        source=source,
    )


def load(path: str | Path) -> TwinSpec:
    """Read and check the status document at ``path``."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise TwinDocumentError(f"cannot read {p}: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise TwinDocumentError(f"{p}: larger than {MAX_FILE_BYTES >> 20} MB")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise TwinDocumentError(
            f"{p}: not JSON ({_shown(str(exc), 80)}); a baseline.json or the output of "
            "mdstools status --format json is expected"
        ) from None
    try:
        return parse(data, str(p))
    except TwinDocumentError as exc:
        raise TwinDocumentError(f"{p}: {exc}") from None


def _version(s: TwinServer, columns: dict[str, tuple[str, ...]] | None) -> Any:
    base = profile(s.version, columns)
    return replace(base, fw_build=s.build) if s.build else base


def _sim_servers(spec: TwinSpec, columns: dict[str, tuple[str, ...]] | None) -> list[SimServer]:
    out = []
    for i, s in enumerate(spec.servers):
        ip = s.ip or f"192.0.2.{11 + i}"
        sim = SimServer(s.name, s.kind, s.role, ip, i, _version(s, columns))
        if s.columns:
            sim.columns[s.version] = s.columns
            sim.not_running = s.not_running
        out.append(sim)
    return out


def _add_global(dep: Deployment, dom: TwinDomain) -> None:
    glob = Domain(GLOBAL, 0, is_global=True)
    dep.domains.append(glob)
    for s in dep.mdss:
        g = DomainServer(glob, s, "", s.ip, "CMA")
        g.ha_state = "active" if s.name in dom.active else "standby"
        glob.dms.append(g)
        s.locals.append(g)


def _add_domain(dep: Deployment, dom: TwinDomain, index: int) -> list[tuple[int, DomainServer]]:
    """The domain and its domain servers, each with its row in the document."""
    d = Domain(dom.name, index)
    dep.domains.append(d)
    made = []
    for row in dom.servers:
        host = dep.server(row.server)
        ds = DomainServer(d, host, row.name, row.ip, row.kind)
        ds.not_running = row.not_running
        if row.kind == "CMA":
            ds.ha_state = "active" if row.server in dom.active else "standby"
            d.dms.append(ds)
        else:
            d.dls.append(ds)
        made.append((row.row, ds))
    _mirror_sync(dep, d, dom)
    return made


def _mirror_sync(dep: Deployment, d: Domain, dom: TwinDomain) -> None:
    """The synchronization words of the document; a Collision as diverged databases."""
    collided = [x for x in d.dms if dom.sync.get(x.host.name) == COLLISION]
    if len(d.actives()) > 1:
        collided = d.actives()
    for x in collided:
        x.sync_status = COLLISION
        change = Change(str(uuid.uuid4()), f"twin_{x.host.name}", "host", "added", {})
        x.revisions.append(
            Revision(str(uuid.uuid4()), "twin", dep.clock.wall(), [change], x.host.name)
        )
    for x in d.dms:
        if dom.sync.get(x.host.name) == NEVER_SYNCED and x.ha_state != "active":
            x.sync_status = NEVER_SYNCED


def build(
    spec: TwinSpec,
    clock: Clock,
    timings: Timings | None = None,
    columns: dict[str, tuple[str, ...]] | None = None,
) -> Deployment:
    """The deployment of ``spec``: its servers, domains, processes and HA state."""
    dep = Deployment(clock, timings, columns)
    dep.environment = spec.inventory_environment
    dep.servers.extend(_sim_servers(spec, columns))
    _add_global(dep, spec.domains[0])
    rows: list[tuple[int, DomainServer]] = []
    for index, dom in enumerate(spec.domains[1:], start=1):
        rows += _add_domain(dep, dom, index)
    for _, ds in sorted(rows, key=lambda r: r[0]):
        ds.host.locals.append(ds)
    up = {s.name: s.up for s in spec.servers}
    states = {(r.server, r.name): r.up for dom in spec.domains for r in dom.servers}
    base = 20000
    for s in dep.servers:
        s.life.force(up[s.name], base)
        base += 10
        for d in s.locals:
            d.life.force(states.get((s.name, d.name), True), base)
            base += 10
            d.last_sync = None if d.sync_status == NEVER_SYNCED else clock.wall()
        s.vfs.mounts = [
            Mount("/", 20 * 1024 * 1024, 8 * 1024 * 1024),
            Mount("/var/log", 200 * 1024 * 1024, 40 * 1024 * 1024),
        ]
    return dep


__all__ = ["MAX_DOMAINS", "MAX_SERVERS", "TwinDocumentError", "TwinSpec", "build", "load", "parse"]
