"""Conditions: ``[[ ... ]]`` and the ``test``/``[`` builtin's expressions."""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING

from mdstools.lab import syntax
from mdstools.lab.shell.control import ExpansionError
from mdstools.lab.shell.streams import Sink


class DoubleBracket:
    """Evaluates ``[[ ... ]]``."""

    def __init__(self, sh: Shell, items: list[syntax.Word | str], err: Sink) -> None:
        self.sh, self.items, self.err, self.k = sh, items, err, 0

    def run(self) -> bool:
        v = self._or()
        if self.k < len(self.items):
            raise ExpansionError("syntax error in conditional expression")
        return v

    def _op(self) -> str | None:
        if self.k >= len(self.items):
            return None
        it = self.items[self.k]
        if isinstance(it, str):
            return it
        return it.literal() if it.is_plain() else None

    def _or(self) -> bool:
        v = self._and()
        while self._op() == "||":
            self.k += 1
            v = self._and() or v
        return v

    def _and(self) -> bool:
        v = self._not()
        while self._op() == "&&":
            self.k += 1
            v = self._not() and v
        return v

    def _not(self) -> bool:
        if self._op() == "!":
            self.k += 1
            return not self._not()
        if self._op() == "(":
            self.k += 1
            v = self._or()
            if self._op() != ")":
                raise ExpansionError("syntax error in conditional expression")
            self.k += 1
            return v
        return self._primary()

    def _word(self) -> syntax.Word:
        if self.k >= len(self.items) or isinstance(self.items[self.k], str):
            raise ExpansionError("syntax error in conditional expression")
        w = self.items[self.k]
        assert not isinstance(w, str)
        self.k += 1
        return w

    def _primary(self) -> bool:
        sh, err = self.sh, self.err
        op = self._op()
        nxt = self.items[self.k + 1] if self.k + 1 < len(self.items) else None
        if op in UNARY_TESTS and not isinstance(nxt, str) and nxt is not None:
            self.k += 1
            return _unary_test(sh, op, sh.expand_one(self._word(), err, tilde=True))
        left = sh.expand_one(self._word(), err, tilde=True)
        op = self._op()
        if op in ("==", "=", "!=", "=~", "<", ">", *NUMERIC_TESTS):
            self.k += 1
            rw = self._word()
            if op in ("==", "=", "!="):
                hit = fnmatch.fnmatchcase(left, sh.pattern(rw, err))
                return hit if op != "!=" else not hit
            if op == "=~":
                rx = "".join(
                    re.escape(t) if q else t
                    for t, q in ((sh.expand_one(syntax.Word([s]), err), s[2]) for s in rw.segments)
                )
                try:
                    return re.search(rx, left) is not None
                except re.error:
                    return False
            right = sh.expand_one(rw, err, tilde=True)
            if op in ("<", ">"):
                return left < right if op == "<" else left > right
            return _numeric(op, str(sh.arith(left, err)), str(sh.arith(right, err)))
        return left != ""


UNARY_TESTS = (
    "-f",
    "-d",
    "-e",
    "-s",
    "-r",
    "-w",
    "-x",
    "-z",
    "-n",
    "-L",
    "-h",
    "-p",
    "-S",
    "-b",
    "-c",
    "-t",
    "-a",
    "-o",
)

if TYPE_CHECKING:
    from mdstools.lab.shell.core import Shell
NUMERIC_TESTS = ("-eq", "-ne", "-lt", "-le", "-gt", "-ge")


def _unary_test(sh: Shell, op: str, val: str) -> bool:
    if op == "-z":
        return val == ""
    if op == "-n":
        return val != ""
    if op == "-t":
        return False
    p = sh.path(val) if val else "/nonexistent\0"
    f = sh.vfs.get(p)
    if op == "-f":
        return f is not None
    if op == "-d":
        return sh.vfs.is_dir(p)
    if op == "-s":
        return (f is not None and f.size > 0) or sh.vfs.is_dir(p)
    if op in ("-e", "-a", "-r", "-w", "-x"):
        return sh.vfs.exists(p)
    return False  # -L -h -p -S -b -c -o: no links, pipes, sockets or devices in the lab


def _numeric(op: str, a: str, b: str) -> bool:
    try:
        x, y = int(a.strip()), int(b.strip())
    except ValueError:
        bad = a if not re.fullmatch(r"\s*-?\d+\s*", a) else b
        raise ExpansionError(f"{bad}: integer expression expected") from None
    return {"-eq": x == y, "-ne": x != y, "-lt": x < y, "-le": x <= y, "-gt": x > y, "-ge": x >= y}[
        op
    ]


def test_expression(sh: Shell, args: list[str]) -> bool:
    """POSIX ``test``: the rules by argument count, then ``-a``/``-o``/``!``/``( )``."""
    n = len(args)
    if n == 0:
        return False
    if n == 1:
        return args[0] != ""
    if n == 2:
        if args[0] == "!":
            return args[1] == ""
        if args[0] in UNARY_TESTS:
            return _unary_test(sh, args[0], args[1])
        raise ExpansionError(f"{args[0]}: unary operator expected")
    if n == 3:
        a, op, b = args
        if op in ("=", "=="):
            return a == b
        if op == "!=":
            return a != b
        if op in ("<", ">"):
            return a < b if op == "<" else a > b
        if op in NUMERIC_TESTS:
            return _numeric(op, a, b)
        if op in ("-nt", "-ot"):
            ta, tb = sh.vfs.mtime(sh.path(a)), sh.vfs.mtime(sh.path(b))
            if op == "-ot":
                ta, tb = tb, ta
            return ta is not None and (tb is None or ta > tb)
        if op == "-a":
            return a != "" and b != ""
        if op == "-o":
            return a != "" or b != ""
        if a == "!":
            return not test_expression(sh, args[1:])
        if a == "(" and b == ")":
            return op != ""
        raise ExpansionError(f"{op}: binary operator expected")
    if n == 4 and args[0] == "!":
        return not test_expression(sh, args[1:])
    for join in ("-o", "-a"):
        if join in args[1:-1]:
            i = len(args) - 1 - args[::-1].index(join) if join == "-o" else args.index(join, 1)
            left, right = test_expression(sh, args[:i]), test_expression(sh, args[i + 1 :])
            return (left or right) if join == "-o" else (left and right)
    if args[0] == "(" and args[-1] == ")":
        return test_expression(sh, args[1:-1])
    raise ExpansionError("too many arguments")
