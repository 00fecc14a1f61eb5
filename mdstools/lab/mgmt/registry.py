"""The Management API commands the lab knows, registered by their handlers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mdstools.lab.mgmt.context import Ctx
from mdstools.lab.mgmt.render import JsonObj
from mdstools.lab.versions import VersionProfile

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
