"""``$MDSDIR/scripts/mds_fix_cmas_clms_version``: set the version attribute of the DMS
(CMA) and Domain Log Server (CLM) objects to the installed release after an upgrade (sk121718).

Its output text is unknown on real servers (checkpoint-cli.md section 3; the lab's text is
simulated). The parser reads ``Updating <name> ... Done|Failed`` lines when it finds them
and always keeps the raw text; it never fails on text it does not understand.
"""

from __future__ import annotations

import re

from mdstools.commands._text import clean, quote
from mdstools.commands.base import Command
from mdstools.records import ObjectFixOutcome, ObjectVersionFix

__all__ = ["fix_cmas_clms_version", "parse_fix_cmas_clms_version"]

SCRIPT = "$MDSDIR/scripts/mds_fix_cmas_clms_version"

_OUTCOME = re.compile(
    r"^\s*Updating\s+(?P<what>.+?)\s*(?:\.{2,}|…)\s*(?P<result>Done|Failed)\b", re.IGNORECASE
)
_KIND = re.compile(r"\s*\((?P<kind>[^)]*)\)")
_VERSION = re.compile(r"\s+to\s+version\s+(?P<version>\S+)", re.IGNORECASE)


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
        m = _OUTCOME.match(line)
        if not m:
            continue
        what = m.group("what")
        kind = _KIND.search(what)
        version = _VERSION.search(what)
        name = _VERSION.sub("", _KIND.sub("", what)).strip()
        if not name:
            continue
        outcomes.append(
            ObjectFixOutcome(
                name=name,
                result=m.group("result").capitalize(),
                server_type=kind.group("kind").strip() if kind else None,
                version=version.group("version") if version else None,
            )
        )
    return ObjectVersionFix(tuple(outcomes), text)
