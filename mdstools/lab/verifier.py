"""The pre-upgrade verifier as the lab simulates it: ``pre_upgrade_verifier`` and ``mds_setup``.

The findings come from ``SimServer.findings`` (scenarios ``verifier-error`` and
``verifier-warnings`` add them; ``mdstools lab fix`` clears them). Neither the report nor
the ``mds_setup`` menu was ever seen verbatim (``docs/formats.md#pre-upgrade-verifier-report``,
``docs/formats.md#mds_setup``): every text below is INFERRED and kept in a
module constant so that a capture from a real MDS can replace it.

* :func:`report` renders the report: a title with the current and target release, the
  errors (must be fixed), the warnings (should be reviewed), each finding as an indented
  ``Title:`` and ``Description:`` line, and a ``Summary: N errors, M warnings`` line.
* ``pre_upgrade_verifier -p <dir> -c <current> -t <target> [-f <file>] [-w]``, or the
  R80.x MDS form ``-p <dir> -c <target>``: the report on stdout or in the ``-f`` file;
  exit 0 without errors, 1 with errors, 2 on bad usage.
* ``mds_setup``: a numbered menu read from stdin; (1) Pre-Upgrade Verification Only
  (report also written to :data:`MDS_SETUP_REPORT`), (2) Upgrade (refused while the
  verifier reports errors; asks for confirmation, then starts the upgrade, which reboots
  the server), (3) points to ``mds_backup``, (4) Exit. End of input without a choice
  exits 1.
"""

from __future__ import annotations

import html

from mdstools.lab.model import Deployment, LabError, SimServer
from mdstools.lab.shell import IO, Shell, program
from mdstools.lab.versions import VERSIONS, profile

# -- report texts (INFERRED, docs/formats.md#pre-upgrade-verifier-report) -------------------
REPORT_TITLE = "Pre-Upgrade Verification Results  (current: {current}  target: {target})"
REPORT_RULE = "="
ERRORS_HEADING = "Errors (must be fixed before upgrade):"
WARNINGS_HEADING = "Warnings (should be reviewed):"
NO_FINDINGS = "  None"
FINDING_TITLE = "  Title: {title}"
FINDING_DESCRIPTION = "  Description: {description}"
SUMMARY = "Summary: {errors}, {warnings}"

# -- pre_upgrade_verifier (INFERRED options, docs/formats.md#pre_upgrade_verifier) ----------
VERIFIER_USAGE = """\
Usage: pre_upgrade_verifier -p <SmartCenter/Domain database dir> -c <current version> \
-t <target version> [-f <output file>] [-w]
       pre_upgrade_verifier -p <dir> -c <target version> [-f <output file>] [-w]
       pre_upgrade_verifier -p <dir> -c <current version> -i [-f <output file>] [-w]
   -p  Path of the installed database
   -c  Currently installed version (the target version when -t is not given)
   -t  Target version
   -i  Check originality of INSPECT files only
   -f  Write output to a file
   -w  Web (HTML) format output"""
VERIFIER_REPORT_LINE = "Pre-upgrade verification report: {path}"
INSPECT_ONLY_TEXT = (
    "Checking originality of INSPECT files...\nNo modified INSPECT files were found."
)

# -- mds_setup (INFERRED, docs/formats.md#mds_setup) -----------------------------------------
MDS_SETUP_REPORT = "/var/log/mds_setup_pre_upgrade_verification.txt"
MDS_SETUP_BANNER = """\
===============================================================================
        Welcome to Check Point Multi-Domain Server Setup ({target})
===============================================================================
This {kind} runs {current}. Setup can verify it for, and upgrade it to, {target}."""
MDS_SETUP_MENU = """\

Please choose one of the following options:

(1) Pre-Upgrade Verification Only
(2) Upgrade
(3) Backup current Multi-Domain Server
(4) Exit
"""
MDS_SETUP_PROMPT = "Enter your choice (1-4) : "
MDS_SETUP_INVALID = "Invalid choice '{choice}'. Enter a number from 1 to 4."
MDS_SETUP_EOF = "No choice was entered. Exiting mds_setup."
MDS_SETUP_VERIFYING = (
    "Running the Pre-Upgrade Verification for {target}. This may take a few minutes..."
)
MDS_SETUP_SAVED = "The Pre-Upgrade Verification report was saved to {path}"
MDS_SETUP_PASSED = "Pre-Upgrade Verification passed: no errors were found."
MDS_SETUP_PASSED_WARNINGS = (
    "Pre-Upgrade Verification passed with {warnings}: review them before the upgrade."
)
MDS_SETUP_FAILED = "Pre-Upgrade Verification failed with {errors}: fix them before you upgrade."
MDS_SETUP_UPGRADE_REFUSED = (
    "The upgrade cannot continue: the Pre-Upgrade Verification found {errors}. "
    "Fix them and run mds_setup again."
)
MDS_SETUP_SAME_VERSION = "This {kind} already runs {current}. There is nothing to upgrade."
MDS_SETUP_BUSY = "An upgrade of this {kind} is already in progress."
MDS_SETUP_CONFIRM = "Are you sure you want to proceed? (y/n) [n] ? "
MDS_SETUP_CANCELLED = "The upgrade was cancelled. Nothing was changed."
MDS_SETUP_STARTED = (
    "The upgrade to {target} has started. The {kind} reboots when the upgrade is done: "
    "every SSH session drops. Reconnect after the reboot and check the version (fw ver)."
)
MDS_SETUP_BACKUP = (
    "To back up this {kind}, exit mds_setup and run mds_backup, for example:\n"
    "  mds_backup -b -l -d /var/log/mds_backups"
)
MDS_SETUP_BYE = "Exiting mds_setup."
MDS_SETUP_NO_TARGET = "mds_setup: this lab has no target release configured."


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def counts(server: SimServer) -> tuple[int, int]:
    """(errors, warnings) the verifier reports on ``server``."""
    errors = sum(1 for f in server.findings if f.severity == "error")
    warnings = sum(1 for f in server.findings if f.severity != "error")
    return errors, warnings


def report(server: SimServer, current: str, target: str) -> str:
    """The pre-upgrade verification report of ``server`` (ends with a newline)."""
    title = REPORT_TITLE.format(current=current, target=target)
    rule = REPORT_RULE * len(title)
    lines = [rule, title, rule]
    for heading, errors in ((ERRORS_HEADING, True), (WARNINGS_HEADING, False)):
        lines.append(heading)
        found = [f for f in server.findings if (f.severity == "error") == errors]
        if not found:
            lines.append(NO_FINDINGS)
        for f in found:
            lines.append(FINDING_TITLE.format(title=f.title))
            lines.append(FINDING_DESCRIPTION.format(description=f.description))
    n_err, n_warn = counts(server)
    lines.append(SUMMARY.format(errors=_count(n_err, "error"), warnings=_count(n_warn, "warning")))
    return "\n".join(lines) + "\n"


def _html(text: str) -> str:
    return (
        "<html><head><title>Pre-Upgrade Verification Results</title></head><body><pre>\n"
        + html.escape(text)
        + "</pre></body></html>\n"
    )


def _parse_opts(argv: list[str]) -> dict[str, str] | None:
    opts: dict[str, str] = {}
    args = list(argv)
    while args:
        a = args.pop(0)
        if a in ("-p", "-c", "-t", "-f"):
            if not args:
                return None
            opts[a] = args.pop(0)
        elif a in ("-w", "-i"):
            opts[a] = ""
        else:
            return None
    return opts


@program("pre_upgrade_verifier")
def pre_upgrade_verifier(sh: Shell, argv: list[str], io: IO) -> int:
    """``pre_upgrade_verifier -p <dir> -c <current> -t <target> [-f <file>] [-w]``.

    Also ``-p <dir> -c <target>`` (the R80.x MDS form: ``-c`` names the target and the
    current release is the installed one) and ``-i`` (INSPECT originality only). Takes
    the CPUSE verification time (``Timings.verify_package``). Prints the report, or
    writes it to ``-f <file>`` (HTML with ``-w``) and prints where. Exit status: 0 without
    errors, 1 with errors, 2 on bad usage or an unknown release.
    """
    opts = _parse_opts(argv[1:])
    if opts is None or "-h" in argv or "-p" not in opts or "-c" not in opts:
        io.eprint(VERIFIER_USAGE)
        return 2
    db = sh.path(opts["-p"])
    if not sh.vfs.is_dir(db):
        io.eprint(f"pre_upgrade_verifier: {opts['-p']}: no such database directory")
        return 2
    if "-t" in opts:
        current, target = opts["-c"], opts["-t"]
    elif "-i" in opts:
        current, target = opts["-c"], opts["-c"]
    else:
        current, target = sh.server.version.name, opts["-c"]
    for v in (current, target):
        if v not in VERSIONS:
            io.eprint(
                f"pre_upgrade_verifier: unsupported version {v}; supported: {', '.join(VERSIONS)}"
            )
            return 2
    sh.sleep(sh.dep.clock.dur(sh.dep.timings.verify_package))
    if "-i" in opts:
        text, rc = INSPECT_ONLY_TEXT + "\n", 0
    else:
        text, rc = report(sh.server, current, target), 1 if counts(sh.server)[0] else 0
    last = text.splitlines()[-1]
    if "-w" in opts:
        text = _html(text)
    if "-f" in opts:
        path = sh.path(opts["-f"])
        sh.vfs.write(path, text)
        io.print(last)
        io.print(VERIFIER_REPORT_LINE.format(path=path))
    else:
        io.out.write(text)
    return rc


# -- mds_setup ------------------------------------------------------------------------------
def _target(dep: Deployment) -> str | None:
    return dep.target if dep.target in VERSIONS else None


def _version_key(name: str) -> tuple[int, int]:
    major, _, minor = name.lstrip("R").partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        return 0, 0


def _kind(server: SimServer) -> str:
    return "Multi-Domain Log Server" if server.kind == "MLM" else "Multi-Domain Server"


def _verify(sh: Shell, io: IO, target: str) -> tuple[str, int, int]:
    """Run the verification as mds_setup does: (report, errors, warnings)."""
    io.print(MDS_SETUP_VERIFYING.format(target=target))
    sh.sleep(sh.dep.clock.dur(sh.dep.timings.verify_package))
    text = report(sh.server, sh.server.version.name, target)
    sh.vfs.write(MDS_SETUP_REPORT, text)
    errors, warnings = counts(sh.server)
    return text, errors, warnings


def _verify_only(sh: Shell, io: IO, target: str) -> int:
    text, errors, warnings = _verify(sh, io, target)
    io.out.write(text)
    io.print(MDS_SETUP_SAVED.format(path=MDS_SETUP_REPORT))
    if errors:
        io.print(MDS_SETUP_FAILED.format(errors=_count(errors, "error")))
        return 1
    if warnings:
        io.print(MDS_SETUP_PASSED_WARNINGS.format(warnings=_count(warnings, "warning")))
    else:
        io.print(MDS_SETUP_PASSED)
    return 0


def _upgrade(sh: Shell, io: IO, target: str) -> int:
    server = sh.server
    kind = _kind(server)
    if _version_key(server.version.name) >= _version_key(target):
        io.print(MDS_SETUP_SAME_VERSION.format(kind=kind, current=server.version.name))
        return 1
    if server.upgrade is not None:
        io.print(MDS_SETUP_BUSY.format(kind=kind))
        return 1
    text, errors, warnings = _verify(sh, io, target)
    if errors or warnings:
        io.out.write(text)
        io.print(MDS_SETUP_SAVED.format(path=MDS_SETUP_REPORT))
    if errors:
        io.print(MDS_SETUP_UPGRADE_REFUSED.format(errors=_count(errors, "error")))
        return 1
    io.out.write(MDS_SETUP_CONFIRM)
    answer = io.stdin.readline()
    if not io.tty:
        io.print()
    if answer.strip().lower() not in ("y", "yes"):
        io.print(MDS_SETUP_CANCELLED)
        return 1
    dep = sh.dep
    try:
        dep.start_upgrade(server, profile(target, dep.columns), profile(target).upgrade_package)
    except LabError as exc:
        io.print(f"mds_setup: {exc.message}")
        return 1
    io.print(MDS_SETUP_STARTED.format(target=target, kind=kind))
    return 0


@program("mds_setup")
def mds_setup(sh: Shell, argv: list[str], io: IO) -> int:
    """``mds_setup``: the interactive Multi-Domain Server setup menu, read from stdin.

    (1) Pre-Upgrade Verification Only: verifies the server for the lab's target release
    (``Timings.verify_package``), prints the report, saves it to
    ``/var/log/mds_setup_pre_upgrade_verification.txt``; exit 0 without errors, 1 with.
    (2) Upgrade: verifies, refuses while there are errors, asks
    ``Are you sure you want to proceed? (y/n) [n] ?``, then starts the upgrade and returns;
    the server reboots on the new release when the upgrade is done. (3) tells to use
    ``mds_backup``. (4) exits 0. An invalid choice asks again; end of input exits 1. Runs on
    an MDS and on an MLM alike. Works with ``printf '1\\n' | mds_setup``, ``mds_setup <<< 1``
    and interactively.
    """
    server = sh.server
    target = _target(sh.dep)
    if target is None:
        io.eprint(MDS_SETUP_NO_TARGET)
        return 1
    kind = _kind(server)
    io.print(MDS_SETUP_BANNER.format(target=target, kind=kind, current=server.version.name))
    while True:
        io.out.write(MDS_SETUP_MENU)
        io.out.write(MDS_SETUP_PROMPT)
        line = io.stdin.readline()
        if not line:
            io.print()
            io.print(MDS_SETUP_EOF)
            return 1
        if not io.tty:
            io.print()
        choice = line.strip()
        if choice == "1":
            return _verify_only(sh, io, target)
        if choice == "2":
            return _upgrade(sh, io, target)
        if choice == "3":
            io.print(MDS_SETUP_BACKUP.format(kind=kind))
            return 0
        if choice == "4":
            io.print(MDS_SETUP_BYE)
            return 0
        io.print(MDS_SETUP_INVALID.format(choice=choice))
