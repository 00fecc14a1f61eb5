"""Pre-upgrade verification: ``mds_setup`` option 1, ``pre_upgrade_verifier`` and the CPUSE
``installer verify``, all read by ONE report parser.

The report text was never seen verbatim apart from the historic one-line finding
``Title: X * Description: Y`` (``docs/formats.md#pre-upgrade-verifier-report``), so the parser
keys on the few things every known variant has:

* findings: ``Title:`` then ``Description:`` lines (or both on one line, joined by `` * ``);
  a description continues on the following indented lines;
* severity: the latest header line that names ``Error`` or ``Warning`` (any case); a finding
  before any such header counts as an error, so that an unknown layout blocks rather than
  passes;
* the ``Summary:`` line, and a line that names a report and holds an absolute path;
* CPUSE verdicts: any line with ``is allowed`` / ``is not allowed``
  (``docs/formats.md#installer-verify``),
  and ``Result: Verification ended successfully`` / ``failed``.

An output with no finding, no summary and no verdict raises ParseError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mdstools.commands._text import fail, lines, quote, safe_token, shell_path
from mdstools.commands.base import Command, Mode
from mdstools.records import InstallerVerdict, VerifierFinding, VerifierReport

__all__ = [
    "installer_verify",
    "mds_setup_verification",
    "parse_verifier_report",
    "pre_upgrade_verifier",
]

VERIFY_TIMEOUT_S = 3600.0

_QUOTES = "\"'\u201c\u201d\u2018\u2019"
_TITLE = re.compile("^[\"'\u201c\u2018]?" r"\s*Title\s*:\s*(?P<rest>.*)$", re.IGNORECASE)
_DESCRIPTION = re.compile(r"^Description\s*:\s*(?P<rest>.*)$", re.IGNORECASE)
_ONE_LINE = re.compile(r"(?<!\s)\s+\*\s+Description\s*:\s*", re.IGNORECASE)
_SUMMARY = re.compile(r"^Summary\s*:\s*(?P<rest>.*)$", re.IGNORECASE)
_VERDICT = re.compile(r"\b(?:is|are)\s+(?P<not>not\s+)?allowed\b\.?", re.IGNORECASE)
_RESULT = re.compile(
    r"^Result\s*:\s*(?P<subject>Verification)\s+(?P<how>ended successfully|failed)\b(?P<rest>.*)$",
    re.IGNORECASE,
)
_SEVERITY = re.compile(r"\b(?P<word>errors?|warnings?)\b", re.IGNORECASE)
_PATH = re.compile(r"(/[^\s'\"]+)")


def mds_setup_verification(path: str) -> Command[VerifierReport]:
    """Run ``mds_setup`` option 1 (Pre-Upgrade Verification Only), then option 4 (Exit):
    ``printf '1\\n4\\n' | <path>`` (``path`` may use ``$MDSDIR``).

    Exit status 1 means errors were found, so it counts as "ran". Example record::

        VerifierReport(findings=(VerifierFinding(severity="error",
                                                 title="Invalid object names",
                                                 description="The database of ..."),),
                       upgrade_allowed=None,
                       report_path="/var/log/mds_setup_pre_upgrade_verification.txt",
                       summary="1 error, 1 warning")
    """
    return Command(
        f"printf '1\\n4\\n' | {shell_path(path)}",
        parse_verifier_report,
        name="mds_setup_verification",
        timeout_s=VERIFY_TIMEOUT_S,
        ok_codes=(0, 1),
    )


def pre_upgrade_verifier(
    fwdir_expr: str, current: str, target: str, report_file: str, domain: str | None = None
) -> Command[VerifierReport]:
    """``<fwdir>/bin/upgrade_tools/pre_upgrade_verifier -p <fwdir> -c <current> -t <target>
    -f <report_file>``, then the report file is printed (the exit status of the verifier is
    kept). ``fwdir_expr`` is a shell expression such as ``$FWDIR``; with ``domain`` it runs
    after ``mdsenv <domain>``.

    Example record: ``VerifierReport(findings=(), summary="0 errors, 0 warnings",
    report_path="/var/log/pre_upgrade.txt")``.
    """
    fw = shell_path(fwdir_expr)
    rep = quote(report_file)
    verifier = (
        f"{fw}/bin/upgrade_tools/pre_upgrade_verifier -p {fw} -c {quote(current)}"
        f" -t {quote(target)} -f {rep}"
    )
    return Command(
        f"({verifier}; rc=$?; cat {rep}; exit $rc)",
        parse_verifier_report,
        name="pre_upgrade_verifier",
        domain=domain,
        timeout_s=VERIFY_TIMEOUT_S,
        ok_codes=(0, 1),
    )


def installer_verify(package_id: str | int) -> Command[VerifierReport]:
    """clish ``installer verify <id> not-interactive``: the CPUSE verdicts.

    Example record::

        VerifierReport(findings=(), upgrade_allowed=True,
                       verdicts=(InstallerVerdict("Clean Install", True),
                                 InstallerVerdict("Upgrade", True)))
    """
    pid = safe_token(str(package_id), "package id")
    return Command(
        f"installer verify {pid} not-interactive",
        parse_verifier_report,
        mode=Mode.CLISH,
        name="installer_verify",
        timeout_s=VERIFY_TIMEOUT_S,
        ok_codes=(0, 1),
    )


@dataclass
class _Open:
    severity: str
    title: str
    description: list[str] = field(default_factory=list)
    has_description: bool = False
    indent: int = 0

    def finding(self) -> VerifierFinding:
        text = " ".join(p for p in self.description if p).strip().strip(_QUOTES).strip()
        return VerifierFinding(self.severity, self.title.strip().strip(_QUOTES).strip(), text)


def _header_severity(s: str) -> str | None:
    m = _SEVERITY.search(s)
    if not m:
        return None
    if not (s.endswith(":") or (len(s) <= 60 and not s.endswith("."))):
        return None
    return "error" if m.group("word").lower().startswith("error") else "warning"


def _verdict(s: str) -> InstallerVerdict | None:
    m = _RESULT.match(s)
    if m:
        ok = m.group("how").lower().startswith("ended")
        reason = m.group("rest").strip(" .") or None
        return InstallerVerdict("Verification", ok, reason)
    v = _VERDICT.search(s)
    if not v:
        return None
    before = s[: v.start()]
    key, colon, after = before.partition(":")
    subject = (after if colon else key).strip() or key.strip()
    reason = s[v.end() :].strip() or None
    return InstallerVerdict(subject, v.group("not") is None, reason)


def _allowed(verdicts: list[InstallerVerdict]) -> bool | None:
    if not verdicts:
        return None
    upgrade = [v for v in verdicts if "upgrade" in v.subject.lower()]
    if upgrade:
        return all(v.allowed for v in upgrade)
    return all(v.allowed for v in verdicts)


class _Reader:
    """The state of reading a report line by line: the findings closed so far, the one
    open, the severity of the section, the summary, the verdicts and the report's path."""

    def __init__(self) -> None:
        self.findings: list[VerifierFinding] = []
        self.verdicts: list[InstallerVerdict] = []
        self.severity = "error"
        self.summary: str | None = None
        self.report_path: str | None = None
        self.current: _Open | None = None

    def close(self) -> None:
        """The open finding, if any, is complete."""
        if self.current is not None:
            self.findings.append(self.current.finding())
            self.current = None

    def read(self, line: str) -> None:
        """One line of the report."""
        s = line.strip()
        indent = len(line) - len(line.lstrip())
        if not s:
            if self.current is not None and self.current.has_description:
                self.close()
            return
        if self._title(s, indent) or self._description(s, indent) or self._continued(s, indent):
            return
        self.close()
        self._other(s)

    def _title(self, s: str, indent: int) -> bool:
        m = _TITLE.match(s)
        if not m:
            return False
        self.close()
        parts = _ONE_LINE.split(m.group("rest"), maxsplit=1)
        self.current = _Open(self.severity, parts[0])
        if len(parts) == 2:
            self.current.description.append(parts[1])
            self.current.has_description = True
            self.current.indent = indent
        return True

    def _description(self, s: str, indent: int) -> bool:
        m = _DESCRIPTION.match(s)
        if not m:
            return False
        if self.current is None or self.current.has_description:
            self.close()
            self.current = _Open(self.severity, "Untitled finding")
        self.current.description.append(m.group("rest"))
        self.current.has_description = True
        self.current.indent = indent
        return True

    def _continued(self, s: str, indent: int) -> bool:
        current = self.current
        if (
            current is not None
            and current.has_description
            and indent > 0
            and (indent > current.indent or _header_severity(s) is None)
            and not _SUMMARY.match(s)
        ):
            current.description.append(s)
            return True
        return False

    def _other(self, s: str) -> None:
        """A line outside a finding: the summary, a verdict, the report's path or a section
        header (which sets the severity of the findings under it)."""
        m = _SUMMARY.match(s)
        if m:
            self.summary = m.group("rest").strip()
            return
        verdict = _verdict(s)
        if verdict is not None:
            self.verdicts.append(verdict)
            return
        if "report" in s.lower():
            path = _PATH.search(s)
            if path:
                self.report_path = path.group(1).rstrip(".,;:")
                return
        sev = _header_severity(s)
        if sev is not None:
            self.severity = sev


def parse_verifier_report(text: str) -> VerifierReport:
    """Parse a verifier report or CPUSE verify output (the rules are in the module docstring).

    Example: ``Errors:`` / ``  Title: Invalid object names`` / ``  Description: ...`` /
    ``Summary: 1 error, 0 warnings`` ->
    ``VerifierReport(findings=(VerifierFinding("error", "Invalid object names", "..."),),
    summary="1 error, 0 warnings")``.
    """
    reader = _Reader()
    for line in lines(text):
        reader.read(line)
    reader.close()
    if not reader.findings and reader.summary is None and not reader.verdicts:
        raise fail("verifier", "no Title:/Description: finding, no Summary: and no verdict", text)
    return VerifierReport(
        findings=tuple(reader.findings),
        upgrade_allowed=_allowed(reader.verdicts),
        report_path=reader.report_path,
        summary=reader.summary,
        verdicts=tuple(reader.verdicts),
    )
