"""One exception tree for mdstools; every error says what went wrong and what to do.

::

    MdstoolsError                      base; ``hint`` says what to do next
    ├── InventoryError                 the inventory file is wrong (file, field, allowed)  exit 2
    ├── SecretError                    an env:/file: secret reference cannot be resolved    exit 2
    ├── ConnectError                   a server cannot be reached or logged in to           exit 4
    │   ├── HostKeyError               unknown or changed host key (shows the fingerprint)
    │   ├── AuthenticationError        key/password refused
    │   └── UnreachableError           refused, timed out, name not resolved
    │       └── ServerDown             stopped answering during a step, did not come back
    ├── ConnectionLostError            an open connection dropped (reboot, network)
    ├── CommandTimeout                 a command did not finish within its timeout
    ├── ModeError                      clish -> expert failed (e.g. wrong expert password)
    ├── CommandFailed                  a command exited non-zero (carries the Result)
    ├── ParseError                     output not understood (carries the raw text)
    ├── ApiError                       mgmt_cli answered with an error body (code, message)
    └── JobError                       a detached job failed, timed out or was lost

Third-party errors (paramiko, socket) are translated once, in ``mdstools.transport``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mdstools.session import Result


class MdstoolsError(Exception):
    """Base class; ``str()`` is one line: the cause, then what to do."""

    hint: str = ""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        if hint:
            self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}. {self.hint}" if self.hint else self.message


class InventoryError(MdstoolsError):
    """The inventory is missing, unreadable or invalid."""

    def __init__(self, path: str, field: str, message: str, hint: str = "") -> None:
        self.path = path
        self.field = field
        where = f"{path}: {field}: " if field else f"{path}: "
        super().__init__(where + message, hint or "fix the inventory file and run again")


class SecretError(MdstoolsError):
    """A secret reference (``env:NAME`` / ``file:PATH``) cannot be resolved."""


class ConnectError(MdstoolsError):
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


class ConnectionLostError(MdstoolsError):
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
            f"{server}: '{command}' did not finish within {timeout_s:g} s",
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
        }.get(code, "see the Management API reference for the code")
        super().__init__(f"mgmt_cli {command}: {code}: {message}".replace("mgmt_cli : ", ""), hint)


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
