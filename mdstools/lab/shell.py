"""The lab's bash: runs parsed command lines against one simulated server.

A :class:`Shell` holds what a bash process holds (variables, working directory, ``$?``,
``$!``) and runs programs found on ``PATH`` in the server's virtual filesystem. Programs are
Python functions registered in :mod:`mdstools.lab.programs`; they receive the shell, their
arguments and an :class:`IO`.
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from mdstools.lab import syntax
from mdstools.lab.model import Deployment, Rebooted, SimServer
from mdstools.lab.vfs import VfsError, normalize

if TYPE_CHECKING:
    from mdstools.lab.syntax import Word

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


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
    """Appends to a file of the virtual filesystem as output arrives."""

    def __init__(self, sh: Shell, path: str, append: bool) -> None:
        self.vfs = sh.server.vfs
        self.path = path
        if not append or not self.vfs.is_file(path):
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
        out = self.text[self.pos:]
        self.pos = len(self.text)
        return out

    def readline(self) -> str:
        if self.pos >= len(self.text):
            return ""
        end = self.text.find("\n", self.pos)
        end = len(self.text) if end < 0 else end + 1
        out = self.text[self.pos:end]
        self.pos = end
        return out


@dataclass
class IO:
    """Standard streams of one program run."""

    stdin: Source
    out: Sink
    err: Sink
    tty: bool = False

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


class ShellExit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Killed(Exception):
    """The job was killed (``kill PID``)."""


BUILTINS: dict[str, Callable[[Shell, list[str], IO], int]] = {}


def builtin(*names: str) -> Callable[[Program], Program]:
    def deco(fn: Program) -> Program:
        for n in names:
            BUILTINS[n] = fn
        return fn

    return deco


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
    def vfs(self):  # type: ignore[no-untyped-def]
        return self.server.vfs

    def path(self, p: str) -> str:
        return normalize(p, self.cwd)

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
        down = self.server.down_event
        end = self.dep.clock.now() + seconds
        while True:
            left = end - self.dep.clock.now()
            if left <= 0:
                return
            if down.wait(min(left, 0.05)) or self.cancel.is_set():
                self.check_alive()

    def wait_until(self, lab_time: float) -> None:
        self.sleep(lab_time - self.dep.clock.now())

    def child(self) -> Shell:
        return Shell(self.dep, self.server, self.user, dict(self.env), self.cwd, self.last_rc,
                     self.last_bg, self.pid, self.cancel, self.boot, False, self.depth + 1)

    # -- running ---------------------------------------------------------------------
    def run(self, src: str, io: IO) -> int:
        """Run a command line; returns its exit status. ``exit`` raises :class:`ShellExit`."""
        try:
            tree = syntax.parse(src)
        except syntax.ShellSyntaxError as exc:
            io.eprint(f"bash: {exc}")
            self.last_rc = 2
            return 2
        return self.run_list(tree, io)

    def run_list(self, lst: syntax.CmdList, io: IO) -> int:
        rc = self.last_rc
        for ao, bg in lst.items:
            if bg:
                self._background(ao, io)
                rc = 0
            else:
                rc = self._and_or(ao, io)
            self.last_rc = rc
        return rc

    def _and_or(self, ao: syntax.AndOr, io: IO) -> int:
        rc = self._pipeline(ao.first, io)
        for op, pl in ao.rest:
            self.last_rc = rc
            if (op == "&&" and rc == 0) or (op == "||" and rc != 0):
                rc = self._pipeline(pl, io)
        return rc

    def _pipeline(self, pl: syntax.Pipeline, io: IO) -> int:
        self.check_alive()
        if len(pl.cmds) == 1:
            rc = self._command(pl.cmds[0], io)
        else:
            data: Source = io.stdin
            rc = 0
            for i, cmd in enumerate(pl.cmds):
                last = i == len(pl.cmds) - 1
                buf = BufferSink()
                sub = IO(data, io.out if last else buf, io.err, io.tty)
                rc = self.child()._command(cmd, sub) if not last else self._command(cmd, sub)
                data = TextSource(buf.getvalue())
        if pl.negate:
            rc = 0 if rc else 1
        return rc

    def _background(self, ao: syntax.AndOr, io: IO) -> None:
        job = self.child()
        job.pid = self.server.next_pid()
        job.cancel = threading.Event()
        self.server.jobs[job.pid] = job.cancel
        self.last_bg = str(job.pid)
        bg_io = IO(TextSource(""), io.out, io.err, False)

        def work() -> None:
            try:
                job._and_or(ao, bg_io)
            except (Rebooted, Killed, ShellExit):
                pass
            except Exception as exc:  # a lab bug must not kill the server
                self.dep.log(f"{self.server.name}: background job {job.pid} crashed: {exc!r}")
            finally:
                self.server.jobs.pop(job.pid, None)
                self.server.job_threads.pop(job.pid, None)

        t = threading.Thread(target=work, name=f"job-{self.server.name}-{job.pid}", daemon=True)
        self.server.job_threads[job.pid] = t
        t.start()

    def _command(self, cmd: syntax.Command, io: IO) -> int:
        if isinstance(cmd, syntax.Simple):
            return self._simple(cmd, io)
        try:
            rio = self._redirect(cmd.redirs, io)
        except (VfsError, _RedirError) as exc:
            io.eprint(f"bash: {exc}")
            return 1
        if isinstance(cmd, syntax.Group):
            if cmd.subshell:
                sub = self.child()
                try:
                    return sub.run_list(cmd.body, rio)
                except ShellExit as e:
                    return e.code
            return self.run_list(cmd.body, rio)
        if isinstance(cmd, syntax.If):
            for cond, body in cmd.branches:
                if self.run_list(cond, rio) == 0:
                    return self.run_list(body, rio)
            return self.run_list(cmd.orelse, rio) if cmd.orelse else 0
        if isinstance(cmd, syntax.For):
            items = ([f for w in cmd.items for f in self.expand(w)] if cmd.items is not None
                     else [])
            rc = 0
            for item in items:
                self.env[cmd.name] = item
                rc = self.run_list(cmd.body, rio)
            return rc
        if isinstance(cmd, syntax.While):
            rc = 0
            for _ in range(100000):
                c = self.run_list(cmd.cond, rio)
                if (c == 0) == cmd.until:
                    return rc
                rc = self.run_list(cmd.body, rio)
                self.check_alive()
            io.eprint("bash: loop stopped by the lab after 100000 iterations")
            return 1
        raise AssertionError(cmd)

    def _simple(self, cmd: syntax.Simple, io: IO) -> int:
        try:
            argv = [f for w in cmd.words for f in self.expand(w)]
            assigns = {name: self.expand_one(w) for name, w in cmd.assigns}
        except _ExpansionError as exc:
            io.eprint(f"bash: {exc}")
            return 1
        if not argv:
            self.env.update(assigns)
            if cmd.redirs:
                try:
                    self._redirect(cmd.redirs, io)
                except (VfsError, _RedirError) as exc:
                    io.eprint(f"bash: {exc}")
                    return 1
            return 0
        try:
            rio = self._redirect(cmd.redirs, io)
        except (VfsError, _RedirError) as exc:
            io.eprint(f"bash: {exc}")
            return 1
        latency = self.dep.timings.command_latency
        if latency:
            self.sleep(self.dep.clock.dur(latency))
        if assigns:
            saved = dict(self.env)
            self.env.update(assigns)
            try:
                return self.exec(argv, rio)
            finally:
                for k in assigns:
                    if k in saved:
                        self.env[k] = saved[k]
                    else:
                        self.env.pop(k, None)
        return self.exec(argv, rio)

    def resolve(self, name: str) -> tuple[str, str] | None:
        """(handler, path) of a program, searching ``PATH`` like bash."""
        if "/" in name:
            f = self.vfs.get(self.path(name))
            if f is None:
                return None
            return (f.handler or "__script__", self.path(name))
        for d in self.env.get("PATH", "").split(":"):
            if not d:
                continue
            p = posixpath.join(d, name)
            f = self.vfs.get(p)
            if f is not None and f.handler:
                return (f.handler, p)
        return None

    def exec(self, argv: list[str], io: IO) -> int:
        """Run one command (builtin or program) with already expanded arguments."""
        name = argv[0]
        if name in BUILTINS:
            return BUILTINS[name](self, argv, io)
        found = self.resolve(name)
        if found is None:
            if "/" in name:
                io.eprint(f"bash: {name}: No such file or directory")
            else:
                io.eprint(f"bash: {name}: command not found")
            return 127
        handler, path = found
        if handler == "__script__":
            return self.run_script(path, argv[1:], io)
        fn = PROGRAMS.get(handler)
        if fn is None:
            io.eprint(f"bash: {name}: cannot execute binary file")
            return 126
        try:
            return fn(self, argv, io)
        except VfsError as exc:
            io.eprint(f"{posixpath.basename(name)}: {exc}")
            return 1

    def run_script(self, path: str, args: list[str], io: IO, in_place: bool = False) -> int:
        try:
            text = self.vfs.read_text(path)
        except VfsError as exc:
            io.eprint(f"bash: {exc}")
            return 1
        sh = self if in_place else self.child()
        saved = {str(i + 1): sh.env.get(str(i + 1)) for i in range(len(args))}
        for i, a in enumerate(args):
            sh.env[str(i + 1)] = a
        try:
            return sh.run(text, io)
        except ShellExit as e:
            if in_place:
                raise
            return e.code
        finally:
            if in_place:
                for k, v in saved.items():
                    if v is None:
                        sh.env.pop(k, None)
                    else:
                        sh.env[k] = v

    # -- expansion -------------------------------------------------------------------
    def param(self, expr: str) -> str:
        if expr == "?":
            return str(self.last_rc)
        if expr == "!":
            return self.last_bg
        if expr == "$":
            return str(self.pid)
        if expr == "#":
            return "0"
        for op in (":-", ":=", "-"):
            if op in expr:
                name, _, default = expr.partition(op)
                val = self.env.get(name)
                if val is None or (op != "-" and val == ""):
                    if op == ":=":
                        self.env[name] = default
                    return default
                return val
        if expr.startswith("#"):
            return str(len(self.env.get(expr[1:], "")))
        if not all(c.isalnum() or c == "_" for c in expr):
            raise _ExpansionError(f"${{{expr}}}: bad substitution")
        return self.env.get(expr, "")

    def substitute(self, src: str) -> str:
        buf = BufferSink()
        sub = self.child()
        try:
            rc = sub.run(src, IO(TextSource(""), buf, NullSink()))
        except ShellExit as e:
            rc = e.code
        self.last_rc = rc
        return buf.getvalue().rstrip("\n")

    def expand(self, word: Word) -> list[str]:
        """Fields of a word after expansion, splitting and globbing."""
        fields: list[list[str]] = [[]]
        keep: list[bool] = [False]
        globbable: list[bool] = [False]
        for kind, value, quoted in word.segments:
            if kind == "lit":
                text = value
                if not quoted and text.startswith("~") and not any(fields[-1]):
                    home = self.env.get("HOME", "/")
                    if text == "~" or text.startswith("~/"):
                        text = home + text[1:]
                fields[-1].append(text)
                if quoted:
                    keep[-1] = True
                elif any(c in text for c in "*?["):
                    globbable[-1] = True
                if text:
                    keep[-1] = True
                continue
            text = self.param(value) if kind == "var" else self.substitute(value)
            if quoted:
                fields[-1].append(text)
                keep[-1] = True
                continue
            parts = text.split()
            if not parts:
                continue
            if text[0].isspace() and any(fields[-1]):
                fields.append([])
                keep.append(False)
                globbable.append(False)
            for i, part in enumerate(parts):
                if i:
                    fields.append([])
                    keep.append(False)
                    globbable.append(False)
                fields[-1].append(part)
                keep[-1] = True
            if text[-1].isspace():
                fields.append([])
                keep.append(False)
                globbable.append(False)
        out: list[str] = []
        for f, k, g in zip(fields, keep, globbable, strict=True):
            s = "".join(f)
            if not k:
                continue
            if g:
                hits = self.vfs.glob(s, self.cwd)
                if hits:
                    out.extend(hits)
                    continue
            out.append(s)
        return out

    def expand_one(self, word: Word) -> str:
        """A word expanded without field splitting (assignments, redirection targets)."""
        parts: list[str] = []
        for kind, value, _quoted in word.segments:
            if kind == "lit":
                parts.append(value)
            elif kind == "var":
                parts.append(self.param(value))
            else:
                parts.append(self.substitute(value))
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
            target = self.expand_one(r.target)
            if r.op == "<<<":
                stdin = TextSource(target + "\n")
                continue
            if r.op == "<":
                stdin = TextSource(self.vfs.read_text(self.path(target)))
                continue
            sink: Sink
            if target == "/dev/null":
                sink = NullSink()
            elif target in ("/dev/stdout",):
                sink = io.out
            elif target in ("/dev/stderr",):
                sink = io.err
            else:
                sink = FileSink(self, self.path(target), append=r.op in (">>", "&>>"))
            if r.op in ("&>", "&>>"):
                fds[1] = fds[2] = sink
            else:
                fds[r.fd] = sink
        return IO(stdin, fds[1], fds[2], io.tty and fds[1] is io.out)


class _RedirError(Exception):
    pass


class _ExpansionError(Exception):
    pass


# -- builtins ------------------------------------------------------------------------


@builtin("exit")
def _exit(sh: Shell, argv: list[str], io: IO) -> int:
    code = sh.last_rc
    if len(argv) > 1:
        try:
            code = int(argv[1]) & 0xFF
        except ValueError:
            io.eprint(f"bash: exit: {argv[1]}: numeric argument required")
            code = 2
    raise ShellExit(code)


@builtin("true", ":")
def _true(sh: Shell, argv: list[str], io: IO) -> int:
    return 0


@builtin("false")
def _false(sh: Shell, argv: list[str], io: IO) -> int:
    return 1


@builtin("echo")
def _echo(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    newline, escapes = True, False
    while args and args[0] in ("-n", "-e", "-ne", "-en", "-E"):
        flag = args.pop(0)
        newline = newline and "n" not in flag
        escapes = escapes or "e" in flag
    text = " ".join(args)
    if escapes:
        text = text.encode().decode("unicode_escape")
    io.out.write(text + ("\n" if newline else ""))
    return 0


@builtin("printf")
def _printf(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) < 2:
        io.eprint("printf: usage: printf format [arguments]")
        return 2
    fmt = argv[1].encode().decode("unicode_escape")
    args = argv[2:]
    out: list[str] = []
    while True:
        i, used = 0, 0
        piece: list[str] = []
        while i < len(fmt):
            c = fmt[i]
            if c == "%" and i + 1 < len(fmt):
                spec = fmt[i + 1]
                if spec == "%":
                    piece.append("%")
                else:
                    val = args[used] if used < len(args) else ""
                    used += 1
                    if spec == "d":
                        try:
                            piece.append(str(int(val or "0")))
                        except ValueError:
                            piece.append("0")
                    else:
                        piece.append(val)
                i += 2
                continue
            piece.append(c)
            i += 1
        out.append("".join(piece))
        args = args[used:]
        if not args or used == 0:
            break
    io.out.write("".join(out))
    return 0


@builtin("cd")
def _cd(sh: Shell, argv: list[str], io: IO) -> int:
    target = argv[1] if len(argv) > 1 else sh.env.get("HOME", "/")
    path = sh.path(target)
    if not sh.vfs.is_dir(path):
        io.eprint(f"bash: cd: {target}: No such file or directory")
        return 1
    sh.cwd = path
    sh.env["PWD"] = path
    return 0


@builtin("pwd")
def _pwd(sh: Shell, argv: list[str], io: IO) -> int:
    io.print(sh.cwd)
    return 0


@builtin("export")
def _export(sh: Shell, argv: list[str], io: IO) -> int:
    for a in argv[1:]:
        if a == "-n" or a == "-p":
            continue
        if "=" in a:
            k, _, v = a.partition("=")
            sh.env[k] = v
        else:
            sh.env.setdefault(a, "")
    return 0


@builtin("unset")
def _unset(sh: Shell, argv: list[str], io: IO) -> int:
    for a in argv[1:]:
        if not a.startswith("-"):
            sh.env.pop(a, None)
    return 0


@builtin("set", "shopt", "ulimit", "umask", "trap", "alias", "hash", "disown")
def _ignored(sh: Shell, argv: list[str], io: IO) -> int:
    return 0


@builtin("source", ".")
def _source(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) < 2:
        io.eprint(f"bash: {argv[0]}: filename argument required")
        return 2
    path = sh.path(argv[1])
    if not sh.vfs.is_file(path):
        io.eprint(f"bash: {argv[1]}: No such file or directory")
        return 1
    return sh.run_script(path, argv[2:], io, in_place=True)


def _test_expr(sh: Shell, args: list[str]) -> bool:
    if not args:
        return False
    if args[0] == "!":
        return not _test_expr(sh, args[1:])
    if "-a" in args:
        i = args.index("-a")
        return _test_expr(sh, args[:i]) and _test_expr(sh, args[i + 1:])
    if "-o" in args:
        i = args.index("-o")
        return _test_expr(sh, args[:i]) or _test_expr(sh, args[i + 1:])
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2:
        op, val = args
        p = sh.path(val) if val else ""
        checks = {
            "-f": lambda: sh.vfs.is_file(p),
            "-d": lambda: sh.vfs.is_dir(p),
            "-e": lambda: sh.vfs.exists(p),
            "-s": lambda: sh.vfs.is_file(p) and (sh.vfs.get(p).size > 0),  # type: ignore[union-attr]
            "-r": lambda: sh.vfs.exists(p),
            "-w": lambda: sh.vfs.exists(p),
            "-x": lambda: sh.vfs.exists(p),
            "-z": lambda: val == "",
            "-n": lambda: val != "",
        }
        if op in checks:
            return bool(checks[op]())
        raise _ExpansionError(f"test: {op}: unary operator expected")
    if len(args) == 3:
        a, op, b = args
        if op in ("=", "=="):
            return a == b
        if op == "!=":
            return a != b
        nums = {"-eq": int.__eq__, "-ne": int.__ne__, "-lt": int.__lt__, "-le": int.__le__,
                "-gt": int.__gt__, "-ge": int.__ge__}
        if op in nums:
            try:
                return bool(nums[op](int(a), int(b)))
            except ValueError:
                raise _ExpansionError(f"test: {a}: integer expression expected") from None
    raise _ExpansionError("test: too many arguments")


@builtin("test", "[")
def _test(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if argv[0] == "[":
        if not args or args[-1] != "]":
            io.eprint("bash: [: missing `]'")
            return 2
        args = args[:-1]
    try:
        return 0 if _test_expr(sh, args) else 1
    except _ExpansionError as exc:
        io.eprint(f"bash: {exc}")
        return 2


@builtin("kill")
def _kill(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    check_only = False
    while args and args[0].startswith("-"):
        check_only = check_only or args[0] == "-0"
        args = args[1:]
    if not args:
        io.eprint("kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ...")
        return 2
    rc = 0
    for a in args:
        try:
            pid = int(a)
        except ValueError:
            io.eprint(f"bash: kill: {a}: arguments must be process or job IDs")
            rc = 1
            continue
        ev = sh.server.jobs.get(pid)
        if ev is None:
            io.eprint(f"bash: kill: ({pid}) - No such process")
            rc = 1
            continue
        if not check_only:
            ev.set()
    return rc


@builtin("wait")
def _wait(sh: Shell, argv: list[str], io: IO) -> int:
    pids = [int(a) for a in argv[1:] if a.isdigit()] or list(sh.server.job_threads)
    for pid in pids:
        t = sh.server.job_threads.get(pid)
        while t is not None and t.is_alive():
            sh.check_alive()
            t.join(0.05)
    return 0


@builtin("read")
def _read(sh: Shell, argv: list[str], io: IO) -> int:
    names = [a for a in argv[1:] if not a.startswith("-")] or ["REPLY"]
    line = io.stdin.readline()
    if not line:
        return 1
    parts = line.rstrip("\n").split(None, len(names) - 1)
    for i, n in enumerate(names):
        sh.env[n] = parts[i] if i < len(parts) else ""
    return 0


@builtin("type", "command", "which")
def _which(sh: Shell, argv: list[str], io: IO) -> int:
    args = [a for a in argv[1:] if not a.startswith("-")]
    if argv[0] == "command" and args and "-v" not in argv:
        return sh.exec(args, io)
    rc = 0
    for a in args:
        if a in BUILTINS:
            io.print(a if argv[0] != "type" else f"{a} is a shell builtin")
            continue
        found = sh.resolve(a)
        if found is None:
            if argv[0] == "type":
                io.eprint(f"bash: type: {a}: not found")
            rc = 1
            continue
        io.print(found[1] if argv[0] != "type" else f"{a} is {found[1]}")
    return rc
