"""Lexer and parser for the subset of bash that the lab's shell understands.

Supported: ``;`` ``&&`` ``||`` ``|`` ``&`` newlines, ``!``, ``( ... )``, ``{ ...; }``,
``if/then/elif/else/fi``, ``for NAME in ...; do ...; done``, ``while ...; do ...; done``,
assignments, quoting (``'...'``, ``"..."``, backslash), ``$VAR``, ``${VAR}``,
``${VAR:-default}``, ``$?``, ``$!``, ``$$``, ``$(...)`` and backticks, globs, ``~``,
redirections ``>``, ``>>``, ``<``, ``<<<``, ``N>``, ``N>>``, ``N>&M``, ``&>``, and comments.
Anything else is a :class:`ShellSyntaxError` with bash's wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class ShellSyntaxError(Exception):
    """Text bash would print for a syntax error."""


# A word is a list of segments: (kind, value, quoted)
#   kind "lit": literal text; "var": parameter expression; "cmd": command substitution source
Segment = tuple[str, str, bool]


@dataclass
class Word:
    segments: list[Segment]

    def literal(self) -> str | None:
        """The text if the word has no expansions, else None."""
        if all(k == "lit" for k, _, _ in self.segments):
            return "".join(v for _, v, _ in self.segments)
        return None

    def is_plain(self) -> bool:
        return all(k == "lit" and not q for k, _, q in self.segments)


@dataclass
class Redirect:
    fd: int
    op: str  # ">", ">>", "<", "<<<", ">&", "&>"
    target: Word | None = None
    dup: int | None = None


@dataclass
class Simple:
    assigns: list[tuple[str, Word]] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    redirs: list[Redirect] = field(default_factory=list)


@dataclass
class Group:
    body: CmdList
    subshell: bool
    redirs: list[Redirect] = field(default_factory=list)


@dataclass
class If:
    branches: list[tuple[CmdList, CmdList]]
    orelse: CmdList | None
    redirs: list[Redirect] = field(default_factory=list)


@dataclass
class For:
    name: str
    items: list[Word] | None
    body: CmdList
    redirs: list[Redirect] = field(default_factory=list)


@dataclass
class While:
    cond: CmdList
    body: CmdList
    until: bool = False
    redirs: list[Redirect] = field(default_factory=list)


Command = Simple | Group | If | For | While


@dataclass
class Pipeline:
    cmds: list[Command]
    negate: bool = False


@dataclass
class AndOr:
    first: Pipeline
    rest: list[tuple[str, Pipeline]] = field(default_factory=list)


@dataclass
class CmdList:
    items: list[tuple[AndOr, bool]] = field(default_factory=list)  # (and-or, background)


OPERATORS = ["&&", "||", ";;", ";", "&", "|", "(", ")", "\n"]
RESERVED = {"if", "then", "elif", "else", "fi", "for", "in", "do", "done", "while", "until",
            "{", "}", "!"}


@dataclass
class Tok:
    kind: str  # "word", "op", "redir"
    word: Word | None = None
    op: str = ""
    fd: int | None = None


def _is_name(s: str) -> bool:
    return bool(s) and (s[0].isalpha() or s[0] == "_") and all(c.isalnum() or c == "_" for c in s)


class Lexer:
    def __init__(self, src: str) -> None:
        self.s = src
        self.i = 0

    def tokens(self) -> list[Tok]:
        out: list[Tok] = []
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r":
                self.i += 1
                continue
            if c == "\\" and s.startswith("\\\n", self.i):
                self.i += 2
                continue
            if c == "#":
                while self.i < len(s) and s[self.i] != "\n":
                    self.i += 1
                continue
            red = self._redirect(None)
            if red is not None:
                out.append(red)
                continue
            op = next((o for o in OPERATORS if s.startswith(o, self.i)), None)
            if op is not None:
                if op == ";;":
                    raise ShellSyntaxError("syntax error near unexpected token `;;'")
                self.i += len(op)
                out.append(Tok("op", op=op))
                continue
            start = self.i
            word = self._word()
            lit = word.literal()
            if lit is not None and lit.isdigit() and self.i < len(s) and s[self.i] in "<>" \
                    and self.i == start + len(lit):
                red = self._redirect(int(lit))
                if red is not None:
                    out.append(red)
                    continue
            out.append(Tok("word", word=word))
        return out

    def _redirect(self, fd: int | None) -> Tok | None:
        s = self.s
        for op in ("&>>", "&>", "<<<", ">>", ">&", "<&", ">", "<"):
            if s.startswith(op, self.i):
                if op == "<" and s.startswith("<(", self.i):
                    raise ShellSyntaxError("process substitution is not supported by the lab shell")
                self.i += len(op)
                if op in ("&>", "&>>"):
                    return Tok("redir", op=op, fd=1)
                if op in (">&", "<&"):
                    j = self.i
                    while j < len(s) and s[j].isdigit():
                        j += 1
                    if j == self.i:
                        return Tok("redir", op="&>", fd=1)  # ">& file"
                    num = int(s[self.i:j])
                    self.i = j
                    tok = Tok("redir", op=">&", fd=fd if fd is not None else (1 if op == ">&" else 0))
                    tok.word = Word([("lit", str(num), False)])
                    return tok
                default = 0 if op in ("<", "<<<") else 1
                return Tok("redir", op=op, fd=fd if fd is not None else default)
        return None

    def _word(self) -> Word:
        s = self.s
        segs: list[Segment] = []
        buf: list[str] = []

        def flush(quoted: bool = False) -> None:
            if buf:
                segs.append(("lit", "".join(buf), quoted))
                buf.clear()

        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r\n;&|()<>":
                break
            if c == "\\":
                flush()
                if self.i + 1 < len(s):
                    segs.append(("lit", s[self.i + 1], True))
                self.i += 2
                continue
            if c == "'":
                flush()
                end = s.find("'", self.i + 1)
                if end < 0:
                    raise ShellSyntaxError("unexpected EOF while looking for matching `''")
                segs.append(("lit", s[self.i + 1:end], True))
                self.i = end + 1
                continue
            if c == '"':
                flush()
                self.i += 1
                segs.extend(self._double_quoted())
                if not segs or segs[-1][2] is not True:
                    segs.append(("lit", "", True))
                continue
            if c == "$" or c == "`":
                exp = self._dollar()
                if exp is not None:
                    flush()
                    segs.append((exp[0], exp[1], False))
                    continue
            buf.append(c)
            self.i += 1
        flush()
        return Word(segs)

    def _double_quoted(self) -> list[Segment]:
        s = self.s
        segs: list[Segment] = []
        buf: list[str] = []
        while True:
            if self.i >= len(s):
                raise ShellSyntaxError('unexpected EOF while looking for matching `"\'')
            c = s[self.i]
            if c == '"':
                self.i += 1
                break
            if c == "\\" and self.i + 1 < len(s) and s[self.i + 1] in '$`"\\\n':
                if s[self.i + 1] != "\n":
                    buf.append(s[self.i + 1])
                self.i += 2
                continue
            if c in "$`":
                exp = self._dollar()
                if exp is not None:
                    if buf:
                        segs.append(("lit", "".join(buf), True))
                        buf.clear()
                    segs.append((exp[0], exp[1], True))
                    continue
            buf.append(c)
            self.i += 1
        segs.append(("lit", "".join(buf), True))
        return segs

    def _dollar(self) -> tuple[str, str] | None:
        s = self.s
        if s[self.i] == "`":
            end = s.find("`", self.i + 1)
            if end < 0:
                raise ShellSyntaxError("unexpected EOF while looking for matching ``'")
            src = s[self.i + 1:end]
            self.i = end + 1
            return ("cmd", src)
        nxt = s[self.i + 1] if self.i + 1 < len(s) else ""
        if nxt == "(":
            if s.startswith("$((", self.i):
                raise ShellSyntaxError("arithmetic expansion is not supported by the lab shell")
            depth, j = 1, self.i + 2
            quote = ""
            while j < len(s) and depth:
                ch = s[j]
                if quote:
                    if ch == quote:
                        quote = ""
                elif ch in "'\"":
                    quote = ch
                elif ch == "(":
                    depth += 1
                elif ch == ")":
                    depth -= 1
                j += 1
            if depth:
                raise ShellSyntaxError("unexpected EOF while looking for matching `)'")
            src = s[self.i + 2:j - 1]
            self.i = j
            return ("cmd", src)
        if nxt == "{":
            end = s.find("}", self.i + 2)
            if end < 0:
                raise ShellSyntaxError("bad substitution")
            expr = s[self.i + 2:end]
            self.i = end + 1
            return ("var", expr)
        if nxt and (nxt in "?!$#@*-" or nxt.isdigit()):
            self.i += 2
            return ("var", nxt)
        j = self.i + 1
        while j < len(s) and (s[j].isalnum() or s[j] == "_"):
            j += 1
        if j == self.i + 1:
            return None
        name = s[self.i + 1:j]
        self.i = j
        return ("var", name)


class Parser:
    def __init__(self, src: str) -> None:
        self.toks = Lexer(src).tokens()
        self.p = 0

    def parse(self) -> CmdList:
        lst = self._list(stop=set())
        if self.p < len(self.toks):
            raise ShellSyntaxError(f"syntax error near unexpected token `{self._desc(self.toks[self.p])}'")
        return lst

    # helpers
    def _peek(self) -> Tok | None:
        return self.toks[self.p] if self.p < len(self.toks) else None

    def _desc(self, t: Tok) -> str:
        if t.kind == "op":
            return "newline" if t.op == "\n" else t.op
        if t.kind == "word" and t.word is not None:
            return t.word.literal() or "word"
        return t.op

    def _is_kw(self, t: Tok | None, *kws: str) -> bool:
        if t is None or t.kind != "word" or t.word is None or not t.word.is_plain():
            return False
        return t.word.literal() in kws

    def _skip_newlines(self) -> None:
        while (t := self._peek()) is not None and t.kind == "op" and t.op == "\n":
            self.p += 1

    def _expect_kw(self, kw: str) -> None:
        self._skip_newlines()
        t = self._peek()
        if not self._is_kw(t, kw):
            got = "end of file" if t is None else self._desc(t)
            raise ShellSyntaxError(f"syntax error near unexpected token `{got}' (expected `{kw}')")
        self.p += 1

    def _list(self, stop: set[str]) -> CmdList:
        out = CmdList()
        while True:
            self._skip_newlines()
            t = self._peek()
            if t is None or (t.kind == "op" and t.op == ")") or (
                    stop and self._is_kw(t, *stop)):
                return out
            ao = self._and_or(stop)
            bg = False
            t = self._peek()
            if t is not None and t.kind == "op" and t.op in (";", "&", "\n"):
                bg = t.op == "&"
                self.p += 1
            out.items.append((ao, bg))

    def _and_or(self, stop: set[str]) -> AndOr:
        ao = AndOr(self._pipeline(stop))
        while (t := self._peek()) is not None and t.kind == "op" and t.op in ("&&", "||"):
            self.p += 1
            self._skip_newlines()
            ao.rest.append((t.op, self._pipeline(stop)))
        return ao

    def _pipeline(self, stop: set[str]) -> Pipeline:
        negate = False
        if self._is_kw(self._peek(), "!"):
            negate = True
            self.p += 1
        cmds = [self._command(stop)]
        while (t := self._peek()) is not None and t.kind == "op" and t.op == "|":
            self.p += 1
            self._skip_newlines()
            cmds.append(self._command(stop))
        return Pipeline(cmds, negate)

    def _redirs(self) -> list[Redirect]:
        out: list[Redirect] = []
        while (t := self._peek()) is not None and t.kind == "redir":
            out.append(self._redirect())
        return out

    def _redirect(self) -> Redirect:
        t = self.toks[self.p]
        self.p += 1
        fd = t.fd if t.fd is not None else 1
        if t.op == ">&":
            assert t.word is not None
            lit = t.word.literal() or "1"
            return Redirect(fd, ">&", dup=int(lit))
        nxt = self._peek()
        if nxt is None or nxt.kind != "word":
            raise ShellSyntaxError("syntax error near unexpected token `newline'")
        self.p += 1
        return Redirect(fd, t.op, nxt.word)

    def _command(self, stop: set[str]) -> Command:
        t = self._peek()
        if t is None:
            raise ShellSyntaxError("syntax error: unexpected end of file")
        if t.kind == "op" and t.op == "(":
            self.p += 1
            body = self._list(stop=set())
            t2 = self._peek()
            if t2 is None or t2.kind != "op" or t2.op != ")":
                raise ShellSyntaxError("syntax error: unexpected end of file")
            self.p += 1
            return Group(body, True, self._redirs())
        if t.kind == "op":
            raise ShellSyntaxError(f"syntax error near unexpected token `{self._desc(t)}'")
        if self._is_kw(t, "{"):
            self.p += 1
            body = self._list(stop={"}"})
            self._expect_kw("}")
            return Group(body, False, self._redirs())
        if self._is_kw(t, "if"):
            self.p += 1
            branches = []
            cond = self._list(stop={"then"})
            self._expect_kw("then")
            body = self._list(stop={"elif", "else", "fi"})
            branches.append((cond, body))
            orelse = None
            while True:
                self._skip_newlines()
                if self._is_kw(self._peek(), "elif"):
                    self.p += 1
                    c = self._list(stop={"then"})
                    self._expect_kw("then")
                    b = self._list(stop={"elif", "else", "fi"})
                    branches.append((c, b))
                    continue
                if self._is_kw(self._peek(), "else"):
                    self.p += 1
                    orelse = self._list(stop={"fi"})
                self._expect_kw("fi")
                break
            return If(branches, orelse, self._redirs())
        if self._is_kw(t, "for"):
            self.p += 1
            nt = self._peek()
            if nt is None or nt.kind != "word" or nt.word is None or not _is_name(nt.word.literal() or ""):
                raise ShellSyntaxError("syntax error near `for': a variable name is needed")
            name = nt.word.literal() or ""
            self.p += 1
            items: list[Word] | None = None
            self._skip_newlines()
            if self._is_kw(self._peek(), "in"):
                self.p += 1
                items = []
                while (w := self._peek()) is not None and w.kind == "word" and not self._is_kw(w, "do"):
                    assert w.word is not None
                    items.append(w.word)
                    self.p += 1
            sep = self._peek()
            if sep is not None and sep.kind == "op" and sep.op in (";", "\n"):
                self.p += 1
            self._expect_kw("do")
            body = self._list(stop={"done"})
            self._expect_kw("done")
            return For(name, items, body, self._redirs())
        if self._is_kw(t, "while", "until"):
            until = self._is_kw(t, "until")
            self.p += 1
            cond = self._list(stop={"do"})
            self._expect_kw("do")
            body = self._list(stop={"done"})
            self._expect_kw("done")
            return While(cond, body, until, self._redirs())
        if self._is_kw(t, "then", "elif", "else", "fi", "do", "done", "}"):
            raise ShellSyntaxError(f"syntax error near unexpected token `{self._desc(t)}'")
        cmd = Simple()
        while (t := self._peek()) is not None:
            if t.kind == "redir":
                cmd.redirs.append(self._redirect())
                continue
            if t.kind != "word":
                break
            assert t.word is not None
            if not cmd.words:
                first = t.word.segments[0] if t.word.segments else None
                if first and first[0] == "lit" and not first[2] and "=" in first[1]:
                    name, _, rest = first[1].partition("=")
                    if _is_name(name):
                        value = Word(([("lit", rest, False)] if rest else []) + t.word.segments[1:])
                        cmd.assigns.append((name, value))
                        self.p += 1
                        continue
            cmd.words.append(t.word)
            self.p += 1
        if not cmd.words and not cmd.assigns and not cmd.redirs:
            t = self._peek()
            raise ShellSyntaxError(
                f"syntax error near unexpected token `{self._desc(t) if t else 'newline'}'")
        return cmd


def parse(src: str) -> CmdList:
    """Parse a command line (or a script) into a :class:`CmdList`."""
    return Parser(src).parse()
