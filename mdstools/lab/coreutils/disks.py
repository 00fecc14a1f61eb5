"""``df`` and ``du``: the lab's mounts and the space files use."""

from __future__ import annotations

import math
import posixpath

from mdstools.lab.coreutils.formats import blocks_kb, human
from mdstools.lab.coreutils.inputs import why
from mdstools.lab.coreutils.options import getopt
from mdstools.lab.shell import IO, Shell, program


def _mount_name(path: str) -> str:
    return {"/": "/dev/mapper/vg_splat-lv_current", "/var/log": "/dev/mapper/vg_splat-lv_log"}.get(
        path, f"/dev/mapper/vg_splat-lv_{posixpath.basename(path) or 'root'}"
    )


@program("df")
def df(sh: Shell, argv: list[str], io: IO) -> int:
    """``df [-P] [-k] [-h] [-m] [PATH]...``: the lab's mounts (``/`` and ``/var/log``)."""
    o = getopt(argv, "PkhmTal", "portability:P human-readable:h local:l all:a print-type:T")
    vfs = sh.vfs
    rc = 0
    mounts = sorted(vfs.mounts, key=lambda m: m.path)
    if o.args:
        mounts = []
        for a in o.args:
            p = sh.path(a)
            m = vfs.mount_for(p)
            if not vfs.exists(p):
                io.eprint(f"df: {a}: No such file or directory")
                rc = 1
            elif m is not None:
                mounts.append(m)
    unit = 1024 * 1024 if "m" in o else 1024
    size_hdr = (
        "Size"
        if "h" in o
        else "1M-blocks"
        if "m" in o
        else ("1024-blocks" if "P" in o else "1K-blocks")
    )
    header = [
        "Filesystem",
        size_hdr,
        "Used",
        "Avail" if "h" in o else "Available",
        "Capacity" if "P" in o else "Use%",
        "Mounted on",
    ]
    rows = [header]
    for m in mounts:
        used = vfs.used_kb(m)
        avail = max(0, m.total_kb - used)
        pct = math.ceil(used * 100 / (used + avail)) if used + avail else 0

        def num(kb: int) -> str:
            return human(kb * 1024) if "h" in o else str(math.ceil(kb * 1024 / unit))

        rows.append(
            [_mount_name(m.path), num(m.total_kb), num(used), num(avail), f"{pct}%", m.path]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows if len(rows) > 1 or not o.args else []:
        cells = [r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in range(1, 5)]
        io.print(" ".join(cells) + " " + r[5])
    return rc


@program("du")
def du(sh: Shell, argv: list[str], io: IO) -> int:
    """``du [-s] [-k|-m|-h|-b] [-a] [-c] [PATH]...``: 4 KiB blocks of claimed sizes."""
    o = getopt(argv, "skmhbac", "summarize:s human-readable:h all:a total:c bytes:b")

    def show(kb: int, nbytes: int) -> str:
        if "b" in o:
            return str(nbytes)
        if "h" in o:
            return human(kb * 1024)
        return str(math.ceil(kb / 1024)) if "m" in o else str(kb)

    rc = 0
    grand_kb = grand_b = 0
    for t in o.args or ["."]:
        p = sh.path(t)
        if not sh.vfs.exists(p):
            io.eprint(f"du: cannot access '{t}': {why(sh, t)}")
            rc = 1
            continue
        kb: dict[str, int] = {}
        nb: dict[str, int] = {}
        lines: list[tuple[str, str]] = []
        for path, f in reversed(sh.vfs.walk(p)):  # children before their directory
            kb[path] = kb.get(path, 0) + blocks_kb(f)
            nb[path] = nb.get(path, 0) + (f.size if f is not None else 4096)
            if path != p:
                parent = posixpath.dirname(path)
                kb[parent] = kb.get(parent, 0) + kb[path]
                nb[parent] = nb.get(parent, 0) + nb[path]
            shown = t if path == p else t.rstrip("/") + path[len(p.rstrip("/")) :]
            if path == p or ("s" not in o and (f is None or "a" in o)):
                lines.append((show(kb[path], nb[path]), shown))
        for size, shown in lines:
            io.print(f"{size}\t{shown}")
        grand_kb += kb[p]
        grand_b += nb[p]
    if "c" in o:
        io.print(f"{show(grand_kb, grand_b)}\ttotal")
    return rc
