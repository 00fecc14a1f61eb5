"""Programs that run or end processes: ``sleep``, ``timeout``, ``nohup``, ``sh``/``bash``,
``env``, ``xargs``, ``reboot``; and running a program as a child."""

from __future__ import annotations

import posixpath
import shlex
import threading

from mdstools.lab.coreutils.formats import duration
from mdstools.lab.coreutils.inputs import emit, lines_of, why
from mdstools.lab.coreutils.options import getopt
from mdstools.lab.shell import (
    BUILTINS,
    IO,
    FileSink,
    Killed,
    ProgramUsageError,
    Shell,
    ShellExit,
    Sink,
    backslash_escapes,
    program,
)
from mdstools.lab.vfs import VfsError


def is_program(sh: Shell, name: str) -> bool:
    """Whether ``name`` is a builtin, a shell function or a program on ``PATH``."""
    return name in BUILTINS or name in sh.functions or sh.resolve(name) is not None


def run_child(sh: Shell, argv: list[str], io: IO, child: Shell | None = None) -> int:
    """Run a command in a child process (``nohup``, ``env``, ``xargs``, ``timeout``)."""
    c = child or sh.child()
    try:
        return c.exec(argv, io)
    except ShellExit as e:
        return e.code


@program("sleep")
def sleep(sh: Shell, argv: list[str], io: IO) -> int:
    """``sleep N[smhd]...``: waits (the job can be killed; a reboot interrupts it)."""
    o = getopt(argv, "")
    if not o.args:
        raise ProgramUsageError("missing operand")
    total = sum(duration(a) for a in o.args)
    sh.sleep(min(total, 10**9))
    return 0


class _Deadline(threading.Event):
    """Set by a timer, or when the enclosing job is killed."""

    def __init__(self, parent: threading.Event) -> None:
        super().__init__()
        self.parent = parent

    def is_set(self) -> bool:
        return super().is_set() or self.parent.is_set()


@program("timeout")
def timeout(sh: Shell, argv: list[str], io: IO) -> int:
    """``timeout [-s SIG] [-k D] [--preserve-status] DURATION COMMAND...``: exit 124 when
    COMMAND outlasts DURATION (it is stopped where it next waits)."""
    o = getopt(
        argv,
        "s:k:v",
        ("signal=:s kill-after=:k preserve-status:p foreground:F verbose:v"),
        rc=125,
        permute=False,
    )
    if len(o.args) < 2:
        raise ProgramUsageError("missing operand", 125)
    try:
        limit = duration(o.args[0])
    except ProgramUsageError as exc:
        raise ProgramUsageError(exc.message, 125) from None
    cmd = o.args[1:]
    if not is_program(sh, cmd[0]):
        io.eprint(f"timeout: failed to run command '{cmd[0]}': No such file or directory")
        return 127
    child = sh.child()
    child.cancel = _Deadline(sh.cancel)
    timer = threading.Timer(limit, child.cancel.set) if limit > 0 else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        return run_child(sh, cmd, io, child)
    except Killed:
        if sh.cancel.is_set():
            raise
        if "v" in o:
            io.eprint(f"timeout: sending signal {o.get('s', 'TERM')} to command '{cmd[0]}'")
        sig = o.get("s", "TERM").upper().removeprefix("SIG")
        if "p" in o:
            return 137 if sig in ("KILL", "9") else 143
        return 137 if sig in ("KILL", "9") else 124
    finally:
        if timer is not None:
            timer.cancel()


@program("nohup")
def nohup(sh: Shell, argv: list[str], io: IO) -> int:
    """``nohup COMMAND...`` as GNU's: only a terminal stdout goes to ``nohup.out`` (with
    ``nohup: ignoring input and appending output to 'nohup.out'``); an SSH exec channel is
    not a terminal, so its output stays where it was."""
    o = getopt(argv, "", rc=125, permute=False)
    if not o.args:
        raise ProgramUsageError("missing operand", 125)
    cmd = o.args
    out, err = io.out, io.err
    if io.tty:
        target = sh.path("nohup.out")
        try:
            sink: Sink = FileSink(sh, target, append=True)
        except VfsError:
            target = sh.path(posixpath.join(sh.env.get("HOME", "/"), "nohup.out"))
            sink = FileSink(sh, target, append=True)
        shown = "nohup.out" if posixpath.dirname(target) == sh.cwd else target
        msg = "ignoring input and appending" if io.in_tty else "appending"
        io.eprint(f"nohup: {msg} output to '{shown}'")
        out = sink
        if err is io.out:
            err = sink
    elif io.in_tty:
        io.eprint("nohup: ignoring input")
    if not is_program(sh, cmd[0]):
        io.eprint(f"nohup: failed to run command '{cmd[0]}': No such file or directory")
        return 127
    return run_child(sh, cmd, IO(io.stdin, out, err, False, False))


@program("sh", "bash")
def bash(sh: Shell, argv: list[str], io: IO) -> int:
    """``bash [-lx...] -c 'SCRIPT' [NAME [ARG]...]``, ``bash FILE [ARG]...`` or a script on
    stdin, in a child shell; ``-l`` sources ``/etc/profile.d/*.sh`` first, as a Gaia login
    shell does (so the Check Point environment is loaded)."""
    prog = posixpath.basename(argv[0])
    args = argv[1:]
    login = command = False
    options: set[str] = set()
    while args and args[0].startswith(("-", "+")) and args[0] not in ("-", "--"):
        a = args.pop(0)
        if a in ("--login", "-login"):
            login = True
        elif a.startswith("--"):
            continue
        elif a in ("-o", "+o") and args:
            (options.add if a == "-o" else options.discard)(args.pop(0))
        else:
            login = login or "l" in a
            command = command or "c" in a
            if "e" in a:
                options.add("errexit")
    if args and args[0] in ("-", "--"):
        args.pop(0)
    child = sh.child()
    child.functions, child.script, child.name0, child.frames = {}, "", prog, []
    child.loops = child.returnable = 0
    child.options = options
    if command:
        if not args:
            io.eprint(f"{prog}: -c: option requires an argument")
            return 2
        src = args[0]
        child.name0 = args[1] if len(args) > 1 else prog
        child.args = args[2:]
    elif args:
        p = sh.path(args[0])
        if not sh.vfs.is_file(p):
            io.eprint(f"{prog}: {args[0]}: {why(sh, args[0])}")
            return 126 if sh.vfs.is_dir(p) else 127
        src = sh.vfs.read_text(p)
        child.name0 = child.script = args[0]
        child.args = args[1:]
    else:
        src = io.stdin.read()
        child.args = []
    try:
        if login:
            for name in sh.vfs.glob("/etc/profile.d/*.sh"):
                child.run_script(name, [], io, in_place=True)
            child.script = "" if command or not args else args[0]
        return child.run(src, io)
    except ShellExit as e:
        return e.code


@program("env")
def env(sh: Shell, argv: list[str], io: IO) -> int:
    """``env [-i] [-u NAME] [NAME=VALUE]... [COMMAND [ARG]...]``."""
    args = argv[1:]
    values = dict(sh.env)
    while args:
        a = args[0]
        if a in ("-i", "-", "--ignore-environment"):
            values = {}
        elif a in ("-u", "--unset") and len(args) > 1:
            values.pop(args.pop(1), None)
        elif a.startswith("-u") and len(a) > 2:
            values.pop(a[2:], None)
        elif a == "--":
            args.pop(0)
            break
        elif a.startswith("-"):
            raise ProgramUsageError(f"invalid option -- '{a[1]}'", 125)
        else:
            break
        args.pop(0)
    while args and "=" in args[0] and not args[0].startswith("="):
        k, _, v = args.pop(0).partition("=")
        values[k] = v
    if not args:
        emit(io, [f"{k}={v}" for k, v in values.items()])
        return 0
    child = sh.child()
    child.env = values
    if "PATH" not in values:  # execvp's default search path
        found = [p for d in ("/bin", "/usr/bin") if sh.vfs.is_file(p := f"{d}/{args[0]}")]
        args = [found[0], *args[1:]] if found and "/" not in args[0] else args
    if not is_program(child, args[0]):
        io.eprint(f"env: '{args[0]}': No such file or directory")
        return 127
    return run_child(sh, args, io, child)


@program("xargs")
def xargs(sh: Shell, argv: list[str], io: IO) -> int:
    """``xargs [-n N] [-I REPL] [-r] [-0] [COMMAND [ARG]...]`` (default command: echo)."""
    o = getopt(
        argv,
        "n:I:r0d:L:",
        ("max-args=:n replace=:I no-run-if-empty:r null:0 delimiter=:d max-lines=:L"),
        permute=False,
    )
    cmd = o.args or ["echo"]
    data = io.stdin.read()
    if "0" in o or "d" in o:
        sep = "\0" if "0" in o else backslash_escapes(o.get("d"))[0]
        items = [x for x in data.split(sep) if x] if "0" in o else data.rstrip("\n").split(sep)
    elif "I" in o or "L" in o:
        items = [ln.strip() for ln in lines_of(data) if ln.strip()]
    else:
        try:
            items = shlex.split(data)
        except ValueError as exc:
            io.eprint(f"xargs: {str(exc).lower()}")
            return 1
    if not is_program(sh, cmd[0]):
        io.eprint(f"xargs: {cmd[0]}: No such file or directory")
        return 127
    if "I" in o:
        batches = [[a.replace(o.get("I"), it) for a in cmd] for it in items]
    else:
        size = int(o.get("n") or o.get("L") or 0) or max(len(items), 1)
        chunks = [items[k : k + size] for k in range(0, len(items), size)]
        if not chunks and "r" not in o:
            chunks = [[]]
        batches = [cmd + c for c in chunks]
    rc = 0
    for b in batches:
        code = run_child(sh, b, io)
        if code == 255:
            io.eprint(f"xargs: {cmd[0]}: exited with status 255; aborting")
            return 124
        if code:
            rc = 123 if code < 126 else code
    return rc


@program("reboot")
def reboot(sh: Shell, argv: list[str], io: IO) -> int:
    """``reboot``: the server goes down right after the command returns."""
    getopt(argv, "fnw", "force:f")
    sh.dep.scheduler.after(0, lambda: sh.dep.reboot(sh.server))
    return 0
