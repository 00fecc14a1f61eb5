"""The builtins: ``exit``, ``echo``, ``printf``, ``cd``, ``set``, ``test``, ``kill``, ``read``
..."""

from __future__ import annotations

import re
import threading

from mdstools.lab.shell.conditions import test_expression
from mdstools.lab.shell.control import BreakLoop, ExpansionError, FunctionReturn, ShellExit
from mdstools.lab.shell.core import Shell
from mdstools.lab.shell.registry import BUILTINS, builtin
from mdstools.lab.shell.streams import IO


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
    raise BreakLoop(max(1, min(n, sh.loops)), argv[0] == "continue")


@builtin("return")
def _return(sh: Shell, argv: list[str], io: IO) -> int:
    if not sh.returnable:
        sh.error(io, "return: can only `return' from a function or sourced script")
        return 1
    raise FunctionReturn(
        int(argv[1]) & 0xFF if len(argv) > 1 and argv[1].lstrip("-").isdigit() else sh.last_rc
    )


@builtin("let")
def _let(sh: Shell, argv: list[str], io: IO) -> int:
    """``let EXPR...`` and ``(( EXPR ))``: 0 when the last value is not zero."""
    value = 0
    for expr in argv[1:]:
        try:
            value = sh.arith(expr, io.err)
        except ExpansionError as exc:
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
        return 0 if test_expression(sh, args) else 1
    except ExpansionError as exc:
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
