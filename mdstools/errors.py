"""One exception tree for mdstools; every error says what went wrong and what to do.

Every exception of the client is a :class:`MdstoolsError`; the lab (``mdstools.lab``) is a
separate program with its own. ``where`` is the module of ``mdstools`` that defines the
class; ``exit`` is the exit code (:class:`ExitCode`) of a command or headless run that it
ends, which is also the class's ``exit`` attribute (an error's ``exit_code``, which the
command line reads in one place, ``cli.exits.error_code``, and ``mdstools jupyter``). A plain
``MdstoolsError`` is 2 where the command line checks its input (ticket id, report folder)
and 1 in a run; ``RecordWriteError`` is 2 for a folder the operator gave that cannot be
written, 1 otherwise; Ctrl-C is 130.

::

    class                          where            meaning                              exit
    MdstoolsError                  errors           base; ``hint`` says what to do next   1/2
    ├── BadInput                   errors           refused input; a notebook shows it      2
    │   ├── InventoryError         errors           the inventory file is wrong             2
    │   ├── ParameterError         errors           a parameter is unknown or out of range  2
    │   ├── SecretError            errors           an env:/file: reference does not work   2
    │   ├── NotebookRefused        notebook_record  a notebook this record cannot take      2
    │   └── NotReadable            bounded_read     a named file is no regular file, too big 2
    ├── TransportError             errors           a server is out of reach (base)         4
    │   ├── ConnectError           errors           cannot reach or log in to a server      4
    │   │   ├── HostKeyError       errors           unknown or changed host key             4
    │   │   ├── AuthenticationError  errors         key and password refused                4
    │   │   └── UnreachableError   errors           refused, timed out, name not resolved   4
    │   │       └── ServerDown     errors           stopped answering during a step         4
    │   └── ConnectionLostError    errors           an open connection dropped              4
    ├── CommandTimeout             errors           a command did not finish in time        1
    ├── ModeError                  errors           clish -> expert failed                  1
    ├── CommandFailed              errors           a command failed (carries the Result)   1
    ├── ParseError                 errors           output not understood (keeps the text)  1
    ├── ApiError                   errors           mgmt_cli answered with an error body    1
    ├── ExecFailed                 mgmt_api         an exec of API calls failed as a whole  1
    ├── JobError                   errors           a detached job failed or was lost       1
    ├── GateFailed                 run              a blocking check failed                 1
    ├── PhaseEnded                 run              a cell used a run that has ended        1
    ├── DecisionMissing            ui               a decision the runbook needs is unset   1
    │   └── DecisionPending        ui               its button was not clicked yet          1
    ├── LockHeld                   lock             another run holds the lock              3
    ├── LockDirError               lock             the lock directory cannot be used       2
    ├── RecordDamaged              errors           the record was changed or cut           2
    ├── RecordWriteError           errors           a record file cannot be written       1/2
    ├── JupyterError               jupyter          JupyterLab (or its lab) did not start   1
    │   └── UsageError             jupyter          bad input to mdstools jupyter           2
    └── Aborted                    runbook          SIGTERM/SIGINT during a headless run    1

``TransportError`` itself is never raised; the names of its subclasses are what
:data:`mdstools.runbook.CONNECT_ERRORS` matches in a kernel's error (exit 4). ``Aborted`` is
a signal turned into an exception by :func:`mdstools.runbook.run`, which catches it: the
notebook is written with the verdict "aborted" and the locks are released.

Third-party errors (paramiko, socket) are translated once, in ``mdstools.transport``.
"""

from __future__ import annotations

import errno
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from mdstools.session import Result


class ExitCode(IntEnum):
    """The exit codes of ``mdstools``: every command, headless run and ``mdstools jupyter``."""

    OK = 0
    """Done (a dry run that ran to its end too)."""
    FAILED = 1
    """A gate or a step failed, or something could not start or be written."""
    USAGE = 2
    """Bad input: arguments, inventory, parameters, ticket id, a record that does not verify."""
    LOCKED = 3
    """Another run holds the lock of the environment."""
    UNREACHABLE = 4
    """A server could not be reached, or stopped answering and did not come back."""
    INTERRUPTED = 130
    """Ctrl-C (SIGINT) outside a run, as a shell reports it."""

    def __str__(self) -> str:
        return str(self.value)


def subclass_names(cls: type[BaseException]) -> frozenset[str]:
    """The names of every subclass of ``cls`` (at any depth), without ``cls`` itself: what a
    kernel's error name is matched against."""
    names: set[str] = set()
    todo = list(cls.__subclasses__())
    while todo:
        sub = todo.pop()
        names.add(sub.__name__)
        todo.extend(sub.__subclasses__())
    return frozenset(names)


def shown(value: Any, limit: int = 60) -> str:
    """``value`` for an error message: repr (control characters escaped), truncated."""
    try:
        text = repr(value)
    except ValueError:  # an integer too long to print
        return "a number too large to show"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _head(command: str, limit: int = 200) -> str:
    """A command for a one-line message: its first line, at most ``limit`` characters,
    "..." where it was cut (a Management API exec is a script of several KB)."""
    first = command.split("\n", 1)[0]
    if len(first) > limit:
        first = first[:limit]
    return first if first == command else first + "..."


class MdstoolsError(Exception):
    """Base class; ``str()`` is one line: the cause, then what to do.

    ``exit_code`` is the exit code of the table above; each class that differs from its
    parent sets ``exit``. Where the command line checks its input, a plain
    ``MdstoolsError`` ends the command with 2 instead (``mdstools.cli.exits``).
    """

    hint: str = ""
    exit: ClassVar[ExitCode] = ExitCode.FAILED

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        if hint:
            self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}. {self.hint}" if self.hint else self.message

    @property
    def exit_code(self) -> ExitCode:
        """The exit code of a command or headless run that this error ends."""
        return self.exit


class BadInput(MdstoolsError):
    """Input that was refused (inventory, parameter, secret reference): a notebook shows the
    message alone, since a traceback would only point at mdstools' own checks."""

    exit = ExitCode.USAGE

    def _render_traceback_(self) -> list[str]:
        """IPython shows this line instead of a traceback."""
        return [f"{type(self).__name__}: {self}"]


class InventoryError(BadInput):
    """The inventory is missing, unreadable or invalid."""

    def __init__(self, path: str, field: str, message: str, hint: str = "") -> None:
        self.path = path
        self.field = field
        where = f"{path}: {field}: " if field else f"{path}: "
        super().__init__(where + message, hint or "fix the inventory file and run again")


class ParameterError(BadInput):
    """A runbook parameter is unknown, a secret's name, of the wrong type or out of range."""


class SecretError(BadInput):
    """A secret reference (``env:NAME`` / ``file:PATH``) cannot be resolved."""


class TransportError(MdstoolsError):
    """A server is out of reach: it could not be connected to, or its connection dropped.
    Only its subclasses are raised."""

    exit = ExitCode.UNREACHABLE


class ConnectError(TransportError):
    """A server could not be reached or logged in to."""

    def __init__(self, server: str, message: str, hint: str = "") -> None:
        self.server = server
        super().__init__(f"{server}: {message}", hint)


class HostKeyError(ConnectError):
    """The server's host key is unknown or differs from known_hosts."""

    def __init__(self, server: str, message: str, fingerprint: str, hint: str) -> None:
        self.fingerprint = fingerprint
        super().__init__(server, message, hint)


class AuthenticationError(ConnectError):
    """The server refused the key and password."""


class UnreachableError(ConnectError):
    """Connection refused, timed out, or the name did not resolve."""


class ServerDown(UnreachableError):
    """A server stopped answering during a step and did not come back within its budget.

    ``str()``: ``mds2 unreachable since 14:02:11 (connection refused) during 'mds2
    upgrade'; check the server, then mdstools campaign --resume``.
    """

    def __init__(self, server: str, since: datetime, reason: str, doing: str) -> None:
        self.since = since
        self.reason = reason
        self.doing = doing
        self.server = server
        MdstoolsError.__init__(
            self,
            f"{server} unreachable since {since:%H:%M:%S} ({reason}) during '{doing}'",
            "check the server, then mdstools campaign --resume",
        )

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}"


class ConnectionLostError(TransportError):
    """An established connection dropped (the server rebooted or the network failed)."""

    def __init__(self, server: str, message: str = "the connection dropped") -> None:
        self.server = server
        super().__init__(
            f"{server}: {message}", "it reconnects by itself; if it does not, check the server"
        )


class CommandTimeout(MdstoolsError):
    """A command did not finish in time."""

    def __init__(self, server: str, command: str, timeout_s: float, partial: str = "") -> None:
        self.server = server
        self.command = command
        self.timeout_s = timeout_s
        self.partial = partial
        super().__init__(
            f"{server}: '{_head(command)}' did not finish within {timeout_s:g} s",
            "raise the timeout or check the server",
        )


class ModeError(MdstoolsError):
    """Could not reach the wanted CLI mode (clish -> expert)."""

    def __init__(self, server: str, message: str, hint: str = "") -> None:
        self.server = server
        super().__init__(f"{server}: {message}", hint)


class CommandFailed(MdstoolsError):
    """A command exited with a failure status or its output could not be used."""

    def __init__(self, result: Result[Any]) -> None:
        self.result = result
        reason = result.error or f"exit status {result.exit_status}"
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        detail = f": {' / '.join(tail)}" if tail else ""
        super().__init__(
            f"{result.server}: '{result.command}' failed ({reason}){detail}",
            "see the command output in the record",
        )


class ParseError(MdstoolsError):
    """Output that the parser does not understand; ``raw`` keeps the whole text."""

    def __init__(self, command: str, reason: str, raw: str) -> None:
        self.command = command
        self.reason = reason
        self.raw = raw
        super().__init__(
            f"cannot parse the output of '{command}': {reason}",
            "the raw output is kept in the error (.raw) and in the record; "
            "report it with the Check Point version",
        )


class ApiError(MdstoolsError):
    """The Management API (``mgmt_cli``) answered with an error body."""

    def __init__(self, code: str, message: str, command: str = "") -> None:
        self.code = code
        self.api_message = message
        self.command = command
        hint = {
            "generic_err_command_not_found": "this server's API version does not have the command",
            "err_not_a_system_domain_session": "run it without -d (System Data)",
            "err_login_failed": "check that the domain exists and its DMS is up on this server",
            "generic_server_initializing": "the API is starting after a reboot: run again "
            "in a few minutes",
            "err_too_many_requests": "the API is rate limited: run again in a minute",
            "err_too_many_sessions": "log out unused API sessions or wait for them to expire",
        }.get(code, "see the Management API reference for the code")
        said = message[:-1] if message.endswith(".") and not message.endswith("..") else message
        super().__init__(f"mgmt_cli {command}: {code}: {said}".replace("mgmt_cli : ", ""), hint)


class JobError(MdstoolsError):
    """A detached job failed, timed out, or disappeared."""

    def __init__(
        self,
        server: str,
        job: str,
        message: str,
        log_tail: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        self.server = server
        self.job = job
        self.log_tail = log_tail
        self.details = details or {}
        super().__init__(
            f"{server}: job '{job}' {message}",
            "read the job log in the record; rerun the step when fixed",
        )


class _OneLineInNotebooks:
    """Shown in a notebook as its one-line message, without a Python traceback (IPython
    calls ``_render_traceback_``): the message names the file and what to do."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[1;31m{type(self).__name__}\x1b[0m: {self}"]


class RecordDamaged(_OneLineInNotebooks, MdstoolsError):
    """The record of a ticket does not match what was sealed and journaled; ``path`` names
    the file. A run refuses to write on top of it (CLI exit code 2)."""

    exit = ExitCode.USAGE

    def __init__(self, path: str, message: str, hint: str = "") -> None:
        self.path = path
        super().__init__(
            f"{path}: {message}",
            hint
            or "nothing was written; restore the report folder from its bundle or backup "
            "(mdstools verify lists every difference), or use a new ticket",
        )


class RecordWriteError(_OneLineInNotebooks, MdstoolsError):
    """A file of the record could not be written (``errno`` from the OS); what was written
    before stays as it was. Exit code 2 when the folder is read-only or not accessible (the
    operator chose it), 1 otherwise (disk full, I/O error)."""

    OPERATOR_ERRNOS = frozenset(
        {errno.EROFS, errno.EACCES, errno.EPERM, errno.EEXIST, errno.ENOTDIR}
    )

    def __init__(self, path: str, exc: OSError) -> None:
        self.path = path
        self.errno = exc.errno
        reason = exc.strerror or str(exc)
        if self.errno in self.OPERATOR_ERRNOS:
            hint = "give a reports folder that this user can write (--reports DIR)"
        elif self.errno == errno.ENOSPC:
            hint = "free space on that filesystem, then run again: the record so far is intact"
        else:
            hint = "check that filesystem, then run again: the record so far is intact"
        if self.errno in (errno.EEXIST, errno.ENOTDIR):
            reason = f"a file is in the way of a folder ({reason})"
        super().__init__(f"cannot write {path}: {reason}", hint)

    @property
    def exit_code(self) -> ExitCode:
        """2 for a folder the operator gave that cannot be written, 1 for any other failure."""
        return ExitCode.USAGE if self.errno in self.OPERATOR_ERRNOS else ExitCode.FAILED
