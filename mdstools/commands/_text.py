"""Small text helpers shared by the command families (no I/O, no state)."""

from __future__ import annotations

import re

from mdstools.commands.base import clean, quote
from mdstools.errors import ParseError

__all__ = ["clean", "fail", "lines", "quote", "safe_token", "shell_path", "squote"]

_SAFE_EXPR = re.compile(r"^[A-Za-z0-9_./${}\-]+$")
_CLISH_TOKEN = re.compile(r"^[^\s\"';|&`$<>\\]+$")


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
