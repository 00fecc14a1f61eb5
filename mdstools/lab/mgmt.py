"""``mgmt_cli`` as the lab simulates it: the Management API from the server's own shell.

Installed at ``$CPDIR/bin/mgmt_cli`` (on ``PATH`` once ``/etc/profile.d/CP.sh`` is sourced).
Shapes follow ``docs/formats.md#mgmt_cli``; every shape that no source shows is marked
INFERRED in the docstring of the command that prints it.

Invocation (``docs/formats.md#mgmt_cli``):

* flags anywhere on the line: ``-r``/``--root true``, ``-d``/``--domain X`` (domain name,
  uid, or the IP of one of its domain servers; ``System Data`` or none = System Data),
  ``-f``/``--format json|text``, ``-s``/``--session-file FILE``, ``--session-id SID``,
  ``--version V``; ``-u``/``-p``/``--api-key`` are refused (the lab logs in as root only);
* the command in either spelling (``show domains`` or ``show-domains``), then ``key value``
  pairs; ``members.1 a members.2 b`` builds a list, ``a.b x`` a nested object.

Which database a call reaches: ``-r true`` always logs in on THIS server, so a domain
session acts on the copy hosted here (the local DMS; on a Multi-Domain Log Server the local
Domain Log Server), ``-d Global`` on the local Global copy. Without ``-s`` each call is an
implicit session (login, command, publish, logout); with ``-s`` the session is the one that
``login`` created (kept in ``Deployment.sessions``; a reboot of the server forgets it).

Errors print the failure body (``code``, ``message``) in the requested format on stdout
and exit with :data:`ERROR_EXIT_STATUS`; both are unconfirmed on a real ``mgmt_cli``
(``docs/formats.md#error-bodies``) and kept as module constants. Errors chosen here:

| condition | code |
|---|---|
| unknown command; command this release or ``--version`` lacks | ``generic_err_command_not_found`` |
| ``--version`` newer than the server's API | ``err_unknown_api_version`` |
| System-Data-only command from a domain session | ``err_not_a_system_domain_session`` |
| domain-only command (``set-ha-state`` ...) from System Data | ``err_inappropriate_domain_type`` |
| unknown domain, or no copy of it on this server | ``err_login_failed`` (1) |
| MDS processes or the local DMS ``down`` | ``err_login_failed`` (1) |
| MDS processes or the local DMS starting (``pnd``/``init``) | ``generic_server_initializing`` |
| HA command on a Domain Log Server | ``err_ha_invalid_operation`` |
| no ``-r true`` and no session | ``generic_err_missing_required_parameters`` |
| unknown, logged-out or forgotten session | ``generic_err_wrong_session_id`` |
| session used after its DMS went to standby | ``generic_err_session_expired`` |

(1) with the verbatim message ``Authentication to server failed.``
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from mdstools.lab import ha_api
from mdstools.lab.model import (
    Change,
    Deployment,
    Domain,
    DomainServer,
    LabError,
    ProcessRow,
    Revision,
    SimServer,
)
from mdstools.lab.shell import IO, Shell, program
from mdstools.lab.versions import VersionProfile
from mdstools.lab.vfs import VfsError

ERROR_EXIT_STATUS = 1
"""Exit status of a failed call (believed to be 1 on a real ``mgmt_cli``)."""
ERRORS_ON_STDOUT = True
"""Whether the error body goes to stdout (True) or stderr."""

SYSTEM_DATA = "System Data"
SYSTEM_DATA_UID = "a0eebc99-afed-4ef8-bb6d-fedfedfedfed"  # verbatim in the official examples
SESSION_TIMEOUT = 600
ROOT_USER = "admin"

JsonObj = dict[str, Any]


class ApiError(LabError):
    """A failure body with optional extra keys (``errors``, ``warnings`` ...)."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(code, message)
        self.extra = extra


def _body_of(exc: LabError) -> JsonObj:
    body: JsonObj = {"code": exc.code, "message": exc.message}
    if isinstance(exc, ApiError):
        body.update(exc.extra)
    return body


def _not_found(what: str) -> ApiError:
    return ApiError("generic_err_object_not_found", f"Requested object [{what}] not found")


def _login_failed() -> ApiError:
    return ApiError("err_login_failed", "Authentication to server failed.")


# -- serializers ---------------------------------------------------------------------------


def to_json(value: Any, nesting: int = 0) -> str:
    """Pretty JSON as the management server prints it (Jackson's default pretty printer).

    ``"key" : value``, two spaces per object level, arrays inline (``[ {`` ... ``}, {`` ...
    ``} ]``, ``[ "a", "b" ]``), empty ones as ``[ ]`` and ``{ }``.
    """
    if isinstance(value, dict):
        if not value:
            return "{ }"
        pad = "  " * (nesting + 1)
        items = [f"{pad}{json.dumps(str(k))} : {to_json(v, nesting + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * nesting + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[ ]"
        return "[ " + ", ".join(to_json(v, nesting) for v in value) + " ]"
    return json.dumps(value, ensure_ascii=False)


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value)


def to_text(value: Any, indent: int = 0) -> str:
    """The default (``--format text``) YAML-like layout of ``mgmt_cli``.

    ``key: "string"`` / ``key: 600`` lines; a nested object under ``key:`` indented by two
    spaces; list items as ``- `` lines at the key's indentation (``objects:`` then
    ``- uid: "..."`` and ``  name: "..."``); empty ones as ``[]`` and ``{}``.
    """
    return "\n".join(_text_lines(value, indent))


def _text_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        lines: list[str] = []
        for k, v in value.items():
            if isinstance(v, dict) and v:
                lines.append(f"{pad}{k}:")
                lines.extend(_text_lines(v, indent + 2))
            elif isinstance(v, (list, tuple)) and v:
                lines.append(f"{pad}{k}:")
                lines.extend(_text_lines(list(v), indent))
            elif isinstance(v, dict):
                lines.append(f"{pad}{k}: {{}}")
            elif isinstance(v, (list, tuple)):
                lines.append(f"{pad}{k}: []")
            else:
                lines.append(f"{pad}{k}: {_scalar_text(v)}")
        return lines
    if isinstance(value, (list, tuple)):
        lines = []
        for item in value:
            if isinstance(item, dict) and item:
                sub = _text_lines(item, indent + 2)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines.extend(sub[1:])
            elif isinstance(item, (list, tuple)) and item:
                lines.append(f"{pad}-")
                lines.extend(_text_lines(list(item), indent + 2))
            elif isinstance(item, dict):
                lines.append(f"{pad}- {{}}")
            elif isinstance(item, (list, tuple)):
                lines.append(f"{pad}- []")
            else:
                lines.append(f"{pad}- {_scalar_text(item)}")
        return lines
    return [f"{pad}{_scalar_text(value)}"]


def render(body: JsonObj, fmt: str) -> str:
    """``body`` in the format asked for (``json`` or ``text``)."""
    return to_json(body) if fmt == "json" else to_text(body)


# -- command line --------------------------------------------------------------------------

FLAGS: dict[str, str] = {
    "-r": "root",
    "--root": "root",
    "-d": "domain",
    "--domain": "domain",
    "-f": "format",
    "--format": "format",
    "-s": "session-file",
    "--session-file": "session-file",
    "--session-id": "session-id",
    "-v": "version",
    "--version": "version",
    "-u": "user",
    "--user": "user",
    "-p": "password",
    "--password": "password",
    "--api-key": "api-key",
    "-m": "management",
    "--management": "management",
    "--port": "port",
    "-c": "context",
    "--context": "context",
    "--sync": "sync",
    "--wait": "sync",
    "--unsafe": "unsafe",
    "--unsafe-auto-accept": "unsafe",
    "--debug": "debug",
    "--conn-timeout": "conn-timeout",
}
"""Every ``mgmt_cli`` option takes a value (``--unsafe true``)."""

USAGE = """\
Usage: mgmt_cli <command> [<parameter> <value>]... [options]
  -r, --root true            log in as root on this server (the only login the lab has)
  -d, --domain NAME|UID|IP   domain to log in to (default: System Data)
  -f, --format json|text     output format (default: text)
  -s, --session-file FILE    use the session that 'mgmt_cli login' printed into FILE
  --session-id SID           use session SID
  --version V                API version to call
"""


@dataclass
class Invocation:
    """One parsed ``mgmt_cli`` command line."""

    command: str
    params: JsonObj
    options: dict[str, str]

    @property
    def fmt(self) -> str:
        return self.options.get("format", "text")


def split_options(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """Options (by canonical name) and the remaining words, in order."""
    opts: dict[str, str] = {}
    words: list[str] = []
    i = 0
    while i < len(args):
        tok = args[i]
        name, eq, inline = tok.partition("=")
        if tok.startswith("--") and eq and name in FLAGS:
            opts[FLAGS[name]] = inline
            i += 1
            continue
        if tok in FLAGS:
            if i + 1 >= len(args):
                raise ApiError("generic_err_invalid_syntax", f"Missing value for option [{tok}]")
            opts[FLAGS[tok]] = args[i + 1]
            i += 2
            continue
        words.append(tok)
        i += 1
    fmt = opts.get("format", "text").lower()
    if fmt not in ("json", "text"):
        opts["format"] = "text"
        raise ApiError(
            "generic_err_invalid_syntax",
            f"Invalid value [{fmt}] for option [--format]: use json or text",
        )
    opts["format"] = fmt
    return opts, words


def parse_words(words: list[str]) -> tuple[str, JsonObj]:
    """The command (both spellings) and its parameters from the non-option words."""
    if not words:
        raise ApiError("generic_err_invalid_syntax", "Missing command. " + USAGE.splitlines()[0])
    first = words[0]
    if first in COMMANDS or "-" in first or len(words) == 1:
        command, rest = first, words[1:]
    else:
        command, rest = f"{first}-{words[1]}", words[2:]
    if len(rest) % 2:
        raise ApiError("generic_err_invalid_syntax", f"Missing value for parameter [{rest[-1]}]")
    nested: JsonObj = {}
    for key, value in zip(rest[::2], rest[1::2], strict=True):
        if key.startswith("-"):
            raise ApiError("generic_err_invalid_syntax", f"Unknown option [{key}]")
        _put(nested, key.split("."), value)
    params = _listify(nested)
    assert isinstance(params, dict)
    return command, params


def _put(target: JsonObj, path: list[str], value: str) -> None:
    for part in path[:-1]:
        nxt = target.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            target[part] = nxt
        target = nxt
    target[path[-1]] = value


def _listify(value: Any) -> Any:
    """Objects whose keys are all numbers (``members.1``, ``members.2``) become lists."""
    if not isinstance(value, dict):
        return value
    if value and all(k.isdigit() for k in value):
        return [_listify(value[k]) for k in sorted(value, key=int)]
    return {k: _listify(v) for k, v in value.items()}


def _api_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.strip().lstrip("v").split("."))
    except ValueError:
        raise ApiError("err_unknown_api_version", f"Unknown API version: {text}") from None


# -- sessions and tasks --------------------------------------------------------------------


@dataclass
class ApiSession:
    """A session that ``mgmt_cli login`` opened (``Deployment.sessions[sid]["session"]``)."""

    sid: str
    uid: str
    server: str
    domain: str | None  # domain name; None: System Data
    boot: int
    login_time: float
    user: str = ROOT_USER
    name: str = ""
    description: str = ""
    timeout: int = SESSION_TIMEOUT
    read_only: bool = False
    state: str = "open"
    expired: bool = False
    pending: list[Change] = field(default_factory=list)


@dataclass
class Task:
    """An asynchronous task (``Deployment.tasks[task_id]["task"]``), read by ``show-task``."""

    task_id: str
    name: str
    domain: Domain | None
    server: str
    start_wall: float
    start_lab: float
    duration: float  # lab seconds
    status: str = "in progress"
    details: list[JsonObj] = field(default_factory=list)
    comments: str = ""
    last_update: float = 0.0


def _session_of(entry: dict[str, object] | None) -> ApiSession | None:
    obj = entry.get("session") if entry else None
    return obj if isinstance(obj, ApiSession) else None


def _task_of(entry: dict[str, object] | None) -> Task | None:
    obj = entry.get("task") if entry else None
    return obj if isinstance(obj, Task) else None


# -- the context of one call ---------------------------------------------------------------


@dataclass
class Ctx:
    """Everything a command handler needs: where it runs and what it was asked."""

    dep: Deployment
    sh: Shell
    server: SimServer
    domain: Domain | None  # None: System Data
    local: DomainServer | None  # the copy of ``domain`` hosted on ``server``
    params: JsonObj
    options: dict[str, str]
    session: ApiSession | None = None  # None: implicit session (-r true without -s)

    def param(self, key: str, default: str | None = None) -> str | None:
        value = self.params.get(key, default)
        return value if value is None or isinstance(value, str) else str(value)

    def require(self, key: str) -> str:
        value = self.params.get(key)
        if value is None or value == "":
            raise ApiError("generic_err_missing_required_parameters", f"Missing parameter: [{key}]")
        return value if isinstance(value, str) else str(value)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.param(key)
        return default if value is None else value.lower() == "true"

    def number(self, key: str, default: int) -> int:
        value = self.param(key)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError(
                "generic_err_invalid_parameter",
                f"Invalid parameter for [{key}]. Invalid value [{value}]",
            ) from None

    @property
    def full(self) -> bool:
        return self.param("details-level") == "full"

    def need_local(self) -> DomainServer:
        if self.local is None:
            raise ApiError(
                "err_inappropriate_domain_type",
                "This command is not available in the System Data domain: log in "
                "to a domain or to the Global domain (-d).",
            )
        return self.local


Handler = Callable[[Ctx], JsonObj]


@dataclass(frozen=True)
class Spec:
    """One Management API command: its handler and where it may run."""

    name: str
    handler: Handler
    scope: str = "any"  # any | system | domain
    since: str = "1"  # API version that introduced it (for --version)
    available: Callable[[VersionProfile], bool] | None = None
    ha: bool = False  # refused on a Domain Log Server
    login: bool = False  # the login command itself (no session needed)


COMMANDS: dict[str, Spec] = {}


def command(
    name: str,
    *,
    scope: str = "any",
    since: str = "1",
    available: Callable[[VersionProfile], bool] | None = None,
    ha: bool = False,
) -> Callable[[Handler], Handler]:
    """Register a handler in :data:`COMMANDS`."""

    def deco(fn: Handler) -> Handler:
        COMMANDS[name] = Spec(name, fn, scope, since, available, ha, login=name == "login")
        return fn

    return deco


# -- shared shapes -------------------------------------------------------------------------


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
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{s.name}.server.lab"))


def _page(items: list[Any], ctx: Ctx, default_limit: int) -> tuple[list[Any], JsonObj]:
    limit = ctx.number("limit", default_limit)
    offset = ctx.number("offset", 0)
    page = items[offset : offset + limit]
    head: JsonObj = {
        "from": offset + 1 if page else 0,
        "to": offset + len(page),
        "total": len(items),
    }
    return page, head


def _filtered(names: Iterable[Any], ctx: Ctx, key: Callable[[Any], str]) -> list[Any]:
    text = ctx.param("filter")
    return [n for n in names if not text or text.lower() in key(n).lower()]


def _meta() -> JsonObj:
    return {"tags": [], "read-only": False, "comments": "", "color": "black"}


# -- login, sessions -----------------------------------------------------------------------


def _login_body(ctx: Ctx, sess: ApiSession) -> JsonObj:
    body: JsonObj = {
        "sid": sess.sid,
        "url": f"https://{ctx.server.ip}:443/web_api",
        "uid": sess.uid,
        "session-timeout": sess.timeout,
        "last-login-was-at": stamp(sess.login_time),
        "read-only": sess.read_only,
        "api-server-version": ctx.server.version.api_version,
        "user-name": sess.user,
    }
    if ctx.local is not None:
        body["standby"] = ctx.local.ha_state != "active"
    return body


def _new_session(ctx: Ctx, dom: Domain | None) -> ApiSession:
    sess = ApiSession(
        sid=secrets.token_urlsafe(32),
        uid=str(uuid.uuid4()),
        server=ctx.server.name,
        domain=dom.name if dom is not None else None,
        boot=ctx.server.boot_count,
        login_time=ctx.dep.clock.wall(),
        name=ctx.param("session-name") or "",
        description=ctx.param("session-description") or "",
        timeout=ctx.number("session-timeout", SESSION_TIMEOUT),
        read_only=ctx.flag("read-only"),
    )
    ctx.dep.sessions[sess.sid] = {"session": sess}
    return sess


@command("login")
def _login(ctx: Ctx) -> JsonObj:
    """``login [domain X] [read-only true] [session-name N]``: opens a session on this server.

    Prints the session (``sid``, ``url``, ``uid``, ``session-timeout``,
    ``last-login-was-at``, ``read-only``, ``api-server-version``, ``user-name``, and for a
    domain session ``standby``); writes nothing itself: clients redirect it to a file that
    ``-s FILE`` reads later.
    """
    return _login_body(ctx, _new_session(ctx, ctx.domain))


@command("login-to-domain", scope="system", since="1.7.1")
def _login_to_domain(ctx: Ctx) -> JsonObj:
    """``login-to-domain domain X``: a new session in domain X, from a System Data session."""
    dom, local = resolve_domain(ctx.dep, ctx.server, ctx.require("domain"))
    check_serving(ctx.dep, ctx.server, local)
    sub = Ctx(ctx.dep, ctx.sh, ctx.server, dom, local, {}, ctx.options)
    return _login_body(sub, _new_session(sub, dom))


@command("logout")
def _logout(ctx: Ctx) -> JsonObj:
    """``logout``: ends the session (pending changes are discarded). ``{message: OK}``."""
    if ctx.session is not None:
        ctx.session.state = "closed"
        ctx.session.pending.clear()
        ctx.dep.sessions.pop(ctx.session.sid, None)
    return {"message": "OK"}


@command("discard")
def _discard(ctx: Ctx) -> JsonObj:
    """``discard``: drops the session's pending changes."""
    n = 0
    if ctx.session is not None:
        n = len(ctx.session.pending)
        ctx.session.pending.clear()
    return {"message": "OK", "number-of-discarded-changes": n}


@command("publish")
def _publish(ctx: Ctx) -> JsonObj:
    """``publish``: publishes the session's pending changes; returns ``task-id``.

    The change reaches the DMS database at once (``Deployment.publish``, which also syncs
    the standbys); a refused publish (standby DMS, Domain Log Server) is the error of the
    call. The task's ``task-details`` (INFERRED) are ``publishResponse``
    (``numberOfPublishedChanges``, ``mode``) and ``revision``.
    """
    pending = list(ctx.session.pending) if ctx.session is not None else []
    detail: JsonObj = {
        "publishResponse": {"numberOfPublishedChanges": len(pending), "mode": "async"}
    }
    if pending:
        rev = ctx.dep.publish(ctx.need_local(), pending, admin=_user(ctx))
        assert ctx.session is not None
        ctx.session.pending.clear()
        detail["revision"] = rev.uid
    task = start_task(ctx, "Publish operation", 0.0)
    task.details = [detail]
    return {"task-id": task.task_id}


def _user(ctx: Ctx) -> str:
    return ctx.session.user if ctx.session is not None else ROOT_USER


def _open_session_obj(ctx: Ctx, sess: ApiSession) -> JsonObj:
    dom = ctx.dep.domain(sess.domain) if sess.domain else None
    n = len(sess.pending)
    obj: JsonObj = {
        "uid": sess.uid,
        "name": sess.name,
        "type": "session",
        "domain": domain_ref(dom),
        "state": "open",
        "user-name": sess.user,
        "description": sess.description,
        "last-login-time": stamp(sess.login_time),
        "expired-session": sess.expired,
        "application": "WEB_API",
        "changes": n,
        "in-work": n > 0,
        "ip-address": "127.0.0.1",
        "locks": n,
        "connection-mode": "read only" if sess.read_only else "read write",
        "session-timeout": sess.timeout,
        "connected-server": _server_ref(ctx.dep, sess.server),
    }
    obj.update(_meta())
    obj["icon"] = "Objects/worksession"
    return obj


def _server_ref(dep: Deployment, name: str) -> JsonObj:
    """INFERRED shape of ``connected-server`` (the schema names the field, no example)."""
    s = next((x for x in dep.servers if x.name == name), None)
    return {"uid": server_uid(s) if s else "", "name": name, "type": "mds"}


def _published_session_obj(ctx: Ctx, rev: Revision, dom: Domain | None) -> JsonObj:
    obj: JsonObj = {
        "uid": rev.uid,
        "type": "session",
        "domain": domain_ref(dom),
        "state": "published",
        "user-name": rev.admin,
        "description": "",
        "last-login-time": stamp(rev.publish_time),
        "publish-time": stamp(rev.publish_time),
        "expired-session": False,
        "application": rev.application,
        "changes": 0,
        "in-work": False,
        "ip-address": "127.0.0.1",
        "locks": 0,
        "connection-mode": "read write",
        "session-timeout": SESSION_TIMEOUT,
        "connected-server": _server_ref(ctx.dep, rev.server),
    }
    obj.update(_meta())
    obj["icon"] = "Objects/worksession"
    return obj


def _current_session_obj(ctx: Ctx) -> JsonObj:
    if ctx.session is not None:
        return _open_session_obj(ctx, ctx.session)
    transient = ApiSession(
        "",
        str(uuid.uuid4()),
        ctx.server.name,
        ctx.domain.name if ctx.domain else None,
        ctx.server.boot_count,
        ctx.dep.clock.wall(),
    )
    return _open_session_obj(ctx, transient)


def _newest_first(local: DomainServer | None) -> list[Revision]:
    if local is None:
        return []
    return sorted(local.revisions, key=lambda r: r.publish_time, reverse=True)


@command("show-sessions")
def _show_sessions(ctx: Ctx) -> JsonObj:
    """``show-sessions [view-published-sessions true] [details-level full] [limit] [offset]``.

    Default view: the open sessions of this domain on this server; published view: the
    local database's published sessions, newest first. Objects are uids unless
    ``details-level full`` (the official example returns uids for ``standard``).
    """
    if ctx.flag("view-published-sessions"):
        revs = _newest_first(ctx.local)
        page, head = _page(revs, ctx, 50)
        objs = [_published_session_obj(ctx, r, ctx.domain) if ctx.full else r.uid for r in page]
    else:
        sessions = [
            s
            for e in ctx.dep.sessions.values()
            if (s := _session_of(e)) is not None
            and s.state == "open"
            and s.server == ctx.server.name
            and s.domain == (ctx.domain.name if ctx.domain else None)
        ]
        sessions.sort(key=lambda s: s.login_time, reverse=True)
        page, head = _page(sessions, ctx, 50)
        objs = [_open_session_obj(ctx, s) if ctx.full else s.uid for s in page]
    head["objects"] = objs
    return head


@command("show-session")
def _show_session(ctx: Ctx) -> JsonObj:
    """``show-session [uid X]``: the current session, or the open/published session X."""
    uid = ctx.param("uid")
    if uid is None:
        return _current_session_obj(ctx)
    for entry in ctx.dep.sessions.values():
        s = _session_of(entry)
        if s is not None and s.uid == uid and s.server == ctx.server.name:
            return _open_session_obj(ctx, s)
    for rev in _newest_first(ctx.local):
        if rev.uid == uid:
            return _published_session_obj(ctx, rev, ctx.domain)
    raise _not_found(uid)


@command("show-last-published-session", since="1.1")
def _show_last_published_session(ctx: Ctx) -> JsonObj:
    """``show-last-published-session``: the newest published session of the local database."""
    revs = _newest_first(ctx.local)
    if not revs:
        raise _not_found("last published session")
    return _published_session_obj(ctx, revs[0], ctx.domain)


# -- tasks ---------------------------------------------------------------------------------


def start_task(
    ctx: Ctx,
    name: str,
    realistic_seconds: float,
    describe: str = "Operation completed successfully",
    effect: Callable[[], None] | None = None,
) -> Task:
    """A task that finishes after ``realistic_seconds`` (scaled), running ``effect`` then.

    With no duration it is already finished (``effect`` runs now).
    """
    dep = ctx.dep
    task = Task(
        str(uuid.uuid4()),
        name,
        ctx.domain,
        ctx.server.name,
        dep.clock.wall(),
        dep.clock.now(),
        dep.clock.dur(realistic_seconds),
    )
    task.last_update = task.start_wall
    dep.tasks[task.task_id] = {"task": task}

    def finish() -> None:
        with dep.lock:
            try:
                if effect is not None:
                    effect()
            except LabError as exc:
                task.status, task.comments = "failed", exc.message
                task.details = [{"statusCode": "failed", "statusDescription": exc.message}]
            else:
                task.status = "succeeded"
                if not task.details:
                    task.details = [{"statusCode": "succeeded", "statusDescription": describe}]
            task.last_update = dep.clock.wall()

    if task.duration <= 0:
        finish()
    else:
        dep.scheduler.after(task.duration, finish)
    return task


def _task_obj(ctx: Ctx, task: Task) -> JsonObj:
    if task.status == "in progress":
        elapsed = ctx.dep.clock.now() - task.start_lab
        pct = max(0, min(99, int(100 * elapsed / task.duration))) if task.duration else 0
        desc = "In progress"
    else:
        pct = 100
        desc = "Operation Complete" if task.status == "succeeded" else "Operation Failed"
    obj: JsonObj = {}
    if ctx.full:
        obj.update({"uid": task.task_id, "type": "task", "domain": domain_ref(task.domain)})
        obj.update(_meta())
        obj["comments"] = task.comments
        obj["icon"] = "General/globalsNa"
    obj.update(
        {
            "task-name": task.name,
            "task-id": task.task_id,
            "status": task.status,
            "progress-percentage": pct,
            "progress-description": desc,
        }
    )
    if ctx.full:
        obj["start-time"] = stamp(task.start_wall)
        obj["last-update-time"] = stamp(task.last_update)
    obj["suppressed"] = False
    obj["task-details"] = list(task.details)
    return obj


@command("show-task")
def _show_task(ctx: Ctx) -> JsonObj:
    """``show-task task-id X [details-level full]`` (``task-id.1 X task-id.2 Y`` for several).

    ``status``: ``in progress`` then ``succeeded`` or ``failed``; ``progress-percentage``
    from the elapsed share of the task's duration. ``task-details`` are shown at every
    details level (a real server may want ``full``); ``full`` adds ``uid``, ``type``,
    ``domain``, ``start-time``, ``last-update-time`` as the official full example.
    """
    raw = ctx.params.get("task-id")
    if raw is None or raw == "":
        raise ApiError("generic_err_missing_required_parameters", "Missing parameter: [task-id]")
    ids = raw if isinstance(raw, list) else [raw]
    tasks: list[JsonObj] = []
    for tid in ids:
        task = _task_of(ctx.dep.tasks.get(str(tid)))
        if task is None:
            raise _not_found(str(tid))
        tasks.append(_task_obj(ctx, task))
    return {"tasks": tasks}


# -- domains and servers -------------------------------------------------------------------


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
    obj.update(_meta())
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
    doms = _filtered(ctx.dep.user_domains, ctx, lambda d: d.name)
    page, head = _page(doms, ctx, 50)
    head["objects"] = [_domain_obj(d, ctx.full) for d in page]
    return head


@command("show-domain")
def _show_domain(ctx: Ctx) -> JsonObj:
    """``show-domain name X`` (or ``uid X``): one user domain at full detail."""
    key = ctx.param("name") or ctx.param("uid")
    if not key:
        raise ApiError("generic_err_missing_required_parameters", "Missing parameter: [name]")
    dom = next((d for d in ctx.dep.user_domains if key in (d.name, d.uid)), None)
    if dom is None:
        raise _not_found(key)
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
    obj.update(_meta())
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
    servers = _filtered(ctx.dep.servers, ctx, lambda s: s.name)
    page, head = _page(servers, ctx, 50)
    head["objects"] = [_mds_obj(ctx.dep, s, ctx.full, ctx.flag("show-domains", True)) for s in page]
    return head


@command("show-mds", scope="system")
def _show_mds(ctx: Ctx) -> JsonObj:
    """``show-mds name X`` (or ``uid X``): one MDS/MLM at full detail (see ``show-mdss``)."""
    key = ctx.param("name") or ctx.param("uid")
    if not key:
        raise ApiError("generic_err_missing_required_parameters", "Missing parameter: [name]")
    s = next((x for x in ctx.dep.servers if key in (x.name, server_uid(x))), None)
    if s is None:
        raise _not_found(key)
    return _mds_obj(ctx.dep, s, True, ctx.flag("show-domains", True))


# -- HA ------------------------------------------------------------------------------------


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


# -- processes -----------------------------------------------------------------------------

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


# -- changes -------------------------------------------------------------------------------


def parse_date(text: str, end_of_day: bool = False) -> float:
    """ISO 8601 (server time zone, UTC, when none is given) -> epoch seconds.

    A date without a time as ``to-date`` means the end of that day.
    """
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            "generic_err_invalid_parameter", f"Invalid parameter: [{text}] is not an ISO 8601 date"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    if end_of_day and "T" not in text:
        dt += timedelta(days=1)
    return dt.timestamp()


def _object_ref(ch: Change, dom: Domain | None, full: bool) -> JsonObj:
    obj: JsonObj = {"uid": ch.uid, "name": ch.name, "type": ch.type, "domain": domain_ref(dom)}
    if full:
        obj.update(_fields_out(ch.type, ch.fields))
    return obj


def _change_entry(rev: Revision, dom: Domain | None, full: bool) -> JsonObj:
    added = [_object_ref(c, dom, full) for c in rev.changes if c.operation == "added"]
    modified = [
        {"old-object": _object_ref(c, dom, False), "new-object": _object_ref(c, dom, full)}
        for c in rev.changes
        if c.operation == "modified"
    ]
    deleted = [_object_ref(c, dom, False) for c in rev.changes if c.operation == "deleted"]
    return {
        "session": {
            "session-uid": rev.uid,
            "user-name": rev.admin,
            "publish-time": stamp(rev.publish_time),
            "domain-info": domain_ref(dom),
        },
        "operations": {
            "added-objects": added,
            "modified-objects": modified,
            "deleted-objects": deleted,
        },
    }


@command("show-changes", scope="domain", since="1.1")
def _show_changes(ctx: Ctx) -> JsonObj:
    """``show-changes [from-date T] [to-date T] [limit 10] [offset 0] [details-level full]``.

    Returns ``task-id``; the diff is the finished task's ``task-details[0]``: ``changes[]``
    (one entry per published session of the local database, newest first: ``session`` and
    ``operations`` with ``added-objects``/``modified-objects``/``deleted-objects``),
    ``limit``, ``offset``. Without dates only the last published session is reported.
    ``details-level full`` adds the object fields (``ipv4-address`` ...).
    """
    local = ctx.need_local()
    revs = _newest_first(local)
    start, end = ctx.param("from-date"), ctx.param("to-date")
    if start is None and end is None:
        revs = revs[:1]
    else:
        lo = parse_date(start) if start else float("-inf")
        hi = parse_date(end, end_of_day=True) if end else float("inf")
        revs = [r for r in revs if lo <= r.publish_time <= hi]
    limit, offset = ctx.number("limit", 10), ctx.number("offset", 0)
    revs = revs[offset : offset + limit]
    task = start_task(ctx, "Show Changes", 0.0)
    task.details = [
        {
            "changes": [_change_entry(r, ctx.domain, ctx.full) for r in revs],
            "limit": limit,
            "offset": offset,
        }
    ]
    return {"task-id": task.task_id}


# -- objects -------------------------------------------------------------------------------

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


def _fields_out(otype: str, fields: dict[str, str]) -> JsonObj:
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
            raise _not_found(str(ctx.param("uid")))
    if name is None:
        raise ApiError("generic_err_missing_required_parameters", "Missing parameter: [name]")
    current = existing.get((otype, name))
    if op == "add" and current is not None:
        msg = f"More than one object named '{name}' exists."
        raise ApiError(
            "err_validation_failed",
            "Validation failed with 1 error",
            errors=[{"message": msg, "current-session": True}],
        )
    if op != "add" and current is None:
        raise _not_found(name)
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
    obj.update(_fields_out(otype, shown))
    obj.update(_meta())
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


# -- logging in ----------------------------------------------------------------------------


def find_domain(dep: Deployment, key: str) -> Domain | None:
    """A domain by name, uid, or the name or IP of one of its domain servers."""
    for dom in dep.domains:
        if key in (dom.name, dom.uid):
            return dom
    for dom in dep.user_domains:
        if any(key in (d.ip, d.name) for d in dom.dms + dom.dls):
            return dom
    return None


def resolve_domain(
    dep: Deployment, server: SimServer, key: str | None
) -> tuple[Domain | None, DomainServer | None]:
    """(domain, the copy hosted on ``server``) for ``-d key``; (None, None) for System Data."""
    if (
        key is None
        or key.strip() == ""
        or key.strip().lower() == SYSTEM_DATA.lower()
        or key == SYSTEM_DATA_UID
    ):
        return None, None
    dom = find_domain(dep, key)
    local = dom.on(server.name) if dom is not None else None
    if dom is None or local is None:
        raise _login_failed()
    return dom, local


def check_serving(dep: Deployment, server: SimServer, local: DomainServer | None) -> None:
    """The API answers only when the MDS processes (and the local DMS) are up."""
    for state in (dep.server_state(server), dep.dms_state(local) if local else "up"):
        if state in ("pnd", "init"):
            raise ApiError(
                "generic_server_initializing", "Server is initializing. Please try again later."
            )
        if state != "up":
            raise _login_failed()


def _sid_from(text: str) -> str | None:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("sid"), str):
        return str(data["sid"])
    m = re.search(r'^\s*sid:\s*"?([^"\s]+)"?\s*$', text, re.MULTILINE)
    return m.group(1) if m else None


def _stored_session(sh: Shell, opts: dict[str, str]) -> ApiSession:
    if "session-id" in opts:
        sid: str | None = opts["session-id"]
    else:
        path = opts["session-file"]
        try:
            text = sh.server.vfs.read_text(sh.path(path))
        except VfsError as exc:
            raise ApiError(
                "generic_err_missing_session_id", f"Cannot read the session file [{path}]: {exc}"
            ) from None
        sid = _sid_from(text)
        if sid is None:
            raise ApiError(
                "generic_err_missing_session_id",
                f"No session id (sid) in the session file [{path}]",
            )
    sess = _session_of(sh.dep.sessions.get(sid or ""))
    if (
        sess is None
        or sess.state != "open"
        or sess.server != sh.server.name
        or sess.boot != sh.server.boot_count
    ):
        raise ApiError(
            "generic_err_wrong_session_id",
            f"Wrong session id [{sid}]. Session may be expired. Please check "
            "session id and resend the request",
        )
    if sess.expired:
        raise ApiError(
            "generic_err_session_expired",
            "Session expired: the domain server went to standby. Please log in again.",
        )
    return sess


def open_context(sh: Shell, spec: Spec, inv: Invocation) -> Ctx:
    """Log in (root, or the stored session) and check the command may run there."""
    dep, server, opts = sh.dep, sh.server, inv.options
    for cred in ("user", "password", "api-key"):
        if cred in opts:
            raise ApiError(
                "generic_err_invalid_parameter",
                "The lab's mgmt_cli logs in as root only: use -r true on the server "
                "(user, password and api-key logins are not simulated)",
            )
    mgmt = opts.get("management")
    if mgmt and mgmt not in ("127.0.0.1", "localhost", server.ip, server.name):
        raise ApiError(
            "generic_err_invalid_parameter",
            f"The lab's mgmt_cli only talks to the server it runs on; -m {mgmt} is not simulated",
        )
    session: ApiSession | None = None
    if ("session-file" in opts or "session-id" in opts) and not spec.login:
        session = _stored_session(sh, opts)
        dom = dep.domain(session.domain) if session.domain else None
        local = dom.on(server.name) if dom is not None else None
    else:
        if opts.get("root", "").lower() != "true":
            raise ApiError(
                "generic_err_missing_required_parameters",
                "Missing login credentials: the lab's mgmt_cli needs -r true (log "
                "in as root on this server) or -s <session file> from "
                "'mgmt_cli login -r true'",
            )
        key = opts.get("domain") or sh.env.get("MGMT_CLI_DOMAIN")
        if spec.login and isinstance(inv.params.get("domain"), str):
            key = inv.params["domain"]
        dom, local = resolve_domain(dep, server, key)
    check_serving(dep, server, local)
    if spec.scope == "system" and dom is not None:
        raise ApiError(
            "err_not_a_system_domain_session",
            "This command is available only after logging in to the System Data domain.",
        )
    if spec.scope == "domain" and dom is None:
        raise ApiError(
            "err_inappropriate_domain_type",
            f"{spec.name} is not available in the System Data domain: log in to a "
            "domain or to the Global domain (-d).",
        )
    if spec.ha and local is not None and local.kind != "CMA":
        raise ApiError(
            "err_ha_invalid_operation",
            f"{spec.name} is not available on a Domain Log Server ({local.name} on "
            f"{server.name}): log servers have no High Availability state",
        )
    return Ctx(dep, sh, server, dom, local, inv.params, opts, session)


def find_command(server: SimServer, name: str, version: str | None) -> Spec:
    """The command, if this server's release (and the ``--version`` asked) has it."""
    server_api = _api_tuple(server.version.api_version)
    api = server_api
    if version:
        api = _api_tuple(version)
        if api > server_api:
            raise ApiError("err_unknown_api_version", f"Unknown API version: {version}")
    spec = COMMANDS.get(name)
    if (
        spec is None
        or _api_tuple(spec.since) > api
        or (spec.available is not None and not spec.available(server.version))
    ):
        raise ApiError("generic_err_command_not_found", f"Command [{name}] not found")
    return spec


@program("mgmt_cli")
def mgmt_cli(sh: Shell, argv: list[str], io: IO) -> int:
    """``mgmt_cli``: parse, log in, run one Management API command, print its response."""
    args = argv[1:]
    if not args or args[0] in ("-h", "--help", "help"):
        (io.print if args else io.eprint)(USAGE.rstrip("\n"))
        return 0 if args else ERROR_EXIT_STATUS
    fmt = "text"
    try:
        opts, words = split_options(args)
        fmt = opts["format"]
        name, params = parse_words(words)
        inv = Invocation(name, params, opts)
        spec = find_command(sh.server, name, opts.get("version"))
        with sh.dep.lock:
            ctx = open_context(sh, spec, inv)
            body = spec.handler(ctx)
    except LabError as exc:
        out = io.out if ERRORS_ON_STDOUT else io.err
        out.write(render(_body_of(exc), fmt) + _end(fmt))
        return ERROR_EXIT_STATUS
    io.out.write(render(body, fmt) + _end(fmt))
    return 0


def _end(fmt: str) -> str:
    """What follows a response: nothing after JSON (as the real mgmt_cli prints it)."""
    return "" if fmt == "json" else "\n"
