"""A session on one Check Point server: how each command actually runs there.

* Every exec starts with the Check Point environment prologue: a Gaia exec channel loads
  no Check Point variables, so ``mdsstat`` alone is ``command not found`` (exit 127).
* ``domain=`` runs the command after ``mdsenv <DMS>`` (and records the context).
* A CLISH-mode command runs as ``clish -c '...'`` from expert; for a user whose login shell
  is clish, clish commands run directly and expert commands run in an interactive shell
  reached with ``expert`` and the expert password (blocking regex waits, no sleeps). There
  each command runs as it would on an exec channel: its script and stdin travel as short
  base64 lines into a private temporary directory, ``bash`` runs the script with stdout and
  stderr in files, and the shell prints them between markers (see :func:`frame`).
* Every command gives one :class:`Result`, with secrets redacted, timing, and parsed data.
"""

from __future__ import annotations

import base64
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

# Terminal control sequences a shell may print around its prompt (bash's bracketed-paste
# switches, window titles, bells): prompts are matched through them and carriage returns.
_SEQ = r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[^\[\]]|\x07"
_CTL = rf"(?:{_SEQ}|\r)*"
_CLISH = rf"^{_CTL}[\w.-]+(?::\d+)?> ?{_CTL}$"
_EXPERT = rf"^{_CTL}\[Expert@[\w.-]+:\d+\]# ?{_CTL}$"
CLISH_PROMPT = re.compile(rf"(?m){_CLISH}")
EXPERT_PROMPT = re.compile(rf"(?m){_EXPERT}")
ANY_PROMPT = re.compile(rf"(?m)({_CLISH}|{_EXPERT})")
PASSWORD_PROMPT = re.compile(rf"(?i)expert password:\s*{_CTL}$")
AFTER_PASSWORD = re.compile(rf"(?m)({_EXPERT}|Wrong password\.?|{_CLISH})")
CONTROL_SEQUENCE = re.compile(rf"(?:{_SEQ})+")
"""One or more terminal control sequences (carriage returns excepted)."""

B64_LINE = 76
"""Characters per base64 line sent to an interactive shell: far below the 4095 characters a
canonical-mode terminal accepts per line, and below the terminal's width."""

Hook = Callable[["Result[Any]"], None]


def _heredoc(data: bytes, delimiter: str) -> str:
    """The body of a here-doc carrying ``data`` as base64 lines, and its delimiter line."""
    encoded = base64.b64encode(data).decode("ascii")
    lines = [encoded[i : i + B64_LINE] for i in range(0, len(encoded), B64_LINE)]
    return "".join(f"{line}\n" for line in lines) + f"{delimiter}\n"


@dataclass(frozen=True)
class Frame:
    """One command as typed into an interactive bash, and how to read its answer back.

    ``text`` is what is sent: a line that stages the script and its stdin (two here-docs of
    base64 lines, decoded into a private ``mktemp -d`` directory), then a line that runs the
    script with ``bash`` (stdout, stderr in files, as on an exec channel) and prints stdout,
    the exit status and stderr between markers. Every marker is printed by ``printf`` from a
    format and an argument, each after a newline of its own, so it always starts a line and
    the terminal's echo of the typed lines (once or twice) never contains it.
    """

    marker: str
    text: str

    @property
    def done(self) -> re.Pattern[str]:
        """Matches the last marker: everything the command printed has arrived."""
        return re.compile(rf"\n{self.marker}_X\r?\n")

    def parse(self, text: str) -> tuple[str, str, int] | None:
        """(stdout, stderr, exit status) from the answer, or None if it is not framed."""
        start = re.search(rf"\n{self.marker}_S(\r?\n)", text)
        if start is None:
            return None
        nl = start.group(1)
        end = re.compile(rf"{nl}{self.marker}_E=(\d+){nl}").search(text, start.end())
        if end is None:
            return None
        last = re.compile(rf"{nl}{self.marker}_X{nl}").search(text, end.end())
        if last is None:
            return None
        out, err = text[start.end() : end.start()], text[end.end() : last.start()]
        if nl == "\r\n":  # the terminal's output processing (onlcr) added one CR per LF
            out, err = out.replace("\r\n", "\n"), err.replace("\r\n", "\n")
        return out, err, int(end.group(1))


def frame(script: str, stdin: str | None = None) -> Frame:
    """The :class:`Frame` that runs ``script`` (with ``stdin``) in an interactive bash."""
    nonce = uuid.uuid4().hex[:16]
    marker = f"__MDST_{nonce}"
    d = '"$__mdst_d"'
    stage = (
        f"__mdst_d=$(umask 077 && mktemp -d /tmp/mdstools.XXXXXXXX) && "
        f"base64 -d > {d}/s <<'{marker}_A' && base64 -d > {d}/i <<'{marker}_B'; "
        "__mdst_p=$?\n"
    )
    run = (
        f"printf '\\n%s_S\\n' {marker}; [ \"$__mdst_p\" = 0 ] && "
        f"{{ bash {d}/s < {d}/i > {d}/o 2> {d}/e; __mdst_p=$?; cat {d}/o; }}; "
        f"printf '\\n%s_E=%d\\n' {marker} \"$__mdst_p\"; "
        f"cat {d}/e 2>/dev/null || echo 'mdstools: cannot stage the command under /tmp "
        "(mktemp -d, base64 -d)'; "
        f"printf '\\n%s_X\\n' {marker}; rm -rf {d}\n"
    )
    text = (
        stage
        + _heredoc(script.encode(), f"{marker}_A")
        + _heredoc((stdin or "").encode(), f"{marker}_B")
        + run
    )
    return Frame(marker, text)


@dataclass(frozen=True, kw_only=True)
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
                    out, err, rc = self._run_interactive(self.wrap(command, dom), limit, stdin)
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
            server=self.name,
            command=redact(command.line),
            mode=command.mode.value,
            domain=domain,
            stdout=stdout,
            stderr=stderr,
            exit_status=rc,
            started_at=started,
            duration_s=duration,
            data=data,
            error=error,
            exception=exc,
            mutating=command.mutating,
        )

    # -- clish login shells --------------------------------------------------------------
    def _drop_shell(self) -> None:
        with self._shell_lock:
            if self._shell is not None:
                self._shell.close()
            self._shell = None

    def _expert_shell(self, timeout: float) -> ShellChannel:
        if self._shell is not None:
            if not self._shell.closed:
                return self._shell
            self._shell.close()  # logged out while idle: a new shell, the connection stays
            self._shell = None
        sh = self.transport.open_shell(timeout)
        try:
            _, m = sh.expect(ANY_PROMPT, timeout)
            if "[Expert@" not in m.group(0):
                self._enter_expert(sh, timeout)
            # History off: the staged lines stay out of the server's ~/.bash_history; no
            # aliases (``rm -i``, ``cat -v``) change the framing commands; the directory of
            # a command cut short (a timeout closes the shell) is removed when bash exits.
            sync = f"__MDST_{uuid.uuid4().hex[:16]}"
            sh.send(
                "unset HISTFILE; set +o history; shopt -u expand_aliases; "
                "trap 'rm -rf \"$__mdst_d\"' EXIT\n"
            )
            sh.send(f"printf '\\n%s_R\\n' {sync}\n")
            sh.expect(re.compile(rf"\n{sync}_R\r?\n"), timeout)
        except BaseException:
            sh.close()
            raise
        self._shell = sh
        return sh

    def _enter_expert(self, sh: ShellChannel, timeout: float) -> None:
        ref = self.server.connection.expert_password
        if ref is None:
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
        text, m = sh.expect(AFTER_PASSWORD, timeout)
        if "[Expert@" not in m.group(0):
            if "Wrong password" in text:
                detail = "Wrong password."
            else:
                detail = redact(CONTROL_SEQUENCE.sub("", text).replace("\r", "").strip())
            raise ModeError(
                self.name,
                f"expert mode refused ({detail})",
                "check the expert_password reference in the inventory",
            )

    def _run_interactive(
        self, line: str, timeout: float, stdin: str | None = None
    ) -> tuple[str, str, int]:
        with self._shell_lock:
            sh = self._expert_shell(timeout)
            if CLISH_PROMPT.search(sh.drain()):
                # The expert shell logged out while idle (TMOUT): back at clish.
                sh.close()
                self._shell = None
                sh = self._expert_shell(timeout)
            f = frame(line, stdin)
            sh.send(f.text)
            try:
                text, _ = sh.expect(f.done, timeout)
            except CommandTimeout as exc:
                # What arrived is the terminal's echo of the staged (base64) script, not
                # output: the command's output is still in its file on the server.
                raise CommandTimeout(self.name, exc.command, exc.timeout_s) from exc
            answer = f.parse(text)
            if answer is None:
                raise ConnectionLostError(
                    self.name, "the expert shell's answer lost its frame; the shell is reopened"
                )
            return answer

    def close(self) -> None:
        self._drop_shell()
        self.transport.close()
