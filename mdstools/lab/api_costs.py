"""What the Management API costs on a real server, and what the lab's calls have spent.

:class:`ApiCosts` holds the settings (``mdstools lab up --api-latency``,
``--api-init-after-boot``, ``--api-rate-limit``; ``LabOptions.max_sessions``), in product
seconds that the lab's clock scales like every other duration. The values and their
sources are in ``docs/durations.md``: no public source measures a login, so the latency is
an assumption an engineer replaces with a measurement of their own servers.

:class:`ApiMeter` is the ledger of one deployment: the sessions open on each server (until
logout, a reboot or, with the cost model on, their timeout), the calls admitted or refused,
the product seconds paid. ``mgmt_cli`` (``mdstools.lab.mgmt.metering``) consults and feeds
it; ``lab status`` shows :meth:`ApiMeter.snapshot`. Every method is thread-safe.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

SESSION_LIMIT = 100
"""Concurrent read/write sessions a server accepts (Management API documentation)."""
INITIALIZING = "generic_server_initializing"
"""The refusal code of a call while the API initializes after a boot or an ``mdsstart``."""
TOO_MANY_REQUESTS = "err_too_many_requests"
"""The refusal code of a call over the rate limit."""


@dataclass(frozen=True)
class ApiCosts:
    """The price of each Management API operation, in product seconds.

    ``latency`` is a read/write login; the other costs are fractions of it (assumptions:
    a read-only login half, a command inside an open session, and the publish of an
    implicit session without changes, 5 %; a logout 2 %).
    """

    latency: float = 0.0
    read_only_login: float = 0.5
    command: float = 0.05
    publish: float = 0.05
    logout: float = 0.02
    init_after_boot: float = 0.0
    rate_limit: float = 0.0  # calls per product second on one server; 0: no limit
    max_sessions: int = SESSION_LIMIT

    @property
    def enabled(self) -> bool:
        """Whether any cost is set; only then do unused sessions expire on their timeout."""
        return self.latency > 0 or self.init_after_boot > 0 or self.rate_limit > 0

    def login(self, read_only: bool) -> float:
        """Product seconds of one login."""
        return self.latency * (self.read_only_login if read_only else 1.0)


@dataclass
class OpenSession:
    """A session the meter counts: where, which mode, when last used (lab clock)."""

    server: str
    read_only: bool
    last_used: float
    timeout: float  # lab seconds


@dataclass
class ServerUsage:
    """What the API calls of one server have done since the lab started."""

    calls: int = 0
    logins: int = 0
    read_only_logins: int = 0
    logouts: int = 0
    expired: int = 0
    peak_sessions: int = 0
    paid_seconds: float = 0.0
    refused: dict[str, int] = field(default_factory=dict)
    running: int = 0  # read/write logins and implicit sessions under way
    ready_at: float = 0.0  # lab time from which the API answers after a boot
    recent: deque[float] = field(default_factory=deque)


class ApiMeter:
    """The ledger of the Management API calls of one deployment."""

    def __init__(self, costs: ApiCosts | None = None) -> None:
        self.costs = costs or ApiCosts()
        self.lock = threading.Lock()
        self.usage: dict[str, ServerUsage] = {}
        self.sessions: dict[str, OpenSession] = {}
        self.timed_out_sids: set[str] = set()
        self.name_logins_refused = False
        """Whether a read/write ``login`` to a domain by its name is refused
        (``err_login_failed``) while one by its UID works: the ``name-login-refused``
        scenario."""

    def _of(self, server: str) -> ServerUsage:
        return self.usage.setdefault(server, ServerUsage())

    def _purge(self, now: float) -> None:
        if not self.costs.enabled:
            return
        for sid, s in list(self.sessions.items()):
            if now - s.last_used > s.timeout:
                del self.sessions[sid]
                self.timed_out_sids.add(sid)
                self._of(s.server).expired += 1

    def _read_write(self, server: str) -> int:
        return sum(1 for s in self.sessions.values() if s.server == server and not s.read_only)

    def _open(self, server: str) -> int:
        return sum(1 for s in self.sessions.values() if s.server == server)

    def _peak(self, server: str) -> None:
        u = self._of(server)
        u.peak_sessions = max(u.peak_sessions, self._open(server) + u.running)

    def admit(self, server: str, now: float, second: float) -> str | None:
        """Count a call; the refusal code if the server does not take it now (still
        initializing after a boot or an ``mdsstart``, or over the rate limit), else None.
        ``second`` is one product second in lab seconds; the limit counts the calls of the
        last second, or for a rate under one per second the last call of the last
        ``1 / rate`` seconds."""
        with self.lock:
            u = self._of(server)
            u.calls += 1
            if now < u.ready_at:
                return INITIALIZING
            rate = self.costs.rate_limit
            if rate > 0:
                window = second / rate if rate < 1 else second
                while u.recent and u.recent[0] <= now - window:
                    u.recent.popleft()
                if len(u.recent) >= max(1.0, rate):
                    return TOO_MANY_REQUESTS
                u.recent.append(now)
            return None

    def reserve(self, server: str, now: float) -> bool:
        """Hold a read/write session slot for a login or an implicit session; False when
        the server has ``max_sessions`` already."""
        with self.lock:
            self._purge(now)
            u = self._of(server)
            if self._read_write(server) + u.running >= self.costs.max_sessions:
                return False
            u.running += 1
            self._peak(server)
            return True

    def release(self, server: str) -> None:
        """Give back a slot :meth:`reserve` held."""
        with self.lock:
            u = self._of(server)
            u.running = max(0, u.running - 1)

    def opened(
        self, sid: str, server: str, read_only: bool, now: float, timeout: float, held: bool
    ) -> None:
        """A login created session ``sid`` (``held``: in the slot it reserved, now given
        back). ``timeout`` in lab seconds."""
        with self.lock:
            u = self._of(server)
            if held:
                u.running = max(0, u.running - 1)
            self.sessions[sid] = OpenSession(server, read_only, now, timeout)
            u.logins += 1
            u.read_only_logins += read_only
            self._peak(server)

    def implicit(self, server: str) -> None:
        """An implicit ``-r true`` session logged in (its logout follows whatever happens)."""
        with self.lock:
            u = self._of(server)
            u.logins += 1
            u.logouts += 1

    def closed(self, sid: str, server: str) -> None:
        """``logout`` of session ``sid``."""
        with self.lock:
            self.sessions.pop(sid, None)
            self._of(server).logouts += 1

    def ended(self, sid: str, server: str) -> None:
        """The server ended session ``sid`` itself (its DMS went to standby): it no longer
        takes a slot, and counts as expired."""
        with self.lock:
            if self.sessions.pop(sid, None) is not None:
                self._of(server).expired += 1

    def alive(self, sid: str, now: float) -> bool:
        """Whether ``sid`` has not timed out; a call on a live session keeps it alive."""
        with self.lock:
            self._purge(now)
            s = self.sessions.get(sid)
            if s is not None:
                s.last_used = now
            return sid not in self.timed_out_sids

    def timed_out(self, sid: str, now: float) -> bool:
        """Whether ``sid`` expired for want of a call within its timeout."""
        with self.lock:
            self._purge(now)
            return sid in self.timed_out_sids

    def booted(self, server: str, up_at: float, init: float) -> None:
        """A boot forgot the server's sessions; its API answers from ``up_at + init``."""
        with self.lock:
            for sid in [k for k, s in self.sessions.items() if s.server == server]:
                del self.sessions[sid]
            self._of(server).ready_at = up_at + init

    def started(self, server: str, up_at: float, init: float) -> None:
        """``mdsstart`` started the server's processes, the API server (CPM) among them:
        it answers from ``up_at + init``, as after a boot (its refusals counted alike)."""
        with self.lock:
            self._of(server).ready_at = up_at + init

    def paid(self, server: str, seconds: float) -> None:
        """Product seconds a call of ``server`` spent."""
        with self.lock:
            self._of(server).paid_seconds += seconds

    def refused(self, server: str, code: str) -> None:
        """A call answered with the error ``code``."""
        with self.lock:
            u = self._of(server)
            u.refused[code] = u.refused.get(code, 0) + 1

    def _row(self, name: str, u: ServerUsage) -> dict[str, object]:
        return {
            "calls": u.calls,
            "logins": u.logins,
            "read_only_logins": u.read_only_logins,
            "logouts": u.logouts,
            "expired": u.expired,
            "open_sessions": self._open(name),
            "open_read_write_sessions": self._read_write(name),
            "max_concurrent_sessions": u.peak_sessions,
            "paid_seconds": round(u.paid_seconds, 6),
            "refused": dict(u.refused),
        }

    def snapshot(self, now: float) -> dict[str, object]:
        """The counters since ``lab up``: totals, the settings, and each server's."""
        with self.lock:
            self._purge(now)
            usage = sorted(self.usage.items())
            refused: dict[str, int] = {}
            for _, u in usage:
                for code, n in u.refused.items():
                    refused[code] = refused.get(code, 0) + n
            c = self.costs
            return {
                "calls": sum(u.calls for _, u in usage),
                "logins": sum(u.logins for _, u in usage),
                "read_only_logins": sum(u.read_only_logins for _, u in usage),
                "logouts": sum(u.logouts for _, u in usage),
                "expired": sum(u.expired for _, u in usage),
                "open_sessions": len(self.sessions),
                "max_concurrent_sessions": max((u.peak_sessions for _, u in usage), default=0),
                "paid_seconds": round(sum(u.paid_seconds for _, u in usage), 6),
                "refused": refused,
                "settings": {
                    "latency_s": c.latency,
                    "init_after_boot_s": c.init_after_boot,
                    "rate_limit_per_s": c.rate_limit,
                    "session_limit": c.max_sessions,
                    "sessions_expire": c.enabled,
                },
                "servers": {name: self._row(name, u) for name, u in usage},
            }
