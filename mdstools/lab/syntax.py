"""Lexer and parser for the subset of bash that the lab's shell understands.

Supported: ``;`` ``&&`` ``||`` ``|`` ``&`` newlines, ``!``, ``( ... )``, ``{ ...; }``,
``if/then/elif/else/fi``, ``for NAME in ...; do ...; done``, ``while``/``until``,
``case WORD in PATTERN) ...;; esac``, functions (``name() { ...; }``), ``[[ ... ]]``,
assignments, quoting (``'...'``, ``"..."``, backslash), ``$VAR``, ``${VAR}``, ``${VAR:-x}``
and the other ``${...}`` operators, ``$?``, ``$!``, ``$$``, ``$(...)``, backticks,
``$((...))``, ``((...))``, globs, ``~``, redirections ``>``, ``>>``, ``<``, ``<<<``, ``<<EOF`` here
documents, ``N>``, ``N>>``, ``N>&M``, ``&>``, ``&>>``, and comments. Anything else is a
:class:`ShellSyntaxError` with bash's wording.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


class ShellSyntaxError(Exception):
    """What bash prints for a syntax error: the message, its line and the offending line."""

    def __init__(self, message: str, line: int = 1, source_line: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.source_line = source_line


# A word is a list of segments: (kind, value, quoted)
#   kind "lit": literal text; "var": parameter expression (``${...}`` without the braces);
#   "cmd": command substitution source; "arith": arithmetic expression source
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
        """No expansion and no quoting: the word can be a keyword or an operator."""
        return all(k == "lit" and not q for k, _, q in self.segments)


@dataclass
class Redirect:
    fd: int
    op: str  # ">", ">>", "<", "<<<", "<<" (here document: target is the body), ">&", "&>", "&>>"
    target: Word | None = None
    dup: int | None = None


@dataclass
class Simple:
    assigns: list[tuple[str, Word]] = field(default_factory=list)  # "NAME+" appends
    words: list[Word] = field(default_factory=list)
    redirs: list[Redirect] = field(default_factory=list)
    line: int = 1


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


@dataclass
class Case:
    word: Word
    arms: list[tuple[list[Word], CmdList]]
    redirs: list[Redirect] = field(default_factory=list)


@dataclass
class FuncDef:
    name: str
    body: Command
    redirs: list[Redirect] = field(default_factory=list)


@dataclass
class Cond:
    """``[[ ... ]]``: operand words, and operators (``&&``, ``||``, ``!``, ``(``, ``)``,
    ``<``, ``>``) as plain strings."""

    items: list[Word | str]
    redirs: list[Redirect] = field(default_factory=list)
    line: int = 1


Command = Simple | Group | If | For | While | Case | FuncDef | Cond


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


OPERATORS = ["&&", "||", ";;", ";", "|&", "&", "|", "(", ")", "\n"]
REDIRECTIONS = ("&>>", "&>", "<<<", "<<-", "<<", ">>", ">&", "<&", ">|", ">", "<")
WORD_BREAK = " \t\r\n;&|()<>"


@dataclass
class Tok:
    kind: str  # "word", "op", "redir"
    word: Word | None = None
    op: str = ""
    fd: int | None = None
    line: int = 1
    arith: bool = False  # the "let" that stands for "(("


def _is_name(s: str) -> bool:
    return bool(s) and (s[0].isalpha() or s[0] == "_") and all(c.isalnum() or c == "_" for c in s)


class Lexer:
    def __init__(self, src: str) -> None:
        self.s = src
        self.i = 0
        self._newlines = [k for k, c in enumerate(src) if c == "\n"]
        self._heredocs: list[tuple[Tok, str, bool, bool]] = []  # (tok, delimiter, quoted, -)
        self.open_heredocs: list[str] = []  # delimiters the source ended before

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self._newlines, pos) + 1

    def source_line(self, line: int) -> str:
        return self.s.split("\n")[line - 1] if 0 < line <= len(self._newlines) + 1 else ""

    def eof_line(self) -> int:
        """The line bash names in ``unexpected end of file``."""
        return len(self._newlines) + (1 if self.s.endswith("\n") else 2)

    def tokens(self) -> list[Tok]:
        out: list[Tok] = []
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r":
                self.i += 1
                continue
            if s.startswith("\\\n", self.i):
                self.i += 2
                continue
            if c == "#":
                while self.i < len(s) and s[self.i] != "\n":
                    self.i += 1
                continue
            line = self.line_at(self.i)
            red = self._redirect(None)
            if red is not None:
                red.line = line
                out.append(red)
                continue
            if s.startswith("((", self.i) and (end := self._arith_end(self.i + 2)) is not None:
                # (( expr )) is ``let "expr"``
                expr = Word([("lit", s[self.i + 2 : end - 2], True)])
                out += [
                    Tok("word", Word([("lit", "let", False)]), line=line, arith=True),
                    Tok("word", expr, line=line),
                ]
                self.i = end
                continue
            op = next((o for o in OPERATORS if s.startswith(o, self.i)), None)
            if op is not None:
                self.i += len(op)
                out.append(Tok("op", op=op, line=line))
                if op == "\n":
                    self._read_heredocs()
                continue
            start = self.i
            word = self._word()
            if (
                word.is_plain()
                and (lit := word.literal() or "").isdigit()
                and self.i == start + len(lit)
                and s.startswith(("<", ">"), self.i)
            ):
                red = self._redirect(int(lit))
                if red is not None:
                    red.line = line
                    out.append(red)
                    continue
            out.append(Tok("word", word=word, line=line))
        self._read_heredocs()
        return out

    def _redirect(self, fd: int | None) -> Tok | None:
        s = self.s
        op = next((o for o in REDIRECTIONS if s.startswith(o, self.i)), None)
        if op is None:
            return None
        if op == "<" and s.startswith("<(", self.i):
            raise ShellSyntaxError(
                "process substitution is not supported by the lab shell", self.line_at(self.i)
            )
        self.i += len(op)
        if op in ("&>", "&>>"):
            return Tok("redir", op=op, fd=1)
        if op in (">&", "<&"):
            j = self.i
            while j < len(s) and s[j].isdigit():
                j += 1
            if j == self.i:
                if op == "<&" or s.startswith("-", j):
                    raise ShellSyntaxError(
                        "closing file descriptors is not supported by the lab shell",
                        self.line_at(self.i),
                    )
                return Tok("redir", op="&>", fd=1)  # ">& file"
            num = s[self.i : j]
            self.i = j
            default = 1 if op == ">&" else 0
            tok = Tok("redir", op=">&", fd=fd if fd is not None else default)
            tok.word = Word([("lit", num, False)])
            return tok
        if op in ("<<", "<<-"):
            return self._heredoc_start(fd, op == "<<-")
        default = 0 if op in ("<", "<<<") else 1
        return Tok("redir", op=op, fd=fd if fd is not None else default)

    def _heredoc_start(self, fd: int | None, strip_tabs: bool) -> Tok:
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1
        if self.i >= len(self.s) or self.s[self.i] in WORD_BREAK:
            raise ShellSyntaxError(
                "syntax error near unexpected token `newline'", self.line_at(self.i)
            )
        word = self._word()
        quoted = any(q for _, _, q in word.segments)
        delim = "".join(v if k == "lit" else "$" + v for k, v, _ in word.segments)
        tok = Tok("redir", op="<<", fd=fd if fd is not None else 0)
        self._heredocs.append((tok, delim, quoted, strip_tabs))
        return tok

    def _read_heredocs(self) -> None:
        """Consume the bodies of the here documents started on the line just ended."""
        s = self.s
        for tok, delim, quoted, strip in self._heredocs:
            body: list[str] = []
            while self.i < len(s):
                end = s.find("\n", self.i)
                end = len(s) if end < 0 else end
                text = s[self.i : end]
                self.i = end + 1
                if strip:
                    text = text.lstrip("\t")
                if text == delim:
                    break
                body.append(text + "\n")
            else:
                self.open_heredocs.append(delim)
            raw = "".join(body)
            if quoted:
                tok.word = Word([("lit", raw, True)])
            else:
                sub = Lexer(raw)
                tok.word = Word(sub._double_quoted(heredoc=True))
        self._heredocs.clear()

    def _word(self, stop: str = WORD_BREAK) -> Word:
        s = self.s
        segs: list[Segment] = []
        buf: list[str] = []

        def flush() -> None:
            if buf:
                segs.append(("lit", "".join(buf), False))
                buf.clear()

        while self.i < len(s):
            c = s[self.i]
            if c in stop:
                break
            if c == "\\":
                flush()
                if self.i + 1 < len(s):
                    if s[self.i + 1] != "\n":
                        segs.append(("lit", s[self.i + 1], True))
                else:
                    segs.append(("lit", "\\", True))
                self.i += 2
                continue
            if c == "'":
                flush()
                end = s.find("'", self.i + 1)
                if end < 0:
                    raise ShellSyntaxError(
                        "unexpected EOF while looking for matching `''", self.line_at(self.i)
                    )
                segs.append(("lit", s[self.i + 1 : end], True))
                self.i = end + 1
                continue
            if c == '"':
                flush()
                self.i += 1
                segs.extend(self._double_quoted())
                continue
            if c in "$`":
                exp = self._dollar()
                if exp is not None:
                    flush()
                    segs.append((exp[0], exp[1], False))
                    continue
            buf.append(c)
            self.i += 1
        flush()
        return Word(segs)

    def _double_quoted(self, heredoc: bool = False) -> list[Segment]:
        """Segments up to the closing quote (or, for a here document, to the end)."""
        s = self.s
        start = self.i
        segs: list[Segment] = []
        buf: list[str] = []
        special = "$`\\\n" if heredoc else '$`"\\\n'
        while True:
            if self.i >= len(s):
                if heredoc:
                    break
                raise ShellSyntaxError(
                    "unexpected EOF while looking for matching `\"'", self.line_at(start)
                )
            c = s[self.i]
            if c == '"' and not heredoc:
                self.i += 1
                break
            if c == "\\" and self.i + 1 < len(s) and s[self.i + 1] in special:
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

    def _matching(self, j: int, open_: str, close: str) -> int:
        """Index just after the ``close`` that balances an ``open_`` before ``j``."""
        s = self.s
        depth = 1
        while j < len(s):
            ch = s[j]
            if ch == "\\":
                j += 2
                continue
            if ch == "'":
                end = s.find("'", j + 1)
                j = len(s) if end < 0 else end + 1
                continue
            if ch == '"':
                j += 1
                while j < len(s) and s[j] != '"':
                    j += 2 if s[j] == "\\" else 1
                j += 1
                continue
            if ch == open_:
                depth += 1
            elif ch == close:
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        raise ShellSyntaxError(
            f"unexpected EOF while looking for matching `{close}'", self.line_at(self.i)
        )

    def _dollar(self) -> tuple[str, str] | None:
        s = self.s
        if s[self.i] == "`":
            j = self.i + 1
            while j < len(s) and s[j] != "`":
                j += 2 if s[j] == "\\" else 1
            if j >= len(s):
                raise ShellSyntaxError(
                    "unexpected EOF while looking for matching ``'", self.line_at(self.i)
                )
            src = s[self.i + 1 : j].replace("\\`", "`").replace("\\$", "$")
            self.i = j + 1
            return ("cmd", src)
        nxt = s[self.i + 1] if self.i + 1 < len(s) else ""
        if s.startswith("$((", self.i):
            end = self._arith_end(self.i + 3)
            if end is not None:
                src = s[self.i + 3 : end - 2]
                self.i = end
                return ("arith", src)
        if nxt == "(":
            end = self._matching(self.i + 2, "(", ")")
            src = s[self.i + 2 : end - 1]
            self.i = end
            return ("cmd", src)
        if nxt == "{":
            end = self._matching(self.i + 2, "{", "}")
            expr = s[self.i + 2 : end - 1]
            self.i = end
            return ("var", expr)
        if nxt and (nxt in "?!$#@*-" or nxt.isdigit()):
            self.i += 2
            return ("var", nxt)
        j = self.i + 1
        while j < len(s) and (s[j].isalnum() or s[j] == "_"):
            j += 1
        if j == self.i + 1:
            return None
        name = s[self.i + 1 : j]
        self.i = j
        return ("var", name)

    def _arith_end(self, j: int) -> int | None:
        """End of ``$(( ... ))`` starting at ``j``, or None if it is ``$( (...) ...)``."""
        s = self.s
        depth = 0
        while j < len(s):
            if s[j] == "(":
                depth += 1
            elif s[j] == ")":
                if depth == 0:
                    return j + 2 if s.startswith("))", j) else None
                depth -= 1
            j += 1
        raise ShellSyntaxError(
            "unexpected EOF while looking for matching `)'", self.line_at(self.i)
        )


class Parser:
    def __init__(self, src: str) -> None:
        self.lexer = Lexer(src)
        self.toks = self.lexer.tokens()
        self.p = 0

    def parse(self) -> CmdList:
        lst = self._list(stop=set())
        if self.p < len(self.toks):
            raise self._unexpected(self.toks[self.p])
        return lst

    # helpers
    def _peek(self, ahead: int = 0) -> Tok | None:
        k = self.p + ahead
        return self.toks[k] if k < len(self.toks) else None

    def _desc(self, t: Tok) -> str:
        if t.kind == "op":
            return "newline" if t.op == "\n" else t.op
        if t.kind == "word" and t.word is not None:
            return t.word.literal() or "word"
        if t.kind == "redir" and t.op == ">&":
            return ">&"
        return t.op

    def _unexpected(self, t: Tok | None) -> ShellSyntaxError:
        if t is None:
            return ShellSyntaxError("syntax error: unexpected end of file", self.lexer.eof_line())
        return ShellSyntaxError(
            f"syntax error near unexpected token `{self._desc(t)}'",
            t.line,
            self.lexer.source_line(t.line),
        )

    def _is_op(self, t: Tok | None, *ops: str) -> bool:
        return t is not None and t.kind == "op" and t.op in ops

    def _is_kw(self, t: Tok | None, *kws: str) -> bool:
        if t is None or t.kind != "word" or t.word is None or not t.word.is_plain():
            return False
        return t.word.literal() in kws

    def _skip_newlines(self) -> None:
        while self._is_op(self._peek(), "\n"):
            self.p += 1

    def _expect_kw(self, kw: str) -> None:
        self._skip_newlines()
        t = self._peek()
        if not self._is_kw(t, kw):
            raise self._unexpected(t)
        self.p += 1

    def _expect_op(self, op: str) -> None:
        t = self._peek()
        if not self._is_op(t, op):
            raise self._unexpected(t)
        self.p += 1

    def _expect_word(self) -> Word:
        t = self._peek()
        if t is None or t.kind != "word" or t.word is None:
            raise self._unexpected(t)
        self.p += 1
        return t.word

    def _at_end(self, stop: set[str]) -> bool:
        t = self._peek()
        return t is None or self._is_op(t, ")", ";;") or bool(stop and self._is_kw(t, *stop))

    def _list(self, stop: set[str]) -> CmdList:
        out = CmdList()
        while True:
            self._skip_newlines()
            if self._at_end(stop):
                return out
            ao = self._and_or(stop)
            t = self._peek()
            bg = False
            if self._is_op(t, ";", "&", "\n"):
                bg = t is not None and t.op == "&"
                self.p += 1
            elif not self._at_end(stop):
                raise self._unexpected(t)
            out.items.append((ao, bg))

    def _and_or(self, stop: set[str]) -> AndOr:
        ao = AndOr(self._pipeline(stop))
        while (t := self._peek()) is not None and self._is_op(t, "&&", "||"):
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
        while (t := self._peek()) is not None and self._is_op(t, "|", "|&"):
            if t.op == "|&":  # cmd |& next: cmd 2>&1 | next
                cmds[-1].redirs.append(Redirect(2, ">&", dup=1))
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
            return Redirect(fd, ">&", dup=int(t.word.literal() or "1"))
        if t.op == "<<":
            return Redirect(fd, "<<", t.word or Word([]))
        nxt = self._peek()
        if nxt is None or nxt.kind != "word":
            raise (
                self._unexpected(nxt)
                if nxt is not None
                else ShellSyntaxError(
                    "syntax error near unexpected token `newline'",
                    t.line,
                    self.lexer.source_line(t.line),
                )
            )
        self.p += 1
        return Redirect(fd, t.op, nxt.word)

    def _command(self, stop: set[str]) -> Command:
        t = self._peek()
        if t is None:
            raise self._unexpected(None)
        if self._is_op(t, "("):
            self.p += 1
            body = self._list(stop=set())
            self._expect_op(")")
            return Group(body, True, self._redirs())
        if t.kind == "op":
            raise self._unexpected(t)
        if self._is_kw(t, "{"):
            self.p += 1
            body = self._list(stop={"}"})
            self._expect_kw("}")
            return Group(body, False, self._redirs())
        if self._is_kw(t, "if"):
            return self._if()
        if self._is_kw(t, "for"):
            return self._for()
        if self._is_kw(t, "while", "until"):
            self.p += 1
            cond = self._list(stop={"do"})
            self._expect_kw("do")
            body = self._list(stop={"done"})
            self._expect_kw("done")
            return While(cond, body, self._is_kw(t, "until"), self._redirs())
        if self._is_kw(t, "case"):
            return self._case()
        if self._is_kw(t, "[["):
            return self._cond()
        if self._is_kw(t, "function"):
            self.p += 1
            name = self._expect_word().literal() or ""
            if self._is_op(self._peek(), "(") and self._is_op(self._peek(1), ")"):
                self.p += 2
            return self._funcdef(name)
        if self._is_kw(t, "then", "elif", "else", "fi", "do", "done", "}", "esac", "in", "]]"):
            raise self._unexpected(t)
        if (
            t.word is not None
            and t.word.is_plain()
            and _is_name(t.word.literal() or "")
            and self._is_op(self._peek(1), "(")
        ):
            self.p += 2
            self._expect_op(")")
            return self._funcdef(t.word.literal() or "")
        return self._simple(t.line)

    def _funcdef(self, name: str) -> FuncDef:
        self._skip_newlines()
        t = self._peek()
        if not (self._is_op(t, "(") or self._is_kw(t, "{", "if", "for", "while", "until", "case")):
            raise self._unexpected(t)
        return FuncDef(name, self._command(set()), self._redirs())

    def _simple(self, line: int) -> Simple:
        cmd = Simple(line=line)
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
                    append = name.endswith("+")  # VAR+=x: the name keeps its "+"
                    if _is_name(name[:-1] if append else name):
                        value = Word(([("lit", rest, False)] if rest else []) + t.word.segments[1:])
                        cmd.assigns.append((name, value))
                        self.p += 1
                        if rest == "" and self._is_op(self._peek(), "("):
                            raise ShellSyntaxError(
                                "arrays are not supported by the lab shell", t.line
                            )
                        continue
            cmd.words.append(t.word)
            self.p += 1
        return cmd

    def _if(self) -> If:
        self.p += 1
        branches: list[tuple[CmdList, CmdList]] = []
        cond = self._list(stop={"then"})
        self._expect_kw("then")
        branches.append((cond, self._list(stop={"elif", "else", "fi"})))
        orelse = None
        while True:
            self._skip_newlines()
            if self._is_kw(self._peek(), "elif"):
                self.p += 1
                c = self._list(stop={"then"})
                self._expect_kw("then")
                branches.append((c, self._list(stop={"elif", "else", "fi"})))
                continue
            if self._is_kw(self._peek(), "else"):
                self.p += 1
                orelse = self._list(stop={"fi"})
            self._expect_kw("fi")
            return If(branches, orelse, self._redirs())

    def _for(self) -> For:
        self.p += 1
        nt = self._peek()
        if self._is_op(nt, "(") or (nt is not None and nt.arith):
            raise ShellSyntaxError(
                "for (( ... )) loops are not supported by the lab shell",
                nt.line if nt else 1,
            )
        if nt is None or nt.word is None or not _is_name(nt.word.literal() or ""):
            raise self._unexpected(nt)
        name = nt.word.literal() or ""
        self.p += 1
        items: list[Word] | None = None
        self._skip_newlines()
        if self._is_kw(self._peek(), "in"):
            self.p += 1
            items = []
            while (w := self._peek()) is not None and w.kind == "word":
                assert w.word is not None
                items.append(w.word)
                self.p += 1
            if not self._is_op(self._peek(), ";", "\n"):
                raise self._unexpected(self._peek())
            self.p += 1
        elif self._is_op(self._peek(), ";"):
            self.p += 1
        self._expect_kw("do")
        body = self._list(stop={"done"})
        self._expect_kw("done")
        return For(name, items, body, self._redirs())

    def _case(self) -> Case:
        self.p += 1
        word = self._expect_word()
        self._expect_kw("in")
        arms: list[tuple[list[Word], CmdList]] = []
        while True:
            self._skip_newlines()
            t = self._peek()
            if self._is_kw(t, "esac"):
                self.p += 1
                return Case(word, arms, self._redirs())
            if self._is_op(t, "("):
                self.p += 1
            pats = [self._expect_word()]
            while self._is_op(self._peek(), "|"):
                self.p += 1
                pats.append(self._expect_word())
            self._expect_op(")")
            arms.append((pats, self._list(stop={"esac"})))
            if self._is_op(self._peek(), ";;"):
                self.p += 1
            elif not self._is_kw(self._peek(), "esac"):
                raise self._unexpected(self._peek())

    def _cond(self) -> Cond:
        first = self.toks[self.p]
        self.p += 1
        items: list[Word | str] = []
        while True:
            t = self._peek()
            if t is None:
                raise self._unexpected(None)
            self.p += 1
            if self._is_kw(t, "]]"):
                break
            if (t.kind == "op" and t.op in ("&&", "||", "(", ")")) or (
                t.kind == "redir" and t.op in ("<", ">")
            ):
                items.append(t.op)
            elif self._is_kw(t, "!"):
                items.append("!")
            elif t.kind == "word" and t.word is not None:
                items.append(t.word)
                if self._is_kw(t, "=~"):
                    items.append(self._regex_word())
            elif not self._is_op(t, "\n"):
                raise self._unexpected(t)
        if not items:
            raise self._unexpected(self.toks[self.p - 1])
        return Cond(items, self._redirs(), first.line)

    def _regex_word(self) -> Word:
        """The right side of ``=~``: its ``(``, ``|`` and ``)`` are regex, not shell."""
        segs: list[Segment] = []
        depth = 0
        while (t := self._peek()) is not None and not self._is_kw(t, "]]"):
            if t.kind == "op":
                if t.op in ("&&", "||", "\n") or (t.op == ")" and depth == 0):
                    break
                depth += {"(": 1, ")": -1}.get(t.op, 0)
                segs.append(("lit", t.op, False))
            elif t.kind == "word" and t.word is not None:
                segs.extend(t.word.segments)
            else:
                break
            self.p += 1
        if not segs:
            raise self._unexpected(self._peek())
        return Word(segs)


def parse(src: str) -> CmdList:
    """Parse a command line (or a script) into a :class:`CmdList`."""
    return Parser(src).parse()


def needs_more(src: str) -> list[str] | None:
    """What an interactive shell still has to read before it can run ``src``: None when
    ``src`` is complete (or wrong beyond repair), else the delimiters of its open here
    documents (an empty list: an open quote, bracket, compound command or trailing
    operator, which the next line may close)."""
    try:
        parser = Parser(src)
        if parser.lexer.open_heredocs:
            return list(parser.lexer.open_heredocs)
        parser.parse()
    except ShellSyntaxError as exc:
        if exc.message.startswith("unexpected EOF while looking for matching") or (
            exc.message == "syntax error: unexpected end of file"
        ):
            return []
    return None


def parse_operand(text: str) -> Word:
    """The word inside ``${VAR:-...}`` or ``$((...))``: quotes and expansions, no splitting."""
    return Lexer(text)._word(stop="")
