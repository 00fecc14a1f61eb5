"""Programs on files: ``cat``, ``ls``, ``mkdir``, ``rm``, ``mv``, ``cp``, ``touch``,
``stat``, ``tee``."""

from __future__ import annotations

import posixpath
import re
from functools import partial

from mdstools.lab.coreutils.formats import (
    GROUP,
    OWNER,
    blocks_kb,
    fmt_time,
    human,
    mode_string,
    parse_date,
)
from mdstools.lab.coreutils.inputs import Inputs, why
from mdstools.lab.coreutils.options import Opts, getopt
from mdstools.lab.shell import IO, ProgramUsageError, Shell, program
from mdstools.lab.vfs import VfsError


@program("cat")
def cat(sh: Shell, argv: list[str], io: IO) -> int:
    """``cat [-n] [FILE]...``: files (or stdin) to stdout."""
    o = getopt(argv, "n", "number:n")
    ins = Inputs(sh, io, "cat", o.args)
    num = 0
    for _, text in ins.texts():
        if "n" in o:
            lines = re.findall(r"[^\n]*\n|[^\n]+$", text)
            for ln in lines:
                num += 1
                io.out.write(f"{num:6d}\t{ln}")
        else:
            io.out.write(text)
    return ins.rc


def _ls_entries(sh: Shell, o: Opts, path: str) -> list[tuple[str, str]]:
    """(name, full path) of a directory's entries in ``ls`` order."""
    names = sh.vfs.listdir(path)
    if "a" not in o:
        names = [n for n in names if not n.startswith(".")]
    entries = [(n, posixpath.join(path, n)) for n in names]
    if "a" in o:
        entries = [(".", path), ("..", posixpath.dirname(path) or "/"), *entries]
    return _ls_sort(sh, o, entries)


def _ls_sort(sh: Shell, o: Opts, entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    if "t" in o:
        entries.sort(key=lambda e: -(sh.vfs.mtime(e[1]) or 0))
    elif "S" in o:
        entries.sort(key=lambda e: -_size(sh, e[1]))
    else:
        entries.sort(key=lambda e: e[0])
    return entries[::-1] if "r" in o else entries


def _size(sh: Shell, path: str) -> int:
    f = sh.vfs.get(path)
    return 4096 if f is None else f.size


def _ls_block(sh: Shell, io: IO, o: Opts, entries: list[tuple[str, str]], total: bool) -> None:
    def shown(name: str, path: str) -> str:
        if "F" in o:
            f = sh.vfs.get(path)
            return name + ("/" if f is None else "*" if mode_string(path, f)[3] == "x" else "")
        return name

    if "l" not in o:
        names = [shown(n, p) for n, p in entries]
        if names:
            io.print("  ".join(names) if io.tty and "1" not in o else "\n".join(names))
        return
    now = sh.dep.clock.wall()
    rows: list[list[str]] = []
    kb = 0
    for name, path in entries:
        f = sh.vfs.get(path)
        kb += blocks_kb(f)
        size = 4096 if f is None else f.size
        t = sh.vfs.mtime(path) or now
        stamp = fmt_time(t, "%b %e %H:%M" if abs(now - t) < 182 * 86400 else "%b %e  %Y")
        links = (
            2 + sum(1 for n in sh.vfs.listdir(path) if sh.vfs.is_dir(posixpath.join(path, n)))
            if f is None
            else 1
        )
        rows.append(
            [
                mode_string(path, f),
                str(links),
                OWNER,
                GROUP,
                human(size) if "h" in o else str(size),
                stamp,
                shown(name, path),
            ]
        )
    if total:
        io.print(f"total {human(kb * 1024) if 'h' in o else kb}")
    widths = [max(len(r[i]) for r in rows) for i in range(5)] if rows else []
    for r in rows:
        io.print(
            f"{r[0]} {r[1]:>{widths[1]}} {r[2]:<{widths[2]}} {r[3]:<{widths[3]}} "
            f"{r[4]:>{widths[4]}} {r[5]} {r[6]}"
        )


@program("ls")
def ls(sh: Shell, argv: list[str], io: IO) -> int:
    """``ls [-1laAdhtrSF] [FILE]...``; one name per line unless stdout is a terminal."""
    argv = [a for a in argv if not a.startswith("--color")]
    o = getopt(argv, "1laAdhtrSF", "all:a almost-all:A directory:d human-readable:h", rc=2)
    if "A" in o:
        o.flags.pop("a", None)
        o.flags["A"] = ""
    targets = o.args or ["."]
    files: list[tuple[str, str]] = []
    dirs: list[tuple[str, str]] = []
    rc = 0
    for t in targets:
        p = sh.path(t)
        if not sh.vfs.exists(p):
            io.eprint(f"ls: cannot access '{t}': {why(sh, t)}")
            rc = 2
        elif sh.vfs.is_dir(p) and "d" not in o:
            dirs.append((t, p))
        else:
            files.append((t, p))
    if files:
        _ls_block(sh, io, o, _ls_sort(sh, o, files), total=False)
    for k, (t, p) in enumerate(sorted(dirs)):
        if files or k:
            io.print()
        if len(targets) > 1:
            io.print(f"{t}:")
        entries = _ls_entries(sh, o, p)
        _ls_block(sh, io, o, entries, total=True)
    return rc


@program("mkdir")
def mkdir(sh: Shell, argv: list[str], io: IO) -> int:
    """``mkdir [-p] [-m MODE] [-v] DIR...``."""
    o = getopt(argv, "pm:v", "parents:p mode=:m verbose:v")
    if not o.args:
        raise ProgramUsageError("missing operand")
    rc = 0
    for d in o.args:
        p = sh.path(d)
        if sh.vfs.is_dir(p) and "p" in o:
            continue
        if sh.vfs.exists(p):
            io.eprint(f"mkdir: cannot create directory '{d}': File exists")
            rc = 1
            continue
        try:
            sh.vfs.mkdir(p, parents="p" in o)
        except VfsError as exc:
            io.eprint(f"mkdir: cannot create directory '{d}': {str(exc).rsplit(': ', 1)[-1]}")
            rc = 1
            continue
        if "v" in o:
            io.print(f"mkdir: created directory '{d}'")
    return rc


@program("rm")
def rm(sh: Shell, argv: list[str], io: IO) -> int:
    """``rm [-f] [-r] [-v] FILE...``."""
    o = getopt(argv, "frRiv", "force:f recursive:r verbose:v")
    if not o.args and "f" not in o:
        raise ProgramUsageError("missing operand")
    rc = 0
    for name in o.args:
        p = sh.path(name)
        if p == "/" and ("r" in o or "R" in o):
            io.eprint("rm: it is dangerous to operate recursively on '/'")
            io.eprint("rm: use --no-preserve-root to override this failsafe")
            rc = 1
            continue
        if not sh.vfs.exists(p):
            if "f" not in o:
                io.eprint(f"rm: cannot remove '{name}': {why(sh, name)}")
                rc = 1
            continue
        if sh.vfs.is_dir(p) and "r" not in o and "R" not in o:
            io.eprint(f"rm: cannot remove '{name}': Is a directory")
            rc = 1
            continue
        sh.vfs.remove(p, recursive=True)
        if "v" in o:
            io.print(f"removed '{name}'")
    return rc


def _targets(sh: Shell, o: Opts) -> tuple[list[str], str, bool]:
    """Sources, destination and whether it is a directory, for ``cp``/``mv``."""
    if not o.args:
        raise ProgramUsageError("missing file operand")
    if len(o.args) == 1:
        raise ProgramUsageError(f"missing destination file operand after '{o.args[0]}'")
    *srcs, dst = o.args
    into = sh.vfs.is_dir(sh.path(dst))
    if len(srcs) > 1 and not into:
        raise ProgramUsageError(f"target '{dst}' is not a directory", hint=False)
    return srcs, dst, into


@program("mv")
def mv(sh: Shell, argv: list[str], io: IO) -> int:
    """``mv [-f] [-v] SOURCE... DEST``."""
    o = getopt(argv, "fivnu", "force:f verbose:v")
    srcs, dst, into = _targets(sh, o)
    rc = 0
    for s in srcs:
        target = posixpath.join(dst, posixpath.basename(s.rstrip("/"))) if into else dst
        if not sh.vfs.exists(sh.path(s)):
            io.eprint(f"mv: cannot stat '{s}': {why(sh, s)}")
            rc = 1
            continue
        if not sh.vfs.is_dir(posixpath.dirname(sh.path(target))):
            io.eprint(f"mv: cannot move '{s}' to '{target}': {why(sh, target)}")
            rc = 1
            continue
        try:
            sh.vfs.rename(sh.path(s), sh.path(target))
        except VfsError as exc:
            io.eprint(str(exc).replace(sh.path(s), s).replace(sh.path(target), target))
            rc = 1
            continue
        if "v" in o:
            io.print(f"renamed '{s}' -> '{target}'")
    return rc


@program("cp")
def cp(sh: Shell, argv: list[str], io: IO) -> int:
    """``cp [-r] [-p] [-f] [-a] [-v] SOURCE... DEST``; claimed file sizes are copied."""
    o = getopt(argv, "rRpfavdu", "recursive:r archive:a force:f preserve:p verbose:v")
    recursive = bool({"r", "R", "a"} & set(o.flags))
    srcs, dst, into = _targets(sh, o)
    rc = 0
    for s in srcs:
        sp = sh.path(s)
        target = posixpath.join(dst, posixpath.basename(s.rstrip("/"))) if into else dst
        tp = sh.path(target)
        if not sh.vfs.exists(sp):
            io.eprint(f"cp: cannot stat '{s}': {why(sh, s)}")
            rc = 1
            continue
        if sp == tp:
            io.eprint(f"cp: '{s}' and '{target}' are the same file")
            rc = 1
            continue
        if sh.vfs.is_dir(sp) and not recursive:
            io.eprint(f"cp: -r not specified; omitting directory '{s}'")
            rc = 1
            continue
        try:
            for path, f in sh.vfs.walk(sp) if sh.vfs.is_dir(sp) else [(sp, sh.vfs.get(sp))]:
                out = tp + path[len(sp) :]
                if f is None:
                    if sh.vfs.is_file(out):
                        raise VfsError(
                            f"cannot overwrite non-directory '{target}' with directory '{s}'"
                        )
                    sh.vfs.mkdir(out, parents=path != sp)
                    continue
                sh.vfs.copy(path, out)
                if {"p", "a"} & set(o.flags):
                    sh.vfs.touch(out, f.mtime)
        except VfsError as exc:
            text = str(exc)
            if text.endswith("No space left on device"):
                text = f"error writing '{target}': No space left on device"
            elif text.startswith("/"):
                text = f"cannot create regular file '{target}': {text.rsplit(': ', 1)[-1]}"
            elif text.startswith("mkdir: "):
                text = f"cannot create directory '{target}': {text.rsplit(': ', 1)[-1]}"
            io.eprint(f"cp: {text}")
            rc = 1
            continue
        if "v" in o:
            io.print(f"'{s}' -> '{target}'")
    return rc


@program("touch")
def touch(sh: Shell, argv: list[str], io: IO) -> int:
    """``touch [-c] [-d DATE] [-r REF] FILE...``."""
    o = getopt(argv, "cd:r:amt:", "no-create:c date=:d reference=:r")
    if not o.args:
        raise ProgramUsageError("missing file operand")
    when: float | None = None
    if "d" in o:
        when = parse_date(o.get("d"), sh.dep.clock.wall())
        if when is None:
            raise ProgramUsageError(f"invalid date format '{o.get('d')}'", hint=False)
    if "r" in o:
        when = sh.vfs.mtime(sh.path(o.get("r")))
        if when is None:
            io.eprint(f"touch: failed to get attributes of '{o.get('r')}': {why(sh, o.get('r'))}")
            return 1
    rc = 0
    for name in o.args:
        p = sh.path(name)
        if "c" in o and not sh.vfs.exists(p):
            continue
        try:
            sh.vfs.touch(p, when)
        except VfsError:
            io.eprint(f"touch: cannot touch '{name}': {why(sh, name)}")
            rc = 1
    return rc


def _stat_field(sh: Shell, name: str, spec: str) -> str:
    p = sh.path(name)
    f = sh.vfs.get(p)
    mtime = sh.vfs.mtime(p) or 0.0
    mode = mode_string(p, f)
    octal = {"drwxr-xr-x": "755", "-rwxr-xr-x": "755", "-rw-r--r--": "644"}[mode]
    kind = "directory" if f is None else "regular empty file" if f.size == 0 else "regular file"
    stamp = fmt_time(mtime, "%Y-%m-%d %H:%M:%S.%N %z")
    values = {
        "s": str(_size(sh, p)),
        "Y": str(int(mtime)),
        "Z": str(int(mtime)),
        "X": str(int(mtime)),
        "y": stamp,
        "z": stamp,
        "x": stamp,
        "n": name,
        "N": f"'{name}'",
        "F": kind,
        "a": octal,
        "A": mode,
        "U": OWNER,
        "G": GROUP,
        "u": "0",
        "g": "0",
        "h": "2" if f is None else "1",
        "b": str(blocks_kb(f) * 2),
        "B": "512",
        "i": str(abs(hash(p)) % 10**7),
        "o": "4096",
        "%": "%",
    }
    if spec not in values:
        return "?"
    return values[spec]


def _stat_fmt(sh: Shell, name: str, m: re.Match[str]) -> str:
    return _stat_field(sh, name, m.group(1))


@program("stat")
def stat(sh: Shell, argv: list[str], io: IO) -> int:
    """``stat [-c FORMAT] FILE...`` (``%s`` size, ``%Y`` mtime, ``%n``, ``%F``, ...)."""
    o = getopt(argv, "c:Lft", "format=:c printf=:P dereference:L")
    if not o.args:
        raise ProgramUsageError("missing operand")
    rc = 0
    for name in o.args:
        if not sh.vfs.exists(sh.path(name)):
            io.eprint(f"stat: cannot stat '{name}': {why(sh, name)}")
            rc = 1
            continue
        fmt = o.get("c", o.get("P"))
        if fmt:
            text = re.sub(r"%(.)", partial(_stat_fmt, sh, name), fmt)
            io.out.write(text + ("\n" if "c" in o else ""))
            continue

        def s(spec: str, name: str = name) -> str:
            return _stat_field(sh, name, spec)

        io.print(f"  File: '{name}'")
        io.print(f"  Size: {s('s'):<15} Blocks: {s('b'):<10} IO Block: 4096   {s('F')}")
        io.print(f"Device: fd00h/64768d\tInode: {s('i'):<11} Links: {s('h')}")
        io.print(
            f"Access: (0{s('a')}/{s('A')})  Uid: (    0/   {OWNER})   Gid: (    0/    {GROUP})"
        )
        for label in ("Access", "Modify", "Change"):
            io.print(f"{label}: {s('y')}")
        io.print(" Birth: -")
    return rc


@program("tee")
def tee(sh: Shell, argv: list[str], io: IO) -> int:
    """``tee [-a] [FILE]...``: stdin to stdout and to each file."""
    o = getopt(argv, "ai", "append:a ignore-interrupts:i")
    data = io.stdin.read()
    rc = 0
    for name in o.args:
        try:
            sh.vfs.write(sh.path(name), data, append="a" in o)
        except VfsError as exc:
            reason = str(exc).rsplit(": ", 1)[-1]
            io.eprint(f"tee: {name}: {reason if 'space' in reason else why(sh, name)}")
            rc = 1
    io.out.write(data)
    return rc
