"""Integer arithmetic of ``$(( ))`` and ``let``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from mdstools.lab.shell.control import ExpansionError

if TYPE_CHECKING:
    from mdstools.lab.shell.core import Shell


class Arith:
    """Integer arithmetic of ``$(( ))``: C operators, variables, assignments, ``++``."""

    TOKEN = re.compile(
        r"\s*(0[xX][0-9a-fA-F]+|\d+|[A-Za-z_]\w*|\*\*|<<|>>|<=|>=|==|!=|&&|\|\||\+\+|--"
        r"|[-+*/%]=|[-+*/%()<>!~&|^=?:,])"
    )
    LEVELS: tuple[tuple[str, ...], ...] = (
        ("||",),
        ("&&",),
        ("|",),
        ("^",),
        ("&",),
        ("==", "!="),
        ("<", ">", "<=", ">="),
        ("<<", ">>"),
        ("+", "-"),
        ("*", "/", "%"),
    )

    def __init__(self, sh: Shell, src: str, depth: int = 0) -> None:
        self.sh, self.src, self.depth = sh, src, depth
        self.toks: list[str] = []
        pos = 0
        while pos < len(src):
            if not src[pos:].strip():
                break
            m = self.TOKEN.match(src, pos)
            if m is None:
                self._fail(src[pos:].strip())
            assert m is not None
            self.toks.append(m.group(1))
            pos = m.end()
        self.k = 0

    def _fail(self, token: str, what: str = "syntax error: invalid arithmetic operator") -> None:
        raise ExpansionError(f'{self.src.strip()}: {what} (error token is "{token}")')

    def peek(self) -> str:
        return self.toks[self.k] if self.k < len(self.toks) else ""

    def take(self) -> str:
        tok = self.peek()
        self.k += 1
        return tok

    def value(self) -> int:
        if not self.toks:
            return 0
        v = self._comma()
        if self.k < len(self.toks):
            self._fail(" ".join(self.toks[self.k :]), "syntax error in expression")
        return v

    def _var(self, name: str) -> int:
        raw = self.sh.env.get(name, "").strip()
        if not raw:
            return 0
        if re.fullmatch(r"-?\d+", raw):
            return int(raw)
        if self.depth > 10:
            self._fail(name, "expression recursion level exceeded")
        return Arith(self.sh, raw, self.depth + 1).value()

    def _comma(self) -> int:
        v = self._assign()
        while self.peek() == ",":
            self.take()
            v = self._assign()
        return v

    def _assign(self) -> int:
        name, op = self.peek(), self.toks[self.k + 1] if self.k + 1 < len(self.toks) else ""
        if re.fullmatch(r"[A-Za-z_]\w*", name) and op in ("=", "+=", "-=", "*=", "/=", "%="):
            self.k += 2
            rhs = self._assign()
            v = rhs if op == "=" else self._binop(op[0], self._var(name), rhs)
            self.sh.env[name] = str(v)
            return v
        return self._ternary()

    def _ternary(self) -> int:
        cond = self._binary(0)
        if self.peek() != "?":
            return cond
        self.take()
        a = self._assign()
        if self.take() != ":":
            self._fail(self.peek() or "end", "syntax error: `:' expected for conditional")
        b = self._assign()
        return a if cond else b

    def _binary(self, level: int) -> int:
        if level == len(self.LEVELS):
            return self._power()
        left = self._binary(level + 1)
        while self.peek() in self.LEVELS[level]:
            op = self.take()
            left = self._binop(op, left, self._binary(level + 1))
        return left

    def _binop(self, op: str, a: int, b: int) -> int:
        if op in ("/", "%"):
            if b == 0:
                self._fail(str(b), "division by 0")
            q = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
            return q if op == "/" else a - b * q
        ops: dict[str, Callable[[int, int], int]] = {
            "+": lambda x, y: x + y,
            "-": lambda x, y: x - y,
            "*": lambda x, y: x * y,
            "<<": lambda x, y: x << y,
            ">>": lambda x, y: x >> y,
            "&": lambda x, y: x & y,
            "|": lambda x, y: x | y,
            "^": lambda x, y: x ^ y,
            "==": lambda x, y: int(x == y),
            "!=": lambda x, y: int(x != y),
            "<": lambda x, y: int(x < y),
            ">": lambda x, y: int(x > y),
            "<=": lambda x, y: int(x <= y),
            ">=": lambda x, y: int(x >= y),
            "&&": lambda x, y: int(bool(x and y)),
            "||": lambda x, y: int(bool(x or y)),
        }
        return ops[op](a, b)

    def _power(self) -> int:
        base = self._unary()
        if self.peek() == "**":
            self.take()
            return int(base ** self._power())
        return base

    def _unary(self) -> int:
        tok = self.peek()
        if tok in ("-", "+", "!", "~"):
            self.take()
            v = self._unary()
            return {"-": -v, "+": v, "!": int(not v), "~": ~v}[tok]
        if tok in ("++", "--"):
            self.take()
            name = self.take()
            v = self._var(name) + (1 if tok == "++" else -1)
            self.sh.env[name] = str(v)
            return v
        return self._primary()

    def _primary(self) -> int:
        tok = self.take()
        if tok == "(":
            v = self._comma()
            if self.take() != ")":
                self._fail(self.src, "missing `)'")
            return v
        if tok and tok[0].isdigit():
            if tok.lower().startswith("0x"):
                return int(tok, 16)
            if len(tok) > 1 and tok.startswith("0"):
                try:
                    return int(tok, 8)
                except ValueError:
                    self._fail(tok, "value too great for base")
            return int(tok)
        if re.fullmatch(r"[A-Za-z_]\w*", tok):
            v = self._var(tok)
            if self.peek() in ("++", "--"):
                self.sh.env[tok] = str(v + (1 if self.take() == "++" else -1))
            return v
        self._fail(tok or self.src.strip(), "syntax error: operand expected")
        return 0
