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


_UNSUPPORTED_COMMANDS = "aicyrwlnNhHgGxDPbt:{}e"


class _SedParser:
    """A cursor over one ``-e`` script; each method reads one part of a command.

    Errors name the expression (``n``) and the character the cursor stands on, as GNU's do.
    """

    def __init__(self, script: str, n: int, extended: bool) -> None:
        self.script = script
        self.n = n
        self.extended = extended
        self.i = 0
        self.out: list[_SedCmd] = []

    def parse(self) -> list[_SedCmd]:
        """Every command of the script, in order."""
        while self.more():
            self.skip(" \t\n;")
            if not self.more():
                break
            self.out.append(self.command())
            self.skip(" \t")
            if self.more() and self.peek() not in ";\n}":
                raise self.fail("extra characters after command")
        return self.out

    def fail(self, msg: str) -> ProgramUsageError:
        return ProgramUsageError(f"-e expression #{self.n}, char {self.i}: {msg}", hint=False)

    def more(self) -> bool:
        return self.i < len(self.script)

    def peek(self) -> str:
        return self.script[self.i]

    def skip(self, chars: str) -> None:
        while self.more() and self.peek() in chars:
            self.i += 1

    def command(self) -> _SedCmd:
        """``[ADDRESS][!]COMMAND``: the address, the negation, then the command itself."""
        addr = self.address()
        if self.more() and self.peek() == ",":
            raise ProgramUsageError(
                "address ranges (a,b) are not supported by the lab's sed", hint=False
            )
        negate = self.negation()
        if not self.more():
            raise self.fail("missing command")
        c = self.peek()
        self.i += 1
        cmd = _SedCmd(addr, negate, c)
        if c == "s":
            self.substitution(cmd)
        elif c in "pdq=":
            pass
        elif c in _UNSUPPORTED_COMMANDS:
            raise ProgramUsageError(f"the lab's sed does not support the `{c}' command", hint=False)
        else:
            raise self.fail(f"unknown command: `{c}'")
        if addr is not None and addr[0] == "re":
            try:
                re.compile(posix_regex(addr[1], self.extended))
            except re.error as exc:
                raise self.fail(str(exc)) from None
        return cmd

    def address(self) -> tuple[str, str] | None:
        """A line number, ``$`` or ``/regex/``; None when the command has no address."""
        if not self.more():
            return None
        if self.peek().isdigit():
            m = re.match(r"\d+", self.script[self.i :])
            assert m is not None
            self.i += len(m.group(0))
            return ("line", m.group(0))
        if self.peek() == "$":
            self.i += 1
            return ("last", "")
        if self.peek() == "/":
            self.i += 1
            return ("re", self.delimited("/"))
        return None

    def negation(self) -> bool:
        """Whether a ``!`` (among spaces) negates the address."""
        negate = False
        while self.more() and self.peek() in " !":
            negate = negate or self.peek() == "!"
            self.i += 1
        return negate

    def delimited(self, delim: str) -> str:
        """The text up to the next unescaped ``delim`` (``\\delim`` stands for ``delim``)."""
        buf: list[str] = []
        script = self.script
        while self.more() and self.peek() != delim:
            if self.peek() == "\\" and self.i + 1 < len(script):
                nxt = script[self.i + 1]
                buf.append(nxt if nxt == delim else script[self.i : self.i + 2])
                self.i += 2
                continue
            buf.append(self.peek())
            self.i += 1
        if not self.more():
            raise self.fail(
                "unterminated `s' command"
                if delim != "/" or not self.out
                else "unterminated address regex"
            )
        self.i += 1
        return "".join(buf)

    def substitution(self, cmd: _SedCmd) -> None:
        """``s/PATTERN/REPLACEMENT/FLAGS`` (flags ``g``, ``p``, ``i``/``I``, a number)."""
        if not self.more():
            raise self.fail("unterminated `s' command")
        delim = self.peek()
        self.i += 1
        pat = self.delimited(delim)
        rep = self.delimited(delim)
        flags = re.match(r"[gpiI0-9]*", self.script[self.i :])
        assert flags is not None
        self.i += len(flags.group(0))
        fl = flags.group(0)
        try:
            cmd.rx = re.compile(
                posix_regex(pat, self.extended), re.I if set(fl) & {"i", "I"} else 0
            )
        except re.error as exc:
            raise self.fail(str(exc)) from None
        cmd.every, cmd.also_print = "g" in fl, "p" in fl
        digits = re.sub(r"\D", "", fl)
        cmd.nth = int(digits) if digits else 1
        cmd.repl = _replacement(rep)


def _replacement(rep: str) -> list[str | int]:
    """The replacement as literal pieces and group numbers (``&`` is group 0)."""
    parts: list[str | int] = []
    lit: list[str] = []
    k = 0
    while k < len(rep):
        ch = rep[k]
        if ch == "\\" and k + 1 < len(rep):
            nx = rep[k + 1]
            if nx.isdigit():
                parts += ["".join(lit), int(nx)]
                lit = []
            else:
                lit.append({"n": "\n", "t": "\t"}.get(nx, nx))
            k += 2
            continue
        if ch == "&":
            parts += ["".join(lit), 0]
            lit = []
        else:
            lit.append(ch)
        k += 1
    parts.append("".join(lit))
    return parts


def _sed_parse(script: str, n: int, extended: bool) -> list[_SedCmd]:
    return _SedParser(script, n, extended).parse()


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
