"""A scripted transport for unit tests of the layers above SSH (no network, no threads).

``FakeTransport(responder)`` answers each exec with what ``responder(command, stdin)``
returns; :class:`FakeShell` plays a Gaia interactive session (clish prompt, ``expert`` with
its password, the expert prompt) around a responder for expert-mode scripts: it decodes the
here-docs of a framed command (``session.frame``) and prints the markers as bash would.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from mdstools.errors import CommandTimeout, ConnectionLostError, UnreachableError
from mdstools.transport.base import ExecOutput

Responder = Callable[[str, str | None], tuple[str, str, int]]


def table(entries: dict[str, tuple[str, str, int] | str]) -> Responder:
    """A responder from ``{regex: (stdout, stderr, rc) | stdout}``; first match wins."""
    compiled = [(re.compile(k), v) for k, v in entries.items()]

    def respond(command: str, stdin: str | None) -> tuple[str, str, int]:
        for rx, v in compiled:
            if rx.search(command):
                return (v, "", 0) if isinstance(v, str) else v
        return (
            "",
            f"bash: {command.split()[0] if command.split() else ''}: command not found\n",
            127,
        )

    return respond


@dataclass
class FakeTransport:
    """Records every command; ``drop_next`` makes the next N execs lose the connection."""

    name: str
    responder: Responder
    shell_factory: Callable[[], FakeShell] | None = None
    calls: list[str] = field(default_factory=list)
    drop_next: int = 0
    unreachable: bool = False
    reconnects: int = 0
    _connected: bool = False

    @property
    def connected(self) -> bool:
        return self._connected

    def connect(self) -> None:
        if self.unreachable:
            raise UnreachableError(self.name, "refused the connection (fake)")
        self._connected = True

    def exec(self, command: str, timeout: float, stdin: str | None = None) -> ExecOutput:
        self.connect()
        self.calls.append(command)
        if self.drop_next:
            self.drop_next -= 1
            self._connected = False
            raise ConnectionLostError(self.name)
        out, err, rc = self.responder(command, stdin)
        return ExecOutput(stdout=out, stderr=err, exit_status=rc, duration_s=0.0)

    def open_shell(self, timeout: float) -> FakeShell:
        self.connect()
        if self.shell_factory is None:
            raise ConnectionLostError(self.name, "the fake has no interactive shell")
        return self.shell_factory()

    def reconnect(self, wait_s: float) -> None:
        self.reconnects += 1
        self.connect()

    def close(self) -> None:
        self._connected = False


class FakeShell:
    """A Gaia PTY session: clish login, ``expert`` + password, then expert command lines."""

    def __init__(
        self,
        host: str,
        expert_password: str,
        expert: Callable[[str], tuple[str, int]],
        echo: bool = True,
    ) -> None:
        self.host = host
        self.password = expert_password
        self.expert = expert
        self.echo = echo
        self.mode = "clish"
        self.awaiting_password = False
        self.buf = f"{host}> "
        self.sent: list[str] = []
        self.scripts: list[str] = []
        self._heredocs: list[str] = []
        self._bodies: list[list[str]] = []
        self._body: list[str] = []

    def _prompt(self) -> str:
        return f"[Expert@{self.host}:0]# " if self.mode == "expert" else f"{self.host}> "

    def send(self, text: str) -> None:
        for line in text.splitlines():
            self.sent.append(line)
            if self.awaiting_password:
                self.awaiting_password = False
                self.buf += "\r\n"
                if line == self.password:
                    self.mode = "expert"
                    self.buf += (
                        "\r\n\r\nWarning! All configurations should be done through "
                        "clish\r\nYou are in expert mode now.\r\n\r\n" + self._prompt()
                    )
                else:
                    self.buf += "Wrong password.\r\n" + self._prompt()
                continue
            if self.echo:
                self.buf += line + "\r\n"
            if self._heredocs:
                if line == self._heredocs[0]:
                    self._heredocs.pop(0)
                    self._bodies.append(self._body)
                    self._body = []
                else:
                    self._body.append(line)
                self.buf += "> " if self._heredocs else self._prompt()
                continue
            if self.mode == "clish" and line.strip() == "expert":
                self.awaiting_password = True
                self.buf += "Enter expert password:"
                continue
            if self.mode == "expert" and line.strip() == "exit":
                self.mode = "clish"
                self.buf += self._prompt()
                continue
            if self.mode == "expert" and re.search(r"<<'(\w+)'", line):
                self._heredocs = re.findall(r"<<'(\w+)'", line)
                self._bodies, self._body = [], []
                self.buf += "> "
                continue
            if self.mode == "expert":
                self.buf += self._bash(line).replace("\n", "\r\n") + self._prompt()
            else:
                self.buf += f"CLINFR0329  Invalid command:'{line}'.\r\n" + self._prompt()

    def _bash(self, line: str) -> str:
        """What bash prints for one expert line: a framed run, the sync line, or a plain
        line (the responder's output)."""
        marker = re.match(r"printf '\\n%s_S\\n' (\w+);", line)
        if marker:
            script = base64.b64decode("".join(self._bodies[0])).decode() if self._bodies else ""
            self.scripts.append(script)
            out, rc = self.expert(script)
            m = marker.group(1)
            return f"\n{m}_S\n{out}\n{m}_E={rc}\n\n{m}_X\n"
        sync = re.search(r"printf '\\n%s_R\\n' (\w+)", line)
        if sync:
            return f"\n{sync.group(1)}_R\n"
        out, _ = self.expert(line)
        return out

    def expect(self, pattern: re.Pattern[str], timeout: float) -> tuple[str, re.Match[str]]:
        m = pattern.search(self.buf)
        if not m:
            raise CommandTimeout(
                self.host, f"waiting for {pattern.pattern!r}", timeout, self.buf[-500:]
            )
        out, self.buf = self.buf[: m.end()], self.buf[m.end() :]
        return out, m

    def drain(self) -> str:
        """What the fake printed and nobody read yet; the buffer is emptied."""
        out, self.buf = self.buf, ""
        return out

    @property
    def closed(self) -> bool:
        """True once closed."""
        return self.mode == "closed"

    def close(self) -> None:
        self.mode = "closed"
