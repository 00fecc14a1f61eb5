"""What the session needs from a transport; SSH (``ssh.py``) and the fake (``fake.py``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, kw_only=True)
class ExecOutput:
    """What one exec request returned."""

    stdout: str
    stderr: str
    exit_status: int
    duration_s: float


class ShellChannel(Protocol):
    """An interactive (PTY) channel with blocking regex waits."""

    def send(self, text: str) -> None: ...

    def expect(self, pattern: re.Pattern[str], timeout: float) -> tuple[str, re.Match[str]]:
        """Read until ``pattern`` matches; returns (text up to the match end, match)."""
        ...

    def drain(self) -> str:
        """What arrived and was not read yet, without waiting; the buffer is emptied."""
        ...

    @property
    def closed(self) -> bool:
        """True once the server ended the session (an idle logout, a dropped connection)."""
        ...

    def close(self) -> None: ...


class Transport(Protocol):
    """One authenticated connection to one server, reused for every command."""

    name: str

    @property
    def connected(self) -> bool: ...

    def connect(self) -> None: ...

    def exec(self, command: str, timeout: float, stdin: str | None = None) -> ExecOutput: ...

    def open_shell(self, timeout: float) -> ShellChannel: ...

    def reconnect(self, wait_s: float) -> None:
        """Reconnect, retrying with backoff for up to ``wait_s`` (a reboot takes minutes)."""
        ...

    def close(self) -> None: ...
