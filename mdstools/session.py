"""A session on one Check Point server: how each command actually runs there.

* Every exec starts with the Check Point environment prologue: a Gaia exec channel loads
  no Check Point variables, so ``mdsstat`` alone is ``command not found`` (exit 127).
* ``domain=`` runs the command after ``mdsenv <DMS>`` (and records the context).
* A CLISH-mode command runs as ``clish -c '...'`` from expert; for a user whose login shell
  is clish, clish commands run directly and expert commands run in an interactive shell
  reached with ``expert`` and the expert password (blocking regex waits, no sleeps).
* Every command gives one :class:`Result`, with secrets redacted, timing, and parsed data.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

from mdstools.commands.base import Command, Mode, clean, quote, raw
from mdstools.errors import (
    ApiError,
    CommandFailed,
    CommandTimeout,
    ConnectionLostError,
    MdstoolsError,
    ModeError,
    ParseError,
)
from mdstools.inventory import Server
from mdstools.secrets import Secret, redact, resolve
from mdstools.transport.base import ShellChannel, Transport

T = TypeVar("T")

PROLOGUE = (
    "[ -f /etc/profile.d/CP.sh ] && . /etc/profile.d/CP.sh >/dev/null 2>&1; "
    '[ -n "$MDSDIR" ] || { for d in /opt/CPmds-R*; do MDSDIR=$d; done; export MDSDIR; }; '
    'type mdsenv >/dev/null 2>&1 || { [ -f "$MDSDIR/scripts/MDSprofile.sh" ] && '
    '. "$MDSDIR/scripts/MDSprofile.sh" >/dev/null 2>&1; }; '
    "mdsenv >/dev/null 2>&1; "
)
"""Loads the Check Point environment in an exec channel (where Gaia loads none): CP.sh, or
the MDS profile found through ``$MDSDIR`` (or the newest ``/opt/CPmds-R*``), then
``mdsenv`` for the MDS-level context."""

CLISH_PROMPT = re.compile(r"(?m)^[\w.-]+> ?$")
EXPERT_PROMPT = re.compile(r"(?m)^\[Expert@[\w.-]+:\d+\]# ?$")
ANY_PROMPT = re.compile(r"(?m)(^[\w.-]+> ?$|^\[Expert@[\w.-]+:\d+\]# ?$)")
PASSWORD_PROMPT = re.compile(r"(?i)expert password:\s*$")
AFTER_PASSWORD = re.compile(r"(?m)(^\[Expert@[\w.-]+:\d+\]# ?$|Wrong password\.?|^[\w.-]+> ?$)")

Hook = Callable[["Result[Any]"], None]


@dataclass(frozen=True)
class Result(Generic[T]):
    """What one command did on one server; secrets are already masked.

    ``ok`` is True when the exit status is one the command accepts and its output was
    understood. ``data`` is the parsed record(s). There is deliberately no ``__bool__``.
    """

    server: str
    command: str
    mode: str
    domain: str | None
    stdout: str
    stderr: str
    exit_status: int | None
    started_at: datetime
    duration_s: float
    data: T | None = None
    error: str | None = None
    exception: MdstoolsError | None = field(default=None, compare=False, repr=False)
    mutating: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def raise_for_status(self) -> Result[T]:
        """Return self when ok; else raise the ParseError/ApiError, or CommandFailed."""
        if self.ok:
            return self
        if isinstance(self.exception, (ParseError, ApiError)):
            raise self.exception
        raise CommandFailed(self)

    def value(self) -> T:
        """The parsed data of a successful command (raises otherwise)."""
        self.raise_for_status()
        assert self.data is not None
        return self.data


class Session:
    """Runs commands on one server through one transport."""

    def __init__(
        self, server: Server, transport: Transport, hooks: list[Hook] | None = None
    ) -> None:
        self.server = server
        self.transport = transport
        self.hooks: list[Hook] = list(hooks or [])
        self._shell: ShellChannel | None = None
        self._shell_lock = threading.Lock()
        self._expert_password: Secret | None = None

    @property
    def name(self) -> str:
        return self.server.name

    @property
    def clish_login(self) -> bool:
        return self.server.shell == "clish"

    # -- building the line -------------------------------------------------------------
    def wrap(self, cmd: Command[Any], domain: str | None) -> str:
        """The line sent to the server for ``cmd`` (prologue, domain context, clish)."""
        if cmd.mode is Mode.CLISH:
            return cmd.line if self.clish_login else f"clish -c {quote(cmd.line)}"
        context = f"mdsenv {quote(domain)} >/dev/null && " if domain else ""
        return PROLOGUE + context + cmd.line

    def describe(self, cmd: Command[Any], domain: str | None = None) -> str:
        """What a plan or dry run shows for ``cmd``: mode, context and the command line."""
        dom = domain or cmd.domain
        where = f" (mdsenv {dom})" if dom else ""
        return f"[{cmd.mode.value}{where}] {redact(cmd.line)}"

    # -- running -----------------------------------------------------------------------
    def run(
        self,
        cmd: Command[T] | str,
        *,
        domain: str | None = None,
        timeout: float | None = None,
        stdin: str | None = None,
        check: bool = False,
    ) -> Result[T]:
        """Run one command and return its :class:`Result` (``check=True`` raises on failure).

        A read-only command is retried once after a reconnect if the connection dropped
        (one connect timeout: longer outages are the waits' business, see ``jobs``).
        """
        command: Command[Any] = cmd if isinstance(cmd, Command) else Command(cmd, raw)
        dom = domain or command.domain
        limit = timeout or command.timeout_s or self.server.connection.command_timeout_s
        started = datetime.now(timezone.utc)
        t0 = time.monotonic()
        attempts = 1 if command.mutating else 2
        for attempt in range(attempts):
            try:
                if command.mode is Mode.EXPERT and self.clish_login:
                    out, err, rc = self._run_interactive(self.wrap(command, dom), limit)
                else:
                    o = self.transport.exec(self.wrap(command, dom), limit, stdin)
                    out, err, rc = o.stdout, o.stderr, o.exit_status
                break
            except CommandTimeout as exc:
                # The transport saw the wrapped line (prologue, mdsenv): name the command
                # the caller ran, without secrets. An interactive shell is left mid-command.
                self._drop_shell()
                raise CommandTimeout(
                    self.name, redact(command.line), exc.timeout_s, redact(exc.partial)
                ) from exc
            except ConnectionLostError:
                self._drop_shell()
                if attempt + 1 >= attempts:
                    raise
                self.transport.reconnect(self.server.connection.connect_timeout_s)
        result: Result[T] = self._result(command, dom, out, err, rc, started, time.monotonic() - t0)
        for hook in self.hooks:
            hook(result)
        if check:
            result.raise_for_status()
        return result

    def _result(
        self,
        command: Command[Any],
        domain: str | None,
        out: str,
        err: str,
        rc: int,
        started: datetime,
        duration: float,
    ) -> Result[Any]:
        stdout, stderr = redact(out), redact(err)
        data: Any = None
        error: str | None = None
        exc: MdstoolsError | None = None
        if rc in command.ok_codes:
            try:
                data = command.parse(clean(stdout))
            except (ParseError, ApiError) as e:
                exc = e
                error = str(e) if isinstance(e, ApiError) else f"parse error: {e.reason}"
        else:
            error = f"exit status {rc}"
        return Result(
            self.name,
            redact(command.line),
            command.mode.value,
            domain,
            stdout,
            stderr,
            rc,
            started,
            duration,
            data,
            error,
            exc,
            command.mutating,
        )

    # -- clish login shells --------------------------------------------------------------
    def _drop_shell(self) -> None:
        with self._shell_lock:
            if self._shell is not None:
                self._shell.close()
            self._shell = None

    def _expert_shell(self, timeout: float) -> ShellChannel:
        if self._shell is not None:
            return self._shell
        sh = self.transport.open_shell(timeout)
        _, m = sh.expect(ANY_PROMPT, timeout)
        if not m.group(0).startswith("[Expert@"):
            ref = self.server.connection.expert_password
            if ref is None:
                sh.close()
                raise ModeError(
                    self.name,
                    "the login shell is clish and no expert_password is configured",
                    "add expert_password: env:NAME or file:PATH to the inventory",
                )
            if self._expert_password is None:
                self._expert_password = resolve(ref)
            sh.send("expert\n")
            sh.expect(PASSWORD_PROMPT, timeout)
            sh.send(self._expert_password.reveal() + "\n")
            text, m2 = sh.expect(AFTER_PASSWORD, timeout)
            if not m2.group(0).startswith("[Expert@"):
                sh.close()
                detail = "Wrong password." if "Wrong password" in text else redact(text.strip())
                raise ModeError(
                    self.name,
                    f"expert mode refused ({detail})",
                    "check the expert_password reference in the inventory",
                )
        self._shell = sh
        return sh

    def _run_interactive(self, line: str, timeout: float) -> tuple[str, str, int]:
        with self._shell_lock:
            sh = self._expert_shell(timeout)
            nonce = uuid.uuid4().hex[:12]
            start, end = f"__MDST_{nonce}_S", f"__MDST_{nonce}_E"
            sh.send(f"echo {start}; ( {line} ); echo {end}=$?\n")
            text, m = sh.expect(re.compile(rf"(?m)^{end}=(\d+)\r?$"), timeout)
            sm = re.search(rf"(?m)^{start}\r?$", text)
            body = text[sm.end() : m.start()] if sm else text[: m.start()]
            sh.expect(EXPERT_PROMPT, timeout)
            return body.replace("\r\n", "\n").lstrip("\n"), "", int(m.group(1))

    def close(self) -> None:
        self._drop_shell()
        self.transport.close()
