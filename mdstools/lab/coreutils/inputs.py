"""Reading a program's inputs (files or stdin) and writing its lines, with GNU's error words."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from mdstools.lab.shell import IO, Shell
from mdstools.lab.vfs import VFile


def why(sh: Shell, name: str) -> str:
    """Why ``name`` cannot be opened as a file, in ``strerror`` words."""
    p = sh.path(name)
    if sh.vfs.is_dir(p):
        return "Is a directory"
    parent = posixpath.dirname(p)
    while parent != "/":
        if sh.vfs.is_file(parent):
            return "Not a directory"
        parent = posixpath.dirname(parent)
    return "No such file or directory"


class Inputs:
    """The files named on a command line, or stdin (none, or ``-``); unreadable ones are
    reported as ``prog: name: reason`` and make ``rc`` 1."""

    def __init__(self, sh: Shell, io: IO, prog: str, names: list[str], rc: int = 1) -> None:
        self.sh, self.io, self.prog, self.names = sh, io, prog, names or ["-"]
        self.fail_rc = rc
        self.rc = 0

    def files(self) -> Iterator[tuple[str, bytes, VFile | None]]:
        for name in self.names:
            if name == "-":
                yield name, self.io.stdin.read().encode(), None
                continue
            f = self.sh.vfs.get(self.sh.path(name))
            if f is None:
                self.io.eprint(f"{self.prog}: {name}: {why(self.sh, name)}")
                self.rc = self.fail_rc
                continue
            yield name, bytes(f.content), f

    def texts(self) -> Iterator[tuple[str, str]]:
        for name, data, _ in self.files():
            yield name, data.decode("utf-8", errors="replace")


def lines_of(text: str) -> list[str]:
    """Lines without their newlines (a last line without one still counts)."""
    if not text:
        return []
    parts = text.split("\n")
    return parts[:-1] if text.endswith("\n") else parts


def emit(io: IO, lines: list[str]) -> None:
    """Write ``lines`` to stdout, each ending in a newline (nothing when empty)."""
    if lines:
        io.out.write("\n".join(lines) + "\n")
