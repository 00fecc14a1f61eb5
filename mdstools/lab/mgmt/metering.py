"""What one ``mgmt_cli`` call costs, and whether the server takes it (``docs/durations.md``).

A call is one of three kinds:

* ``login`` (``login``, ``login-to-domain``): pays a login (read-only: less) and, when
  read/write, takes one of the server's session slots until ``logout`` (or a reboot, or,
  with the cost model on, its ``session-timeout`` without a call);
* ``session`` (``-s FILE`` / ``--session-id``): pays a command (``logout``: a logout);
* ``implicit`` (``-r true`` without a session): login, command, publish and logout, holding
  a read/write slot while it runs.

Costs are sleeps on the lab's scaled clock taken outside the deployment lock, so calls on
other channels overlap. Refusals, before anything is paid:

* within ``--api-init-after-boot`` of a reboot, or of an ``mdsstart`` that started the
  MDS's processes again (the API server, CPM, restarts with them):
  ``generic_server_initializing`` (the code is documented, the message INFERRED);
* over ``--api-rate-limit`` calls per second: ``err_too_many_requests`` (VERBATIM, as R81
  answers remote logins; that the lab applies it to local calls too is a choice);
* a read/write login beyond ``max_sessions``: ``err_too_many_sessions`` (code and message
  INFERRED).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mdstools.lab.api_costs import INITIALIZING, TOO_MANY_REQUESTS
from mdstools.lab.mgmt.errors import MgmtCliError
from mdstools.lab.mgmt.options import Invocation
from mdstools.lab.mgmt.registry import Spec
from mdstools.lab.mgmt.sessions import SESSION_TIMEOUT
from mdstools.lab.shell import Shell

LOGIN_COMMANDS = frozenset({"login", "login-to-domain"})

INITIALIZING_MESSAGE = "Server is initializing. Please try again later."
"""INFERRED: the reference lists the code; no source shows the message."""
TOO_MANY_REQUESTS_MESSAGE = "Too many requests in a given amount of time"
"""Verbatim, as R81 answers remote logins over its rate limit."""
TOO_MANY_SESSIONS = "err_too_many_sessions"
"""INFERRED: no source shows the code or message of a login beyond the session limit."""


def too_many_sessions(limit: int) -> MgmtCliError:
    """The refusal of a read/write login when ``limit`` sessions are open (INFERRED)."""
    return MgmtCliError(
        TOO_MANY_SESSIONS,
        f"Login failed: the maximum number of concurrent read/write sessions ({limit}) "
        "has been reached. Log out unused sessions or wait for them to expire.",
    )


@dataclass
class Metered:
    """One call's passage through the cost model."""

    sh: Shell
    spec: Spec
    kind: str  # login | session | implicit
    read_only: bool
    held: bool = False
    logged: bool = False  # an implicit session logged in
    done: bool = False  # the command answered

    @classmethod
    def of(cls, sh: Shell, spec: Spec, inv: Invocation) -> Metered:
        """The kind of call ``inv`` is."""
        opts = inv.options
        if spec.name in LOGIN_COMMANDS:
            kind = "login"
        elif "session-file" in opts or "session-id" in opts:
            kind = "session"
        else:
            kind = "implicit"
        ro = kind == "login" and str(inv.params.get("read-only", "")).lower() == "true"
        return cls(sh, spec, kind, ro)

    @property
    def server(self) -> str:
        return self.sh.server.name

    def admit(self) -> None:
        """Refuse the call now if the server does not take it; else hold a session slot."""
        dep = self.sh.dep
        now = dep.clock.now()
        code = dep.api.admit(self.server, now, dep.clock.dur(1.0))
        if code == INITIALIZING:
            raise MgmtCliError(INITIALIZING, INITIALIZING_MESSAGE)
        if code == TOO_MANY_REQUESTS:
            raise MgmtCliError(TOO_MANY_REQUESTS, TOO_MANY_REQUESTS_MESSAGE)
        if self.kind != "session" and not self.read_only:
            if not dep.api.reserve(self.server, now):
                raise too_many_sessions(dep.api.costs.max_sessions)
            self.held = True

    def before(self) -> None:
        """Pay what comes before the command's answer: the login, or the session command."""
        costs = self.sh.dep.api.costs
        if self.kind == "session":
            self._pay(
                costs.latency * (costs.logout if self.spec.name == "logout" else costs.command)
            )
            return
        self._pay(costs.login(self.read_only))

    def logged_in(self) -> None:
        """The call reached its domain: an implicit session counts its login (and logout)."""
        if self.kind == "implicit":
            self.logged = True
            self.sh.dep.api.implicit(self.server)

    def answered(self, body: dict[str, Any], sid: str | None) -> None:
        """Record what the command did to sessions (under the deployment lock)."""
        dep = self.sh.dep
        self.done = True
        if self.kind == "login" and isinstance(body.get("sid"), str):
            timeout = body.get("session-timeout")
            seconds = (
                float(timeout) if isinstance(timeout, (int, float)) else float(SESSION_TIMEOUT)
            )
            dep.api.opened(
                str(body["sid"]),
                self.server,
                bool(body.get("read-only")),
                dep.clock.now(),
                dep.clock.dur(seconds),
                self.held,
            )
            self.held = False
        elif self.spec.name == "logout" and sid is not None:
            dep.api.closed(sid, self.server)

    def finish(self) -> None:
        """Pay the rest of an implicit session that logged in: the command, the publish (if
        the command answered) and the logout; then give back the session slot."""
        try:
            if self.logged:
                costs = self.sh.dep.api.costs
                share = costs.command + costs.logout + (costs.publish if self.done else 0.0)
                self._pay(costs.latency * share)
        finally:
            if self.held:
                self.sh.dep.api.release(self.server)
                self.held = False

    def _pay(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self.sh.dep.api.paid(self.server, seconds)
        self.sh.sleep(self.sh.dep.clock.dur(seconds))
