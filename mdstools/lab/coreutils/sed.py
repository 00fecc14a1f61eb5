"""``sed``: ``s///``, ``p``, ``d``, ``q`` with line and regex addresses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mdstools.lab.coreutils.inputs import Inputs, emit, lines_of, why
from mdstools.lab.coreutils.options import getopt
from mdstools.lab.coreutils.regex import posix_regex
from mdstools.lab.shell import IO, ProgramUsageError, Shell, program


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

    def fail(msg: str) -> ProgramUsageError:
        return ProgramUsageError(f"-e expression #{n}, char {i}: {msg}", hint=False)

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
            raise ProgramUsageError(
                "address ranges (a,b) are not supported by the lab's sed", hint=False
            )
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
            raise ProgramUsageError(f"the lab's sed does not support the `{c}' command", hint=False)
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
            raise ProgramUsageError("no script specified", hint=False)
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
        raise ProgramUsageError("no input files", hint=False)
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
