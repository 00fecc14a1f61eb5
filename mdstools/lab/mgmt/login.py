"""Logging in: which domain ``-d`` names, whether the server answers, the stored session."""

from __future__ import annotations

import json
import re

from mdstools.lab.api_costs import INITIALIZING
from mdstools.lab.mgmt.context import Ctx
from mdstools.lab.mgmt.errors import MgmtCliError, login_failed
from mdstools.lab.mgmt.metering import INITIALIZING_MESSAGE
from mdstools.lab.mgmt.options import Invocation, api_tuple
from mdstools.lab.mgmt.registry import COMMANDS, Spec
from mdstools.lab.mgmt.sessions import ApiSession, session_of
from mdstools.lab.mgmt.shapes import SYSTEM_DATA, SYSTEM_DATA_UID
from mdstools.lab.model import Deployment, Domain, DomainServer, SimServer
from mdstools.lab.shell import Shell
from mdstools.lab.vfs import VfsError


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
        raise login_failed()
    return dom, local


def check_serving(dep: Deployment, server: SimServer, local: DomainServer | None) -> None:
    """The API answers only when the MDS processes (and the local DMS) are up."""
    for state in (dep.server_state(server), dep.dms_state(local) if local else "up"):
        if state in ("pnd", "init"):
            raise MgmtCliError(INITIALIZING, INITIALIZING_MESSAGE)
        if state != "up":
            raise login_failed()


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
            raise MgmtCliError(
                "generic_err_missing_session_id", f"Cannot read the session file [{path}]: {exc}"
            ) from None
        sid = _sid_from(text)
        if sid is None:
            raise MgmtCliError(
                "generic_err_missing_session_id",
                f"No session id (sid) in the session file [{path}]",
            )
    sess = session_of(sh.dep.sessions.get(sid or ""))
    if (
        sess is None
        or sess.state != "open"
        or sess.server != sh.server.name
        or sess.boot != sh.server.boot_count
        or not sh.dep.api.alive(sess.sid, sh.dep.clock.now())
    ):
        raise MgmtCliError(
            "generic_err_wrong_session_id",
            f"Wrong session id [{sid}]. Session may be expired. Please check "
            "session id and resend the request",
        )
    if sess.expired:
        raise MgmtCliError(
            "generic_err_session_expired",
            "Session expired: the domain server went to standby. Please log in again.",
        )
    return sess


def _by_name_refused(dep: Deployment, dom: Domain, key: str | None, inv: Invocation) -> bool:
    """Whether this read/write login names its domain and the lab refuses that (the
    ``name-login-refused`` scenario; INFERRED: seen after upgrades, where the UID works)."""
    read_only = str(inv.params.get("read-only", "")).lower() == "true"
    return dep.api.name_logins_refused and key == dom.name and not read_only


def open_context(sh: Shell, spec: Spec, inv: Invocation) -> Ctx:
    """Log in (root, or the stored session) and check the command may run there."""
    dep, server, opts = sh.dep, sh.server, inv.options
    for cred in ("user", "password", "api-key"):
        if cred in opts:
            raise MgmtCliError(
                "generic_err_invalid_parameter",
                "The lab's mgmt_cli logs in as root only: use -r true on the server "
                "(user, password and api-key logins are not simulated)",
            )
    mgmt = opts.get("management")
    if mgmt and mgmt not in ("127.0.0.1", "localhost", server.ip, server.name):
        raise MgmtCliError(
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
            raise MgmtCliError(
                "generic_err_missing_required_parameters",
                "Missing login credentials: the lab's mgmt_cli needs -r true (log "
                "in as root on this server) or -s <session file> from "
                "'mgmt_cli login -r true'",
            )
        key = opts.get("domain") or sh.env.get("MGMT_CLI_DOMAIN")
        if spec.login and isinstance(inv.params.get("domain"), str):
            key = inv.params["domain"]
        dom, local = resolve_domain(dep, server, key)
        if spec.login and dom is not None and _by_name_refused(dep, dom, key, inv):
            raise login_failed()
    check_serving(dep, server, local)
    if spec.scope == "system" and dom is not None:
        raise MgmtCliError(
            "err_not_a_system_domain_session",
            "This command is available only after logging in to the System Data domain.",
        )
    if spec.scope == "domain" and dom is None:
        raise MgmtCliError(
            "err_inappropriate_domain_type",
            f"{spec.name} is not available in the System Data domain: log in to a "
            "domain or to the Global domain (-d).",
        )
    if spec.ha and local is not None and local.kind != "CMA":
        raise MgmtCliError(
            "err_ha_invalid_operation",
            f"{spec.name} is not available on a Domain Log Server ({local.name} on "
            f"{server.name}): log servers have no High Availability state",
        )
    return Ctx(dep, sh, server, dom, local, inv.params, opts, session)


def find_command(server: SimServer, name: str, version: str | None) -> Spec:
    """The command, if this server's release (and the ``--version`` asked) has it."""
    server_api = api_tuple(server.version.api_version)
    api = server_api
    if version:
        api = api_tuple(version)
        if api > server_api:
            raise MgmtCliError("err_unknown_api_version", f"Unknown API version: {version}")
    spec = COMMANDS.get(name)
    if (
        spec is None
        or api_tuple(spec.since) > api
        or (spec.available is not None and not spec.available(server.version))
    ):
        raise MgmtCliError("generic_err_command_not_found", f"Command [{name}] not found")
    return spec
