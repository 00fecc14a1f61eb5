"""The lab's bash: runs parsed command lines against one simulated server.

A :class:`Shell` holds what a bash process holds (variables, positional parameters,
functions, working directory, ``$?``, ``$!``) and runs programs found on ``PATH`` in the
server's virtual filesystem. Programs are Python functions registered with
:func:`program`; they receive the shell, their arguments and an :class:`IO`. Builtins
(``cd``, ``echo``, ``test``, ``kill``, ...) are registered with :func:`builtin`.

Simplifications, each deliberate: a pipeline runs its commands one after the other
through buffers (no streaming); every variable is exported; the only processes are the
jobs started with ``&`` (what ``kill`` and ``wait`` know); ``set -e``, ``pipefail`` and
``noclobber`` work, other options and traps are accepted and ignored; arrays, ``(( ))``
and process substitution are refused as syntax errors that say so.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from mdstools.lab import syntax
from mdstools.lab.model import Deployment, Rebooted, SimServer
from mdstools.lab.vfs import VfsError, VirtualFS, normalize

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAX_LOOPS = 100_000


class Sink(Protocol):
    def write(self, text: str) -> None: ...


class NullSink:
    def write(self, text: str) -> None:
        pass


class BufferSink:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def getvalue(self) -> str:
        return "".join(self.parts)


class FileSink:
    """Appends to a file of the virtual filesystem as output arrives.

    ``exclusive`` (``>`` under ``set -o noclobber``) creates the file only if it does not
    exist yet, in one step, as bash's ``O_EXCL`` open does.
    """

    def __init__(self, sh: Shell, path: str, append: bool, exclusive: bool = False) -> None:
        self.vfs = sh.server.vfs
        self.path = path
        if exclusive:
            self.vfs.create(path)
        elif not append or not self.vfs.is_file(path):
            self.vfs.write(path, b"")

    def write(self, text: str) -> None:
        self.vfs.write(self.path, text, append=True)


class Source(Protocol):
    def read(self) -> str: ...

    def readline(self) -> str: ...


class TextSource:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def read(self) -> str:
        out = self.text[self.pos :]
        self.pos = len(self.text)
        return out

    def readline(self) -> str:
        if self.pos >= len(self.text):
            return ""
        end = self.text.find("\n", self.pos)
        end = len(self.text) if end < 0 else end + 1
        out = self.text[self.pos : end]
        self.pos = end
        return out


@dataclass
class IO:
    """Standard streams of one program run; ``tty``: stdout is the user's terminal,
    ``in_tty``: stdin is (defaults to ``tty``)."""

    stdin: Source
    out: Sink
    err: Sink
    tty: bool = False
    in_tty: bool | None = None

    def __post_init__(self) -> None:
        if self.in_tty is None:
            self.in_tty = self.tty

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def eprint(self, text: str) -> None:
        self.err.write(text + "\n")


Program = Callable[["Shell", list[str], IO], int]
PROGRAMS: dict[str, Program] = {}


def program(*names: str) -> Callable[[Program], Program]:
    """Register a simulated program under one or more handler names."""

    def deco(fn: Program) -> Program:
        for n in names:
            PROGRAMS[n] = fn
        return fn

    return deco


class ProgramUsageError(Exception):
    """Bad usage of a program: the shell prints ``prog: message`` (and GNU's ``Try 'prog
    --help' for more information.`` when ``hint``) and the program exits with ``rc``."""

    def __init__(self, message: str, rc: int = 1, hint: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.rc = rc
        self.hint = hint


class ShellExit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Killed(Exception):
    """The job was killed (``kill PID``) or timed out (``timeout``)."""


class _Break(Exception):
    def __init__(self, levels: int, cont: bool) -> None:
        super().__init__(levels)
        self.levels = levels
        self.cont = cont


class _Return(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _RedirError(Exception):
    pass


class _ExpansionError(Exception):
    def __init__(self, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal  # ${VAR:?msg}: a non-interactive shell exits


BUILTINS: dict[str, Program] = {}


def builtin(*names: str) -> Callable[[Program], Program]:
    def deco(fn: Program) -> Program:
        for n in names:
            BUILTINS[n] = fn
        return fn

    return deco


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
        if isinstance(exc, _ExpansionError) and exc.fatal and not self.interactive:
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
        except (_Break, _Return):
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
        except (_RedirError, _ExpansionError) as exc:
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
            except _ExpansionError as exc:
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
            except _ExpansionError as exc:
                return self._failed(io, exc, 1)
            return 0
        if isinstance(cmd, syntax.Cond):
            self.line = cmd.line
            try:
                return 0 if _Cond(self, cmd.items, io.err).run() else 1
            except _ExpansionError as exc:
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
                except _Break as b:
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
        except _ExpansionError as exc:
            return self._failed(io, exc, 1)
        if not argv:
            for name, value in assigns:
                self._assign(name, value)
            if cmd.redirs:
                try:
                    self._redirect(cmd.redirs, io)
                except (_RedirError, _ExpansionError) as exc:
                    return self._failed(io, exc, 1)
            return self.subst_rc or 0
        try:
            rio = self._redirect(cmd.redirs, io)
        except (_RedirError, _ExpansionError) as exc:
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
        except _Return as r:
            return r.code
        except (_RedirError, _ExpansionError) as exc:
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
        except _Return as r:
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
        bad = _ExpansionError(f"${{{expr}}}: bad substitution")
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
                    raise _ExpansionError(f"{name}: {msg}", fatal=True)
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
        except _Return as r:
            rc = r.code
        self.subst_rc = rc
        return buf.getvalue().rstrip("\n")

    def arith(self, src: str, err: Sink | None = None) -> int:
        """Value of ``$((src))``."""
        return _Arith(self, self.expand_one(syntax.parse_operand(src), err)).value()

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
                    raise _RedirError(f"{r.dup}: Bad file descriptor")
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
                    raise _RedirError(f"{target}: {_reason(exc)}") from None
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
                    raise _RedirError(f"{target}: {_reason(exc)}") from None
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


class _Arith:
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
        raise _ExpansionError(f'{self.src.strip()}: {what} (error token is "{token}")')

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
        return _Arith(self.sh, raw, self.depth + 1).value()

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


class _Cond:
    """Evaluates ``[[ ... ]]``."""

    def __init__(self, sh: Shell, items: list[syntax.Word | str], err: Sink) -> None:
        self.sh, self.items, self.err, self.k = sh, items, err, 0

    def run(self) -> bool:
        v = self._or()
        if self.k < len(self.items):
            raise _ExpansionError("syntax error in conditional expression")
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
                raise _ExpansionError("syntax error in conditional expression")
            self.k += 1
            return v
        return self._primary()

    def _word(self) -> syntax.Word:
        if self.k >= len(self.items) or isinstance(self.items[self.k], str):
            raise _ExpansionError("syntax error in conditional expression")
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


# -- test / [ ------------------------------------------------------------------------

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
        raise _ExpansionError(f"{bad}: integer expression expected") from None
    return {"-eq": x == y, "-ne": x != y, "-lt": x < y, "-le": x <= y, "-gt": x > y, "-ge": x >= y}[
        op
    ]


def _test_expr(sh: Shell, args: list[str]) -> bool:
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
        raise _ExpansionError(f"{args[0]}: unary operator expected")
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
            return not _test_expr(sh, args[1:])
        if a == "(" and b == ")":
            return op != ""
        raise _ExpansionError(f"{op}: binary operator expected")
    if n == 4 and args[0] == "!":
        return not _test_expr(sh, args[1:])
    for join in ("-o", "-a"):
        if join in args[1:-1]:
            i = len(args) - 1 - args[::-1].index(join) if join == "-o" else args.index(join, 1)
            left, right = _test_expr(sh, args[:i]), _test_expr(sh, args[i + 1 :])
            return (left or right) if join == "-o" else (left and right)
    if args[0] == "(" and args[-1] == ")":
        return _test_expr(sh, args[1:-1])
    raise _ExpansionError("too many arguments")


# -- builtins ------------------------------------------------------------------------


@builtin("exit")
def _exit(sh: Shell, argv: list[str], io: IO) -> int:
    code = sh.last_rc
    if len(argv) > 1:
        try:
            code = int(argv[1]) & 0xFF
        except ValueError:
            sh.error(io, f"exit: {argv[1]}: numeric argument required")
            code = 2
    raise ShellExit(code)


@builtin("true", ":")
def _true(sh: Shell, argv: list[str], io: IO) -> int:
    return 0


@builtin("false")
def _false(sh: Shell, argv: list[str], io: IO) -> int:
    return 1


_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "\\": "\\",
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "r": "\r",
    "v": "\v",
}


def backslash_escapes(text: str) -> tuple[str, bool]:
    """``echo -e``/``printf`` escapes; the flag is False after ``\\c`` (stop output)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\" or i + 1 >= len(text):
            out.append(c)
            i += 1
            continue
        n = text[i + 1]
        if n in _ESCAPES:
            out.append(_ESCAPES[n])
            i += 2
        elif n == "c":
            return "".join(out), False
        elif n == "0" or n in "1234567":
            m = re.match(r"0?[0-7]{1,3}", text[i + 1 :])
            assert m is not None
            out.append(chr(int(m.group(0), 8) & 0xFF))
            i += 1 + len(m.group(0))
        elif n == "x" and (m := re.match(r"[0-9a-fA-F]{1,2}", text[i + 2 :])):
            out.append(chr(int(m.group(0), 16)))
            i += 2 + len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out), True


@builtin("echo")
def _echo(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    newline, escapes = True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        flag = args.pop(0)
        newline = newline and "n" not in flag
        for c in flag[1:]:
            escapes = c == "e" if c in "eE" else escapes
    text = " ".join(args)
    if escapes:
        text, go_on = backslash_escapes(text)
        newline = newline and go_on
    io.out.write(text + ("\n" if newline else ""))
    return 0


_PRINTF = re.compile(r"%([-+ 0#]*)(\*|\d+)?(?:\.(\*|\d+))?([diouxXfFeEgGcsbq%])")


def _printf_number(sh: Shell, io: IO, val: str, conv: str) -> int | float:
    text = val.strip()
    if not text:
        return 0
    if text[0] in "'\"" and len(text) > 1:
        return ord(text[1])
    try:
        if conv in "fFeEgG":
            return float(text)
        return int(text, 16) if text.lower().startswith(("0x", "-0x")) else int(text)
    except ValueError:
        sh.error(io, f"printf: {val}: invalid number")
        return 0


@builtin("printf")
def _printf(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if args and args[0] == "-v":
        sh.error(io, "printf: -v is not supported by the lab shell")
        return 2
    if not args:
        sh.error(io, "printf: usage: printf [-v var] format [arguments]")
        return 2
    fmt, args = args[0], args[1:]
    out: list[str] = []
    while True:
        used = 0
        pos = 0
        for m in _PRINTF.finditer(fmt):
            text, go_on = backslash_escapes(fmt[pos : m.start()])
            out.append(text)
            if not go_on:
                io.out.write("".join(out))
                return 0
            pos = m.end()
            flags, width, prec, conv = m.groups()
            if conv == "%":
                out.append("%")
                continue
            if width == "*":
                width = args[used] if used < len(args) else "0"
                used += 1
            if prec == "*":
                prec = args[used] if used < len(args) else "0"
                used += 1
            val = args[used] if used < len(args) else ""
            used += 1
            spec = "%" + flags + (width or "") + (f".{prec}" if prec is not None else "")
            if conv in "sq":
                out.append((spec + "s") % val)
            elif conv == "b":
                out.append((spec + "s") % backslash_escapes(val)[0])
            elif conv == "c":
                out.append((spec + "s") % val[:1])
            else:
                num = _printf_number(sh, io, val, conv)
                pyconv = "d" if conv in "iu" else conv
                if pyconv in "doxX":
                    num = int(num)
                out.append((spec + pyconv) % num)
        tail, _ = backslash_escapes(fmt[pos:])
        out.append(tail)
        args = args[used:]
        if not args or used == 0:
            break
    io.out.write("".join(out))
    return 0


@builtin("cd")
def _cd(sh: Shell, argv: list[str], io: IO) -> int:
    args = [a for a in argv[1:] if a not in ("-L", "-P")]
    target = args[0] if args else sh.env.get("HOME", "/")
    if target == "-":
        target = sh.env.get("OLDPWD", sh.cwd)
        io.print(target)
    path = sh.path(target)
    if not sh.vfs.is_dir(path):
        why = "Not a directory" if sh.vfs.is_file(path) else "No such file or directory"
        sh.error(io, f"cd: {target}: {why}")
        return 1
    sh.env["OLDPWD"] = sh.cwd
    sh.cwd = path
    sh.env["PWD"] = path
    return 0


@builtin("pwd")
def _pwd(sh: Shell, argv: list[str], io: IO) -> int:
    io.print(sh.cwd)
    return 0


@builtin("export", "declare", "typeset", "readonly", "local")
def _declare(sh: Shell, argv: list[str], io: IO) -> int:
    names = [a for a in argv[1:] if not a.startswith(("-", "+"))]
    if argv[0] == "local" and not sh.frames:
        sh.error(io, "local: can only be used in a function")
        return 1
    if not names and argv[0] in ("export", "declare", "typeset"):
        for k, v in sorted(sh.env.items()):
            io.print(f'declare -x {k}="{v}"')
        return 0
    for a in names:
        name, eq, value = a.partition("=")
        append = name.endswith("+")
        name = name.rstrip("+")
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            sh.error(io, f"{argv[0]}: `{a}': not a valid identifier")
            return 1
        if argv[0] == "local" and name not in sh.frames[-1]:
            sh.frames[-1][name] = sh.env.get(name)
        if eq:
            sh.env[name] = sh.env.get(name, "") + value if append else value
        elif argv[0] == "local":
            sh.env[name] = ""
        else:
            sh.env.setdefault(name, "")
    return 0


@builtin("unset")
def _unset(sh: Shell, argv: list[str], io: IO) -> int:
    funcs = "-f" in argv[1:]
    for a in argv[1:]:
        if not a.startswith("-"):
            (sh.functions if funcs else sh.env).pop(a, None)
    return 0


@builtin("set")
def _set(sh: Shell, argv: list[str], io: IO) -> int:
    """``set -- args`` sets the positional parameters; ``-e``, ``-o pipefail`` and
    ``-o noclobber`` (``-C``: ``>`` refuses an existing file, ``>|`` overrides) work, the
    other options are accepted and ignored."""
    args = argv[1:]
    if not args:
        for k, v in sorted(sh.env.items()):
            io.print(f"{k}={v}")
        return 0
    names = {"e": "errexit", "C": "noclobber"}
    while args:
        a = args.pop(0)
        if a == "--" or a[0] not in "-+" or len(a) < 2:
            sh.args = args if a == "--" else [a, *args]
            break
        for c in a[1:]:
            name = (args.pop(0) if args else "") if c == "o" else names.get(c, c)
            (sh.options.add if a[0] == "-" else sh.options.discard)(name)
    return 0


@builtin("shopt", "ulimit", "umask", "trap", "alias", "unalias", "hash", "disown", "history")
def _ignored(sh: Shell, argv: list[str], io: IO) -> int:
    return 0


@builtin("shift")
def _shift(sh: Shell, argv: list[str], io: IO) -> int:
    n = int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 1
    if n > len(sh.args):
        return 1
    sh.args = sh.args[n:]
    return 0


@builtin("break", "continue")
def _break(sh: Shell, argv: list[str], io: IO) -> int:
    if not sh.loops:
        sh.error(io, f"{argv[0]}: only meaningful in a `for', `while', or `until' loop")
        return 0
    n = int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 1
    raise _Break(max(1, min(n, sh.loops)), argv[0] == "continue")


@builtin("return")
def _return(sh: Shell, argv: list[str], io: IO) -> int:
    if not sh.returnable:
        sh.error(io, "return: can only `return' from a function or sourced script")
        return 1
    raise _Return(
        int(argv[1]) & 0xFF if len(argv) > 1 and argv[1].lstrip("-").isdigit() else sh.last_rc
    )


@builtin("let")
def _let(sh: Shell, argv: list[str], io: IO) -> int:
    """``let EXPR...`` and ``(( EXPR ))``: 0 when the last value is not zero."""
    value = 0
    for expr in argv[1:]:
        try:
            value = sh.arith(expr, io.err)
        except _ExpansionError as exc:
            sh.error(io, str(exc))
            return 1
    return 0 if value else 1


@builtin("eval")
def _eval(sh: Shell, argv: list[str], io: IO) -> int:
    return sh.run(" ".join(argv[1:]), io)


@builtin("exec")
def _exec(sh: Shell, argv: list[str], io: IO) -> int:
    """``exec cmd``: run it and end the shell with its status (redirection-only ``exec``
    is not made permanent by the lab)."""
    if len(argv) < 2:
        return 0
    raise ShellExit(sh.exec(argv[1:], io))


@builtin("source", ".")
def _source(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) < 2:
        sh.error(io, f"{argv[0]}: filename argument required")
        io.eprint(f"{argv[0]}: usage: {argv[0]} filename [arguments]")
        return 2
    path = sh.path(argv[1])
    if not sh.vfs.is_file(path):
        sh.error(io, f"{argv[1]}: No such file or directory")
        return 1
    return sh.run_script(path, argv[2:], io, in_place=True, shown=argv[1])


@builtin("test", "[")
def _test(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if argv[0] == "[":
        if not args or args[-1] != "]":
            sh.error(io, "[: missing `]'")
            return 2
        args = args[:-1]
    try:
        return 0 if _test_expr(sh, args) else 1
    except _ExpansionError as exc:
        sh.error(io, f"{argv[0]}: {exc}")
        return 2


@builtin("kill")
def _kill(sh: Shell, argv: list[str], io: IO) -> int:
    """Jobs started with ``&`` on this server are the processes ``kill`` knows."""
    args = argv[1:]
    check_only = False
    while args and args[0].startswith("-") and args[0] != "--":
        opt = args.pop(0)
        if opt in ("-s", "-n") and args:
            args.pop(0)
        elif opt == "-l":
            io.print(" 1) SIGHUP\t 2) SIGINT\t 3) SIGQUIT\t 9) SIGKILL\t15) SIGTERM")
            return 0
        check_only = check_only or opt == "-0"
    if args and args[0] == "--":
        args.pop(0)
    if not args:
        sh.error(io, "kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ...")
        return 2
    rc = 0
    for a in args:
        try:
            pid = int(a)
        except ValueError:
            sh.error(io, f"kill: {a}: arguments must be process or job IDs")
            rc = 1
            continue
        ev = sh.server.jobs.get(pid)
        if ev is None and pid != sh.pid:
            sh.error(io, f"kill: ({pid}) - No such process")
            rc = 1
        elif ev is not None and not check_only:
            ev.set()
    return rc


@builtin("wait")
def _wait(sh: Shell, argv: list[str], io: IO) -> int:
    args = [a for a in argv[1:] if not a.startswith("-")]
    rc = 0
    for a in args or [str(p) for p in sh.job_rcs]:
        if not a.isdigit() or int(a) not in sh.job_rcs:
            sh.error(io, f"wait: pid {a} is not a child of this shell")
            rc = 127
            continue
        pid = int(a)
        while (t := sh.server.job_threads.get(pid)) is not None and t.is_alive():
            sh.check_alive()
            t.join(0.05)
        while sh.job_rcs.get(pid) is None:  # the thread is finishing
            sh.check_alive()
            threading.Event().wait(0.01)
        code = sh.job_rcs.pop(pid) or 0
        rc = code if args else rc
    return rc


@builtin("read")
def _read(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    names: list[str] = []
    raw = False
    while args:
        a = args.pop(0)
        if a in ("-p", "-t", "-u", "-n", "-N", "-d") and args:
            value = args.pop(0)
            if a == "-p":
                io.err.write(value)
        elif a.startswith("-") and len(a) > 1:
            raw = raw or "r" in a
        else:
            names.append(a)
    names = names or ["REPLY"]
    line = io.stdin.readline()
    if not line:
        for n in names:
            sh.env[n] = ""
        return 1
    text = line.rstrip("\n")
    if not raw:
        text = re.sub(r"\\(.)", r"\1", text)
    if names == ["REPLY"]:
        sh.env["REPLY"] = text
        return 0
    ifs = sh.env.get("IFS", " \t\n")
    parts = (
        re.split(f"[{re.escape(ifs)}]+", text.strip(ifs), maxsplit=len(names) - 1)
        if ifs
        else [text]
    )
    for i, n in enumerate(names):
        sh.env[n] = parts[i] if i < len(parts) else ""
    return 0


@builtin("type", "command", "which")
def _which(sh: Shell, argv: list[str], io: IO) -> int:
    args = [a for a in argv[1:] if not a.startswith("-")]
    if argv[0] == "command" and args and not {"-v", "-V"} & set(argv[1:]):
        k = next(i for i, a in enumerate(argv) if i and not a.startswith("-"))
        argv = argv[k:]
        if argv[0] in BUILTINS:
            return BUILTINS[argv[0]](sh, argv, io)
        saved = sh.functions
        sh.functions = {}
        try:
            return sh.exec(argv, io)
        finally:
            sh.functions = saved
    rc = 0
    for a in args:
        if a in sh.functions:
            io.print(a if argv[0] != "type" else f"{a} is a function")
            continue
        if a in BUILTINS and argv[0] != "which":
            io.print(a if argv[0] != "type" else f"{a} is a shell builtin")
            continue
        found = sh.resolve(a)
        if found is None or found[0] == "__dir__":
            if argv[0] == "type":
                sh.error(io, f"type: {a}: not found")
            elif argv[0] == "which":
                io.eprint(f"/usr/bin/which: no {a} in ({sh.env.get('PATH', '')})")
            rc = 1
            continue
        io.print(found[1] if argv[0] != "type" else f"{a} is {found[1]}")
    return rc
