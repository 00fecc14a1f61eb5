"""The server's identity and clock: ``uptime``, ``date``, ``hostname``, ``whoami``,
``id``, ``uname``."""

from __future__ import annotations

import weakref

from mdstools.lab.coreutils.formats import fmt_time, parse_date
from mdstools.lab.coreutils.options import getopt
from mdstools.lab.model import SimServer
from mdstools.lab.shell import IO, ProgramUsageError, Shell, program

_BOOTED: weakref.WeakKeyDictionary[SimServer, tuple[int, float]] = weakref.WeakKeyDictionary()


def boot_time(sh: Shell) -> float:
    """When the server last booted: long ago for the first boot, else when the lab first
    saw the new boot."""
    seen = _BOOTED.get(sh.server)
    if seen is None or seen[0] != sh.server.boot_count:
        now = sh.dep.clock.wall()
        start = now - (237 * 86400 + 21 * 3600 + 10 * 60) if sh.server.boot_count == 0 else now
        seen = (sh.server.boot_count, start)
        _BOOTED[sh.server] = seen
    return seen[1]


@program("uptime")
def uptime(sh: Shell, argv: list[str], io: IO) -> int:
    """``uptime [-p] [-s]``: `` 21:43:46 up 237 days, 21:10,  2 users,  load average: ...``."""
    o = getopt(argv, "ps", "pretty:p since:s")
    now = sh.dep.clock.wall()
    booted = boot_time(sh)
    up = max(0, round(now - booted))
    days, rest = divmod(up, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    if "s" in o:
        io.print(fmt_time(booted, "%Y-%m-%d %H:%M:%S"))
        return 0
    if "p" in o:
        parts = [
            f"{v} {u}{'s' if v != 1 else ''}"
            for v, u in ((days, "day"), (hours, "hour"), (minutes, "minute"))
            if v
        ]
        io.print("up " + ", ".join(parts or ["0 minutes"]))
        return 0
    span = (f"{days} day{'s' if days != 1 else ''}, " if days else "") + (
        f"{hours:2d}:{minutes:02d}" if hours else f"{minutes} min"
    )
    users = 1 + len(sh.server.jobs) // 10
    io.print(
        f" {fmt_time(now, '%H:%M:%S')} up {span},  {users} user{'s' if users != 1 else ''},"
        f"  load average: 0.87, 0.69, 0.58"
    )
    return 0


@program("date")
def date(sh: Shell, argv: list[str], io: IO) -> int:
    """``date [-u] [-d DATE] [-R] [-I[SPEC]] [+FORMAT]`` in UTC (``+%s``: epoch)."""
    args = argv[1:]
    when: str | None = None
    fmt = "%a %b %e %H:%M:%S %Z %Y"
    while args:
        a = args.pop(0)
        if a in ("-u", "--utc", "--universal"):
            continue
        if a in ("-d", "--date"):
            if not args:
                raise ProgramUsageError("option requires an argument -- 'd'")
            when = args.pop(0)
        elif a.startswith("--date="):
            when = a[7:]
        elif a.startswith("-d"):
            when = a[2:]
        elif a in ("-R", "--rfc-2822", "--rfc-email"):
            fmt = "%a, %d %b %Y %H:%M:%S %z"
        elif a.startswith(("-I", "--iso-8601")):
            spec = a.split("=", 1)[1] if "=" in a else a[2:] if a.startswith("-I") else ""
            fmt = {
                "": "%Y-%m-%d",
                "date": "%Y-%m-%d",
                "hours": "%Y-%m-%dT%H%:z",
                "minutes": "%Y-%m-%dT%H:%M%:z",
                "seconds": "%Y-%m-%dT%H:%M:%S%:z",
                "ns": "%Y-%m-%dT%H:%M:%S,%N%:z",
            }.get(spec, "%Y-%m-%d")
        elif a.startswith("+"):
            fmt = a[1:]
        elif a.startswith("-") and len(a) > 1:
            raise ProgramUsageError(f"invalid option -- '{a[1]}'")
        else:
            io.eprint("date: the lab does not set the clock")
            return 1
    now = sh.dep.clock.wall()
    t = now if when is None else parse_date(when, now)
    if t is None:
        io.eprint(f"date: invalid date '{when}'")
        return 1
    io.print(fmt_time(t, fmt))
    return 0


@program("hostname")
def hostname(sh: Shell, argv: list[str], io: IO) -> int:
    """``hostname [-s|-f|-i|-I]``."""
    o = getopt(argv, "sfiIdA", "short:s fqdn:f ip-address:i all-ip-addresses:I")
    if o.args:
        io.eprint("hostname: the lab does not rename servers")
        return 1
    if "i" in o or "I" in o:
        io.print(sh.server.ip + (" " if "I" in o else ""))
    elif "d" in o:
        io.print()
    else:
        io.print(sh.server.name)
    return 0


@program("whoami")
def whoami(sh: Shell, argv: list[str], io: IO) -> int:
    """``whoami``: the login user."""
    getopt(argv, "")
    io.print(sh.user)
    return 0


@program("id")
def id_(sh: Shell, argv: list[str], io: IO) -> int:
    """``id [-u|-g|-G] [-n] [USER]``: ``admin`` is uid 0, as on Gaia."""
    o = getopt(argv, "ugGnr", "user:u group:g groups:G name:n")
    user = o.args[0] if o.args else sh.user
    if user not in sh.server.users and user not in ("root", sh.user):
        io.eprint(f"id: '{user}': no such user")
        return 1
    root = user in ("admin", "root")
    uid, gid, grp = (0, 0, "root") if root else (1000, 100, "users")
    if "u" in o:
        io.print(user if "n" in o else str(uid))
    elif "g" in o or "G" in o:
        io.print(grp if "n" in o else str(gid))
    else:
        io.print(f"uid={uid}({user}) gid={gid}({grp}) groups={gid}({grp})")
    return 0


@program("uname")
def uname(sh: Shell, argv: list[str], io: IO) -> int:
    """``uname [-asnrvmpio]``: Gaia's kernel for the server's version."""
    o = getopt(
        argv,
        "asnrvmpio",
        (
            "all:a kernel-name:s nodename:n kernel-release:r "
            "kernel-version:v machine:m processor:p hardware-platform:i "
            "operating-system:o"
        ),
    )
    values = {
        "s": "Linux",
        "n": sh.server.name,
        "r": sh.server.version.kernel,
        "v": "#1 SMP Thu Jan 27 14:21:33 IST 2022",
        "m": "x86_64",
        "p": "x86_64",
        "i": "x86_64",
        "o": "GNU/Linux",
    }
    which = list("snrvmpio") if "a" in o else [c for c in "snrvmpio" if c in o] or ["s"]
    io.print(" ".join(values[c] for c in which))
    return 0
