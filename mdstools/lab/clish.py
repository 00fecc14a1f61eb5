"""Gaia clish as the lab simulates it: ``show version all``, ``set clienv``, CPUSE ``installer``.

``run_line`` runs one clish command (from an interactive clish prompt, a clish login
shell's exec channel, or ``clish -c`` in bash). Unknown commands print
``CLINFR0329  Invalid command:'<cmd>'.`` and fail, as Gaia does.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from mdstools.lab.model import Deployment, SimServer
from mdstools.lab.shell import IO, Shell, program

ClishHandler = Callable[[Deployment, SimServer, str, list[str], IO], int]
CLISH: dict[tuple[str, ...], ClishHandler] = {}


def clish_command(*words: str) -> Callable[[ClishHandler], ClishHandler]:
    """Register a clish command by its leading words."""

    def deco(fn: ClishHandler) -> ClishHandler:
        CLISH[tuple(words)] = fn
        return fn

    return deco


def run_line(dep: Deployment, server: SimServer, user: str, line: str, io: IO) -> int:
    """Run one clish command line; returns its exit status."""
    line = line.strip()
    if not line or line.startswith("#"):
        return 0
    try:
        words = shlex.split(line)
    except ValueError:
        io.print(f"CLINFR0329  Invalid command:'{line}'.")
        return 1
    for n in range(len(words), 0, -1):
        fn = CLISH.get(tuple(w.lower() for w in words[:n]))
        if fn is not None:
            return fn(dep, server, user, words[n:], io)
    io.print(f"CLINFR0329  Invalid command:'{line}'.")
    return 1


@clish_command("show", "version", "all")
def _show_version_all(dep: Deployment, server: SimServer, user: str, args: list[str],
                      io: IO) -> int:
    v = server.version
    io.print(f"Product version Check Point Gaia {v.name}")
    io.print(f"OS build {v.os_build}")
    io.print(f"OS kernel version {v.kernel}")
    io.print("OS edition 64-bit")
    return 0


@clish_command("show", "version", "product")
def _show_version_product(dep: Deployment, server: SimServer, user: str, args: list[str],
                          io: IO) -> int:
    io.print(f"Product version Check Point Gaia {server.version.name}")
    return 0


@clish_command("set", "clienv", "rows")
def _set_rows(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    return 0


@clish_command("show", "hostname")
def _show_hostname(dep: Deployment, server: SimServer, user: str, args: list[str],
                   io: IO) -> int:
    io.print(server.name)
    return 0


@program("clish")
def clish_program(sh: Shell, argv: list[str], io: IO) -> int:
    """``clish -c "<command>"`` from bash; without ``-c``, clish reads commands from stdin."""
    args = argv[1:]
    if "-c" in args:
        i = args.index("-c")
        if i + 1 >= len(args):
            io.eprint("clish: option requires an argument -- 'c'")
            return 1
        return run_line(sh.dep, sh.server, sh.user, args[i + 1], io)
    rc = 0
    while line := io.stdin.readline():
        rc = run_line(sh.dep, sh.server, sh.user, line, io)
    return rc
