"""Path names: ``basename``, ``dirname``, ``mktemp``."""

from __future__ import annotations

import posixpath
import secrets

from mdstools.lab.coreutils.options import getopt
from mdstools.lab.shell import IO, ProgramUsageError, Shell, program
from mdstools.lab.vfs import VfsError


@program("basename")
def basename(sh: Shell, argv: list[str], io: IO) -> int:
    """``basename NAME [SUFFIX]`` or ``basename -a [-s SUFFIX] NAME...``."""
    o = getopt(argv, "as:z", "multiple:a suffix=:s")
    if not o.args:
        raise ProgramUsageError("missing operand")
    names, suffix = o.args, o.get("s")
    if "a" not in o and "s" not in o:
        if len(names) > 2:
            raise ProgramUsageError(f"extra operand '{names[2]}'")
        names, suffix = names[:1], names[1] if len(names) > 1 else ""
    for n in names:
        base = posixpath.basename(n.rstrip("/")) or ("/" if n.startswith("/") else "")
        if suffix and base.endswith(suffix) and base != suffix:
            base = base[: -len(suffix)]
        io.print(base)
    return 0


@program("dirname")
def dirname(sh: Shell, argv: list[str], io: IO) -> int:
    """``dirname NAME...``."""
    o = getopt(argv, "z")
    if not o.args:
        raise ProgramUsageError("missing operand")
    for n in o.args:
        stripped = n.rstrip("/") or "/"
        d = posixpath.dirname(stripped).rstrip("/")
        io.print(d or ("/" if stripped.startswith("/") else "."))
    return 0


@program("mktemp")
def mktemp(sh: Shell, argv: list[str], io: IO) -> int:
    """``mktemp [-d] [-p DIR] [TEMPLATE]``: a new, private file (or directory) named by the
    template's trailing X's (default ``/tmp/tmp.XXXXXXXXXX``); prints its path."""
    o = getopt(argv, "dp:tuq", "directory:d tmpdir=:p dry-run:u quiet:q")
    if len(o.args) > 1:
        raise ProgramUsageError("too many templates")
    template = o.args[0] if o.args else "tmp.XXXXXXXXXX"
    xs = len(template) - len(template.rstrip("X"))
    if xs < 3:
        io.eprint(f"mktemp: too few X's in template '{template}'")
        return 1
    if "/" not in template or "p" in o or "t" in o:
        template = posixpath.join(o.get("p", "") or sh.env.get("TMPDIR", "") or "/tmp", template)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    for _ in range(100):
        name = template[: len(template) - xs] + "".join(secrets.choice(alphabet) for _ in range(xs))
        p = sh.path(name)
        if sh.vfs.exists(p):
            continue
        try:
            if "d" in o:
                sh.vfs.mkdir(p, parents=False)
            else:
                sh.vfs.write(p, b"")
        except VfsError as exc:
            io.eprint(
                f"mktemp: failed to create {'directory' if 'd' in o else 'file'} via "
                f"template '{template}': {str(exc).rsplit(': ', 1)[-1]}"
            )
            return 1
        io.print(name)
        return 0
    io.eprint(f"mktemp: failed to create file via template '{template}': File exists")
    return 1
