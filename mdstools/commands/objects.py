"""``$MDSDIR/scripts/mds_fix_cmas_clms_version``: set the version attribute of the DMS
(CMA) and Domain Log Server (CLM) objects to the installed release after an upgrade (sk121718).

Its output text is unknown on real servers (``docs/formats.md#mds_fix_cmas_clms_version``;
the lab's text is simulated). The parser reads ``Updating <name> ... Done|Failed`` lines
when it finds them and always keeps the raw text; it never fails on text it does not
understand.
"""

from __future__ import annotations

import re

from mdstools.commands._text import clean, quote
from mdstools.commands.base import Command
from mdstools.records import ObjectFixOutcome, ObjectVersionFix

__all__ = ["fix_cmas_clms_version", "parse_fix_cmas_clms_version"]

SCRIPT = "$MDSDIR/scripts/mds_fix_cmas_clms_version"

_UPDATING = re.compile(r"\s*Updating\s+", re.IGNORECASE)
_RESULT = re.compile(r"\b(?P<result>Done|Failed)\b", re.IGNORECASE)
_KIND = re.compile(r"\((?P<kind>[^()]*)\)")
_VERSION = re.compile(r"(?<!\s)\s+to\s+version\s+(?P<version>\S+)", re.IGNORECASE)


def _outcome(line: str) -> tuple[str, str] | None:
    """``(what, result)`` of an ``Updating <what> ... Done|Failed`` line, else None.

    The dots (two or more, or an ellipsis) before the result are found by walking back from
    each result word, so that a long line costs one pass.
    """
    start = _UPDATING.match(line)
    if not start:
        return None
    first = start.end()
    for m in _RESULT.finditer(line, first):
        i = m.start()
        while i > first and line[i - 1].isspace():
            i -= 1
        if i > first and line[i - 1] == "\u2026":
            end = i - 1
        elif line[max(first, i - 2) : i] == "..":
            end = i
            while end > first and line[end - 1] == ".":
                end -= 1
        else:
            continue
        what = line[first:end].rstrip()
        if what:
            return what, m.group("result")
    return None


def fix_cmas_clms_version(name: str | None = None) -> Command[ObjectVersionFix]:
    """``mds_fix_cmas_clms_version -c ALL`` (every DMS and DLS) or ``-n <name>`` (one object).

    Mutating. Example record::

        ObjectVersionFix(outcomes=(ObjectFixOutcome(name="dom1_Server", result="Done",
                                                    server_type="CMA", version="R81.20"),),
                         raw="...")
    """
    line = f"{SCRIPT} -c ALL" if name is None else f"{SCRIPT} -n {quote(name)}"
    return Command(
        line,
        parse_fix_cmas_clms_version,
        name="fix_cmas_clms_version",
        timeout_s=1800.0,
        mutating=True,
    )


def parse_fix_cmas_clms_version(text: str) -> ObjectVersionFix:
    """Read ``Updating <name> [(<type>)] [to version <R>] ... Done|Failed`` lines; any other
    text gives no outcomes. Never raises.

    Example record: ``Updating dom2_Server (CMA) ... Failed`` ->
    ``ObjectFixOutcome(name="dom2_Server", result="Failed", server_type="CMA", version=None)``.
    """
    outcomes: list[ObjectFixOutcome] = []
    for line in clean(text).splitlines():
        found = _outcome(line)
        if found is None:
            continue
        what, result = found
        kind = _KIND.search(what)
        version = _VERSION.search(what)
        name = _VERSION.sub("", _KIND.sub("", what)).strip()
        if not name:
            continue
        outcomes.append(
            ObjectFixOutcome(
                name=name,
                result=result.capitalize(),
                server_type=kind.group("kind").strip() if kind else None,
                version=version.group("version") if version else None,
            )
        )
    return ObjectVersionFix(tuple(outcomes), text)
