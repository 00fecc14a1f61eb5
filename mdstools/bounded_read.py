"""Reading a file an operator names, so that no path can hang or exhaust the command.

:func:`read_regular` opens without blocking (a FIFO or a terminal does not wait for a
writer), refuses anything that is not a regular file (``/dev/zero``, a directory, a socket)
and reads at most ``limit`` bytes plus one, so a file too large is refused by its size
before it is read whole.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mdstools.errors import BadInput


class NotReadable(BadInput):
    """The file cannot be used: not there, not a regular file, or larger than allowed. The
    message says which (``No such file or directory``, ``not a regular file (a FIFO)``,
    ``more than N bytes (at most N allowed)``)."""


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at ``path`` (symbolic links followed), at most
    ``limit``; :class:`NotReadable` otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise NotReadable(exc.strerror or type(exc).__name__) from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotReadable(f"not a regular file ({_kind(mode)})")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise NotReadable(exc.strerror or type(exc).__name__) from exc
    finally:
        os.close(fd)
    if size > limit:
        raise NotReadable(f"more than {limit} bytes (at most {limit} allowed)")
    return b"".join(chunks)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"
