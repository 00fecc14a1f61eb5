"""``mds_backup`` and the checks around it: the backup files, their SHA-256, free space.

``mds_backup`` prints thousands of lines in an unknown format (``docs/formats.md#mds_backup``):
its text is kept, not parsed; the result is judged from the files it leaves
(``*.mdsbk.tar`` on R81, ``*.mdsbk.tgz`` earlier).
"""

from __future__ import annotations

import re

from mdstools.commands._text import fail, integer, lines, quote
from mdstools.commands.base import Command, raw
from mdstools.records import BackupFile, FreeSpace

__all__ = [
    "backup_files",
    "free_space",
    "mds_backup",
    "parse_backup_files",
    "parse_free_space",
    "parse_sha256",
    "sha256",
]

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def mds_backup(directory: str) -> Command[str]:
    """``cd <dir> && mds_backup -b -l -d <dir>``: batch backup without logs into ``dir``.
    Mutating (it stops nothing, but is long and heavy); the text is kept, not parsed.

    Example record: ``"...\\nBackup completed successfully.\\n"`` (not parsed).
    """
    d = quote(directory)
    return Command(
        f"cd {d} && mds_backup -b -l -d {d}",
        raw,
        name="mds_backup",
        timeout_s=4 * 3600.0,
        mutating=True,
    )


def backup_files(directory: str) -> Command[list[BackupFile]]:
    """``stat -c '%n|%s|%Y' <dir>/*.mdsbk.* 2>/dev/null``: the backup files with size and
    mtime. No file is no error (stat exits 1 and prints nothing).

    Example record: ``BackupFile(path="/var/log/mds_backups/26Nov2026-143615.mdsbk.tar",
    size=4194304000, mtime=1795963015)``.
    """
    line = f"stat -c '%n|%s|%Y' {quote(directory.rstrip('/') or '/')}/*.mdsbk.* 2>/dev/null"
    return Command(line, parse_backup_files, name="backup_files", ok_codes=(0, 1))


def parse_backup_files(text: str) -> list[BackupFile]:
    """Parse ``path|size|mtime`` lines; no line gives an empty list.

    Example record: ``/var/log/mds_backups/26Nov2026-021500.mdsbk.tar|4194918400|1796004900``
    -> ``BackupFile("/var/log/mds_backups/26Nov2026-021500.mdsbk.tar", 4194918400, 1796004900)``.
    """
    out: list[BackupFile] = []
    for line in lines(text):
        if not line.strip():
            continue
        parts = line.rsplit("|", 2)
        size = integer(parts[1]) if len(parts) == 3 else None
        mtime = integer(parts[2]) if len(parts) == 3 else None
        if size is None or mtime is None:
            raise fail("backup_files", f"not a 'path|size|mtime' line: {line!r}", text)
        out.append(BackupFile(parts[0], size, mtime))
    return out


def sha256(path: str) -> Command[str]:
    """``sha256sum <path>``: the hex digest.

    Example record: ``"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"``.
    """
    return Command(f"sha256sum {quote(path)}", parse_sha256, name="sha256", timeout_s=1800.0)


def parse_sha256(text: str) -> str:
    """The digest of the first ``<hex>  <path>`` line, lower case.

    Example record: ``"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"``.
    """
    for line in lines(text):
        words = line.split()
        if words:
            digest = words[0].lstrip("\\")
            if _HEX64.match(digest):
                return digest.lower()
            break
    raise fail("sha256sum", "no SHA-256 digest", text)


def free_space(path: str) -> Command[FreeSpace]:
    """``df -P -k <path>``: the file system that holds ``path`` (POSIX layout, kilobytes).

    Example record: ``FreeSpace(filesystem="/dev/mapper/vg_splat-lv_log",
    total_kb=103081248, used_kb=20971520, available_kb=82109728, mount="/var/log")``.
    """
    return Command(f"df -P -k {quote(path)}", parse_free_space, name="free_space")


def parse_free_space(text: str) -> FreeSpace:
    """Parse ``df -P -k`` (a long file system name wrapped onto its own line is joined).

    Example record: ``/dev/mapper/vg_splat-lv_log 103081248 20971520 82109728 21% /var/log``
    -> ``FreeSpace("/dev/mapper/vg_splat-lv_log", 103081248, 20971520, 82109728, "/var/log")``.
    """
    rows: list[list[str]] = []
    pending: list[str] = []
    header = False
    for line in lines(text):
        words = line.split()
        if not words:
            continue
        if not header:
            header = words[0] == "Filesystem"
            continue
        words = pending + words
        if len(words) < 6:
            pending = words
            continue
        pending = []
        rows.append(words)
    if not header or not rows:
        raise fail("df -P -k", "no 'Filesystem' header and data row", text)
    w = rows[-1]
    total, used, available = (integer(n) for n in w[1:4])
    if total is None or used is None or available is None or not w[4].endswith("%"):
        raise fail("df -P -k", f"unexpected row {' '.join(w)!r}", text)
    return FreeSpace(
        filesystem=w[0], total_kb=total, used_kb=used, available_kb=available, mount=" ".join(w[5:])
    )
