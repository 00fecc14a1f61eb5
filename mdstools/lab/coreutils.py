"""GNU coreutils and the other programs in a Gaia box's ``/bin`` that scripts use.

Each program takes the options scripts commonly pass and prints GNU's output and error
messages (``cat: /x: No such file or directory``, exit status 1). Options outside that set
are refused with GNU's ``invalid option`` message, and programs that the lab only partly
implements (``awk``, ``sed``, ``tar``) say so plainly instead of guessing.
"""

from __future__ import annotations

import binascii
import fnmatch
import hashlib
import math
import operator
import posixpath
import re
import secrets
import shlex
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from typing import Any

from mdstools.lab.model import SimServer
from mdstools.lab.shell import (
    BUILTINS,
    IO,
    FileSink,
    Killed,
    NullSink,
    Shell,
    ShellExit,
    Sink,
    UsageError,
    backslash_escapes,
    program,
)
from mdstools.lab.vfs import VFile, VfsError

OWNER, GROUP = "admin", "root"
UTC = timezone.utc

# -- shared helpers ------------------------------------------------------------------


@dataclass
class Opts:
    """Parsed options: ``flags`` maps a letter to its (last) value, "" for switches."""

    flags: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)

    def __contains__(self, letter: object) -> bool:
        return letter in self.flags

    def get(self, letter: str, default: str = "") -> str:
        return self.flags.get(letter, default)

    def set(self, letter: str, value: str) -> None:
        self.flags[letter] = value
        self.lists.setdefault(letter, []).append(value)


def getopt(argv: list[str], short: str, longs: str = "", rc: int = 1, permute: bool = True) -> Opts:
    """GNU ``getopt_long``. ``short`` is like ``"nrk:"`` (``:``: takes a value); ``longs``
    like ``"lines=:n quiet:q"`` maps each long name (``=``: takes a value) to its letter."""
    long_map = dict(item.split(":", 1) for item in longs.split())
    o = Opts()
    i = 1
    while i < len(argv):
        a = argv[i]
        i += 1
        if a == "--":
            o.args += argv[i:]
            break
        if a.startswith("--"):
            name, eq, val = a[2:].partition("=")
            hits = [k for k in long_map if k.rstrip("=") == name] or [
                k for k in long_map if k.startswith(name)
            ]
            if len(hits) != 1:
                raise UsageError(
                    f"option '{a}' is ambiguous" if hits else f"unrecognized option '{a}'", rc
                )
            key = hits[0]
            if key.endswith("="):
                if not eq:
                    if i >= len(argv):
                        raise UsageError(f"option '--{key[:-1]}' requires an argument", rc)
                    val = argv[i]
                    i += 1
                o.set(long_map[key], val)
            elif eq:
                raise UsageError(f"option '--{key}' doesn't allow an argument", rc)
            else:
                o.set(long_map[key], "")
            continue
        if a.startswith("-") and len(a) > 1:
            k = 1
            while k < len(a):
                c = a[k]
                pos = short.find(c)
                if pos < 0 or c == ":":
                    raise UsageError(f"invalid option -- '{c}'", rc)
                if short[pos + 1 : pos + 2] == ":":
                    val = a[k + 1 :]
                    if not val:
                        if i >= len(argv):
                            raise UsageError(f"option requires an argument -- '{c}'", rc)
                        val = argv[i]
                        i += 1
                    o.set(c, val)
                    break
                o.set(c, "")
                k += 1
            continue
        o.args.append(a)
        if not permute:
            o.args += argv[i:]
            break
    return o


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
    if lines:
        io.out.write("\n".join(lines) + "\n")


def human(n: float) -> str:
    """GNU ``-h`` sizes: powers of 1024, rounded up, one decimal below 10."""
    if n < 1024:
        return str(math.ceil(n))
    units = "KMGTPE"
    k = 0
    n /= 1024
    while n >= 1024 and k < len(units) - 1:
        n /= 1024
        k += 1
    if n < 10 and math.ceil(n * 10) < 100:
        return f"{math.ceil(n * 10) / 10:.1f}{units[k]}"
    v = math.ceil(n)
    if v >= 1024 and k < len(units) - 1:
        return f"1.0{units[k + 1]}"
    return f"{v}{units[k]}"


def blocks_kb(f: VFile | None) -> int:
    """Disk usage in KiB, in 4 KiB blocks (a directory takes one)."""
    size = 4096 if f is None else f.size
    return (size + 4095) // 4096 * 4


def duration(text: str) -> float:
    """``sleep``/``timeout`` durations: ``1.5``, ``2m``, ``1h``, ``1d``, ``inf``."""
    m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+|inf(?:inity)?)([smhd]?)", text)
    if m is None:
        raise UsageError(f"invalid time interval '{text}'")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def is_program(sh: Shell, name: str) -> bool:
    return name in BUILTINS or name in sh.functions or sh.resolve(name) is not None


def run_child(sh: Shell, argv: list[str], io: IO, child: Shell | None = None) -> int:
    """Run a command in a child process (``nohup``, ``env``, ``xargs``, ``timeout``)."""
    c = child or sh.child()
    try:
        return c.exec(argv, io)
    except ShellExit as e:
        return e.code


def mode_string(path: str, f: VFile | None) -> str:
    if f is None:
        return "drwxr-xr-x"
    if f.handler or path.endswith(".sh"):
        return "-rwxr-xr-x"
    return "-rw-r--r--"


def fmt_time(t: float, pattern: str) -> str:
    """``strftime`` in UTC with GNU's extras ``%s``, ``%N``, ``%:z``."""
    dt = datetime.fromtimestamp(t, tz=UTC)
    extra = {
        "%%": "%%",
        "%s": str(int(t)),
        "%N": f"{int((t % 1) * 1e9):09d}",
        "%Z": "UTC",
        "%z": "+0000",
        "%:z": "+00:00",
        "%P": dt.strftime("%p").lower(),
    }
    pattern = re.sub(r"%(?::z|[%sNZzP])", lambda m: extra[m.group(0)], pattern)
    return dt.strftime(pattern)


# -- files -----------------------------------------------------------------------------


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
        raise UsageError("missing operand")
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
        raise UsageError("missing operand")
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
        raise UsageError("missing file operand")
    if len(o.args) == 1:
        raise UsageError(f"missing destination file operand after '{o.args[0]}'")
    *srcs, dst = o.args
    into = sh.vfs.is_dir(sh.path(dst))
    if len(srcs) > 1 and not into:
        raise UsageError(f"target '{dst}' is not a directory", hint=False)
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


def _parse_date(text: str, now: float) -> float | None:
    """Epoch seconds of a ``date -d`` string (the forms scripts use), None if unknown."""
    t = text.strip()
    if t.startswith("@"):
        try:
            return float(t[1:])
        except ValueError:
            return None
    if t in ("", "now"):
        return now
    rel = {"yesterday": -86400, "tomorrow": 86400, "today": 0}
    if t in rel:
        return now + rel[t]
    m = re.fullmatch(r"([-+]?\d+) (second|minute|hour|day|week)s?( ago)?", t)
    if m:
        secs = (
            int(m.group(1))
            * {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}[m.group(2)]
        )
        return now - secs if m.group(3) else now + secs
    for fmt in (
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d",
        "%Y-%m-%dT%H:%M:%S",
        "%a %b %d %H:%M:%S UTC %Y",
        "%a %b %d %H:%M:%S %Y",
    ):
        try:
            return datetime.strptime(t.replace("  ", " "), fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


@program("touch")
def touch(sh: Shell, argv: list[str], io: IO) -> int:
    """``touch [-c] [-d DATE] [-r REF] FILE...``."""
    o = getopt(argv, "cd:r:amt:", "no-create:c date=:d reference=:r")
    if not o.args:
        raise UsageError("missing file operand")
    when: float | None = None
    if "d" in o:
        when = _parse_date(o.get("d"), sh.dep.clock.wall())
        if when is None:
            raise UsageError(f"invalid date format '{o.get('d')}'", hint=False)
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
        raise UsageError("missing operand")
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


def _mount_name(path: str) -> str:
    return {"/": "/dev/mapper/vg_splat-lv_current", "/var/log": "/dev/mapper/vg_splat-lv_log"}.get(
        path, f"/dev/mapper/vg_splat-lv_{posixpath.basename(path) or 'root'}"
    )


@program("df")
def df(sh: Shell, argv: list[str], io: IO) -> int:
    """``df [-P] [-k] [-h] [-m] [PATH]...``: the lab's mounts (``/`` and ``/var/log``)."""
    o = getopt(argv, "PkhmTal", "portability:P human-readable:h local:l all:a print-type:T")
    vfs = sh.vfs
    rc = 0
    mounts = sorted(vfs.mounts, key=lambda m: m.path)
    if o.args:
        mounts = []
        for a in o.args:
            p = sh.path(a)
            m = vfs.mount_for(p)
            if not vfs.exists(p):
                io.eprint(f"df: {a}: No such file or directory")
                rc = 1
            elif m is not None:
                mounts.append(m)
    unit = 1024 * 1024 if "m" in o else 1024
    size_hdr = (
        "Size"
        if "h" in o
        else "1M-blocks"
        if "m" in o
        else ("1024-blocks" if "P" in o else "1K-blocks")
    )
    header = [
        "Filesystem",
        size_hdr,
        "Used",
        "Avail" if "h" in o else "Available",
        "Capacity" if "P" in o else "Use%",
        "Mounted on",
    ]
    rows = [header]
    for m in mounts:
        used = vfs.used_kb(m)
        avail = max(0, m.total_kb - used)
        pct = math.ceil(used * 100 / (used + avail)) if used + avail else 0

        def num(kb: int) -> str:
            return human(kb * 1024) if "h" in o else str(math.ceil(kb * 1024 / unit))

        rows.append(
            [_mount_name(m.path), num(m.total_kb), num(used), num(avail), f"{pct}%", m.path]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows if len(rows) > 1 or not o.args else []:
        cells = [r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in range(1, 5)]
        io.print(" ".join(cells) + " " + r[5])
    return rc


@program("du")
def du(sh: Shell, argv: list[str], io: IO) -> int:
    """``du [-s] [-k|-m|-h|-b] [-a] [-c] [PATH]...``: 4 KiB blocks of claimed sizes."""
    o = getopt(argv, "skmhbac", "summarize:s human-readable:h all:a total:c bytes:b")

    def show(kb: int, nbytes: int) -> str:
        if "b" in o:
            return str(nbytes)
        if "h" in o:
            return human(kb * 1024)
        return str(math.ceil(kb / 1024)) if "m" in o else str(kb)

    rc = 0
    grand_kb = grand_b = 0
    for t in o.args or ["."]:
        p = sh.path(t)
        if not sh.vfs.exists(p):
            io.eprint(f"du: cannot access '{t}': {why(sh, t)}")
            rc = 1
            continue
        kb: dict[str, int] = {}
        nb: dict[str, int] = {}
        lines: list[tuple[str, str]] = []
        for path, f in reversed(sh.vfs.walk(p)):  # children before their directory
            kb[path] = kb.get(path, 0) + blocks_kb(f)
            nb[path] = nb.get(path, 0) + (f.size if f is not None else 4096)
            if path != p:
                parent = posixpath.dirname(path)
                kb[parent] = kb.get(parent, 0) + kb[path]
                nb[parent] = nb.get(parent, 0) + nb[path]
            shown = t if path == p else t.rstrip("/") + path[len(p.rstrip("/")) :]
            if path == p or ("s" not in o and (f is None or "a" in o)):
                lines.append((show(kb[path], nb[path]), shown))
        for size, shown in lines:
            io.print(f"{size}\t{shown}")
        grand_kb += kb[p]
        grand_b += nb[p]
    if "c" in o:
        io.print(f"{show(grand_kb, grand_b)}\ttotal")
    return rc


def _checksum(algo: str, sh: Shell, argv: list[str], io: IO) -> int:
    prog = f"{algo}sum"
    o = getopt(argv, "cbtw", "check:c binary:b text:t quiet:q status:s warn:w")

    def digest(data: bytes) -> str:
        return hashlib.new(algo, data).hexdigest()

    ins = Inputs(sh, io, prog, o.args)
    if "c" not in o:
        for name, data, _ in ins.files():
            io.print(f"{digest(data)}  {name}")
        return ins.rc
    bad = unread = 0
    rc = 0
    for listing, text in ins.texts():
        entries = [
            m for ln in lines_of(text) if (m := re.fullmatch(r"([0-9a-fA-F]+) [ *](.+)", ln))
        ]
        if not entries:
            io.eprint(
                f"{prog}: {listing}: no properly formatted {algo.upper()} checksum lines found"
            )
            rc = 1
            continue
        for m in entries:
            want, name = m.group(1).lower(), m.group(2)
            f = sh.vfs.get(sh.path(name))
            if f is None:
                io.eprint(f"{prog}: {name}: {why(sh, name)}")
                io.print(f"{name}: FAILED open or read")
                unread += 1
                continue
            ok = digest(bytes(f.content)) == want
            bad += not ok
            if "s" not in o and (not ok or "q" not in o):
                io.print(f"{name}: {'OK' if ok else 'FAILED'}")
    if unread:
        io.eprint(
            f"{prog}: WARNING: {unread} listed file{'s' if unread > 1 else ''} could not be read"
        )
    if bad:
        io.eprint(f"{prog}: WARNING: {bad} computed checksum{'s' if bad > 1 else ''} did NOT match")
    return 1 if bad or unread or rc else ins.rc


@program("sha256sum")
def sha256sum(sh: Shell, argv: list[str], io: IO) -> int:
    """``sha256sum [-c] [FILE]...``: ``HASH  NAME`` of the files' content."""
    return _checksum("sha256", sh, argv, io)


@program("md5sum")
def md5sum(sh: Shell, argv: list[str], io: IO) -> int:
    """``md5sum [-c] [FILE]...``: ``HASH  NAME`` of the files' content."""
    return _checksum("md5", sh, argv, io)


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
    archive = o.get("f")
    apath = sh.path(archive)
    if "t" in o:
        f = sh.vfs.get(apath)
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
    base = sh.path(o.get("C", sh.cwd))
    excludes = o.lists.get("E", [])
    members: list[str] = []
    total = 0
    rc = 0
    warned = False
    if not o.args:
        io.eprint("tar: Cowardly refusing to create an empty archive")
        io.eprint("Try 'tar --help' or 'tar --usage' for more information.")
        return 2
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
    body = TAR_MAGIC + "".join(m + "\n" for m in members)
    try:
        sh.vfs.write(apath, body, size=max(len(body.encode()), total + 10240))
    except VfsError as exc:
        io.eprint(f"tar: {archive}: Cannot write: {str(exc).rsplit(': ', 1)[-1]}")
        io.eprint("tar: Error is not recoverable: exiting now")
        return 2
    if "v" in o:
        emit(io, members)
    if rc:
        io.eprint("tar: Exiting with failure status due to previous errors")
    return rc


def fnmatch_any(member: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(member, pattern) or fnmatch.fnmatchcase(
        posixpath.basename(member.rstrip("/")), pattern
    )


# -- text ------------------------------------------------------------------------------

_CLASSES = {
    "space": r"\s",
    "blank": r" \t",
    "digit": "0-9",
    "alpha": "a-zA-Z",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "xdigit": "0-9A-Fa-f",
    "punct": r"!-/:-@\[-`{-~",
    "print": r" -~",
    "graph": r"!-~",
    "cntrl": r"\x00-\x1f",
    "word": r"\w",
}


def posix_regex(pat: str, extended: bool) -> str:
    """A POSIX basic (or extended) regular expression as a Python one."""
    out: list[str] = []
    i = 0
    bre_special = {"(": "(", ")": ")", "{": "{", "}": "}", "|": "|", "+": "+", "?": "?"}
    while i < len(pat):
        c = pat[i]
        if c == "[":
            j = i + 1
            cls = ["["]
            if j < len(pat) and pat[j] in "^!":
                cls.append("^")
                j += 1
            if j < len(pat) and pat[j] == "]":
                cls.append(r"\]")
                j += 1
            while j < len(pat) and pat[j] != "]":
                m = re.match(r"\[:(\w+):\]", pat[j:])
                if m and m.group(1) in _CLASSES:
                    cls.append(_CLASSES[m.group(1)])
                    j += len(m.group(0))
                    continue
                cls.append("\\" + pat[j] if pat[j] in "\\[&~|" else pat[j])
                j += 1
            if j >= len(pat):
                raise re.error("Unmatched [, [^, [:, [., or [=")
            out.append("".join(cls) + "]")
            i = j + 1
            continue
        if c == "\\" and i + 1 < len(pat):
            n = pat[i + 1]
            if n in "<>":
                out.append(r"\b")
            elif not extended and n in bre_special:
                out.append(bre_special[n])
            else:
                out.append("\\" + n)
            i += 2
            continue
        if not extended and c in bre_special:
            out.append("\\" + c)
        elif c == "*" and (not out or out[-1] in ("^", "(", "|")):
            out.append(r"\*")
        elif extended and c == "{" and not re.match(r"\{\d", pat[i:]):
            out.append(r"\{")
        else:
            out.append(c)
        i += 1
    return "".join(out)


def compile_regex(
    pats: list[str], extended: bool, fixed: bool = False, icase: bool = False
) -> re.Pattern[str]:
    try:
        body = "|".join(f"(?:{re.escape(p) if fixed else posix_regex(p, extended)})" for p in pats)
        return re.compile(body, re.I if icase else 0)
    except re.error as exc:
        msg = str(exc)
        if "unbalanced parenthesis" in msg or "missing )" in msg:
            msg = "Unmatched ( or \\("
        raise UsageError(msg, 2, hint=False) from None


@program("grep", "egrep")
def grep(sh: Shell, argv: list[str], io: IO) -> int:
    """``grep [-viEFcqwxonlLhHsr] [-e PATTERN] [-m NUM] PATTERN [FILE]...``."""
    prog = posixpath.basename(argv[0])
    o = getopt(
        argv,
        "viEFcqwxonlLhHsre:m:",
        (
            "invert-match:v ignore-case:i extended-regexp:E fixed-strings:F "
            "count:c quiet:q silent:q word-regexp:w line-regexp:x "
            "only-matching:o line-number:n files-with-matches:l "
            "files-without-match:L no-filename:h with-filename:H "
            "no-messages:s recursive:r regexp=:e max-count=:m color=:C "
            "colour=:C"
        ),
        rc=2,
    )
    args = o.args
    if "e" in o:
        pats = [p for e in o.lists["e"] for p in e.split("\n")]
    elif args:
        pats = args[0].split("\n")
        args = args[1:]
    else:
        io.eprint(f"Usage: {prog} [OPTION]... PATTERNS [FILE]...")
        io.eprint(f"Try '{prog} --help' for more information.")
        return 2
    rx = compile_regex(pats, "E" in o or prog == "egrep", "F" in o, "i" in o)
    if "w" in o:
        rx = re.compile(rf"(?<!\w)(?:{rx.pattern})(?!\w)", rx.flags)
    if "x" in o:
        rx = re.compile(rf"^(?:{rx.pattern})$", rx.flags)
    names = args
    if "r" in o:
        names = []
        for a in args or ["."]:
            p = sh.path(a)
            if sh.vfs.is_dir(p):
                names += [
                    a.rstrip("/") + path[len(p.rstrip("/")) :]
                    for path, f in sh.vfs.walk(p)
                    if f is not None
                ]
            else:
                names.append(a)
    prefix = ("H" in o or len(names) > 1 or "r" in o) and "h" not in o
    limit = int(o.get("m")) if "m" in o else -1
    err: Sink = NullSink() if "s" in o else io.err
    ins = Inputs(sh, IO(io.stdin, io.out, err), prog, names, rc=2)
    selected_any = False
    for name, text in ins.texts():
        shown = "(standard input)" if name == "-" else name
        count = 0
        for num, line in enumerate(lines_of(text), 1):
            if count == limit:
                break
            hit = rx.search(line) is not None
            if hit == ("v" in o):
                continue
            count += 1
            selected_any = True
            if "q" in o:
                return 0
            if {"c", "l", "L"} & set(o.flags):
                continue
            head = (f"{shown}:" if prefix else "") + (f"{num}:" if "n" in o else "")
            if "o" in o:
                if "v" not in o:
                    for m in rx.finditer(line):
                        if m.group(0):
                            io.print(head + m.group(0))
                continue
            io.print(head + line)
        if "c" in o:
            io.print((f"{shown}:" if prefix else "") + str(count))
        if ("l" in o and count) or ("L" in o and not count):
            io.print(shown)
    if ins.rc:
        return 2
    return 0 if selected_any else 1


def _count_arg(value: str, what: str) -> tuple[int, str]:
    """(number, sign) of a ``head``/``tail`` count like ``10``, ``+5``, ``-3``."""
    m = re.fullmatch(r"([-+]?)(\d+)([kKMG]?)", value.strip())
    if m is None:
        raise UsageError(f"invalid number of {what}: '{value}'", hint=False)
    mult = {"": 1, "k": 1024, "K": 1024, "M": 1024**2, "G": 1024**3}[m.group(3)]
    return int(m.group(2)) * mult, m.group(1)


def _head_tail(sh: Shell, argv: list[str], io: IO, tail: bool) -> int:
    prog = "tail" if tail else "head"
    if len(argv) > 1 and re.fullmatch(r"-\d+" + (r"|\+\d+" if tail else ""), argv[1]):
        argv = [argv[0], "-n", argv[1].lstrip("-"), *argv[2:]]  # head -5, tail +3
    o = getopt(
        argv,
        "n:c:qvfF" if tail else "n:c:qv",
        "lines=:n bytes=:c quiet:q silent:q verbose:v follow:f",
    )
    if "f" in o or "F" in o:
        io.eprint("tail: following files (-f) is not supported by the lab")
        return 1
    use_bytes = "c" in o
    n, sign = _count_arg(o.get("c" if use_bytes else "n", "10"), "bytes" if use_bytes else "lines")
    ins = Inputs(sh, io, prog, o.args)
    names = o.args or ["-"]
    header = ("v" in o or len(names) > 1) and "q" not in o
    first = True
    for name, data, _ in ins.files():
        if header:
            shown = "standard input" if name == "-" else name
            io.out.write(("" if first else "\n") + f"==> {shown} <==\n")
        first = False
        if use_bytes:
            if tail:
                part = data[n - 1 :] if sign == "+" else data[-n:] if n else b""
            else:
                part = data[: len(data) - n] if sign == "-" else data[:n]
            io.out.write(part.decode("utf-8", errors="replace"))
            continue
        chunks = re.findall(r"[^\n]*\n|[^\n]+$", data.decode("utf-8", errors="replace"))
        if tail:
            chunks = chunks[max(n - 1, 0) :] if sign == "+" else chunks[-n:] if n else []
        else:
            chunks = chunks[: len(chunks) - n] if sign == "-" else chunks[:n]
        io.out.write("".join(chunks))
    return ins.rc


@program("head")
def head(sh: Shell, argv: list[str], io: IO) -> int:
    """``head [-n N|-N|-c N] [FILE]...``: the first lines (``-n -N``: all but the last N)."""
    return _head_tail(sh, argv, io, tail=False)


@program("tail")
def tail(sh: Shell, argv: list[str], io: IO) -> int:
    """``tail [-n N|-N|-n +N|-c N] [FILE]...``; ``-f`` is refused (it would never end)."""
    return _head_tail(sh, argv, io, tail=True)


@program("wc")
def wc(sh: Shell, argv: list[str], io: IO) -> int:
    """``wc [-l] [-w] [-c] [-m] [FILE]...`` with GNU's column widths."""
    o = getopt(argv, "lwcmL", "lines:l words:w bytes:c chars:m")
    which = [c for c in "lwmc" if c in o] or ["l", "w", "c"]
    ins = Inputs(sh, io, "wc", o.args)
    rows: list[tuple[list[int], str]] = []
    stdin_used = False
    for name, data, f in ins.files():
        text = data.decode("utf-8", errors="replace")
        counts = {
            "l": text.count("\n"),
            "w": len(text.split()),
            "m": len(text),
            "c": f.size if f is not None else len(data),
        }
        stdin_used = stdin_used or f is None
        rows.append(([counts[c] for c in which], "" if not o.args else name))
    if len(rows) > 1:
        rows.append(([sum(r[0][k] for r in rows) for k in range(len(which))], "total"))
    if len(which) == 1 and len(rows) == 1:
        width = 1
    else:
        total_bytes = sum(f.size for n in o.args if (f := sh.vfs.get(sh.path(n))) is not None)
        width = max(len(str(total_bytes)), 7 if stdin_used else 1)
    for nums, name in rows:
        io.print(" ".join(f"{c:>{width}}" for c in nums) + (f" {name}" if name else ""))
    return ins.rc


def _sort_key(o: Opts) -> Callable[[str], tuple[object, ...]]:
    sep = o.get("t") or None
    start, end = 0, 0
    if "k" in o:
        m = re.fullmatch(r"(\d+)(?:\.\d+)?[a-zA-Z]*(?:,(\d+)(?:\.\d+)?[a-zA-Z]*)?", o.get("k"))
        if m is None:
            raise UsageError(
                f"invalid number at field start: invalid count at start of '{o.get('k')}'", 2
            )
        start, end = int(m.group(1)), int(m.group(2) or 0)

    def key(line: str) -> tuple[object, ...]:
        text = line
        if start:
            fields = line.split(sep) if sep else line.split()
            chosen = fields[start - 1 : end if end else None]
            text = (sep or " ").join(chosen)
        if "f" in o:
            text = text.upper()
        if "n" in o:
            m = re.match(r"\s*(-?\d+(?:\.\d+)?)", text)
            return (float(m.group(1)) if m else 0.0,)
        if "h" in o:
            m = re.match(r"\s*(-?\d+(?:\.\d+)?)([KMGTPE]?)", text)
            mult = 1024 ** ("KMGTPE".index(m.group(2)) + 1) if m and m.group(2) else 1
            return (float(m.group(1)) * mult if m else 0.0,)
        return (text,)

    return key


@program("sort")
def sort(sh: Shell, argv: list[str], io: IO) -> int:
    """``sort [-n] [-h] [-r] [-u] [-f] [-k N[,M]] [-t SEP] [-o FILE] [FILE]...``."""
    o = getopt(
        argv,
        "nrufhk:t:o:sb",
        (
            "numeric-sort:n reverse:r unique:u ignore-case:f "
            "human-numeric-sort:h key=:k field-separator=:t output=:o"
        ),
        rc=2,
    )
    ins = Inputs(sh, io, "sort", o.args, rc=2)
    lines = [ln for _, text in ins.texts() for ln in lines_of(text)]
    if ins.rc:
        return 2
    key = _sort_key(o)
    rev = "r" in o
    out = (
        sorted(lines, key=lambda ln: (key(ln), ln), reverse=rev)
        if "s" not in o
        else sorted(lines, key=key, reverse=rev)
    )
    if "u" in o:
        seen: set[tuple[object, ...]] = set()
        uniq: list[str] = []
        for ln in out:
            if key(ln) not in seen:
                seen.add(key(ln))
                uniq.append(ln)
        out = uniq
    if "o" in o:
        sh.vfs.write(sh.path(o.get("o")), "".join(x + "\n" for x in out))
        return 0
    emit(io, out)
    return 0


@program("uniq")
def uniq(sh: Shell, argv: list[str], io: IO) -> int:
    """``uniq [-c] [-d] [-u] [-i] [INPUT [OUTPUT]]``."""
    o = getopt(argv, "cdui", "count:c repeated:d unique:u ignore-case:i")
    ins = Inputs(sh, io, "uniq", o.args[:1])
    groups: list[tuple[str, int]] = []
    for _, text in ins.texts():
        for ln in lines_of(text):
            same = groups and (
                groups[-1][0].lower() == ln.lower() if "i" in o else groups[-1][0] == ln
            )
            if same:
                groups[-1] = (groups[-1][0], groups[-1][1] + 1)
            else:
                groups.append((ln, 1))
    out = [
        (f"{n:7d} {ln}" if "c" in o else ln)
        for ln, n in groups
        if not ("d" in o and n < 2) and not ("u" in o and n > 1)
    ]
    if len(o.args) > 1:
        sh.vfs.write(sh.path(o.args[1]), "".join(x + "\n" for x in out))
    else:
        emit(io, out)
    return ins.rc


def _ranges(spec: str, what: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for part in spec.split(","):
        m = re.fullmatch(r"(\d*)-(\d*)|(\d+)", part)
        if m is None or part == "-":
            raise UsageError(
                f"invalid {what} value '{part}'"
                if m is None
                else "invalid range with no endpoint: -"
            )
        if m.group(3):
            lo = hi = int(m.group(3))
        else:
            lo, hi = int(m.group(1) or 1), int(m.group(2) or 10**9)
        if lo == 0:
            raise UsageError(f"{what}s are numbered from 1")
        out.append((lo, hi))
    return out


@program("cut")
def cut(sh: Shell, argv: list[str], io: IO) -> int:
    """``cut -f LIST [-d C] [-s] | -c LIST | -b LIST [FILE]...``."""
    o = getopt(
        argv,
        "f:d:c:b:s",
        ("fields=:f delimiter=:d characters=:c bytes=:b only-delimited:s output-delimiter=:O"),
    )
    kinds = [k for k in "fcb" if k in o]
    if not kinds:
        raise UsageError("you must specify a list of bytes, characters, or fields")
    if len(kinds) > 1:
        raise UsageError("only one type of list may be specified")
    kind = kinds[0]
    ranges = _ranges(o.get(kind), "field" if kind == "f" else "byte/character")
    delim = o.get("d", "\t")
    if len(delim) != 1:
        raise UsageError("the delimiter must be a single character")
    out_delim = o.get("O", delim)

    def pick(items: list[str]) -> list[str]:
        return [x for i, x in enumerate(items, 1) if any(lo <= i <= hi for lo, hi in ranges)]

    ins = Inputs(sh, io, "cut", o.args)
    out: list[str] = []
    for _, text in ins.texts():
        for ln in lines_of(text):
            if kind != "f":
                out.append("".join(pick(list(ln))))
            elif delim not in ln:
                if "s" not in o:
                    out.append(ln)
            else:
                out.append(out_delim.join(pick(ln.split(delim))))
    emit(io, out)
    return ins.rc


def _tr_set(spec: str) -> list[str]:
    text, _ = backslash_escapes(spec)
    classes = {
        "upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "lower": "abcdefghijklmnopqrstuvwxyz",
        "digit": "0123456789",
        "space": " \t\n\r\f\v",
        "blank": " \t",
    }
    classes["alpha"] = classes["upper"] + classes["lower"]
    classes["alnum"] = classes["alpha"] + classes["digit"]
    out: list[str] = []
    i = 0
    while i < len(text):
        m = re.match(r"\[:(\w+):\]", text[i:])
        if m and m.group(1) in classes:
            out += list(classes[m.group(1)])
            i += len(m.group(0))
        elif i + 2 < len(text) and text[i + 1] == "-":
            out += [chr(c) for c in range(ord(text[i]), ord(text[i + 2]) + 1)]
            i += 3
        else:
            out.append(text[i])
            i += 1
    return out


@program("tr")
def tr(sh: Shell, argv: list[str], io: IO) -> int:
    """``tr [-d] [-s] [-c] SET1 [SET2]``: ranges, ``[:class:]`` and ``\\n`` escapes."""
    o = getopt(argv, "dscC", "delete:d squeeze-repeats:s complement:c")
    if not o.args:
        raise UsageError("missing operand")
    need = 1 if ("d" in o and "s" not in o) or ("s" in o and "d" not in o) else 2
    if len(o.args) < need:
        raise UsageError(f"missing operand after '{o.args[-1]}'")
    if len(o.args) > need and "d" in o:
        raise UsageError(f"extra operand '{o.args[need]}'")
    set1 = _tr_set(o.args[0])
    set2 = _tr_set(o.args[1]) if len(o.args) > 1 else []
    text = io.stdin.read()
    comp = "c" in o or "C" in o

    def in1(ch: str) -> bool:
        return (ch in set1) != comp

    if "d" in o:
        text = "".join(ch for ch in text if not in1(ch))
    elif set2:
        if comp:
            text = "".join(set2[-1] if in1(ch) else ch for ch in text)
        else:
            padded = set2 + [set2[-1]] * (len(set1) - len(set2))
            table: dict[int, str | int | None] = {
                ord(a): b for a, b in zip(set1, padded, strict=False)
            }
            text = text.translate(table)
    squeeze = set2 if set2 else set1 if "s" in o else []
    if "s" in o:
        text = (
            re.sub("([" + re.escape("".join(squeeze)) + "])\\1+", r"\1", text) if squeeze else text
        )
    io.out.write(text)
    return 0


# -- awk: the subset scripts use -------------------------------------------------------


class AwkUnsupported(Exception):
    """The program uses awk beyond what the lab implements."""


class _AwkNext(Exception):
    pass


class _AwkExit(Exception):
    pass


AwkValue = str | float
Node = tuple[Any, ...]  # ("val", 1.0), ("bin", "+", left, right), ("print", [args]), ...

_AWK_TOKEN = re.compile(
    r'[ \t]*(?:(?P<nl>[\n;])|(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>\d+\.?\d*(?:[eE][-+]?\d+)?)'
    r"|(?P<name>[A-Za-z_]\w*)|(?P<op>\+\+|--|[-+*/]=|==|!=|<=|>=|&&|\|\||!~"
    r"|[-+*/%<>!~=(){},$?:]))"
)
_AWK_LEVELS = (
    ("||",),
    ("&&",),
    ("~", "!~"),
    ("<", "<=", "==", "!=", ">=", ">"),
    ("",),
    ("+", "-"),
    ("*", "/", "%"),
)
_AWK_UNSUPPORTED = {
    "for",
    "while",
    "do",
    "getline",
    "delete",
    "function",
    "return",
    "break",
    "continue",
    "in",
    "sub",
    "gsub",
    "split",
    "match",
    "sprintf",
    "system",
    "close",
}
_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _num(v: AwkValue) -> float:
    if isinstance(v, float):
        return v
    m = re.match(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", v)
    return float(m.group(0)) if m else 0.0


def _str(v: AwkValue) -> str:
    if isinstance(v, float):
        return str(int(v)) if v == int(v) and abs(v) < 1e16 else f"{v:.6g}"
    return v


def _numeric(v: AwkValue) -> bool:
    return (
        isinstance(v, float)
        or re.fullmatch(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*", v) is not None
    )


def _truth(v: AwkValue) -> bool:
    return v != 0 if isinstance(v, float) else v != "" and not (_numeric(v) and _num(v) == 0)


class _AwkParser:
    """Parses an awk program into ``begin``, ``rules`` and ``end`` statement trees."""

    def __init__(self, src: str) -> None:
        self.toks: list[tuple[str, str]] = []
        pos = 0
        while src[pos:].strip():
            start = len(src) - len(src[pos:].lstrip(" \t"))
            prev = self.toks[-1] if self.toks else ("nl", "")
            if (
                src.startswith("/", start)
                and prev[0] not in ("num", "str", "name", "re")
                and prev[1] != ")"
            ):
                end = start + 1  # a regex where an operand is expected, else a division
                while end < len(src) and src[end] != "/":
                    end += 2 if src[end] == "\\" else 1
                self.toks.append(("re", src[start + 1 : end].replace("\\/", "/")))
                pos = end + 1
                continue
            m = _AWK_TOKEN.match(src, pos)
            if m is None:
                raise AwkUnsupported(f"unexpected character {src[pos:].strip()[:1]!r}")
            self.toks.append((m.lastgroup or "", m.group(m.lastgroup or 0)))
            pos = m.end()
        self.k = 0
        self.begin: list[Node] = []
        self.end: list[Node] = []
        self.rules: list[tuple[Node | None, Node]] = []
        while self.skip_nl() != "":
            if self.peek()[1] in ("BEGIN", "END"):
                which = self.begin if self.take()[1] == "BEGIN" else self.end
                self.skip_nl()
                which.append(self.block())
                continue
            pattern = None if self.peek()[1] == "{" else self.expr()
            if self.peek()[1] == ",":
                raise AwkUnsupported("range patterns")
            self.rules.append((pattern, self.block() if self.peek()[1] == "{" else ("print", [])))

    def peek(self, ahead: int = 0) -> tuple[str, str]:
        k = self.k + ahead
        return self.toks[k] if k < len(self.toks) else ("eof", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise AwkUnsupported(f"expected {value!r} near {tok[1] or 'the end'!r}")
        self.k += 1
        return tok

    def skip_nl(self) -> str:
        """Skip separators; the next token's text ("" at the end)."""
        while self.peek()[0] == "nl":
            self.k += 1
        return self.peek()[1]

    def block(self) -> Node:
        self.take("{")
        body: list[Node] = []
        while self.skip_nl() != "}":
            if self.peek()[0] == "eof":
                raise AwkUnsupported("missing '}'")
            body.append(self.stmt())
        self.take("}")
        return ("block", body)

    def stmt(self) -> Node:
        kind, val = self.peek()
        if val == "{":
            return self.block()
        if kind == "name" and val in _AWK_UNSUPPORTED:
            raise AwkUnsupported(f"'{val}'")
        if kind == "name" and val in ("next", "exit"):
            self.k += 1
            return (val,)
        if kind == "name" and val == "if":
            self.k += 1
            self.take("(")
            cond = self.expr()
            self.take(")")
            self.skip_nl()
            then = self.stmt()
            self.skip_nl()
            orelse = None
            if self.peek()[1] == "else":
                self.k += 1
                self.skip_nl()
                orelse = self.stmt()
            return ("if", cond, then, orelse)
        if kind == "name" and val in ("print", "printf"):
            self.k += 1
            paren = val == "printf" and self.peek()[1] == "("
            self.k += paren
            args: list[Node] = []
            while self.peek()[0] not in ("nl", "eof") and self.peek()[1] not in ("}", ")"):
                if self.peek()[1] in (">", "|"):
                    raise AwkUnsupported("output redirection")
                args.append(self.expr(no_gt=True))
                if self.peek()[1] == ",":
                    self.k += 1
            if paren:
                self.take(")")
            return (val, args)
        return ("expr", self.expr())

    def expr(self, no_gt: bool = False) -> Node:
        kind, val = self.peek()
        if kind == "name" and self.peek(1)[1] in ("=", "+=", "-=", "*=", "/="):
            op = self.toks[self.k + 1][1]
            self.k += 2
            return ("assign", op, val, self.expr(no_gt))
        cond = self.binary(0, no_gt)
        if self.peek()[1] != "?":
            return cond
        self.k += 1
        a = self.expr(no_gt)
        self.take(":")
        return ("cond", cond, a, self.expr(no_gt))

    def binary(self, level: int, no_gt: bool) -> Node:
        if level == len(_AWK_LEVELS):
            return self.unary()
        left = self.binary(level + 1, no_gt)
        while True:
            kind, op = self.peek()
            if _AWK_LEVELS[level] == ("",):  # concatenation: an operand follows directly
                if not (
                    kind in ("str", "num", "re")
                    or op in ("$", "(")
                    or (kind == "name" and op not in _AWK_UNSUPPORTED)
                ):
                    return left
                op = "concat"
            elif op not in _AWK_LEVELS[level] or (no_gt and op == ">"):
                return left
            else:
                self.k += 1
            left = ("bin", op, left, self.binary(level + 1, no_gt))

    def unary(self) -> Node:
        kind, val = self.peek()
        if val in ("!", "-", "+"):
            self.k += 1
            return ("unary", val, self.unary())
        if val in ("++", "--") and self.peek(1)[0] == "name":
            self.k += 1
            return ("incr", self.take()[1], 1.0 if val == "++" else -1.0, False)
        if kind == "name" and self.peek(1)[1] in ("++", "--"):
            self.k += 1
            return ("incr", val, 1.0 if self.take()[1] == "++" else -1.0, True)
        return self.primary()

    def primary(self) -> Node:
        kind, val = self.take()
        if kind == "num":
            return ("val", float(val))
        if kind == "str":
            return ("val", backslash_escapes(val[1:-1].replace('\\"', '"'))[0])
        if kind == "re":
            try:
                return ("re", re.compile(posix_regex(val, True)))
            except re.error as exc:
                raise AwkUnsupported(f"regular expression /{val}/: {exc}") from None
        if val == "(":
            e = self.expr()
            self.take(")")
            return e
        if val == "$":
            nk, nv = self.peek()
            if nk in ("num", "name"):
                self.k += 1
                return ("field", ("val", float(nv)) if nk == "num" else ("var", nv))
            return ("field", self.primary())
        if kind == "name" and val in _AWK_UNSUPPORTED:
            raise AwkUnsupported(f"'{val}'")
        if kind == "name" and val in _AWK_FUNCS:
            args: list[Node] = []
            if self.peek()[1] == "(":
                self.k += 1
                while self.peek()[1] != ")":
                    args.append(self.expr())
                    if self.peek()[1] == ",":
                        self.k += 1
                self.k += 1
            return ("call", val, args)
        if kind == "name":
            return ("var", val)
        raise AwkUnsupported(f"syntax near {val or 'the end of the program'!r}")


_AWK_FUNCS: dict[str, Callable[[_AwkState, list[AwkValue]], AwkValue]] = {
    "length": lambda st, a: float(len(_str(a[0]) if a else st.field(0))),
    "substr": lambda st, a: _substr(a),
    "tolower": lambda st, a: _str(a[0]).lower(),
    "toupper": lambda st, a: _str(a[0]).upper(),
    "index": lambda st, a: float(_str(a[0]).find(_str(a[1])) + 1),
    "int": lambda st, a: float(int(_num(a[0]))),
}


def _substr(a: list[AwkValue]) -> str:
    start = int(_num(a[1])) - 1
    end = start + int(_num(a[2])) if len(a) > 2 else None
    return _str(a[0])[max(start, 0) : None if end is None else max(end, 0)]


@dataclass
class _AwkState:
    vars: dict[str, AwkValue]
    fields: list[str] = field(default_factory=list)
    out: list[str] = field(default_factory=list)

    def field(self, n: int) -> str:
        return self.fields[n] if 0 <= n < len(self.fields) else ""

    def eval(self, n: Node) -> AwkValue:
        kind = n[0]
        if kind == "val":
            return n[1]  # type: ignore[no-any-return]
        if kind == "re":
            return float(n[1].search(self.field(0)) is not None)
        if kind == "field":
            return self.field(int(_num(self.eval(n[1]))))
        if kind == "var":
            return self.vars.get(str(n[1]), "")
        if kind == "call":
            return _AWK_FUNCS[str(n[1])](self, [self.eval(a) for a in n[2]])
        if kind == "cond":
            return self.eval(n[2] if _truth(self.eval(n[1])) else n[3])
        if kind == "unary":
            v = self.eval(n[2])
            return float(not _truth(v)) if n[1] == "!" else -_num(v) if n[1] == "-" else _num(v)
        if kind in ("assign", "incr"):
            name = str(n[2] if kind == "assign" else n[1])
            old = self.vars.get(name, "")
            if kind == "incr":
                self.vars[name] = _num(old) + float(n[2])
                return _num(old) if n[3] else self.vars[name]
            v = self.eval(n[3])
            if n[1] != "=":
                v = _arith(str(n[1])[0], _num(old), _num(v))
            self.vars[name] = v
            return v
        op, a, b = str(n[1]), n[2], n[3]
        if op in ("&&", "||"):
            first = _truth(self.eval(a))
            if first == (op == "||"):
                return float(first)
            return float(_truth(self.eval(b)))
        x = self.eval(a)
        if op in ("~", "!~"):
            rx = b[1] if b[0] == "re" else re.compile(posix_regex(_str(self.eval(b)), True))
            return float((rx.search(_str(x)) is not None) != (op == "!~"))
        y = self.eval(b)
        if op == "concat":
            return _str(x) + _str(y)
        if op in _COMPARE:
            if _numeric(x) and _numeric(y):
                c = (_num(x) > _num(y)) - (_num(x) < _num(y))
            else:
                c = (_str(x) > _str(y)) - (_str(x) < _str(y))
            return float(_COMPARE[op](c, 0))
        return _arith(op, _num(x), _num(y))

    def run(self, s: Node) -> None:
        kind = s[0]
        if kind == "block":
            for inner in s[1]:
                self.run(inner)
        elif kind == "print":
            vals = [_str(self.eval(a)) for a in s[1]] or [self.field(0)]
            self.out.append(_str(self.vars["OFS"]).join(vals) + _str(self.vars["ORS"]))
        elif kind == "printf":
            args = [self.eval(a) for a in s[1]]
            if not args:
                raise AwkUnsupported("printf: no format")
            self.out.append(_awk_printf(_str(args[0]), args[1:]))
        elif kind == "if":
            if _truth(self.eval(s[1])):
                self.run(s[2])
            elif s[3] is not None:
                self.run(s[3])
        elif kind == "next":
            raise _AwkNext()
        elif kind == "exit":
            raise _AwkExit()
        else:
            self.eval(s[1])


def _arith(op: str, a: float, b: float) -> float:
    if op in "/%" and b == 0:
        raise AwkUnsupported("division by zero attempted")
    return {"+": a + b, "-": a - b, "*": a * b}.get(op) or (a / b if op == "/" else math.fmod(a, b))


def _awk_printf(fmt: str, vals: list[AwkValue]) -> str:
    it = iter(vals)

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "%%":
            return "%"
        v = next(it, "")
        spec, conv = m.group(1), m.group(2)
        if conv in "di":
            return (spec + "d") % int(_num(v))
        if conv in "xXoc":
            return (spec + conv) % int(_num(v))
        if conv in "feEgG":
            return (spec + conv) % _num(v)
        return (spec + "s") % _str(v)

    text = backslash_escapes(fmt)[0]
    return re.sub(r"%%|(%[-+ 0#]*\d*(?:\.\d+)?)([diouxXfeEgGcs])", one, text)


def _awk_split(line: str, fs: str) -> list[str]:
    if fs == " ":
        return line.split()
    if len(fs) == 1 and fs != "\\":
        return line.split(fs)
    return re.split(posix_regex(fs, True), line)


@program("awk")
def awk(sh: Shell, argv: list[str], io: IO) -> int:
    """``awk [-F SEP] [-v VAR=VAL] 'PROGRAM' [FILE]...`` for the awk scripts use: patterns
    (``/re/``, ``NR==2``, ``$3 > 10``, ``BEGIN``/``END``), ``print``/``printf``, fields,
    variables, arithmetic, ``if`` and ``next``. Anything else is refused plainly."""
    o = getopt(argv, "F:v:f:", "field-separator=:F assign=:v", rc=2, permute=False)
    if "f" in o:
        io.eprint("awk: program files (-f) are not supported by the lab's awk")
        return 2
    if not o.args:
        io.eprint("Usage: awk [POSIX or GNU style options] [--] 'program' file ...")
        return 2
    src, files = o.args[0], o.args[1:]
    try:
        prog = _AwkParser(src)
    except AwkUnsupported as exc:
        io.eprint(f"awk: the lab's awk does not support this program ({exc}): {src}")
        return 2
    fs = backslash_escapes(o.get("F"))[0] if "F" in o else " "
    st = _AwkState({"FS": "\t" if fs == "t" else fs, "OFS": " ", "ORS": "\n", "NR": 0.0})
    for assign in o.lists.get("v", []):
        k, _, v = assign.partition("=")
        st.vars[k] = backslash_escapes(v)[0]
    rc = 0
    try:
        try:
            for s in prog.begin:
                st.run(s)
            ins = Inputs(sh, io, "awk", files, rc=2)
            for name, text in ins.texts() if prog.rules or prog.end else []:
                st.vars["FILENAME"], st.vars["FNR"] = ("" if name == "-" else name), 0.0
                for line in lines_of(text):
                    st.vars["NR"] = _num(st.vars["NR"]) + 1
                    st.vars["FNR"] = _num(st.vars["FNR"]) + 1
                    st.fields = [line, *_awk_split(line, _str(st.vars["FS"]))]
                    st.vars["NF"] = float(len(st.fields) - 1)
                    try:
                        for pattern, action in prog.rules:
                            if pattern is None or _truth(st.eval(pattern)):
                                st.run(action)
                    except _AwkNext:
                        pass
            rc = ins.rc
        except _AwkExit:
            pass
        for s in prog.end:
            st.run(s)
    except (_AwkExit, _AwkNext):
        pass
    except AwkUnsupported as exc:
        io.out.write("".join(st.out))
        io.eprint(f"awk: fatal: {exc}")
        return 2
    io.out.write("".join(st.out))
    return rc


# -- sed: s///, p, d, q with line and regex addresses ----------------------------------


@dataclass
class _SedCmd:
    addr: tuple[str, str] | None  # ("line", "3") | ("last", "") | ("re", pattern)
    negate: bool
    name: str
    rx: re.Pattern[str] | None = None
    repl: list[str | int] = field(default_factory=list)
    every: bool = False
    nth: int = 1
    also_print: bool = False


def _sed_parse(script: str, n: int, extended: bool) -> list[_SedCmd]:
    out: list[_SedCmd] = []
    i = 0

    def fail(msg: str) -> UsageError:
        return UsageError(f"-e expression #{n}, char {i}: {msg}", hint=False)

    def delimited(delim: str) -> str:
        nonlocal i
        buf: list[str] = []
        while i < len(script) and script[i] != delim:
            if script[i] == "\\" and i + 1 < len(script):
                buf.append(script[i + 1] if script[i + 1] == delim else script[i : i + 2])
                i += 2
                continue
            buf.append(script[i])
            i += 1
        if i >= len(script):
            raise fail(
                "unterminated `s' command"
                if delim != "/" or not out
                else "unterminated address regex"
            )
        i += 1
        return "".join(buf)

    while i < len(script):
        while i < len(script) and script[i] in " \t\n;":
            i += 1
        if i >= len(script):
            break
        addr: tuple[str, str] | None = None
        if script[i].isdigit():
            m = re.match(r"\d+", script[i:])
            assert m is not None
            addr = ("line", m.group(0))
            i += len(m.group(0))
        elif script[i] == "$":
            addr = ("last", "")
            i += 1
        elif script[i] == "/":
            i += 1
            addr = ("re", delimited("/"))
        if i < len(script) and script[i] == ",":
            raise UsageError("address ranges (a,b) are not supported by the lab's sed", hint=False)
        negate = False
        while i < len(script) and script[i] in " !":
            negate = negate or script[i] == "!"
            i += 1
        if i >= len(script):
            raise fail("missing command")
        c = script[i]
        i += 1
        cmd = _SedCmd(addr, negate, c)
        if c == "s":
            if i >= len(script):
                raise fail("unterminated `s' command")
            delim = script[i]
            i += 1
            pat = delimited(delim)
            rep = delimited(delim)
            flags = re.match(r"[gpiI0-9]*", script[i:])
            assert flags is not None
            i += len(flags.group(0))
            fl = flags.group(0)
            try:
                cmd.rx = re.compile(posix_regex(pat, extended), re.I if set(fl) & {"i", "I"} else 0)
            except re.error as exc:
                raise fail(str(exc)) from None
            cmd.every, cmd.also_print = "g" in fl, "p" in fl
            digits = re.sub(r"\D", "", fl)
            cmd.nth = int(digits) if digits else 1
            k = 0
            lit: list[str] = []
            while k < len(rep):
                ch = rep[k]
                if ch == "\\" and k + 1 < len(rep):
                    nx = rep[k + 1]
                    if nx.isdigit():
                        cmd.repl += ["".join(lit), int(nx)]
                        lit = []
                    else:
                        lit.append({"n": "\n", "t": "\t"}.get(nx, nx))
                    k += 2
                    continue
                if ch == "&":
                    cmd.repl += ["".join(lit), 0]
                    lit = []
                else:
                    lit.append(ch)
                k += 1
            cmd.repl.append("".join(lit))
        elif c in "pdq=":
            pass
        elif c in "aicyrwlnNhHgGxDPbt:{}e":
            raise UsageError(f"the lab's sed does not support the `{c}' command", hint=False)
        else:
            raise fail(f"unknown command: `{c}'")
        if addr is not None and addr[0] == "re":
            try:
                cmd.addr = ("re", addr[1])
                re.compile(posix_regex(addr[1], extended))
            except re.error as exc:
                raise fail(str(exc)) from None
        out.append(cmd)
        while i < len(script) and script[i] in " \t":
            i += 1
        if i < len(script) and script[i] not in ";\n}":
            raise fail("extra characters after command")
    return out


def _sed_subst(cmd: _SedCmd, line: str) -> tuple[str, bool]:
    assert cmd.rx is not None
    count = 0
    done = False

    def rep(m: re.Match[str]) -> str:
        nonlocal count, done
        count += 1
        if (cmd.every and count >= cmd.nth) or count == cmd.nth:
            done = True
            return "".join(p if isinstance(p, str) else (m.group(p) or "") for p in cmd.repl)
        return m.group(0)

    return cmd.rx.sub(rep, line), done


@program("sed")
def sed(sh: Shell, argv: list[str], io: IO) -> int:
    """``sed [-n] [-E] [-i] [-e SCRIPT]... [SCRIPT] [FILE]...``: ``s/re/rep/[g|p|N|I]``,
    ``p``, ``d``, ``q`` and ``=``, each with an optional ``N``, ``$`` or ``/re/`` address."""
    o = getopt(argv, "nEre:i", "quiet:n silent:n regexp-extended:E expression=:e in-place:i")
    args = o.args
    scripts = o.lists.get("e", [])
    if not scripts:
        if not args:
            raise UsageError("no script specified", hint=False)
        scripts, args = [args[0]], args[1:]
    extended = "E" in o or "r" in o
    cmds = [c for n, s in enumerate(scripts, 1) for c in _sed_parse(s, n, extended)]
    regexes = {
        c.addr[1]: re.compile(posix_regex(c.addr[1], extended))
        for c in cmds
        if c.addr and c.addr[0] == "re"
    }
    quiet = "n" in o
    if "i" in o and not args:
        raise UsageError("no input files", hint=False)
    ins = Inputs(sh, io, "sed", args if "i" not in o else [])

    def run(lines: list[str]) -> tuple[list[str], bool]:
        out: list[str] = []
        for num, line in enumerate(lines, 1):
            last = num == len(lines)
            deleted = False
            for c in cmds:
                if c.addr is None:
                    hit = True
                elif c.addr[0] == "line":
                    hit = num == int(c.addr[1])
                elif c.addr[0] == "last":
                    hit = last
                else:
                    hit = regexes[c.addr[1]].search(line) is not None
                if hit == c.negate:
                    continue
                if c.name == "s":
                    line, done = _sed_subst(c, line)
                    if done and c.also_print:
                        out.append(line)
                elif c.name == "p":
                    out.append(line)
                elif c.name == "=":
                    out.append(str(num))
                elif c.name == "d":
                    deleted = True
                    break
                elif c.name == "q":
                    if not quiet:
                        out.append(line)
                    return out, True
            if not deleted and not quiet:
                out.append(line)
        return out, False

    if "i" in o:
        rc = 0
        for name in args:
            p = sh.path(name)
            if not sh.vfs.is_file(p):
                io.eprint(f"sed: can't read {name}: {why(sh, name)}")
                rc = 2
                continue
            out, _ = run(lines_of(sh.vfs.read_text(p)))
            sh.vfs.write(p, "".join(x + "\n" for x in out))
        return rc
    all_lines = [ln for _, text in ins.texts() for ln in lines_of(text)]
    out, _ = run(all_lines)
    emit(io, out)
    return 2 if ins.rc else 0


# -- processes and the system ----------------------------------------------------------


@program("sleep")
def sleep(sh: Shell, argv: list[str], io: IO) -> int:
    """``sleep N[smhd]...``: waits (the job can be killed; a reboot interrupts it)."""
    o = getopt(argv, "")
    if not o.args:
        raise UsageError("missing operand")
    total = sum(duration(a) for a in o.args)
    sh.sleep(min(total, 10**9))
    return 0


class _Deadline(threading.Event):
    """Set by a timer, or when the enclosing job is killed."""

    def __init__(self, parent: threading.Event) -> None:
        super().__init__()
        self.parent = parent

    def is_set(self) -> bool:
        return super().is_set() or self.parent.is_set()


@program("timeout")
def timeout(sh: Shell, argv: list[str], io: IO) -> int:
    """``timeout [-s SIG] [-k D] [--preserve-status] DURATION COMMAND...``: exit 124 when
    COMMAND outlasts DURATION (it is stopped where it next waits)."""
    o = getopt(
        argv,
        "s:k:v",
        ("signal=:s kill-after=:k preserve-status:p foreground:F verbose:v"),
        rc=125,
        permute=False,
    )
    if len(o.args) < 2:
        raise UsageError("missing operand", 125)
    try:
        limit = duration(o.args[0])
    except UsageError as exc:
        raise UsageError(exc.message, 125) from None
    cmd = o.args[1:]
    if not is_program(sh, cmd[0]):
        io.eprint(f"timeout: failed to run command '{cmd[0]}': No such file or directory")
        return 127
    child = sh.child()
    child.cancel = _Deadline(sh.cancel)
    timer = threading.Timer(limit, child.cancel.set) if limit > 0 else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        return run_child(sh, cmd, io, child)
    except Killed:
        if sh.cancel.is_set():
            raise
        if "v" in o:
            io.eprint(f"timeout: sending signal {o.get('s', 'TERM')} to command '{cmd[0]}'")
        sig = o.get("s", "TERM").upper().removeprefix("SIG")
        if "p" in o:
            return 137 if sig in ("KILL", "9") else 143
        return 137 if sig in ("KILL", "9") else 124
    finally:
        if timer is not None:
            timer.cancel()


@program("nohup")
def nohup(sh: Shell, argv: list[str], io: IO) -> int:
    """``nohup COMMAND...`` as GNU's: only a terminal stdout goes to ``nohup.out`` (with
    ``nohup: ignoring input and appending output to 'nohup.out'``); an SSH exec channel is
    not a terminal, so its output stays where it was."""
    o = getopt(argv, "", rc=125, permute=False)
    if not o.args:
        raise UsageError("missing operand", 125)
    cmd = o.args
    out, err = io.out, io.err
    if io.tty:
        target = sh.path("nohup.out")
        try:
            sink: Sink = FileSink(sh, target, append=True)
        except VfsError:
            target = sh.path(posixpath.join(sh.env.get("HOME", "/"), "nohup.out"))
            sink = FileSink(sh, target, append=True)
        shown = "nohup.out" if posixpath.dirname(target) == sh.cwd else target
        msg = "ignoring input and appending" if io.in_tty else "appending"
        io.eprint(f"nohup: {msg} output to '{shown}'")
        out = sink
        if err is io.out:
            err = sink
    elif io.in_tty:
        io.eprint("nohup: ignoring input")
    if not is_program(sh, cmd[0]):
        io.eprint(f"nohup: failed to run command '{cmd[0]}': No such file or directory")
        return 127
    return run_child(sh, cmd, IO(io.stdin, out, err, False, False))


@program("sh", "bash")
def bash(sh: Shell, argv: list[str], io: IO) -> int:
    """``bash [-lx...] -c 'SCRIPT' [NAME [ARG]...]``, ``bash FILE [ARG]...`` or a script on
    stdin, in a child shell; ``-l`` sources ``/etc/profile.d/*.sh`` first, as a Gaia login
    shell does (so the Check Point environment is loaded)."""
    prog = posixpath.basename(argv[0])
    args = argv[1:]
    login = command = False
    options: set[str] = set()
    while args and args[0].startswith(("-", "+")) and args[0] not in ("-", "--"):
        a = args.pop(0)
        if a in ("--login", "-login"):
            login = True
        elif a.startswith("--"):
            continue
        elif a in ("-o", "+o") and args:
            (options.add if a == "-o" else options.discard)(args.pop(0))
        else:
            login = login or "l" in a
            command = command or "c" in a
            if "e" in a:
                options.add("errexit")
    if args and args[0] in ("-", "--"):
        args.pop(0)
    child = sh.child()
    child.functions, child.script, child.name0, child.frames = {}, "", prog, []
    child.loops = child.returnable = 0
    child.options = options
    if command:
        if not args:
            io.eprint(f"{prog}: -c: option requires an argument")
            return 2
        src = args[0]
        child.name0 = args[1] if len(args) > 1 else prog
        child.args = args[2:]
    elif args:
        p = sh.path(args[0])
        if not sh.vfs.is_file(p):
            io.eprint(f"{prog}: {args[0]}: {why(sh, args[0])}")
            return 126 if sh.vfs.is_dir(p) else 127
        src = sh.vfs.read_text(p)
        child.name0 = child.script = args[0]
        child.args = args[1:]
    else:
        src = io.stdin.read()
        child.args = []
    try:
        if login:
            for name in sh.vfs.glob("/etc/profile.d/*.sh"):
                child.run_script(name, [], io, in_place=True)
            child.script = "" if command or not args else args[0]
        return child.run(src, io)
    except ShellExit as e:
        return e.code


_BOOTED: weakref.WeakKeyDictionary[SimServer, tuple[int, float]] = weakref.WeakKeyDictionary()


def boot_time(sh: Shell) -> float:
    """When the server last booted: long ago for the first boot, else when the lab first
    saw the new boot."""
    seen = _BOOTED.get(sh.server)
    if seen is None or seen[0] != sh.server.boot_count:
        now = sh.dep.clock.wall()
        start = now - (237 * 86400 + 21 * 3600 + 10 * 60) if sh.server.boot_count == 0 else now
        seen = (sh.server.boot_count, start)
        _BOOTED[sh.server] = seen
    return seen[1]


@program("uptime")
def uptime(sh: Shell, argv: list[str], io: IO) -> int:
    """``uptime [-p] [-s]``: `` 21:43:46 up 237 days, 21:10,  2 users,  load average: ...``."""
    o = getopt(argv, "ps", "pretty:p since:s")
    now = sh.dep.clock.wall()
    booted = boot_time(sh)
    up = max(0, round(now - booted))
    days, rest = divmod(up, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    if "s" in o:
        io.print(fmt_time(booted, "%Y-%m-%d %H:%M:%S"))
        return 0
    if "p" in o:
        parts = [
            f"{v} {u}{'s' if v != 1 else ''}"
            for v, u in ((days, "day"), (hours, "hour"), (minutes, "minute"))
            if v
        ]
        io.print("up " + ", ".join(parts or ["0 minutes"]))
        return 0
    span = (f"{days} day{'s' if days != 1 else ''}, " if days else "") + (
        f"{hours:2d}:{minutes:02d}" if hours else f"{minutes} min"
    )
    users = 1 + len(sh.server.jobs) // 10
    io.print(
        f" {fmt_time(now, '%H:%M:%S')} up {span},  {users} user{'s' if users != 1 else ''},"
        f"  load average: 0.87, 0.69, 0.58"
    )
    return 0


@program("date")
def date(sh: Shell, argv: list[str], io: IO) -> int:
    """``date [-u] [-d DATE] [-R] [-I[SPEC]] [+FORMAT]`` in UTC (``+%s``: epoch)."""
    args = argv[1:]
    when: str | None = None
    fmt = "%a %b %e %H:%M:%S %Z %Y"
    while args:
        a = args.pop(0)
        if a in ("-u", "--utc", "--universal"):
            continue
        if a in ("-d", "--date"):
            if not args:
                raise UsageError("option requires an argument -- 'd'")
            when = args.pop(0)
        elif a.startswith("--date="):
            when = a[7:]
        elif a.startswith("-d"):
            when = a[2:]
        elif a in ("-R", "--rfc-2822", "--rfc-email"):
            fmt = "%a, %d %b %Y %H:%M:%S %z"
        elif a.startswith(("-I", "--iso-8601")):
            spec = a.split("=", 1)[1] if "=" in a else a[2:] if a.startswith("-I") else ""
            fmt = {
                "": "%Y-%m-%d",
                "date": "%Y-%m-%d",
                "hours": "%Y-%m-%dT%H%:z",
                "minutes": "%Y-%m-%dT%H:%M%:z",
                "seconds": "%Y-%m-%dT%H:%M:%S%:z",
                "ns": "%Y-%m-%dT%H:%M:%S,%N%:z",
            }.get(spec, "%Y-%m-%d")
        elif a.startswith("+"):
            fmt = a[1:]
        elif a.startswith("-") and len(a) > 1:
            raise UsageError(f"invalid option -- '{a[1]}'")
        else:
            io.eprint("date: the lab does not set the clock")
            return 1
    now = sh.dep.clock.wall()
    t = now if when is None else _parse_date(when, now)
    if t is None:
        io.eprint(f"date: invalid date '{when}'")
        return 1
    io.print(fmt_time(t, fmt))
    return 0


@program("hostname")
def hostname(sh: Shell, argv: list[str], io: IO) -> int:
    """``hostname [-s|-f|-i|-I]``."""
    o = getopt(argv, "sfiIdA", "short:s fqdn:f ip-address:i all-ip-addresses:I")
    if o.args:
        io.eprint("hostname: the lab does not rename servers")
        return 1
    if "i" in o or "I" in o:
        io.print(sh.server.ip + (" " if "I" in o else ""))
    elif "d" in o:
        io.print()
    else:
        io.print(sh.server.name)
    return 0


@program("whoami")
def whoami(sh: Shell, argv: list[str], io: IO) -> int:
    """``whoami``: the login user."""
    getopt(argv, "")
    io.print(sh.user)
    return 0


@program("id")
def id_(sh: Shell, argv: list[str], io: IO) -> int:
    """``id [-u|-g|-G] [-n] [USER]``: ``admin`` is uid 0, as on Gaia."""
    o = getopt(argv, "ugGnr", "user:u group:g groups:G name:n")
    user = o.args[0] if o.args else sh.user
    if user not in sh.server.users and user not in ("root", sh.user):
        io.eprint(f"id: '{user}': no such user")
        return 1
    root = user in ("admin", "root")
    uid, gid, grp = (0, 0, "root") if root else (1000, 100, "users")
    if "u" in o:
        io.print(user if "n" in o else str(uid))
    elif "g" in o or "G" in o:
        io.print(grp if "n" in o else str(gid))
    else:
        io.print(f"uid={uid}({user}) gid={gid}({grp}) groups={gid}({grp})")
    return 0


@program("uname")
def uname(sh: Shell, argv: list[str], io: IO) -> int:
    """``uname [-asnrvmpio]``: Gaia's kernel for the server's version."""
    o = getopt(
        argv,
        "asnrvmpio",
        (
            "all:a kernel-name:s nodename:n kernel-release:r "
            "kernel-version:v machine:m processor:p hardware-platform:i "
            "operating-system:o"
        ),
    )
    values = {
        "s": "Linux",
        "n": sh.server.name,
        "r": sh.server.version.kernel,
        "v": "#1 SMP Thu Jan 27 14:21:33 IST 2022",
        "m": "x86_64",
        "p": "x86_64",
        "i": "x86_64",
        "o": "GNU/Linux",
    }
    which = list("snrvmpio") if "a" in o else [c for c in "snrvmpio" if c in o] or ["s"]
    io.print(" ".join(values[c] for c in which))
    return 0


@program("env")
def env(sh: Shell, argv: list[str], io: IO) -> int:
    """``env [-i] [-u NAME] [NAME=VALUE]... [COMMAND [ARG]...]``."""
    args = argv[1:]
    values = dict(sh.env)
    while args:
        a = args[0]
        if a in ("-i", "-", "--ignore-environment"):
            values = {}
        elif a in ("-u", "--unset") and len(args) > 1:
            values.pop(args.pop(1), None)
        elif a.startswith("-u") and len(a) > 2:
            values.pop(a[2:], None)
        elif a == "--":
            args.pop(0)
            break
        elif a.startswith("-"):
            raise UsageError(f"invalid option -- '{a[1]}'", 125)
        else:
            break
        args.pop(0)
    while args and "=" in args[0] and not args[0].startswith("="):
        k, _, v = args.pop(0).partition("=")
        values[k] = v
    if not args:
        emit(io, [f"{k}={v}" for k, v in values.items()])
        return 0
    child = sh.child()
    child.env = values
    if "PATH" not in values:  # execvp's default search path
        found = [p for d in ("/bin", "/usr/bin") if sh.vfs.is_file(p := f"{d}/{args[0]}")]
        args = [found[0], *args[1:]] if found and "/" not in args[0] else args
    if not is_program(child, args[0]):
        io.eprint(f"env: '{args[0]}': No such file or directory")
        return 127
    return run_child(sh, args, io, child)


@program("basename")
def basename(sh: Shell, argv: list[str], io: IO) -> int:
    """``basename NAME [SUFFIX]`` or ``basename -a [-s SUFFIX] NAME...``."""
    o = getopt(argv, "as:z", "multiple:a suffix=:s")
    if not o.args:
        raise UsageError("missing operand")
    names, suffix = o.args, o.get("s")
    if "a" not in o and "s" not in o:
        if len(names) > 2:
            raise UsageError(f"extra operand '{names[2]}'")
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
        raise UsageError("missing operand")
    for n in o.args:
        stripped = n.rstrip("/") or "/"
        d = posixpath.dirname(stripped).rstrip("/")
        io.print(d or ("/" if stripped.startswith("/") else "."))
    return 0


@program("xargs")
def xargs(sh: Shell, argv: list[str], io: IO) -> int:
    """``xargs [-n N] [-I REPL] [-r] [-0] [COMMAND [ARG]...]`` (default command: echo)."""
    o = getopt(
        argv,
        "n:I:r0d:L:",
        ("max-args=:n replace=:I no-run-if-empty:r null:0 delimiter=:d max-lines=:L"),
        permute=False,
    )
    cmd = o.args or ["echo"]
    data = io.stdin.read()
    if "0" in o or "d" in o:
        sep = "\0" if "0" in o else backslash_escapes(o.get("d"))[0]
        items = [x for x in data.split(sep) if x] if "0" in o else data.rstrip("\n").split(sep)
    elif "I" in o or "L" in o:
        items = [ln.strip() for ln in lines_of(data) if ln.strip()]
    else:
        try:
            items = shlex.split(data)
        except ValueError as exc:
            io.eprint(f"xargs: {str(exc).lower()}")
            return 1
    if not is_program(sh, cmd[0]):
        io.eprint(f"xargs: {cmd[0]}: No such file or directory")
        return 127
    if "I" in o:
        batches = [[a.replace(o.get("I"), it) for a in cmd] for it in items]
    else:
        size = int(o.get("n") or o.get("L") or 0) or max(len(items), 1)
        chunks = [items[k : k + size] for k in range(0, len(items), size)]
        if not chunks and "r" not in o:
            chunks = [[]]
        batches = [cmd + c for c in chunks]
    rc = 0
    for b in batches:
        code = run_child(sh, b, io)
        if code == 255:
            io.eprint(f"xargs: {cmd[0]}: exited with status 255; aborting")
            return 124
        if code:
            rc = 123 if code < 126 else code
    return rc


@program("seq")
def seq(sh: Shell, argv: list[str], io: IO) -> int:
    """``seq [-s SEP] [-w] [-f FMT] [FIRST [INCREMENT]] LAST``."""
    args = argv[1:]
    opts_argv = [argv[0]]
    while args and args[0].startswith("-") and not re.fullmatch(r"-\d+(\.\d+)?", args[0]):
        opts_argv.append(args.pop(0))
        if opts_argv[-1] in ("-s", "-f") and args:
            opts_argv.append(args.pop(0))
    o = getopt(opts_argv, "s:wf:", "separator=:s equal-width:w format=:f")
    if not args:
        raise UsageError("missing operand")
    if len(args) > 3:
        raise UsageError(f"extra operand '{args[3]}'")
    nums: list[float] = []
    for a in args:
        try:
            nums.append(float(a))
        except ValueError:
            raise UsageError(f"invalid floating point argument: '{a}'") from None
    first, step, last = (
        (1.0, 1.0, nums[0])
        if len(nums) == 1
        else ((nums[0], 1.0, nums[1]) if len(nums) == 2 else (nums[0], nums[1], nums[2]))
    )
    if step == 0:
        raise UsageError(f"invalid Zero increment value: '{args[1]}'")
    decimals = max((len(a.split(".")[1]) if "." in a else 0) for a in args)
    out: list[str] = []
    k = 0
    while True:
        v = first + k * step
        if (step > 0 and v > last + 1e-9) or (step < 0 and v < last - 1e-9) or k > 10**6:
            break
        if "f" in o:
            out.append(o.get("f") % v)
        else:
            out.append(f"{v:.{decimals}f}")
        k += 1
    if "w" in o and out:
        width = max(len(x) for x in out)
        out = [x.zfill(width) for x in out]
    if out:
        io.out.write(backslash_escapes(o.get("s", "\n"))[0].join(out) + "\n")
    return 0


@program("reboot")
def reboot(sh: Shell, argv: list[str], io: IO) -> int:
    """``reboot``: the server goes down right after the command returns."""
    getopt(argv, "fnw", "force:f")
    sh.dep.scheduler.after(0, lambda: sh.dep.reboot(sh.server))
    return 0


@program("base64")
def base64_(sh: Shell, argv: list[str], io: IO) -> int:
    """``base64 [-d] [-i] [-w COLS] [FILE]``: encode (wrapped at 76 columns) or decode."""
    o = getopt(argv, "diw:", "decode:d ignore-garbage:i wrap=:w")
    if len(o.args) > 1:
        raise UsageError(f"extra operand '{o.args[1]}'")
    ins = Inputs(sh, io, "base64", o.args)
    for _, data, _ in ins.files():
        if "d" in o:
            text = re.sub(rb"\s+", b"", data)
            if "i" in o:
                text = re.sub(rb"[^A-Za-z0-9+/=]", b"", text)
            try:
                decoded = binascii.a2b_base64(text, strict_mode=True)
            except binascii.Error:
                io.eprint("base64: invalid input")
                return 1
            io.out.write(decoded.decode("utf-8", errors="replace"))
            continue
        encoded = binascii.b2a_base64(data, newline=False).decode("ascii")
        cols = o.get("w", "76")
        if not cols.isdigit():
            raise UsageError(f"invalid wrap size: '{cols}'")
        width = int(cols)
        if width and encoded:
            encoded = "\n".join(encoded[i : i + width] for i in range(0, len(encoded), width))
        io.out.write(encoded + "\n" if encoded else "")
    return ins.rc


@program("mktemp")
def mktemp(sh: Shell, argv: list[str], io: IO) -> int:
    """``mktemp [-d] [-p DIR] [TEMPLATE]``: a new, private file (or directory) named by the
    template's trailing X's (default ``/tmp/tmp.XXXXXXXXXX``); prints its path."""
    o = getopt(argv, "dp:tuq", "directory:d tmpdir=:p dry-run:u quiet:q")
    if len(o.args) > 1:
        raise UsageError("too many templates")
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
