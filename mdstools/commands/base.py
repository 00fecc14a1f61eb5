"""The declarative shape of a Check Point command: line, mode, parser, record type.

A command is data: the session decides how to run it (environment prologue, clish or
expert, domain context), the parser is a pure function of the text it printed.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from mdstools.errors import ParseError

T = TypeVar("T")


class Mode(str, Enum):
    """Where a command must run on Gaia."""

    EXPERT = "expert"  # bash with the Check Point environment loaded
    CLISH = "clish"  # a clish command (run as ``clish -c`` from expert)


@dataclass(frozen=True)
class Command(Generic[T]):
    """One Check Point command: ``Command("mdsstat", parse_mdsstat)``.

    ``domain`` runs it after ``mdsenv <domain>``; ``mutating`` marks commands that change
    the server (shown by plans and dry runs, never run there); ``ok_codes`` are the exit
    statuses that mean the command ran (its output may still say it failed).
    """

    line: str
    parser: Callable[[str], T]
    mode: Mode = Mode.EXPERT
    name: str = ""
    domain: str | None = None
    timeout_s: float = 60.0
    mutating: bool = False
    ok_codes: tuple[int, ...] = (0,)

    @property
    def label(self) -> str:
        return self.name or self.line.split()[0]

    def parse(self, text: str) -> T:
        """Parse ``text``; any exception other than ParseError becomes a ParseError."""
        try:
            return self.parser(text)
        except ParseError:
            raise
        except (
            ValueError,
            KeyError,
            IndexError,
            TypeError,
            AttributeError,
            ArithmeticError,
            RecursionError,
        ) as exc:
            raise ParseError(self.line, f"{type(exc).__name__}: {exc}", text) from exc


def raw(text: str) -> str:
    """The identity parser, for commands whose output is only recorded."""
    return text


def quote(value: str) -> str:
    """Quote one argument for the remote bash."""
    return shlex.quote(value)


def clean(text: str) -> str:
    """Normalize line endings and drop a trailing shell prompt line, if any."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    while lines and (not lines[-1].strip() or _is_prompt(lines[-1])):
        lines.pop()
    return "\n".join(lines) + ("\n" if lines else "")


def _is_prompt(line: str) -> bool:
    s = line.rstrip()
    return (s.startswith("[Expert@") and s.endswith("]#")) or (
        s.endswith(">") and " " not in s and len(s) < 64
    )


BATCH_MARK = "### mdstools item "


def batch(name: str, lines: dict[str, str], per_item_s: float = 5.0) -> Command[dict[str, str]]:
    """Several command lines in ONE exec (one round trip per server instead of one per item).

    Each item's output follows a marker line; the result maps each key to its own output.
    A marker is printed after a newline of its own, so it starts a line even after output
    without a final newline (``mgmt_cli --format json``); exactly that newline is removed.
    The exit status of the batch is not meaningful (each item's output says how it went).
    """
    import re

    script = "; ".join(
        f"printf '\\n%s\\n' {quote(BATCH_MARK + key)}; {line}" for key, line in lines.items()
    )

    def parse(text: str) -> dict[str, str]:
        parts = re.split(rf"(?:^|\n){re.escape(BATCH_MARK)}(.*)\n", text)
        return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}

    return Command(
        script,
        parse,
        name=f"{name} (batch of {len(lines)})",
        timeout_s=30 + per_item_s * len(lines),
        ok_codes=tuple(range(256)),
    )
