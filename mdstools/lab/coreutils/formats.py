"""How the programs print sizes, modes, times and durations."""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

from mdstools.lab.shell import ProgramUsageError
from mdstools.lab.vfs import VFile

OWNER, GROUP = "admin", "root"
UTC = timezone.utc


def human(n: float) -> str:
    """GNU ``-h`` sizes: powers of 1024, rounded up, one decimal below 10."""
    if n < 1024:
        return str(math.ceil(n))
    units = "KMGTPE"
    k = 0
    n /= 1024
    while n >= 1024 and k < len(units) - 1:
        n /= 1024
        k += 1
    if n < 10 and math.ceil(n * 10) < 100:
        return f"{math.ceil(n * 10) / 10:.1f}{units[k]}"
    v = math.ceil(n)
    if v >= 1024 and k < len(units) - 1:
        return f"1.0{units[k + 1]}"
    return f"{v}{units[k]}"


def blocks_kb(f: VFile | None) -> int:
    """Disk usage in KiB, in 4 KiB blocks (a directory takes one)."""
    size = 4096 if f is None else f.size
    return (size + 4095) // 4096 * 4


def duration(text: str) -> float:
    """``sleep``/``timeout`` durations: ``1.5``, ``2m``, ``1h``, ``1d``, ``inf``."""
    m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+|inf(?:inity)?)([smhd]?)", text)
    if m is None:
        raise ProgramUsageError(f"invalid time interval '{text}'")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def mode_string(path: str, f: VFile | None) -> str:
    """``ls -l``'s mode column of ``path`` (a directory when ``f`` is None)."""
    if f is None:
        return "drwxr-xr-x"
    if f.handler or path.endswith(".sh"):
        return "-rwxr-xr-x"
    return "-rw-r--r--"


def fmt_time(t: float, pattern: str) -> str:
    """``strftime`` in UTC with GNU's extras ``%s``, ``%N``, ``%:z``."""
    dt = datetime.fromtimestamp(t, tz=UTC)
    extra = {
        "%%": "%%",
        "%s": str(int(t)),
        "%N": f"{int((t % 1) * 1e9):09d}",
        "%Z": "UTC",
        "%z": "+0000",
        "%:z": "+00:00",
        "%P": dt.strftime("%p").lower(),
    }
    pattern = re.sub(r"%(?::z|[%sNZzP])", lambda m: extra[m.group(0)], pattern)
    return dt.strftime(pattern)


def parse_date(text: str, now: float) -> float | None:
    """Epoch seconds of a ``date -d`` string (the forms scripts use), None if unknown."""
    t = text.strip()
    if t.startswith("@"):
        try:
            return float(t[1:])
        except ValueError:
            return None
    if t in ("", "now"):
        return now
    rel = {"yesterday": -86400, "tomorrow": 86400, "today": 0}
    if t in rel:
        return now + rel[t]
    m = re.fullmatch(r"([-+]?\d+) (second|minute|hour|day|week)s?( ago)?", t)
    if m:
        secs = (
            int(m.group(1))
            * {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}[m.group(2)]
        )
        return now - secs if m.group(3) else now + secs
    for fmt in (
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d",
        "%Y-%m-%dT%H:%M:%S",
        "%a %b %d %H:%M:%S UTC %Y",
        "%a %b %d %H:%M:%S %Y",
    ):
        try:
            return datetime.strptime(t.replace("  ", " "), fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None
