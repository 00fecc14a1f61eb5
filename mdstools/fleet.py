"""All sessions of an inventory, and reads run on many servers at once.

One thread and one SSH transport per server; on one server, independent read-only
commands can run as concurrent channels of the same transport (``Fleet.run_all``).
Mutating steps stay sequential and in the documented order: they never go through
:meth:`Fleet.map` with more than one server unless a runbook says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mdstools.commands.base import Command
from mdstools.errors import MdstoolsError
from mdstools.inventory import Inventory, Server, register_secrets
from mdstools.session import Hook, Result, Session
from mdstools.transport.base import Transport

T = TypeVar("T")
TransportFactory = Callable[[Server], Transport]


def ssh_transport(server: Server) -> Transport:
    from mdstools.transport.ssh import SshTransport

    return SshTransport(server)


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a function returned on one server, or the error that stopped it."""

    server: str
    value: T | None
    error: MdstoolsError | None

    @property
    def ok(self) -> bool:
        return self.error is None


class Fleet:
    """Sessions for every server of ``inventory``, opened on first use."""

    def __init__(
        self,
        inventory: Inventory,
        hooks: list[Hook] | None = None,
        transport: TransportFactory = ssh_transport,
    ) -> None:
        self.inventory = inventory
        register_secrets(inventory)
        self.hooks = list(hooks or [])
        self._factory = transport
        self._sessions: dict[str, Session] = {}

    def session(self, name: str) -> Session:
        s = self._sessions.get(name)
        if s is None:
            server = self.inventory.server(name)
            s = Session(server, self._factory(server), self.hooks)
            self._sessions[name] = s
        return s

    def map(
        self,
        fn: Callable[[Session], T],
        servers: Sequence[str] | None = None,
        max_workers: int | None = None,
    ) -> dict[str, Outcome[T]]:
        """Run ``fn(session)`` on each server in parallel; errors are kept per server."""
        names = list(servers) if servers is not None else [s.name for s in self.inventory.servers]
        sessions = [self.session(n) for n in names]

        def one(sess: Session) -> Outcome[T]:
            try:
                return Outcome(sess.name, fn(sess), None)
            except MdstoolsError as exc:
                return Outcome(sess.name, None, exc)

        if not sessions:
            return {}
        with ThreadPoolExecutor(max_workers=max_workers or len(sessions)) as pool:
            results = list(pool.map(one, sessions))
        return {r.server: r for r in results}

    def close(self) -> None:
        for s in self._sessions.values():
            s.close()
        self._sessions.clear()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_all(session: Session, commands: Sequence[Command[Any]]) -> list[Result[Any]]:
    """Run read-only commands on one server as concurrent channels of its transport.

    A clish login shell has one interactive expert channel, so its commands run one
    after the other; so do mutating commands (never run concurrently).
    """
    if session.clish_login or any(c.mutating for c in commands) or len(commands) < 2:
        return [session.run(c) for c in commands]
    session.transport.connect()
    with ThreadPoolExecutor(max_workers=min(len(commands), 8)) as pool:
        return list(pool.map(session.run, commands))
