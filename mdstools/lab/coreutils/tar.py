"""``tar``: create and list the lab's archives."""

from __future__ import annotations

import fnmatch
import posixpath

from mdstools.lab.coreutils.inputs import emit, lines_of, why
from mdstools.lab.coreutils.options import Opts, getopt
from mdstools.lab.shell import IO, Shell, program
from mdstools.lab.vfs import VfsError

TAR_MAGIC = "LABTAR 1\n"


@program("tar")
def tar(sh: Shell, argv: list[str], io: IO) -> int:
    """``tar -c[z]f ARCHIVE PATH...`` and ``tar -t[z]f ARCHIVE``.

    The lab's archive lists its members and claims their total size; extraction is not
    simulated.
    """
    if len(argv) > 1 and argv[1] and not argv[1].startswith("-"):
        argv = [argv[0], "-" + argv[1], *argv[2:]]  # old style: tar czf x.tgz dir
    o = getopt(
        argv,
        "ctxzjJvf:C:Ppa",
        (
            "create:c list:t extract:x gzip:z file=:f directory=:C "
            "verbose:v exclude=:E absolute-names:P"
        ),
    )
    refused = _tar_refusal(o, io)
    if refused is not None:
        return refused
    if "t" in o:
        return _tar_list(sh, io, o.get("f"))
    return _tar_create(sh, io, o, o.get("f"))


def _tar_refusal(o: Opts, io: IO) -> int | None:
    """GNU's refusal (status 2) when the mode or the archive is missing; None if it can run."""
    modes = [m for m in "ctx" if m in o]
    if len(modes) != 1:
        io.eprint(
            "tar: You must specify one of the '-Acdtrux', '--delete' or '--test-label' options"
        )
        io.eprint("Try 'tar --help' or 'tar --usage' for more information.")
        return 2
    if "x" in o:
        io.eprint("tar: extracting archives is not simulated by the lab")
        return 2
    if "f" not in o:
        io.eprint(
            "tar: Refusing to write archive contents to terminal (missing -f option?)"
            if "c" in o
            else "tar: Refusing to read archive contents from terminal (missing -f option?)"
        )
        io.eprint("tar: Error is not recoverable: exiting now")
        return 2
    return None


def _tar_list(sh: Shell, io: IO, archive: str) -> int:
    """``tar -tf ARCHIVE``: the members, one a line."""
    f = sh.vfs.get(sh.path(archive))
    if f is None:
        io.eprint(f"tar: {archive}: Cannot open: {why(sh, archive)}")
        io.eprint("tar: Error is not recoverable: exiting now")
        return 2
    text = bytes(f.content).decode("utf-8", errors="replace")
    if not text.startswith(TAR_MAGIC):
        io.eprint("tar: This does not look like a tar archive")
        io.eprint("tar: Exiting with failure status due to previous errors")
        return 2
    emit(io, lines_of(text[len(TAR_MAGIC) :]))
    return 0


def _tar_create(sh: Shell, io: IO, o: Opts, archive: str) -> int:
    """``tar -cf ARCHIVE PATH...``: writes the member list, sized as the real archive."""
    if not o.args:
        io.eprint("tar: Cowardly refusing to create an empty archive")
        io.eprint("Try 'tar --help' or 'tar --usage' for more information.")
        return 2
    members, total, rc = _tar_members(sh, io, o)
    body = TAR_MAGIC + "".join(m + "\n" for m in members)
    try:
        sh.vfs.write(sh.path(archive), body, size=max(len(body.encode()), total + 10240))
    except VfsError as exc:
        io.eprint(f"tar: {archive}: Cannot write: {str(exc).rsplit(': ', 1)[-1]}")
        io.eprint("tar: Error is not recoverable: exiting now")
        return 2
    if "v" in o:
        emit(io, members)
    if rc:
        io.eprint("tar: Exiting with failure status due to previous errors")
    return rc


def _tar_members(sh: Shell, io: IO, o: Opts) -> tuple[list[str], int, int]:
    """(member names, their size in 512-byte blocks as bytes, exit status) of the paths
    to archive, relative to ``-C`` and without the ``--exclude`` matches."""
    base = sh.path(o.get("C", sh.cwd))
    excludes = o.lists.get("E", [])
    members: list[str] = []
    total = 0
    rc = 0
    warned = False
    for name in o.args:
        p = posixpath.normpath(posixpath.join(base, name))
        if not sh.vfs.exists(p):
            io.eprint(f"tar: {name}: Cannot stat: No such file or directory")
            rc = 2
            continue
        if name.startswith("/") and not warned and "P" not in o:
            io.eprint("tar: Removing leading `/' from member names")
            warned = True
        for path, f in sh.vfs.walk(p):
            member = (name.rstrip("/") + path[len(p) :]).lstrip("/") or "/"
            if any(fnmatch_any(member, e) for e in excludes):
                continue
            members.append(member + ("/" if f is None else ""))
            total += 512 + (0 if f is None else (f.size + 511) // 512 * 512)
    return members, total, rc


def fnmatch_any(member: str, pattern: str) -> bool:
    """Whether ``pattern`` matches the member's whole path or its last component."""
    return fnmatch.fnmatchcase(member, pattern) or fnmatch.fnmatchcase(
        posixpath.basename(member.rstrip("/")), pattern
    )
