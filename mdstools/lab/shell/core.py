"""The :class:`Shell`: one bash process, running parsed command lines on a simulated server."""

from __future__ import annotations

import fnmatch
import posixpath
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from mdstools.lab import syntax
from mdstools.lab.model import Deployment, Rebooted, SimServer
from mdstools.lab.shell.arith import Arith
from mdstools.lab.shell.conditions import DoubleBracket
from mdstools.lab.shell.control import (
    BreakLoop,
    ExpansionError,
    FunctionReturn,
    Killed,
    ProgramUsageError,
    RedirectionError,
    ShellExit,
)
from mdstools.lab.shell.registry import BUILTINS, PROGRAMS
from mdstools.lab.shell.streams import IO, BufferSink, FileSink, NullSink, Sink, Source, TextSource
from mdstools.lab.vfs import VfsError, VirtualFS, normalize

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAX_LOOPS = 100_000


def glob_escape(text: str) -> str:
    """``text`` as a shell pattern that matches only itself."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def _reason(exc: VfsError) -> str:
    """The ``strerror`` part of a filesystem error."""
    return str(exc).rsplit(": ", 1)[-1]


DECLARATIONS = ("export", "local", "declare", "typeset", "readonly")


@dataclass
class Shell:
    """One bash process on a simulated server."""

    dep: Deployment
    server: SimServer
    user: str
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = "/home/admin"
    last_rc: int = 0
    last_bg: str = ""
    pid: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)
    boot: int = -1
    interactive: bool = False
    depth: int = 0
    args: list[str] = field(default_factory=list)  # $1 ...
    name0: str = "bash"  # $0, and the prefix of error messages outside scripts
    script: str = ""  # the script being run: errors read "script: line N: ..."
    line: int = 0
    functions: dict[str, syntax.FuncDef] = field(default_factory=dict)
    frames: list[dict[str, str | None]] = field(default_factory=list)  # locals of functions
    loops: int = 0
    returnable: int = 0  # inside a function or a sourced file
    job_rcs: dict[int, int | None] = field(default_factory=dict)  # own background jobs
    subst_rc: int | None = None
    options: set[str] = field(default_factory=set)  # "errexit" (set -e), "pipefail", ...
    cond: int = 0  # inside an if/while condition: set -e does not apply
    exempt: bool = False  # the last and-or list's status came from a tested command

    def __post_init__(self) -> None:
        if self.pid == 0:
            self.pid = self.server.next_pid()
        if self.boot < 0:
            self.boot = self.server.boot_count
        self.env.setdefault("PATH", BASE_PATH)
        self.env.setdefault("HOME", "/home/admin" if self.user == "admin" else f"/home/{self.user}")
        self.env.setdefault("USER", self.user)
        self.env.setdefault("SHELL", "/bin/bash")
        self.env.setdefault("HOSTNAME", self.server.name)

    # -- services for programs -----------------------------------------------------
    @property
    def vfs(self) -> VirtualFS:
        return self.server.vfs

    def path(self, p: str) -> str:
        return normalize(p, self.cwd)

    def where(self) -> str:
        """Prefix of bash's error messages: ``bash`` or ``script.sh: line 3``."""
        return f"{self.script}: line {self.line}" if self.script else self.name0

    def error(self, io: IO, text: str) -> None:
        io.eprint(f"{self.where()}: {text}")

    def _failed(self, io: IO, exc: Exception, rc: int) -> int:
        self.error(io, str(exc))
        if isinstance(exc, ExpansionError) and exc.fatal and not self.interactive:
            raise ShellExit(127)
        return rc

    def check_alive(self) -> None:
        if self.server.boot_count != self.boot or self.server.down_event.is_set():
            raise Rebooted()
        if self.cancel.is_set():
            raise Killed()

    def sleep(self, seconds: float) -> None:
        """Wait lab seconds; raises if the server reboots or the job is killed."""
        self.check_alive()
        if seconds <= 0:
            return
        clock = self.dep.clock
        if clock.manual:  # unit tests drive time themselves: waiting would never end
            clock.advance(seconds)
            self.check_alive()
            return
        down = self.server.down_event
        end = clock.now() + seconds
        while True:
            left = end - clock.now()
            if left <= 0:
                return
            if down.wait(min(left, 0.05)) or self.cancel.is_set():
                self.check_alive()

    def wait_until(self, lab_time: float) -> None:
        self.sleep(lab_time - self.dep.clock.now())

    def child(self) -> Shell:
        """A subshell: copies of the variables, functions, options and positional
        parameters; same pid (``$$``), job, cwd and boot."""
        return replace(
            self,
            env=dict(self.env),
            interactive=False,
            depth=self.depth + 1,
            args=list(self.args),
            functions=dict(self.functions),
            frames=[],
            loops=0,
            returnable=0,
            job_rcs={},
            subst_rc=None,
            options=set(self.options),
            cond=0,
        )

    # -- running ---------------------------------------------------------------------
    def run(self, src: str, io: IO) -> int:
        """Run a command line; returns its exit status. ``exit`` raises :class:`ShellExit`."""
        try:
            tree = syntax.parse(src)
        except syntax.ShellSyntaxError as exc:
            self._syntax_error(exc, io)
            self.last_rc = 2
            return 2
        except RecursionError:
            io.eprint(f"{self.name0}: command nested too deeply")
            self.last_rc = 2
            return 2
        try:
            return self.run_list(tree, io)
        except RecursionError:
            io.eprint(f"{self.name0}: maximum nesting level exceeded")
            self.last_rc = 2
            return 2

    def _syntax_error(self, exc: syntax.ShellSyntaxError, io: IO) -> None:
        if self.interactive:
            io.eprint(f"bash: {exc.message}")
            return
        where = self.script or f"{self.name0}: -c"
        io.eprint(f"{where}: line {exc.line}: {exc.message}")
        if exc.source_line is not None:
            io.eprint(f"{where}: line {exc.line}: `{exc.source_line}'")

    def run_list(self, lst: syntax.CmdList, io: IO) -> int:
        rc = self.last_rc
        for ao, bg in lst.items:
            if bg:
                self._background(ao, io)
                rc = 0
            else:
                rc = self._and_or(ao, io)
                if rc and "errexit" in self.options and not self.cond and not self.exempt:
                    raise ShellExit(rc)
            self.last_rc = rc
        return rc

    def _and_or(self, ao: syntax.AndOr, io: IO) -> int:
        rc = self._pipeline(ao.first, io)
        last = ao.first
        for op, pl in ao.rest:
            self.last_rc = rc
            if (op == "&&" and rc == 0) or (op == "||" and rc != 0):
                rc = self._pipeline(pl, io)
                last = pl
        self.exempt = last is not (ao.rest[-1][1] if ao.rest else ao.first) or last.negate
        return rc

    def _condition(self, lst: syntax.CmdList, io: IO) -> int:
        self.cond += 1
        try:
            return self.run_list(lst, io)
        finally:
            self.cond -= 1

    def _in_child(self, fn: Callable[..., int], *args: object) -> int:
        """``fn(subshell, *args)``: the subshell's ``exit`` only ends the subshell."""
        sub = self.child()
        try:
            return fn(sub, *args)
        except ShellExit as e:
            return e.code
        except (BreakLoop, FunctionReturn):
            return sub.last_rc

    def _pipeline(self, pl: syntax.Pipeline, io: IO) -> int:
        self.check_alive()
        if len(pl.cmds) == 1:
            rc = self._command(pl.cmds[0], io)
        else:
            data: Source = io.stdin
            rc = failed = 0
            for i, cmd in enumerate(pl.cmds):
                last = i == len(pl.cmds) - 1
                buf = BufferSink()
                sub = IO(
                    data,
                    io.out if last else buf,
                    io.err,
                    io.tty and last,
                    bool(io.in_tty) and i == 0,
                )
                rc = self._in_child(Shell._command, cmd, sub)
                data = TextSource(buf.getvalue())
                if rc and "pipefail" in self.options:
                    failed = rc
            rc = rc or failed
        if pl.negate:
            rc = 0 if rc else 1
        return rc

    def _background(self, ao: syntax.AndOr, io: IO) -> None:
        job = self.child()
        job.pid = self.server.next_pid()
        job.cancel = threading.Event()
        self.server.jobs[job.pid] = job.cancel
        self.last_bg = str(job.pid)
        self.job_rcs[job.pid] = None
        bg_io = IO(TextSource(""), io.out, io.err, False, False)

        def work() -> None:
            rc = 1
            try:
                rc = job._and_or(ao, bg_io)
            except ShellExit as e:
                rc = e.code
            except Killed:
                rc = 143
            except Rebooted:
                rc = 129
            except Exception as exc:  # a lab bug must not kill the server
                self.dep.log(f"{self.server.name}: background job {job.pid} crashed: {exc!r}")
            finally:
                self.job_rcs[job.pid] = rc
                self.server.jobs.pop(job.pid, None)
                self.server.job_threads.pop(job.pid, None)

        t = threading.Thread(target=work, name=f"job-{self.server.name}-{job.pid}", daemon=True)
        self.server.job_threads[job.pid] = t
        t.start()

    def _command(self, cmd: syntax.Command, io: IO) -> int:
        if isinstance(cmd, syntax.Simple):
            return self._simple(cmd, io)
        if isinstance(cmd, syntax.FuncDef):
            self.functions[cmd.name] = cmd
            return 0
        try:
            rio = self._redirect(cmd.redirs, io)
        except (RedirectionError, ExpansionError) as exc:
            return self._failed(io, exc, 1)
        if isinstance(cmd, syntax.Group):
            if cmd.subshell:
                return self._in_child(Shell.run_list, cmd.body, rio)
            return self.run_list(cmd.body, rio)
        if isinstance(cmd, syntax.If):
            for cond, body in cmd.branches:
                if self._condition(cond, rio) == 0:
                    return self.run_list(body, rio)
            return self.run_list(cmd.orelse, rio) if cmd.orelse else 0
        if isinstance(cmd, syntax.For):
            try:
                items = (
                    list(self.args)
                    if cmd.items is None
                    else [f for w in cmd.items for f in self.expand(w, io.err)]
                )
            except ExpansionError as exc:
                return self._failed(io, exc, 1)
            return self._loop(cmd.body, rio, items, cmd.name)
        if isinstance(cmd, syntax.While):
            return self._loop(cmd.body, rio, None, "", cmd.cond, cmd.until)
        if isinstance(cmd, syntax.Case):
            try:
                value = self.expand_one(cmd.word, io.err)
                for pats, body in cmd.arms:
                    if any(fnmatch.fnmatchcase(value, self.pattern(p, io.err)) for p in pats):
                        return self.run_list(body, rio)
            except ExpansionError as exc:
                return self._failed(io, exc, 1)
            return 0
        if isinstance(cmd, syntax.Cond):
            self.line = cmd.line
            try:
                return 0 if DoubleBracket(self, cmd.items, io.err).run() else 1
            except ExpansionError as exc:
                return self._failed(io, exc, 2)
        raise AssertionError(cmd)

    def _loop(
        self,
        body: syntax.CmdList,
        io: IO,
        items: list[str] | None,
        name: str,
        cond: syntax.CmdList | None = None,
        until: bool = False,
    ) -> int:
        """``for`` over ``items``, or ``while``/``until`` ``cond``; handles break/continue."""
        rc = 0
        self.loops += 1
        try:
            for n in range(MAX_LOOPS if items is None else len(items)):
                self.check_alive()
                if items is not None:
                    self.env[name] = items[n]
                elif cond is not None and (self._condition(cond, io) == 0) == until:
                    return rc
                try:
                    rc = self.run_list(body, io)
                except BreakLoop as b:
                    if b.levels > 1:
                        b.levels -= 1
                        raise
                    if not b.cont:
                        return 0
            if items is None:
                self.error(io, f"loop stopped by the lab after {MAX_LOOPS} iterations")
                return 1
            return rc
        finally:
            self.loops -= 1

    def _simple(self, cmd: syntax.Simple, io: IO) -> int:
        self.line = cmd.line
        self.subst_rc = None
        try:
            assigns = [(n, self.expand_one(w, io.err, tilde=True)) for n, w in cmd.assigns]
            argv = self._words(cmd.words, io)
        except ExpansionError as exc:
            return self._failed(io, exc, 1)
        if not argv:
            for name, value in assigns:
                self._assign(name, value)
            if cmd.redirs:
                try:
                    self._redirect(cmd.redirs, io)
                except (RedirectionError, ExpansionError) as exc:
                    return self._failed(io, exc, 1)
            return self.subst_rc or 0
        try:
            rio = self._redirect(cmd.redirs, io)
        except (RedirectionError, ExpansionError) as exc:
            return self._failed(io, exc, 1)
        latency = self.dep.timings.command_latency
        if latency:
            self.sleep(self.dep.clock.dur(latency))
        if not assigns:
            return self.exec(argv, rio)
        saved = {n.rstrip("+"): self.env.get(n.rstrip("+")) for n, _ in assigns}
        for name, value in assigns:
            self._assign(name, value)
        try:
            return self.exec(argv, rio)
        finally:
            for k, v in saved.items():
                if v is None:
                    self.env.pop(k, None)
                else:
                    self.env[k] = v

    def _words(self, words: list[syntax.Word], io: IO) -> list[str]:
        """Expand a command's words; ``local x=$(cmd)`` and the like are not split."""
        out: list[str] = []
        decl = bool(words) and words[0].is_plain() and words[0].literal() in DECLARATIONS
        for k, w in enumerate(words):
            first = w.segments[0] if w.segments else None
            if (
                decl
                and k
                and first is not None
                and first[0] == "lit"
                and not first[2]
                and re.match(r"[A-Za-z_]\w*\+?=", first[1])
            ):
                out.append(self.expand_one(w, io.err, tilde=True))
            else:
                out.extend(self.expand(w, io.err))
        return out

    def _assign(self, name: str, value: str) -> None:
        if name.endswith("+"):
            name = name[:-1]
            value = self.env.get(name, "") + value
        self.env[name] = value

    def resolve(self, name: str) -> tuple[str, str] | None:
        """(handler, path) of a program, searching ``PATH`` like bash."""
        if "/" in name:
            p = self.path(name)
            f = self.vfs.get(p)
            if f is None:
                return ("__dir__", p) if self.vfs.is_dir(p) else None
            return (f.handler or "__script__", p)
        for d in self.env.get("PATH", "").split(":"):
            if not d:
                continue
            p = posixpath.join(d, name)
            f = self.vfs.get(p)
            if f is not None and f.handler:
                return (f.handler, p)
        return None

    def exec(self, argv: list[str], io: IO) -> int:
        """Run one command (function, builtin or program) with expanded arguments."""
        name = argv[0]
        prog = posixpath.basename(name)
        try:
            if name in self.functions:
                return self.call_function(self.functions[name], argv[1:], io)
            if name in BUILTINS:
                return BUILTINS[name](self, argv, io)
            found = self.resolve(name)
            if found is None:
                if "/" in name:
                    self.error(io, f"{name}: No such file or directory")
                else:
                    self.error(io, f"{name}: command not found")
                return 127
            handler, path = found
            if handler == "__script__":
                return self.run_script(path, argv[1:], io, shown=name)
            if handler == "__dir__":
                self.error(io, f"{name}: Is a directory")
                return 126
            fn = PROGRAMS.get(handler)
            if fn is None:
                self.error(io, f"{name}: cannot execute binary file")
                return 126
            return fn(self, argv, io)
        except VfsError as exc:
            text = str(exc)
            if text.endswith("No space left on device"):
                text = "write error: No space left on device"
            if name in BUILTINS:
                self.error(io, f"{name}: {text}")
            else:
                io.eprint(f"{prog}: {text}")
            return 1
        except ProgramUsageError as exc:
            io.eprint(f"{prog}: {exc.message}")
            if exc.hint:
                io.eprint(f"Try '{prog} --help' for more information.")
            return exc.rc

    def call_function(self, fn: syntax.FuncDef, args: list[str], io: IO) -> int:
        saved = self.args
        self.args = list(args)
        self.frames.append({})
        self.returnable += 1
        try:
            rio = self._redirect(fn.redirs, io)
            return self._command(fn.body, rio)
        except FunctionReturn as r:
            return r.code
        except (RedirectionError, ExpansionError) as exc:
            return self._failed(io, exc, 1)
        finally:
            self.returnable -= 1
            for k, v in self.frames.pop().items():
                if v is None:
                    self.env.pop(k, None)
                else:
                    self.env[k] = v
            self.args = saved

    def run_script(
        self,
        path: str,
        args: list[str],
        io: IO,
        in_place: bool = False,
        shown: str | None = None,
    ) -> int:
        """Run a script file in a child shell, or in this one (``source``)."""
        shown = shown or path
        try:
            text = self.vfs.read_text(path)
        except VfsError as exc:
            self.error(io, f"{shown}: {_reason(exc)}")
            return 1 if in_place else 126 if self.vfs.is_dir(path) else 127
        if not in_place:
            sh = self.child()
            sh.args, sh.name0, sh.script, sh.functions = list(args), shown, shown, {}
            try:
                return sh.run(text, io)
            except ShellExit as e:
                return e.code
        saved = (self.args, self.script, self.line)
        if args:
            self.args = list(args)
        self.script = shown
        self.returnable += 1
        try:
            return self.run(text, io)
        except FunctionReturn as r:
            return r.code
        finally:
            self.returnable -= 1
            self.args, self.script, self.line = saved

    # -- expansion -------------------------------------------------------------------
    def _special(self, name: str) -> str | None:
        """Value of a parameter (None when unset)."""
        if name == "?":
            return str(self.last_rc)
        if name == "!":
            return self.last_bg or None
        if name == "$":
            return str(self.pid)
        if name == "#":
            return str(len(self.args))
        if name in "@*":
            return " ".join(self.args)
        if name == "-":
            return "hB"
        if name.isdigit():
            n = int(name)
            if n == 0:
                return self.name0
            return self.args[n - 1] if n <= len(self.args) else None
        return self.env.get(name)

    def param(self, expr: str, err: Sink | None = None) -> str:
        """Value of ``${expr}``: ``VAR``, ``#VAR``, ``VAR:-word``, ``VAR#pattern``, ..."""
        bad = ExpansionError(f"${{{expr}}}: bad substitution")
        if expr.startswith("#") and len(expr) > 1:
            if not re.fullmatch(r"[A-Za-z_]\w*|\d+|[@*]", expr[1:]):
                raise bad
            if expr[1:] in "@*":
                return str(len(self.args))
            return str(len(self._special(expr[1:]) or ""))
        m = re.fullmatch(r"([A-Za-z_]\w*|\d+|[?!$#@*\-])(.*)", expr, re.S)
        if m is None:
            raise bad
        name, rest = m.groups()
        val = self._special(name)
        if not rest:
            return val or ""
        for op in (":-", ":=", ":+", ":?", "-", "=", "+", "?"):
            if rest.startswith(op):
                word = rest[len(op) :]
                null = val is None or (op[0] == ":" and val == "")
                kind = op[-1]
                if kind == "-":
                    return self._operand(word, err) if null else val or ""
                if kind == "=":
                    if null:
                        self.env[name] = self._operand(word, err)
                    return self.env.get(name, "")
                if kind == "+":
                    return "" if null else self._operand(word, err)
                if null:
                    msg = self._operand(word, err) or "parameter null or not set"
                    raise ExpansionError(f"{name}: {msg}", fatal=True)
                return val or ""
        value = val or ""
        if rest.startswith(":"):
            off, _, length = rest[1:].partition(":")
            start = self.arith(off, err) if off.strip() else 0
            start = max(0, len(value) + start) if start < 0 else start
            if not length:
                return value[start:]
            n = self.arith(length, err)
            return value[start : start + n] if n >= 0 else value[start : len(value) + n]
        for op in ("##", "#", "%%", "%"):
            if rest.startswith(op):
                rx = re.compile(fnmatch.translate(self.pattern(rest[len(op) :], err)))
                idx = range(len(value) + 1)
                if op == "#":
                    return next((value[k:] for k in idx if rx.match(value[:k])), value)
                if op == "##":
                    return next((value[k:] for k in reversed(idx) if rx.match(value[:k])), value)
                if op == "%":
                    return next((value[:k] for k in reversed(idx) if rx.match(value[k:])), value)
                return next((value[:k] for k in idx if rx.match(value[k:])), value)
        if rest.startswith("/"):
            every = rest.startswith("//")
            pat, _, rep = rest[2 if every else 1 :].partition("/")
            rx = re.compile(fnmatch.translate(self.pattern(pat, err)))
            return _replace(value, rx, self._operand(rep, err), every)
        cases = {"^^": str.upper, ",,": str.lower}
        if rest in cases:
            return cases[rest](value)
        raise bad

    def _operand(self, text: str, err: Sink | None) -> str:
        return self.expand_one(syntax.parse_operand(text), err, tilde=True)

    def pattern(self, word: syntax.Word | str, err: Sink | None = None) -> str:
        """A word as a glob pattern: quoted parts match literally."""
        if isinstance(word, str):
            word = syntax.parse_operand(word)
        parts: list[str] = []
        for kind, value, quoted in word.segments:
            text = value if kind == "lit" else self._segment(kind, value, err)
            parts.append(glob_escape(text) if quoted else text)
        return "".join(parts)

    def _segment(self, kind: str, value: str, err: Sink | None) -> str:
        if kind == "var":
            return self.param(value, err)
        if kind == "arith":
            return str(self.arith(value, err))
        return self.substitute(value, err)

    def substitute(self, src: str, err: Sink | None = None) -> str:
        """Output of ``$(src)``, without its trailing newlines."""
        buf = BufferSink()
        sub = self.child()
        sub.options.discard("errexit")
        try:
            rc = sub.run(src, IO(TextSource(""), buf, err or NullSink()))
        except ShellExit as e:
            rc = e.code
        except FunctionReturn as r:
            rc = r.code
        self.subst_rc = rc
        return buf.getvalue().rstrip("\n")

    def arith(self, src: str, err: Sink | None = None) -> int:
        """Value of ``$((src))``."""
        return Arith(self, self.expand_one(syntax.parse_operand(src), err)).value()

    def expand(self, word: syntax.Word, err: Sink | None = None) -> list[str]:
        """Fields of a word after expansion, word splitting and globbing."""
        fields: list[list[tuple[str, bool]]] = [[]]
        kept: list[bool] = [False]

        def new_field() -> None:
            fields.append([])
            kept.append(False)

        for idx, (kind, value, quoted) in enumerate(word.segments):
            if kind == "lit":
                text = self._tilde(value) if idx == 0 and not quoted else value
                fields[-1].append((text, quoted))
                kept[-1] = kept[-1] or quoted or bool(text)
                continue
            if kind == "var" and value == "@" and quoted:
                for k, a in enumerate(self.args):
                    if k:
                        new_field()
                    fields[-1].append((a, True))
                    kept[-1] = True
                continue
            text = self._segment(kind, value, err)
            if quoted:
                fields[-1].append((text, True))
                kept[-1] = True
                continue
            ifs = self.env.get("IFS", " \t\n")
            pieces = re.split(f"[{re.escape(ifs)}]+", text) if ifs else [text]
            for k, piece in enumerate(pieces):
                if k:
                    new_field()
                if piece:
                    fields[-1].append((piece, False))
                    kept[-1] = True
        out: list[str] = []
        for pieces_, keep in zip(fields, kept, strict=True):
            if not keep:
                continue
            text = "".join(t for t, _ in pieces_)
            if any(not q and any(c in t for c in "*?[") for t, q in pieces_):
                pat = "".join(t if not q else glob_escape(t) for t, q in pieces_)
                hits = self.vfs.glob(pat, self.cwd)
                if hits:
                    out.extend(hits)
                    continue
            out.append(text)
        return out

    def _tilde(self, text: str) -> str:
        if text == "~" or text.startswith("~/"):
            return self.env.get("HOME", "/") + text[1:]
        return text

    def expand_one(self, word: syntax.Word, err: Sink | None = None, tilde: bool = False) -> str:
        """A word expanded without field splitting (assignments, redirection targets)."""
        parts: list[str] = []
        for idx, (kind, value, quoted) in enumerate(word.segments):
            if kind == "lit":
                parts.append(self._tilde(value) if tilde and idx == 0 and not quoted else value)
            else:
                parts.append(self._segment(kind, value, err))
        return "".join(parts)

    # -- redirection -----------------------------------------------------------------
    def _redirect(self, redirs: list[syntax.Redirect], io: IO) -> IO:
        if not redirs:
            return io
        fds: dict[int, Sink] = {1: io.out, 2: io.err}
        stdin = io.stdin
        for r in redirs:
            if r.op == ">&":
                assert r.dup is not None
                if r.dup not in fds:
                    raise RedirectionError(f"{r.dup}: Bad file descriptor")
                fds[r.fd] = fds[r.dup]
                continue
            assert r.target is not None
            if r.op == "<<":
                stdin = TextSource(self.expand_one(r.target, io.err))
                continue
            target = self.expand_one(r.target, io.err, tilde=True)
            if r.op == "<<<":
                stdin = TextSource(target + "\n")
                continue
            if r.op == "<":
                if target == "/dev/null":
                    stdin = TextSource("")
                    continue
                try:
                    stdin = TextSource(self.vfs.read_text(self.path(target)))
                except VfsError as exc:
                    raise RedirectionError(f"{target}: {_reason(exc)}") from None
                continue
            sink: Sink
            if target == "/dev/null":
                sink = NullSink()
            elif target == "/dev/stdout":
                sink = io.out
            elif target == "/dev/stderr":
                sink = io.err
            else:
                try:
                    sink = FileSink(
                        self,
                        self.path(target),
                        append=r.op in (">>", "&>>"),
                        exclusive=r.op in (">", "&>") and "noclobber" in self.options,
                    )
                except VfsError as exc:
                    raise RedirectionError(f"{target}: {_reason(exc)}") from None
            if r.op in ("&>", "&>>"):
                fds[1] = fds[2] = sink
            else:
                fds[r.fd] = sink
        return IO(
            stdin,
            fds[1],
            fds[2],
            io.tty and fds[1] is io.out,
            bool(io.in_tty) and stdin is io.stdin,
        )


def _replace(value: str, rx: re.Pattern[str], rep: str, every: bool) -> str:
    """``${VAR/pattern/rep}``: leftmost longest matches."""
    out: list[str] = []
    i = 0
    while i <= len(value):
        end = next((e for e in range(len(value), i - 1, -1) if rx.match(value[i:e])), None)
        if end is None or end == i:
            if i < len(value):
                out.append(value[i])
            i += 1
            continue
        out.append(rep)
        i = end
        if not every:
            out.append(value[i:])
            return "".join(out)
    return "".join(out)
