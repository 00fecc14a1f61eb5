"""``grep`` and ``egrep``."""

from __future__ import annotations

import posixpath
import re

from mdstools.lab.coreutils.inputs import Inputs, lines_of
from mdstools.lab.coreutils.options import getopt
from mdstools.lab.coreutils.regex import compile_regex
from mdstools.lab.shell import IO, NullSink, Shell, Sink, program


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
