"""POSIX regular expressions (basic and extended) translated to Python's."""

from __future__ import annotations

import re

from mdstools.lab.shell import ProgramUsageError

_CLASSES = {
    "space": r"\s",
    "blank": r" \t",
    "digit": "0-9",
    "alpha": "a-zA-Z",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "xdigit": "0-9A-Fa-f",
    "punct": r"!-/:-@\[-`{-~",
    "print": r" -~",
    "graph": r"!-~",
    "cntrl": r"\x00-\x1f",
    "word": r"\w",
}


def posix_regex(pat: str, extended: bool) -> str:
    """A POSIX basic (or extended) regular expression as a Python one."""
    out: list[str] = []
    i = 0
    bre_special = {"(": "(", ")": ")", "{": "{", "}": "}", "|": "|", "+": "+", "?": "?"}
    while i < len(pat):
        c = pat[i]
        if c == "[":
            j = i + 1
            cls = ["["]
            if j < len(pat) and pat[j] in "^!":
                cls.append("^")
                j += 1
            if j < len(pat) and pat[j] == "]":
                cls.append(r"\]")
                j += 1
            while j < len(pat) and pat[j] != "]":
                m = re.match(r"\[:(\w+):\]", pat[j:])
                if m and m.group(1) in _CLASSES:
                    cls.append(_CLASSES[m.group(1)])
                    j += len(m.group(0))
                    continue
                cls.append("\\" + pat[j] if pat[j] in "\\[&~|" else pat[j])
                j += 1
            if j >= len(pat):
                raise re.error("Unmatched [, [^, [:, [., or [=")
            out.append("".join(cls) + "]")
            i = j + 1
            continue
        if c == "\\" and i + 1 < len(pat):
            n = pat[i + 1]
            if n in "<>":
                out.append(r"\b")
            elif not extended and n in bre_special:
                out.append(bre_special[n])
            else:
                out.append("\\" + n)
            i += 2
            continue
        if not extended and c in bre_special:
            out.append("\\" + c)
        elif c == "*" and (not out or out[-1] in ("^", "(", "|")):
            out.append(r"\*")
        elif extended and c == "{" and not re.match(r"\{\d", pat[i:]):
            out.append(r"\{")
        else:
            out.append(c)
        i += 1
    return "".join(out)


def compile_regex(
    pats: list[str], extended: bool, fixed: bool = False, icase: bool = False
) -> re.Pattern[str]:
    """The patterns as one regex, as ``grep`` compiles them; a bad one is a usage error (2)."""
    try:
        body = "|".join(f"(?:{re.escape(p) if fixed else posix_regex(p, extended)})" for p in pats)
        return re.compile(body, re.I if icase else 0)
    except re.error as exc:
        msg = str(exc)
        if "unbalanced parenthesis" in msg or "missing )" in msg:
            msg = "Unmatched ( or \\("
        raise ProgramUsageError(msg, 2, hint=False) from None
