"""Small text helpers shared by the command families (no I/O, no state)."""

from __future__ import annotations

import math
import re
from typing import Any

from mdstools.commands.base import clean, quote
from mdstools.errors import ParseError

__all__ = [
    "clean",
    "fail",
    "integer",
    "json_int",
    "lines",
    "quote",
    "safe_token",
    "shell_path",
    "squote",
]

_SAFE_EXPR = re.compile(r"^[A-Za-z0-9_./${}\-]+$")
_CLISH_TOKEN = re.compile(r"^[^\s\"';|&`$<>\\]+$")
_DIGITS = re.compile(r"[0-9]{1,30}")


def lines(text: str) -> list[str]:
    """The lines of ``clean(text)`` (CRLF normalized, trailing prompt dropped)."""
    return clean(text).splitlines()


def fail(command: str, reason: str, raw: str) -> ParseError:
    """A ParseError for ``command`` that keeps the whole raw text."""
    return ParseError(command, reason, raw)


def squote(value: str) -> str:
    """Always single-quote ``value`` for bash: ``dom1`` -> ``'dom1'``, ``a'b`` -> ``'a'"'"'b'``."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def shell_path(path: str) -> str:
    """A path for the remote bash: kept as is when it is a plain path or uses ``$VARS``
    (``$MDSDIR/scripts/mds_setup``), quoted otherwise."""
    if _SAFE_EXPR.match(path) and "$(" not in path:
        return path
    return quote(path)


def safe_token(value: str, what: str) -> str:
    """A clish argument: one token without quotes or shell metacharacters, else ValueError."""
    if not _CLISH_TOKEN.match(value):
        raise ValueError(f"{what} {value!r} cannot be passed to clish (spaces or quotes)")
    return value


def integer(value: str) -> int | None:
    """A plain decimal number (ASCII digits, at most 30) as an int, else None.

    ``integer(" 42 ") == 42``; ``integer("4x")``, ``integer("\u00b2")`` and a number of
    5000 digits give None.
    """
    s = value.strip()
    return int(s) if _DIGITS.fullmatch(s) else None


def json_int(value: Any) -> int | None:
    """A JSON number as an int (a finite float is truncated); anything else gives None.

    ``json_int(1795705957141) == 1795705957141``; ``json_int(12.7) == 12``;
    ``json_int(True)``, ``json_int(float("inf"))`` and ``json_int("12")`` give None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return None
