"""``awk``: the subset scripts use; anything beyond it is refused plainly."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mdstools.lab.coreutils.inputs import Inputs, lines_of
from mdstools.lab.coreutils.options import getopt
from mdstools.lab.coreutils.regex import posix_regex
from mdstools.lab.shell import IO, Shell, backslash_escapes, program


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
