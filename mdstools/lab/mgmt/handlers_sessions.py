"""``login``, ``logout``, ``publish``, ``discard`` and the ``show-session(s)`` commands."""

from __future__ import annotations

import secrets
import uuid

from mdstools.lab.mgmt.context import Ctx
from mdstools.lab.mgmt.errors import not_found
from mdstools.lab.mgmt.login import check_serving, resolve_domain
from mdstools.lab.mgmt.registry import command
from mdstools.lab.mgmt.render import JsonObj
from mdstools.lab.mgmt.sessions import ROOT_USER, SESSION_TIMEOUT, ApiSession, session_of
from mdstools.lab.mgmt.shapes import (
    domain_ref,
    newest_first,
    object_meta,
    paginate,
    server_uid,
    stamp,
)
from mdstools.lab.mgmt.tasks import start_task
from mdstools.lab.model import Deployment, Domain, Revision


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


@command("keepalive")
def _keepalive(ctx: Ctx) -> JsonObj:
    """``keepalive``: keeps the session from expiring (any call on it does). ``{message: OK}``."""
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
    obj.update(object_meta())
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
    obj.update(object_meta())
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


@command("show-sessions")
def _show_sessions(ctx: Ctx) -> JsonObj:
    """``show-sessions [view-published-sessions true] [details-level full] [limit] [offset]``.

    Default view: the open sessions of this domain on this server; published view: the
    local database's published sessions, newest first. Objects are uids unless
    ``details-level full`` (the official example returns uids for ``standard``).
    """
    if ctx.flag("view-published-sessions"):
        revs = newest_first(ctx.local)
        page, head = paginate(revs, ctx, 50)
        objs = [_published_session_obj(ctx, r, ctx.domain) if ctx.full else r.uid for r in page]
    else:
        sessions = [
            s
            for e in ctx.dep.sessions.values()
            if (s := session_of(e)) is not None
            and s.state == "open"
            and not ctx.dep.api.timed_out(s.sid, ctx.dep.clock.now())
            and s.server == ctx.server.name
            and s.domain == (ctx.domain.name if ctx.domain else None)
        ]
        sessions.sort(key=lambda s: s.login_time, reverse=True)
        page, head = paginate(sessions, ctx, 50)
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
        s = session_of(entry)
        if s is not None and s.uid == uid and s.server == ctx.server.name:
            return _open_session_obj(ctx, s)
    for rev in newest_first(ctx.local):
        if rev.uid == uid:
            return _published_session_obj(ctx, rev, ctx.domain)
    raise not_found(uid)


@command("show-last-published-session", since="1.1")
def _show_last_published_session(ctx: Ctx) -> JsonObj:
    """``show-last-published-session``: the newest published session of the local database."""
    revs = newest_first(ctx.local)
    if not revs:
        raise not_found("last published session")
    return _published_session_obj(ctx, revs[0], ctx.domain)
