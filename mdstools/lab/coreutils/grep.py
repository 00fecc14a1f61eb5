"""``grep`` and ``egrep``."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from mdstools.lab.coreutils.inputs import Inputs, lines_of
from mdstools.lab.coreutils.options import Opts, getopt
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
    names = _grep_recursive(sh, args) if "r" in o else args
    search = _GrepSearch(
        rx=_grep_regex(o, pats, "E" in o or prog == "egrep"),
        o=o,
        io=io,
        prefix=("H" in o or len(names) > 1 or "r" in o) and "h" not in o,
        limit=int(o.get("m")) if "m" in o else -1,
    )
    err: Sink = NullSink() if "s" in o else io.err
    ins = Inputs(sh, IO(io.stdin, io.out, err), prog, names, rc=2)
    selected_any = False
    for name, text in ins.texts():
        count = search.select(name, text)
        if count is None:
            return 0
        selected_any = selected_any or count > 0
    if ins.rc:
        return 2
    return 0 if selected_any else 1


def _grep_regex(o: Opts, pats: list[str], extended: bool) -> re.Pattern[str]:
    """The patterns as one regex, with ``-F``, ``-i``, ``-w`` and ``-x`` applied."""
    rx = compile_regex(pats, extended, "F" in o, "i" in o)
    if "w" in o:
        rx = re.compile(rf"(?<!\w)(?:{rx.pattern})(?!\w)", rx.flags)
    if "x" in o:
        rx = re.compile(rf"^(?:{rx.pattern})$", rx.flags)
    return rx


def _grep_recursive(sh: Shell, args: list[str]) -> list[str]:
    """``-r``: every file under the directories named (``.`` when none), files as named."""
    names: list[str] = []
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
    return names


@dataclass
class _GrepSearch:
    """What every input of one ``grep`` shares: the regex, the options, where to print."""

    rx: re.Pattern[str]
    o: Opts
    io: IO
    prefix: bool  # file name before each line
    limit: int  # -m; -1: no limit

    def select(self, name: str, text: str) -> int | None:
        """Print what one input selects (lines, ``-o`` matches, ``-c`` count, ``-l``/``-L``
        name); the number of selected lines, or None when ``-q`` found one."""
        o, io = self.o, self.io
        shown = "(standard input)" if name == "-" else name
        count = 0
        for num, line in enumerate(lines_of(text), 1):
            if count == self.limit:
                break
            hit = self.rx.search(line) is not None
            if hit == ("v" in o):
                continue
            count += 1
            if "q" in o:
                return None
            if {"c", "l", "L"} & set(o.flags):
                continue
            head = (f"{shown}:" if self.prefix else "") + (f"{num}:" if "n" in o else "")
            if "o" in o:
                if "v" not in o:
                    for m in self.rx.finditer(line):
                        if m.group(0):
                            io.print(head + m.group(0))
                continue
            io.print(head + line)
        if "c" in o:
            io.print((f"{shown}:" if self.prefix else "") + str(count))
        if ("l" in o and count) or ("L" in o and not count):
            io.print(shown)
        return count
