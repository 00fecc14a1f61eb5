"""What a user meets after SSH login: an exec command or an interactive shell.

Independent of paramiko so that it can be tested with plain strings. ``server.py`` bridges
SSH channels to :func:`run_exec` and :class:`Terminal`.

* exec, bash login shell: the command runs in the lab's bash with NO Check Point
  environment (``mdsstat`` -> ``command not found``, 127) until a profile is sourced;
* exec, clish login shell: the command is a clish command;
* interactive: the login shell's prompt (``[Expert@host:0]# `` or ``host> ``); ``expert``
  asks ``Enter expert password:``, a wrong one prints ``Wrong password.``; ``exit`` leaves
  expert back to clish; ``clish`` from bash enters clish.
"""

from __future__ import annotations

from collections.abc import Callable

from mdstools.lab import clish, programs, syntax  # noqa: F401  (programs registers them)
from mdstools.lab.model import Deployment, Rebooted, SimServer
from mdstools.lab.shell import BASE_PATH, IO, Killed, Shell, ShellExit, Sink, Source

EXPERT_BANNER = (
    "\n\nWarning! All configurations should be done through clish\nYou are in expert mode now.\n\n"
)


def login_shell(server: SimServer, user: str) -> str:
    u = server.users.get(user)
    return u.shell if u is not None else "bash"


def exec_env(server: SimServer, user: str) -> dict[str, str]:
    """The environment of a non-interactive exec channel: no Check Point variables."""
    home = "/home/admin" if user == "admin" else f"/home/{user}"
    return {
        "PATH": BASE_PATH,
        "HOME": home,
        "USER": user,
        "LOGNAME": user,
        "SHELL": "/bin/bash",
        "HOSTNAME": server.name,
    }


def run_exec(
    dep: Deployment, server: SimServer, user: str, command: str, stdin: Source, out: Sink, err: Sink
) -> int:
    """Run an SSH exec request; returns the exit status."""
    io = IO(stdin, out, err, tty=False)
    if login_shell(server, user) == "clish":
        return clish.run_line(dep, server, user, command, io)
    sh = Shell(dep, server, user, env=exec_env(server, user))
    sh.cwd = sh.env["HOME"]
    try:
        return sh.run(command, io)
    except ShellExit as e:
        return e.code
    except Killed:
        return 143


class TerminalSource:
    """stdin of a program started from the interactive shell: the user's next lines."""

    def __init__(self, read_line: Callable[[bool], str | None]) -> None:
        self._read_line = read_line

    def readline(self) -> str:
        line = self._read_line(True)
        return "" if line is None else line + "\n"

    def read(self) -> str:
        parts: list[str] = []
        while (line := self._read_line(True)) is not None:
            parts.append(line + "\n")
        return "".join(parts)


class _Out:
    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write

    def write(self, text: str) -> None:
        self._write(text)


class Terminal:
    """An interactive login session; ``read_line(echo)`` returns None at end of input."""

    def __init__(
        self,
        dep: Deployment,
        server: SimServer,
        user: str,
        read_line: Callable[[bool], str | None],
        write: Callable[[str], None],
    ) -> None:
        self.dep = dep
        self.server = server
        self.user = user
        self.read_line = read_line
        self.write = write
        self.modes: list[str] = [login_shell(server, user)]
        self.sh = Shell(dep, server, user, env=exec_env(server, user), interactive=True)
        self.sh.cwd = self.sh.env["HOME"]
        sink = _Out(write)
        self.io = IO(TerminalSource(read_line), sink, sink, tty=True)
        self.sh.run("source /etc/profile.d/CP.sh", IO(self.io.stdin, sink, sink, tty=True))

    def prompt(self) -> str:
        if self.modes[-1] == "clish":
            return f"{self.server.name}> "
        return f"[Expert@{self.server.name}:0]# "

    def run(self) -> int:
        """Serve until the user leaves; returns the exit status of the session."""
        rc = 0
        try:
            while self.modes:
                self.write(self.prompt())
                line = self.read_line(True)
                if line is None:
                    return rc
                self._echo_again(line)
                rc = self.handle(line)
        except Rebooted:
            return 255
        return rc

    def handle(self, line: str) -> int:
        cmd = line.strip()
        mode = self.modes[-1]
        if mode == "clish":
            if cmd in ("exit", "quit"):
                self.modes.pop()
                return 0
            if cmd == "expert":
                return self._expert()
            if cmd in ("clish", "/bin/clish"):
                self.write(
                    "CLINFR0479 You can't start interactive session from another "
                    "interactive session\n"
                )
                return 1
            return clish.run_line(self.dep, self.server, self.user, cmd, self.io)
        if cmd in ("clish", "/bin/clish"):
            if "clish" in self.modes:
                self.write(
                    "CLINFR0479 You can't start interactive session from another "
                    "interactive session\n"
                )
                return 1
            self.modes.append("clish")
            return 0
        try:
            rc = self.sh.run(self._complete(line), self.io)
        except ShellExit as e:
            self.modes.pop()
            return e.code
        except Killed:
            rc = 130
        return rc

    def _echo_again(self, line: str) -> None:
        """Some Gaia builds echo each interactive line a second time."""
        if self.dep.double_echo and line.strip():
            self.write(line + "\n")

    def _complete(self, line: str) -> str:
        """``line`` and the continuation lines bash reads after it (prompted with ``> ``)
        while a quote, a compound command or a here document is open (up to the end of
        input, where bash runs what it has)."""
        src = line
        while (pending := syntax.needs_more(src)) is not None:
            # Here-document bodies are read up to their delimiters without re-parsing.
            ends: list[str | None] = list(pending) if pending else [None]
            for delimiter in ends:
                while True:
                    self.write("> ")
                    nxt = self.read_line(True)
                    if nxt is None:
                        self.write("\n")
                        return src
                    self._echo_again(nxt)
                    src += "\n" + nxt
                    if delimiter is None or delimiter in (nxt, nxt.lstrip("\t")):
                        break
        return src

    def _expert(self) -> int:
        self.write("Enter expert password:")
        pw = self.read_line(False)
        self.write("\n")
        expected = self.server.expert_password
        if pw is None:
            return 1
        if not expected or pw != expected:
            self.write("Wrong password.\n")
            return 1
        self.write(EXPERT_BANNER)
        self.modes.append("bash")
        return 0
