"""Writes of the record that are whole or absent, never half done.

* :func:`atomic_write_bytes` / :func:`atomic_write_text`: a temporary file in the same
  directory (``.<name>.<random>.tmp``), written, flushed and fsync'ed, then renamed over
  the target and the directory fsync'ed. A full disk or a crash leaves the previous
  content (or no file), never a truncated one.
* :func:`append_line`: one complete line at the end of a file (the journal), or nothing:
  on a failed or short write the file is truncated back to its previous length.
* :func:`ensure_dir`: ``mkdir -p``; :func:`check_writable`: can a file be created there.

Every ``OSError`` becomes :class:`~mdstools.errors.RecordWriteError` naming the file and
the reason (``No space left on device``, ``Read-only file system`` ...).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from mdstools.errors import RecordWriteError

TMP_SUFFIX = ".tmp"


def is_temporary(name: str) -> bool:
    """True for the name of a temporary file of :func:`atomic_write_bytes`."""
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


def ensure_dir(path: Path) -> Path:
    """Create ``path`` and its parents; a failure names the folder."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecordWriteError(str(path), exc) from None
    return path


def check_writable(path: Path) -> None:
    """Raise :class:`RecordWriteError` unless a file can be created in the folder ``path``
    (read-only filesystem, no permission)."""
    try:
        with tempfile.TemporaryFile(dir=path, prefix=".", suffix=TMP_SUFFIX):
            pass
    except OSError as exc:
        raise RecordWriteError(str(path), exc) from None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` in one step (temporary file, fsync, rename)."""
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{TMP_SUFFIX}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise RecordWriteError(str(path), exc) from None
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` (UTF-8) in one step."""
    atomic_write_bytes(path, text.encode())


def append_line(path: Path, line: str) -> None:
    """Append ``line`` and a newline to ``path`` entirely, or leave the file as it was."""
    data = (line.rstrip("\n") + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RecordWriteError(str(path), exc) from None
    try:
        size = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
                os.fsync(fd)
            raise RecordWriteError(str(path), exc) from None
    finally:
        os.close(fd)
