"""The standard streams of a program run: sinks (buffer, file, nothing), sources, :class:`IO`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mdstools.lab.shell.core import Shell


class Sink(Protocol):
    """Where a program writes (stdout or stderr)."""

    def write(self, text: str) -> None: ...


class NullSink:
    """``/dev/null``: drops what is written."""

    def write(self, text: str) -> None:
        pass


class BufferSink:
    """Keeps what is written, for a pipe or a command substitution."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def getvalue(self) -> str:
        return "".join(self.parts)


class FileSink:
    """Appends to a file of the virtual filesystem as output arrives.

    ``exclusive`` (``>`` under ``set -o noclobber``) creates the file only if it does not
    exist yet, in one step, as bash's ``O_EXCL`` open does.
    """

    def __init__(self, sh: Shell, path: str, append: bool, exclusive: bool = False) -> None:
        self.vfs = sh.server.vfs
        self.path = path
        if exclusive:
            self.vfs.create(path)
        elif not append or not self.vfs.is_file(path):
            self.vfs.write(path, b"")

    def write(self, text: str) -> None:
        self.vfs.write(self.path, text, append=True)


class Source(Protocol):
    """Where a program reads (stdin)."""

    def read(self) -> str: ...

    def readline(self) -> str: ...


class TextSource:
    """Reads from a text given in full (a pipe's buffer, a here-document, an exec's input)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def read(self) -> str:
        out = self.text[self.pos :]
        self.pos = len(self.text)
        return out

    def readline(self) -> str:
        if self.pos >= len(self.text):
            return ""
        end = self.text.find("\n", self.pos)
        end = len(self.text) if end < 0 else end + 1
        out = self.text[self.pos : end]
        self.pos = end
        return out


@dataclass
class IO:
    """Standard streams of one program run; ``tty``: stdout is the user's terminal,
    ``in_tty``: stdin is (defaults to ``tty``)."""

    stdin: Source
    out: Sink
    err: Sink
    tty: bool = False
    in_tty: bool | None = None

    def __post_init__(self) -> None:
        if self.in_tty is None:
            self.in_tty = self.tty

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def eprint(self, text: str) -> None:
        self.err.write(text + "\n")
