"""The sessions that ``mgmt_cli login`` opens, as the deployment keeps them."""

from __future__ import annotations

from dataclasses import dataclass, field

from mdstools.lab.model import Change

SESSION_TIMEOUT = 600
ROOT_USER = "admin"


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


def session_of(entry: dict[str, object] | None) -> ApiSession | None:
    """The session kept in a ``Deployment.sessions`` entry, if there is one."""
    obj = entry.get("session") if entry else None
    return obj if isinstance(obj, ApiSession) else None
