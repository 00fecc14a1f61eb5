"""Text filters: ``head``, ``tail``, ``wc``, ``sort``, ``uniq``, ``cut``, ``tr``, ``seq``."""

from __future__ import annotations

import re
from collections.abc import Callable

from mdstools.lab.coreutils.inputs import Inputs, emit, lines_of
from mdstools.lab.coreutils.options import Opts, getopt
from mdstools.lab.shell import IO, ProgramUsageError, Shell, backslash_escapes, program


def _count_arg(value: str, what: str) -> tuple[int, str]:
    """(number, sign) of a ``head``/``tail`` count like ``10``, ``+5``, ``-3``."""
    m = re.fullmatch(r"([-+]?)(\d+)([kKMG]?)", value.strip())
    if m is None:
        raise ProgramUsageError(f"invalid number of {what}: '{value}'", hint=False)
    mult = {"": 1, "k": 1024, "K": 1024, "M": 1024**2, "G": 1024**3}[m.group(3)]
    return int(m.group(2)) * mult, m.group(1)


def _head_tail(sh: Shell, argv: list[str], io: IO, tail: bool) -> int:
    prog = "tail" if tail else "head"
    if len(argv) > 1 and re.fullmatch(r"-\d+" + (r"|\+\d+" if tail else ""), argv[1]):
        argv = [argv[0], "-n", argv[1].lstrip("-"), *argv[2:]]  # head -5, tail +3
    o = getopt(
        argv,
        "n:c:qvfF" if tail else "n:c:qv",
        "lines=:n bytes=:c quiet:q silent:q verbose:v follow:f",
    )
    if "f" in o or "F" in o:
        io.eprint("tail: following files (-f) is not supported by the lab")
        return 1
    use_bytes = "c" in o
    n, sign = _count_arg(o.get("c" if use_bytes else "n", "10"), "bytes" if use_bytes else "lines")
    ins = Inputs(sh, io, prog, o.args)
    names = o.args or ["-"]
    header = ("v" in o or len(names) > 1) and "q" not in o
    first = True
    for name, data, _ in ins.files():
        if header:
            shown = "standard input" if name == "-" else name
            io.out.write(("" if first else "\n") + f"==> {shown} <==\n")
        first = False
        if use_bytes:
            if tail:
                part = data[n - 1 :] if sign == "+" else data[-n:] if n else b""
            else:
                part = data[: len(data) - n] if sign == "-" else data[:n]
            io.out.write(part.decode("utf-8", errors="replace"))
            continue
        chunks = re.findall(r"[^\n]*\n|[^\n]+$", data.decode("utf-8", errors="replace"))
        if tail:
            chunks = chunks[max(n - 1, 0) :] if sign == "+" else chunks[-n:] if n else []
        else:
            chunks = chunks[: len(chunks) - n] if sign == "-" else chunks[:n]
        io.out.write("".join(chunks))
    return ins.rc


@program("head")
def head(sh: Shell, argv: list[str], io: IO) -> int:
    """``head [-n N|-N|-c N] [FILE]...``: the first lines (``-n -N``: all but the last N)."""
    return _head_tail(sh, argv, io, tail=False)


@program("tail")
def tail(sh: Shell, argv: list[str], io: IO) -> int:
    """``tail [-n N|-N|-n +N|-c N] [FILE]...``; ``-f`` is refused (it would never end)."""
    return _head_tail(sh, argv, io, tail=True)


@program("wc")
def wc(sh: Shell, argv: list[str], io: IO) -> int:
    """``wc [-l] [-w] [-c] [-m] [FILE]...`` with GNU's column widths."""
    o = getopt(argv, "lwcmL", "lines:l words:w bytes:c chars:m")
    which = [c for c in "lwmc" if c in o] or ["l", "w", "c"]
    ins = Inputs(sh, io, "wc", o.args)
    rows: list[tuple[list[int], str]] = []
    stdin_used = False
    for name, data, f in ins.files():
        text = data.decode("utf-8", errors="replace")
        counts = {
            "l": text.count("\n"),
            "w": len(text.split()),
            "m": len(text),
            "c": f.size if f is not None else len(data),
        }
        stdin_used = stdin_used or f is None
        rows.append(([counts[c] for c in which], "" if not o.args else name))
    if len(rows) > 1:
        rows.append(([sum(r[0][k] for r in rows) for k in range(len(which))], "total"))
    if len(which) == 1 and len(rows) == 1:
        width = 1
    else:
        total_bytes = sum(f.size for n in o.args if (f := sh.vfs.get(sh.path(n))) is not None)
        width = max(len(str(total_bytes)), 7 if stdin_used else 1)
    for nums, name in rows:
        io.print(" ".join(f"{c:>{width}}" for c in nums) + (f" {name}" if name else ""))
    return ins.rc


def _sort_key(o: Opts) -> Callable[[str], tuple[object, ...]]:
    sep = o.get("t") or None
    start, end = 0, 0
    if "k" in o:
        m = re.fullmatch(r"(\d+)(?:\.\d+)?[a-zA-Z]*(?:,(\d+)(?:\.\d+)?[a-zA-Z]*)?", o.get("k"))
        if m is None:
            raise ProgramUsageError(
                f"invalid number at field start: invalid count at start of '{o.get('k')}'", 2
            )
        start, end = int(m.group(1)), int(m.group(2) or 0)

    def key(line: str) -> tuple[object, ...]:
        text = line
        if start:
            fields = line.split(sep) if sep else line.split()
            chosen = fields[start - 1 : end if end else None]
            text = (sep or " ").join(chosen)
        if "f" in o:
            text = text.upper()
        if "n" in o:
            m = re.match(r"\s*(-?\d+(?:\.\d+)?)", text)
            return (float(m.group(1)) if m else 0.0,)
        if "h" in o:
            m = re.match(r"\s*(-?\d+(?:\.\d+)?)([KMGTPE]?)", text)
            mult = 1024 ** ("KMGTPE".index(m.group(2)) + 1) if m and m.group(2) else 1
            return (float(m.group(1)) * mult if m else 0.0,)
        return (text,)

    return key


@program("sort")
def sort(sh: Shell, argv: list[str], io: IO) -> int:
    """``sort [-n] [-h] [-r] [-u] [-f] [-k N[,M]] [-t SEP] [-o FILE] [FILE]...``."""
    o = getopt(
        argv,
        "nrufhk:t:o:sb",
        (
            "numeric-sort:n reverse:r unique:u ignore-case:f "
            "human-numeric-sort:h key=:k field-separator=:t output=:o"
        ),
        rc=2,
    )
    ins = Inputs(sh, io, "sort", o.args, rc=2)
    lines = [ln for _, text in ins.texts() for ln in lines_of(text)]
    if ins.rc:
        return 2
    key = _sort_key(o)
    rev = "r" in o
    out = (
        sorted(lines, key=lambda ln: (key(ln), ln), reverse=rev)
        if "s" not in o
        else sorted(lines, key=key, reverse=rev)
    )
    if "u" in o:
        seen: set[tuple[object, ...]] = set()
        uniq: list[str] = []
        for ln in out:
            if key(ln) not in seen:
                seen.add(key(ln))
                uniq.append(ln)
        out = uniq
    if "o" in o:
        sh.vfs.write(sh.path(o.get("o")), "".join(x + "\n" for x in out))
        return 0
    emit(io, out)
    return 0


@program("uniq")
def uniq(sh: Shell, argv: list[str], io: IO) -> int:
    """``uniq [-c] [-d] [-u] [-i] [INPUT [OUTPUT]]``."""
    o = getopt(argv, "cdui", "count:c repeated:d unique:u ignore-case:i")
    ins = Inputs(sh, io, "uniq", o.args[:1])
    groups: list[tuple[str, int]] = []
    for _, text in ins.texts():
        for ln in lines_of(text):
            same = groups and (
                groups[-1][0].lower() == ln.lower() if "i" in o else groups[-1][0] == ln
            )
            if same:
                groups[-1] = (groups[-1][0], groups[-1][1] + 1)
            else:
                groups.append((ln, 1))
    out = [
        (f"{n:7d} {ln}" if "c" in o else ln)
        for ln, n in groups
        if not ("d" in o and n < 2) and not ("u" in o and n > 1)
    ]
    if len(o.args) > 1:
        sh.vfs.write(sh.path(o.args[1]), "".join(x + "\n" for x in out))
    else:
        emit(io, out)
    return ins.rc


def _ranges(spec: str, what: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for part in spec.split(","):
        m = re.fullmatch(r"(\d*)-(\d*)|(\d+)", part)
        if m is None or part == "-":
            raise ProgramUsageError(
                f"invalid {what} value '{part}'"
                if m is None
                else "invalid range with no endpoint: -"
            )
        if m.group(3):
            lo = hi = int(m.group(3))
        else:
            lo, hi = int(m.group(1) or 1), int(m.group(2) or 10**9)
        if lo == 0:
            raise ProgramUsageError(f"{what}s are numbered from 1")
        out.append((lo, hi))
    return out


@program("cut")
def cut(sh: Shell, argv: list[str], io: IO) -> int:
    """``cut -f LIST [-d C] [-s] | -c LIST | -b LIST [FILE]...``."""
    o = getopt(
        argv,
        "f:d:c:b:s",
        ("fields=:f delimiter=:d characters=:c bytes=:b only-delimited:s output-delimiter=:O"),
    )
    kinds = [k for k in "fcb" if k in o]
    if not kinds:
        raise ProgramUsageError("you must specify a list of bytes, characters, or fields")
    if len(kinds) > 1:
        raise ProgramUsageError("only one type of list may be specified")
    kind = kinds[0]
    ranges = _ranges(o.get(kind), "field" if kind == "f" else "byte/character")
    delim = o.get("d", "\t")
    if len(delim) != 1:
        raise ProgramUsageError("the delimiter must be a single character")
    out_delim = o.get("O", delim)

    def pick(items: list[str]) -> list[str]:
        return [x for i, x in enumerate(items, 1) if any(lo <= i <= hi for lo, hi in ranges)]

    ins = Inputs(sh, io, "cut", o.args)
    out: list[str] = []
    for _, text in ins.texts():
        for ln in lines_of(text):
            if kind != "f":
                out.append("".join(pick(list(ln))))
            elif delim not in ln:
                if "s" not in o:
                    out.append(ln)
            else:
                out.append(out_delim.join(pick(ln.split(delim))))
    emit(io, out)
    return ins.rc


def _tr_set(spec: str) -> list[str]:
    text, _ = backslash_escapes(spec)
    classes = {
        "upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "lower": "abcdefghijklmnopqrstuvwxyz",
        "digit": "0123456789",
        "space": " \t\n\r\f\v",
        "blank": " \t",
    }
    classes["alpha"] = classes["upper"] + classes["lower"]
    classes["alnum"] = classes["alpha"] + classes["digit"]
    out: list[str] = []
    i = 0
    while i < len(text):
        m = re.match(r"\[:(\w+):\]", text[i:])
        if m and m.group(1) in classes:
            out += list(classes[m.group(1)])
            i += len(m.group(0))
        elif i + 2 < len(text) and text[i + 1] == "-":
            out += [chr(c) for c in range(ord(text[i]), ord(text[i + 2]) + 1)]
            i += 3
        else:
            out.append(text[i])
            i += 1
    return out


@program("tr")
def tr(sh: Shell, argv: list[str], io: IO) -> int:
    """``tr [-d] [-s] [-c] SET1 [SET2]``: ranges, ``[:class:]`` and ``\\n`` escapes."""
    o = getopt(argv, "dscC", "delete:d squeeze-repeats:s complement:c")
    if not o.args:
        raise ProgramUsageError("missing operand")
    need = 1 if ("d" in o and "s" not in o) or ("s" in o and "d" not in o) else 2
    if len(o.args) < need:
        raise ProgramUsageError(f"missing operand after '{o.args[-1]}'")
    if len(o.args) > need and "d" in o:
        raise ProgramUsageError(f"extra operand '{o.args[need]}'")
    set1 = _tr_set(o.args[0])
    set2 = _tr_set(o.args[1]) if len(o.args) > 1 else []
    text = io.stdin.read()
    comp = "c" in o or "C" in o

    def in1(ch: str) -> bool:
        return (ch in set1) != comp

    if "d" in o:
        text = "".join(ch for ch in text if not in1(ch))
    elif set2:
        if comp:
            text = "".join(set2[-1] if in1(ch) else ch for ch in text)
        else:
            padded = set2 + [set2[-1]] * (len(set1) - len(set2))
            table: dict[int, str | int | None] = {
                ord(a): b for a, b in zip(set1, padded, strict=False)
            }
            text = text.translate(table)
    squeeze = set2 if set2 else set1 if "s" in o else []
    if "s" in o:
        text = (
            re.sub("([" + re.escape("".join(squeeze)) + "])\\1+", r"\1", text) if squeeze else text
        )
    io.out.write(text)
    return 0


@program("seq")
def seq(sh: Shell, argv: list[str], io: IO) -> int:
    """``seq [-s SEP] [-w] [-f FMT] [FIRST [INCREMENT]] LAST``."""
    args = argv[1:]
    opts_argv = [argv[0]]
    while args and args[0].startswith("-") and not re.fullmatch(r"-\d+(\.\d+)?", args[0]):
        opts_argv.append(args.pop(0))
        if opts_argv[-1] in ("-s", "-f") and args:
            opts_argv.append(args.pop(0))
    o = getopt(opts_argv, "s:wf:", "separator=:s equal-width:w format=:f")
    if not args:
        raise ProgramUsageError("missing operand")
    if len(args) > 3:
        raise ProgramUsageError(f"extra operand '{args[3]}'")
    nums: list[float] = []
    for a in args:
        try:
            nums.append(float(a))
        except ValueError:
            raise ProgramUsageError(f"invalid floating point argument: '{a}'") from None
    first, step, last = (
        (1.0, 1.0, nums[0])
        if len(nums) == 1
        else ((nums[0], 1.0, nums[1]) if len(nums) == 2 else (nums[0], nums[1], nums[2]))
    )
    if step == 0:
        raise ProgramUsageError(f"invalid Zero increment value: '{args[1]}'")
    decimals = max((len(a.split(".")[1]) if "." in a else 0) for a in args)
    out: list[str] = []
    k = 0
    while True:
        v = first + k * step
        if (step > 0 and v > last + 1e-9) or (step < 0 and v < last - 1e-9) or k > 10**6:
            break
        if "f" in o:
            out.append(o.get("f") % v)
        else:
            out.append(f"{v:.{decimals}f}")
        k += 1
    if "w" in o and out:
        width = max(len(x) for x in out)
        out = [x.zfill(width) for x in out]
    if out:
        io.out.write(backslash_escapes(o.get("s", "\n"))[0].join(out) + "\n")
    return 0
