"""Domains, MDSs and High Availability through the Management API on the box:
``mgmt_cli -r true [-d <domain>] <command> ... --format json``.

Shapes: ``docs/formats.md#mgmt_cli`` and the sections after it (official examples).
Every parser goes through :func:`load_json`: an error body ``{code, message}`` raises
ApiError, text that is not JSON raises ParseError with the raw text. ``mgmt_cli`` exits
non-zero with an error body, so exit status 1 counts as "ran" and the body decides.

:func:`sync_status` is the ONE place that turns API answers into SmartConsole's words
(Synchronized, Never been synchronized, Collision); that mapping is INFERRED.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from mdstools.commands._text import clean, fail, integer, json_int, squote
from mdstools.commands.base import Command
from mdstools.errors import ApiError
from mdstools.records import (
    COLLISION,
    NEVER_SYNCHRONIZED,
    SYNCHRONIZED,
    UNKNOWN,
    DomainServerInfo,
    HaPeer,
    HaStateEntry,
    HaStatus,
    MdsInfo,
    MgmtTask,
    ProcessRow,
    ProcessState,
    PublishedSession,
    TaskRef,
)

__all__ = [
    "ha_full_sync",
    "load_json",
    "login",
    "logout",
    "mgmt",
    "parse_domain_uids",
    "parse_domains",
    "parse_ha_state",
    "parse_ha_status",
    "parse_last_published_session",
    "parse_mdss",
    "parse_servers_and_processes",
    "parse_task",
    "parse_task_ref",
    "set_ha_state",
    "show_domains",
    "show_ha_state",
    "show_ha_status",
    "show_last_published_session",
    "show_mdss",
    "show_servers_and_processes",
    "show_task",
    "sync_status",
]

MGMT_OK_CODES = (0, 1)
SYSTEM_DATA = "System Data"
_NAME = re.compile(r"^[a-z][a-z0-9.\-]*$")
_ERROR_KEYS = {"code", "message", "warnings", "errors", "blocking-errors"}
SERVER_TYPES = {
    "mds": "MDS",
    "mlm": "MLM",
    "multi-domain log server": "MLM",
    "domain-server": "CMA",
    "domain-log-server": "CLM",
    "log-server": "CLM",
}


# -- the command line and the JSON body -----------------------------------------------------
def mgmt(
    command: str,
    params: dict[str, str] | None = None,
    domain: str | None = None,
    session: str | None = None,
) -> str:
    """The ``mgmt_cli`` line; the domain and the values are single-quoted.

    Example: ``mgmt("show-ha-status", domain="dom1") ==
    "mgmt_cli -r true -d 'dom1' show-ha-status --format json"``;
    ``mgmt("show-task", {"task-id": "t1"})`` ->
    ``"mgmt_cli -r true show-task task-id 't1' --format json"``. With ``session`` (a
    session file, a shell word the caller wrote: ``"$d/s1"``), the command runs in that
    session instead of logging in: ``mgmt_cli show-ha-status -s "$d/s1" --format json``.
    """
    if not _NAME.match(command):
        raise ValueError(f"not a Management API command name: {command!r}")
    parts = ["mgmt_cli"]
    if session is None:
        parts += ["-r", "true"]
        if domain is not None:
            parts += ["-d", squote(domain)]
    parts.append(command)
    for key, value in (params or {}).items():
        if not _NAME.match(key):
            raise ValueError(f"not a Management API parameter name: {key!r}")
        parts += [key, squote(value)]
    if session is not None:
        parts += ["-s", session]
    parts += ["--format", "json"]
    return " ".join(parts)


def login(domain: str, read_only: bool = True) -> str:
    """The login to ``domain`` (its name or UID) whose answer, the session, a caller
    redirects to a file: read-only unless ``read_only`` is False (a session for a change).

    Example: ``login("dom1") == "mgmt_cli login -r true -d 'dom1' read-only true --format
    json"``; ``login("dom1", read_only=False) == "mgmt_cli login -r true -d 'dom1' --format
    json"``.
    """
    mode = " read-only true" if read_only else ""
    return f"mgmt_cli login -r true -d {squote(domain)}{mode} --format json"


def publish(session: str) -> str:
    """The publish of the session in file ``session``: what makes a session's changes real.

    Example: ``publish('"$d/s1"') == 'mgmt_cli publish -s "$d/s1" --format json'``.
    """
    return mgmt("publish", session=session)


def logout(session: str) -> str:
    """The logout of the session in file ``session`` (a shell word the caller wrote).

    Example: ``logout('"$d/s1"') == 'mgmt_cli logout -s "$d/s1" --format json'``.
    """
    return mgmt("logout", session=session)


def _where(domain: str | None, session: str | None) -> dict[str, str | None]:
    """``mgmt``'s keywords: the session file when there is one, else the domain."""
    return {"session": session} if session is not None else {"domain": domain}


def load_json(text: str, command: str = "") -> Any:
    """The JSON body ``mgmt_cli --format json`` printed (leading non-JSON lines skipped).

    Example: ``{ "message" : "OK" }`` -> ``{"message": "OK"}``.

    Raises ApiError for an error body (``{"code": "generic_err_command_not_found",
    "message": "..."}`` -> ``ApiError("generic_err_command_not_found", ...)``) and
    ParseError (raw text kept) for anything that is not JSON.
    """
    body = clean(text).strip()
    data: Any = None
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        start = next(
            (m.start() for m in re.finditer(r"(?m)^[ \t]*[\[{]", body)),
            -1,
        )
        if start < 0:
            raise fail(f"mgmt_cli {command}".strip(), "the output is not JSON", text) from None
        try:
            data, _ = json.JSONDecoder().raw_decode(body[start:].lstrip())
        except json.JSONDecodeError as exc:
            raise fail(
                f"mgmt_cli {command}".strip(), f"the output is not JSON: {exc}", text
            ) from None
        except (ValueError, RecursionError) as exc:
            raise fail(f"mgmt_cli {command}".strip(), _unreadable(exc), text) from None
    except (ValueError, RecursionError) as exc:
        raise fail(f"mgmt_cli {command}".strip(), _unreadable(exc), text) from None
    data = _unicode(data)
    if (
        isinstance(data, dict)
        and isinstance(data.get("code"), str)
        and data["code"]
        and "message" in data
        and set(data) <= _ERROR_KEYS
    ):
        raise ApiError(data["code"], str(data["message"]), command)
    return data


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unicode(data: Any) -> Any:
    """``data`` with every lone surrogate (JSON allows ``"\\ud800"``, UTF-8 does not) replaced
    by U+FFFD, so that no record or report fails to be written because of one name."""
    if isinstance(data, str):
        return _SURROGATE.sub("\ufffd", data)
    if isinstance(data, list):
        return [_unicode(v) for v in data]
    if isinstance(data, dict):
        return {_unicode(k): _unicode(v) for k, v in data.items()}
    return data


def _unreadable(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "the JSON body is nested too deeply"
    return f"the JSON body has a value that cannot be read: {str(exc).split(';')[0]}"


def _obj(text: str, command: str) -> dict[str, Any]:
    data = load_json(text, command)
    if not isinstance(data, dict):
        raise fail(f"mgmt_cli {command}", "the JSON body is not an object", text)
    return data


def _list(data: dict[str, Any], key: str, command: str, text: str) -> list[dict[str, Any]]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise fail(f"mgmt_cli {command}", f"no '{key}' list in the answer", text)
    return value


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    while isinstance(value, dict):
        value = value.get("name")
    if value is None or value == "":
        return None
    return str(value)


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _command(line: str, parser: Callable[[str], Any], name: str, **kw: Any) -> Command[Any]:
    return Command(line, parser, name=name, ok_codes=MGMT_OK_CODES, **kw)


# -- show-domains ---------------------------------------------------------------------------
def show_domains() -> Command[list[DomainServerInfo]]:
    """``show-domains details-level full limit 500``: every domain server of every domain
    (never Global).

    Example record::

        DomainServerInfo(domain="dom1", name="dom1_Server", mds="mds1", ip="10.1.0.1",
                         type="management server", active=True, version="R81.20")

    ``version`` is None unless the answer has a ``version`` key for the server.
    """
    line = mgmt("show-domains", {"details-level": "full", "limit": "500"})
    return _command(line, parse_domains, "show_domains", timeout_s=300.0)


def parse_domains(text: str) -> list[DomainServerInfo]:
    """Parse ``show-domains`` (full) into :class:`DomainServerInfo` records; a domain
    without ``servers`` (standard detail) gives none.

    Example record: ``DomainServerInfo(domain="SMS", name="SMS_Server_2", mds="site-b",
    ip="172.28.2.196", type="management server", active=False, version=None)``.
    """
    data = _obj(text, "show-domains")
    out: list[DomainServerInfo] = []
    for dom in _list(data, "objects", "show-domains", text):
        for s in _dicts(dom.get("servers")):
            out.append(
                DomainServerInfo(
                    domain=str(dom.get("name", "")),
                    name=str(s.get("name", "")),
                    mds=str(_str(s.get("multi-domain-server")) or ""),
                    ip=_str(s.get("ipv4-address")) or _str(s.get("ipv6-address")),
                    type=str(s.get("type", "")),
                    active=_bool(s.get("active")),
                    version=_str(s.get("version")),
                )
            )
    return out


def parse_domain_uids(text: str) -> dict[str, str]:
    """Each domain's UID in a ``show-domains`` answer (a login by UID works where one by
    name has been seen failing after an upgrade).

    Example: ``{"dom1": "977ae109-ce64-5ee6-96c0-52467cf5fd08"}``.
    """
    data = _obj(text, "show-domains")
    return {
        str(dom["name"]): uid
        for dom in _list(data, "objects", "show-domains", text)
        if isinstance(dom.get("name"), str) and (uid := _str(dom.get("uid")))
    }


# -- show-mdss ------------------------------------------------------------------------------
def show_mdss() -> Command[list[MdsInfo]]:
    """``show-mdss details-level full`` (System Data only): the MDSs and MLMs.

    Example record: ``MdsInfo(name="mds1", server_type="multi-domain server",
    version="R81.20", ip="192.0.2.11")``; the official standard-detail example gives
    ``MdsInfo(name="test_mds", server_type=None, version=None, ip=None)``.
    """
    line = mgmt("show-mdss", {"details-level": "full", "limit": "500"})
    return _command(line, parse_mdss, "show_mdss")


def parse_mdss(text: str) -> list[MdsInfo]:
    """Parse ``show-mdss``; ``version`` is ``version.name`` or a plain string.

    Example record: ``MdsInfo(name="mlm1", server_type="multi-domain log server",
    version="R81.10", ip="10.0.0.21")``.
    """
    data = _obj(text, "show-mdss")
    return [
        MdsInfo(
            name=str(o.get("name", "")),
            server_type=_str(o.get("server-type")),
            version=_str(o.get("version")),
            ip=_str(o.get("ipv4-address")) or _str(o.get("ipv6-address")),
        )
        for o in _list(data, "objects", "show-mdss", text)
    ]


# -- show-ha-state --------------------------------------------------------------------------
def show_ha_state(domain: str | None = None) -> Command[list[HaStateEntry]]:
    """``show-ha-state``: active/standby of every server of every domain (System Data,
    including Global) or of one ``domain``.

    Example record::

        HaStateEntry(domain="domain1", domain_type="domain", mds="mds1",
                     name="domain1_Server", ip="3.3.3.3", ha_state="active")

    Global's servers have ``name=None``.
    """
    return _command(mgmt("show-ha-state", domain=domain), parse_ha_state, "show_ha_state")


def parse_ha_state(text: str) -> list[HaStateEntry]:
    """Parse ``show-ha-state`` (both forms) into :class:`HaStateEntry` records.

    Example record (Global has no server names): ``HaStateEntry(domain="Global",
    domain_type="global domain", mds="mds2", name=None, ip="2.2.2.2", ha_state="standby")``.
    """
    data = _obj(text, "show-ha-state")
    out: list[HaStateEntry] = []
    for dom in _list(data, "domains", "show-ha-state", text):
        for s in _dicts(dom.get("servers")):
            out.append(
                HaStateEntry(
                    domain=str(dom.get("name", "")),
                    domain_type=str(dom.get("domain-type", "")),
                    mds=str(_str(s.get("multi-domain-server")) or ""),
                    name=_str(s.get("name")),
                    ip=_str(s.get("ip-address")),
                    ha_state=str(s.get("ha-state", "")),
                )
            )
    return out


# -- show-ha-status -------------------------------------------------------------------------
def show_ha_status(domain: str | None, seen_from: str = "") -> Command[HaStatus]:
    """``show-ha-status`` (R81.20 JHF T43+) of ``domain`` as the local server sees it
    (``domain=None``: the System Data aggregate). ``seen_from`` (the MDS the session runs on)
    is copied into the record, as the answer does not name it.

    Example record::

        HaStatus(domain="domain1", domain_type="domain", seen_from="mds1",
                 peers=(HaPeer(mds="secondary", ip="172.23.3.234", ha_state="standby",
                               sync_state="Ok", last_successful_sync="2022-12-27T15:10+0200"),),
                 successfully_synced=False)
    """
    return _command(
        mgmt("show-ha-status", domain=domain),
        partial(parse_ha_status, seen_from=seen_from),
        "show_ha_status",
    )


def _sync_time(value: Any) -> str | None:
    if isinstance(value, dict):
        return _str(value.get("iso-8601")) or _str(value.get("posix"))
    return _str(value)


def parse_ha_status(text: str, seen_from: str = "") -> HaStatus:
    """Parse ``show-ha-status``: peers (the local server is not listed) and the aggregate
    ``successfully-synced``; the System Data form has no peers.

    Example record: ``HaStatus(domain="System Data", domain_type="mds", seen_from="",
    peers=(), successfully_synced=True)``.
    """
    data = _obj(text, "show-ha-status")
    servers = data.get("servers") or []
    if not isinstance(servers, list) or "name" not in data:
        raise fail("mgmt_cli show-ha-status", "no domain 'name' in the answer", text)
    peers = tuple(
        HaPeer(
            mds=str(_str(s.get("multi-domain-server")) or _str(s.get("name")) or ""),
            ip=_str(s.get("ip-address")),
            ha_state=str(s.get("ha-state", "")),
            sync_state=_str(s.get("sync-state")),
            last_successful_sync=_sync_time(s.get("last-successful-sync")),
        )
        for s in servers
        if isinstance(s, dict)
    )
    synced = data.get("successfully-synced")
    return HaStatus(
        domain=str(data["name"]),
        domain_type=str(data.get("domain-type", "")),
        seen_from=seen_from,
        peers=peers,
        successfully_synced=_bool(synced),
    )


# -- set-ha-state, ha-full-sync, show-task --------------------------------------------------
def set_ha_state(domain: str, new_state: str, session: str | None = None) -> Command[TaskRef]:
    """``-d <domain> set-ha-state new-state <active|standby>``: switches the domain server
    the session logs in to (pass a DMS IP as ``domain`` to pick one precisely). Mutating.

    Example record: ``TaskRef(task_id="2eec70e5-78a8-4bdb-9a76-cfb5601d0bcb",
    login_required=True)``. With ``session`` (a session file of that domain) it runs in
    that session; the state changes at once (no publish), and a switch to standby expires
    the session.
    """
    if new_state not in ("active", "standby"):
        raise ValueError(f"new_state must be 'active' or 'standby', not {new_state!r}")
    line = mgmt("set-ha-state", {"new-state": new_state}, **_where(domain, session))
    return _command(line, parse_task_ref, "set_ha_state", timeout_s=600.0, mutating=True)


def ha_full_sync(domain: str, peer: str, session: str | None = None) -> Command[TaskRef]:
    """``-d <domain> ha-full-sync name <peer>``: full sync from the session's (active) server
    to ``peer`` (a domain server name; the standby's MDS name for Global). Mutating.

    Example record: ``TaskRef(task_id="01234567-89ab-cdef-a930-8c37a59972b3")``. With
    ``session`` it runs in that session (no publish: the task applies it).
    """
    line = mgmt("ha-full-sync", {"name": peer}, **_where(domain, session))
    return _command(line, parse_task_ref, "ha_full_sync", timeout_s=600.0, mutating=True)


def parse_task_ref(text: str) -> TaskRef:
    """Parse a ``{"task-id": ..., "login-required": ...}`` answer (or a ``{"tasks": [...]}``
    answer when ``mgmt_cli`` waited for the task).

    Example record: ``{"task-id": "2eec70e5-...", "login-required": "True"}`` ->
    ``TaskRef("2eec70e5-...", login_required=True)``.
    """
    data = _obj(text, "task")
    task_id = data.get("task-id")
    if task_id is None and isinstance(data.get("tasks"), list) and data["tasks"]:
        task_id = _dict(data["tasks"][0]).get("task-id")
    if not isinstance(task_id, str) or not task_id:
        raise fail("mgmt_cli", "no 'task-id' in the answer", text)
    return TaskRef(str(task_id), _bool(data.get("login-required")))


def show_task(
    task_id: str, domain: str | None = None, session: str | None = None
) -> Command[MgmtTask]:
    """``show-task task-id <id> details-level full``: one asynchronous task.

    Example record::

        MgmtTask(task_id="01234567-89ab-1234-9e1f-0e1e68312345", name="get-platform",
                 status="succeeded", progress=100, description=None,
                 details=({"os-name": "Gaia", "version": "R81.10", "hardware": "Open Server"},))
    """
    params = {"task-id": task_id, "details-level": "full"}
    line = mgmt("show-task", params, **_where(domain, session))
    return _command(line, parse_task, "show_task")


def parse_task(text: str) -> MgmtTask:
    """Parse ``show-task`` (the first task of ``tasks``) into a :class:`MgmtTask`.

    Example record: ``MgmtTask(task_id="abcdef01-2345-6789-bd5e-98e9d5b89d9b",
    name="Show Changes", status="succeeded", progress=100,
    description="Operation Complete", details=({"changes": [...]},))``.
    """
    data = _obj(text, "show-task")
    tasks = _list(data, "tasks", "show-task", text)
    if not tasks:
        raise fail("mgmt_cli show-task", "the 'tasks' list is empty", text)
    t = tasks[0]
    progress = t.get("progress-percentage")
    return MgmtTask(
        task_id=str(t.get("task-id", "")),
        name=str(t.get("task-name", "")),
        status=str(t.get("status", "")),
        progress=json_int(progress),
        description=_str(t.get("progress-description")) or _str(t.get("comments")),
        details=tuple(_dicts(t.get("task-details"))),
    )


# -- show-servers-and-processes -------------------------------------------------------------
def show_servers_and_processes() -> Command[list[ProcessRow]]:
    """``show-servers-and-processes`` (R81.10 JHF T79+, System Data only): the API form of
    ``mdsstat``. Types map to the mdsstat words (``mds`` -> ``MDS``, ``domain-server`` ->
    ``CMA``; unknown types are kept); pids become ints.

    Example record::

        ProcessRow(type="CMA", name="cma1", ip="1.1.1.1",
                   processes={"FWM": ProcessState("up", 17470), "FWMHA": ProcessState("up", 17387),
                              ...})
    """
    line = mgmt("show-servers-and-processes")
    return _command(line, parse_servers_and_processes, "show_servers_and_processes")


def _pid(value: Any) -> int | None:
    if isinstance(value, str):
        return integer(value)
    return json_int(value)


def parse_servers_and_processes(text: str) -> list[ProcessRow]:
    """Parse ``show-servers-and-processes`` into :class:`ProcessRow` records.

    Example record: ``ProcessRow(type="MDS", name="MyMDS", ip="1.2.3.4",
    processes={"FWM": ProcessState("up", 19242), "FWMHA": ProcessState("up", 19247), ...})``.
    """
    data = _obj(text, "show-servers-and-processes")
    out: list[ProcessRow] = []
    for s in _list(data, "servers", "show-servers-and-processes", text):
        api_type = str(s.get("type", ""))
        processes = {
            str(p.get("name", "")): ProcessState(str(p.get("status", "")), _pid(p.get("pid")))
            for p in _dicts(s.get("processes"))
        }
        out.append(
            ProcessRow(
                type=SERVER_TYPES.get(api_type.lower(), api_type),
                name=_str(s.get("name")),
                ip=str(s.get("ip-address", "")),
                processes=processes,
            )
        )
    return out


# -- SmartConsole's words -------------------------------------------------------------------
def sync_status(
    domain: str, entries: Iterable[HaStateEntry], statuses: Iterable[HaStatus]
) -> dict[str, str]:
    """SmartConsole's synchronization word per MDS for one ``domain``. INFERRED.

    The API has no such words (``docs/formats.md#synchronization-words``); this is the one
    client-side mapping, and can be replaced once a real MDS is seen:

    * two or more ``active`` servers in ``show-ha-state`` -> ``Collision`` for each active;
    * a ``standby`` peer (in ``show-ha-status`` of the domain, preferably as seen from the
      active server) with ``sync-state`` ``Ok`` and a ``last-successful-sync`` ->
      ``Synchronized``;
    * a standby peer without ``last-successful-sync`` whose ``sync-state`` is not
      ``Communication Error`` -> ``Never been synchronized`` (a peer that cannot be reached,
      e.g. on another version mid-upgrade, tells nothing about its past);
    * anything else (``Communication Error`` / ``Sync Error`` with an older sync, or no
      ``show-ha-status`` for the peer, as before R81.20 JHF T43) -> ``unknown``.

    The one active server is the reference the others are measured against and gets no
    entry. Example: ``{"mds2": "Synchronized"}``; in a collision
    ``{"mds1": "Collision", "mds2": "Collision"}``.
    """
    mine = [e for e in entries if e.domain == domain]
    views = [s for s in statuses if s.domain == domain]
    actives = [e for e in mine if e.ha_state == "active"]
    result: dict[str, str] = {}
    if len(actives) >= 2:
        for e in actives:
            result[e.mds] = COLLISION
    active_mds = actives[0].mds if len(actives) == 1 else None
    views.sort(key=lambda v: v.seen_from != active_mds)
    for e in mine:
        if e.ha_state == "active":
            continue
        peer = next(
            (p for v in views for p in v.peers if p.mds == e.mds and p.ha_state == "standby"),
            None,
        )
        if peer is None:
            result[e.mds] = UNKNOWN
        elif peer.sync_state == "Ok" and peer.last_successful_sync:
            result[e.mds] = SYNCHRONIZED
        elif not peer.last_successful_sync and peer.sync_state != "Communication Error":
            result[e.mds] = NEVER_SYNCHRONIZED
        else:
            result[e.mds] = UNKNOWN
    return result


# -- change markers (the change freeze, R6) ---------------------------------------------------
def show_last_published_session(domain: str) -> Command[PublishedSession | None]:
    """``-d <domain> show-last-published-session``: the newest published session of the
    local DMS database (API v1.1+); None when nothing was ever published there.

    Example record: ``PublishedSession(uid="2c7e13c7-...", user="admin",
    publish_time="2020-10-26T16:32+0200", publish_posix=1603722758612)``.
    """
    line = mgmt("show-last-published-session", domain=domain)
    return _command(line, parse_last_published_session, "show_last_published_session")


def parse_last_published_session(text: str) -> PublishedSession | None:
    """Parse a session object (``publish-time`` {posix, iso-8601}); ``not found`` -> None.

    Example record: ``PublishedSession("8d2a9b8f-...", "admin", "2026-11-26T14:56+0000",
    1795704992087)``.
    """
    try:
        data = _obj(text, "show-last-published-session")
    except ApiError as exc:
        if exc.code == "generic_err_object_not_found":
            return None
        raise
    publish = data.get("publish-time") if isinstance(data.get("publish-time"), dict) else {}
    posix = publish.get("posix") if isinstance(publish, dict) else None
    return PublishedSession(
        uid=str(data.get("uid", "")),
        user=_str(data.get("user-name")),
        publish_time=_str(publish.get("iso-8601")) if isinstance(publish, dict) else None,
        publish_posix=json_int(posix),
    )
