"""CPUSE (Deployment Agent) in clish: import, list, inspect and upgrade packages.

Formats: ``docs/formats.md#cpuse-installer``. The two ``show installer packages`` layouts of
R82.10 are verbatim; the numbered layout of older releases is INFERRED. Columns are
separated by two or more spaces (display names contain single spaces), never by the
header's column positions. The console text of ``installer import`` / ``upgrade`` is not
parsed: poll ``show installer package <id>`` instead.
"""

from __future__ import annotations

import re

from mdstools.commands._text import fail, integer, lines, safe_token, shell_path
from mdstools.commands.base import Command, Mode, raw
from mdstools.records import InstallerPackage, InstallerPackageDetail

__all__ = [
    "installer_import_local",
    "installer_upgrade",
    "lock_database_override",
    "mds_setup_upgrade",
    "parse_installer_package",
    "parse_installer_packages",
    "show_installer_package",
    "show_installer_packages",
]

SCOPES = ("all", "imported", "installed", "available")
KNOWN_STATUSES = (
    "Available for Install",
    "Available for Download",
    "Installed as part of",
    "Not Applicable",
    "Installed",
    "Imported",
    "Downloading",
    "Importing",
    "Verifying",
    "Installing",
    "Failed",
)
KNOWN_TYPES = ("Major Version", "Hotfix", "Wrapper", "Legacy Hotfix", "Blink")

_COLS = re.compile(r"\s{2,}")
_NOTICE = re.compile(r"^CLINFR\d+\b")
_PERCENT = re.compile(r"(\d{1,3})\s*%")
_KEY = re.compile(r"^(?P<key>[A-Za-z][A-Za-z0-9 ()/\-]*):(?P<value>.*)$")
_NONE = ("", "N/A", "None")


def lock_database_override() -> Command[str]:
    """clish ``lock database override``: take the configuration lock (from whoever holds
    it) before the ``installer`` commands. Mutating; raw text (normally empty).

    Example record: ``""``.
    """
    return Command(
        "lock database override", raw, mode=Mode.CLISH, name="lock_database_override", mutating=True
    )


def installer_import_local(path: str) -> Command[str]:
    """clish ``installer import local <path> not-interactive``: copy a package into the
    CPUSE repository. Asynchronous: confirm in ``show installer packages imported``.
    Mutating; raw text.

    Example record: ``"Info: Initiating import of <pkg>.tgz...\\n"`` (not parsed).
    """
    p = safe_token(path, "package path")
    return Command(
        f"installer import local {p} not-interactive",
        raw,
        mode=Mode.CLISH,
        name="installer_import_local",
        timeout_s=1800.0,
        mutating=True,
    )


def installer_upgrade(package_id: str | int) -> Command[str]:
    """clish ``installer upgrade <id> not-interactive``: start the upgrade; the server
    reboots at the end (the session drops). Mutating; raw text, never trusted: poll
    ``show installer package <id>`` and ``fw ver``.

    Example record: ``"Info: Initiating upgrade of <pkg>.tgz...\\n"`` (not parsed).
    """
    pid = safe_token(str(package_id), "package id")
    return Command(
        f"installer upgrade {pid} not-interactive",
        raw,
        mode=Mode.CLISH,
        name="installer_upgrade",
        timeout_s=7200.0,
        mutating=True,
    )


def mds_setup_upgrade(path: str) -> Command[str]:
    """``mds_setup`` option 2 (Upgrade), answered yes: ``printf '2\\ny\\n' | <path>``
    (``path`` may use ``$MDSDIR``). Mutating and long: it runs as a detached job; raw text.

    Example record: ``"...\\nUpgrade completed successfully.\\n"`` (not parsed).
    """
    return Command(
        f"printf '2\\ny\\n' | {shell_path(path)}",
        raw,
        name="mds_setup_upgrade",
        timeout_s=3 * 3600.0,
        mutating=True,
    )


def show_installer_packages(scope: str = "imported") -> Command[list[InstallerPackage]]:
    """clish ``show installer packages <scope>`` (``imported``, ``all``, ``installed``, ...).

    Example records (numbered layout)::

        [InstallerPackage(num=1, name="Check_Point_R81.20_T631_Fresh_Install_and_Upgrade.tgz",
                          type="Major Version", status=None, category="Major Versions")]

    R82.10 (unnumbered): ``InstallerPackage(num=None, name="R82.10 Jumbo Hotfix Accumulator
    Take 19", type="Hotfix", status=None, category="Hotfixes")``.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; choose one of {', '.join(SCOPES)}")
    return Command(
        f"show installer packages {scope}",
        parse_installer_packages,
        mode=Mode.CLISH,
        name="show_installer_packages",
    )


def _split_known(cell: str, known: tuple[str, ...]) -> tuple[str, str] | None:
    for phrase in known:
        if cell.endswith(" " + phrase):
            return cell[: -len(phrase) - 1].rstrip(), phrase
    return None


def parse_installer_packages(text: str) -> list[InstallerPackage]:
    """Parse ``show installer packages ...``.

    Example record: ``R82.10 Jumbo Hotfix Accumulator Recommended Jumbo Take 24   Installed
    as part of`` under a ``Hotfixes`` banner -> ``InstallerPackage(num=None, name="R82.10 Jumbo
    Hotfix Accumulator Recommended Jumbo Take 24", type=None, status="Installed as part of",
    category="Hotfixes")``.

    Banners (``** ... **``) set the category; a header starting with ``Num`` or
    ``Display name`` names the columns; ``There are no ... packages`` gives an empty list.
    Raises ParseError when there is neither a header nor a "no packages" line.
    """
    out: list[InstallerPackage] = []
    header: list[str] | None = None
    category: str | None = None
    empty = False
    for line in lines(text):
        s = line.strip()
        if not s or _NOTICE.match(s):
            continue
        if s.startswith("**"):
            inner = s.strip("* ").strip()
            if inner and "." not in inner and "error" not in inner.lower():
                category = inner
            continue
        if re.match(r"^There are no\b.*\bpackages?\b", s, re.IGNORECASE):
            empty = True
            continue
        cells = _COLS.split(s)
        low = [c.lower() for c in cells]
        if "display name" in low and low[0] in ("num", "display name"):
            header = low
            continue
        if header is None:
            continue
        out.append(_package_row(header, cells, category, s, text))
    if header is None and not empty:
        raise fail("show installer packages", "no 'Display name' header", text)
    return out


def _package_row(
    header: list[str], cells: list[str], category: str | None, line: str, text: str
) -> InstallerPackage:
    num: int | None = None
    if header[0] == "num":
        num = integer(cells[0])
        if num is None:
            first, _, rest = cells[0].partition(" ")
            num = integer(first)
            if num is None:
                raise fail("show installer packages", f"row without a number: {line!r}", text)
            cells = [first, rest.strip(), *cells[1:]]
        cells = cells[1:]
        header = header[1:]
    tail = header[1:]  # the columns after "display name"
    if len(cells) < len(header) and tail and cells:
        known = KNOWN_STATUSES if tail[-1] == "status" else KNOWN_TYPES
        split = _split_known(cells[-1], known)
        if split is None:
            raise fail("show installer packages", f"cannot split row {line!r}", text)
        cells = [*cells[:-1], *split]
    if len(cells) < len(header):
        raise fail("show installer packages", f"row has too few columns: {line!r}", text)
    n_tail = len(tail)
    name_cells = cells[: len(cells) - n_tail] if n_tail else cells
    values = dict(zip(tail, cells[len(cells) - n_tail :], strict=True)) if n_tail else {}
    return InstallerPackage(
        num=num,
        name=" ".join(name_cells),
        type=values.get("type"),
        status=values.get("status"),
        category=category,
    )


def show_installer_package(package_id: str | int) -> Command[InstallerPackageDetail]:
    """clish ``show installer package <id>``: one package's fields.

    Example record::

        InstallerPackageDetail(name="Check_Point_R82_10_jumbo_hf_main_Bundle_T36_FULL.tgz",
                               status="Installing", progress=45, installed_on=None,
                               fields={"Display name": "...", "Status": "Installing 45%", ...},
                               contains=("Check_Point_R82_10_jumbo_hf_main_Bundle_T19_FULL.tgz",))
    """
    pid = safe_token(str(package_id), "package id")
    return Command(
        f"show installer package {pid}",
        parse_installer_package,
        mode=Mode.CLISH,
        name="show_installer_package",
    )


def parse_installer_package(text: str) -> InstallerPackageDetail:
    """Parse ``Key:  value`` lines (values continue on indented lines; a leading
    ``CLINFR0771 ...`` lock notice is ignored). Raises ParseError without ``Display name``.

    Example record: ``Status:  Installing 45%`` gives ``status="Installing", progress=45``;
    ``Installed on:  N/A`` gives ``installed_on=None``; see :func:`show_installer_package`.
    """
    fields: dict[str, str] = {}
    last: str | None = None
    for line in lines(text):
        s = line.strip()
        if not s or _NOTICE.match(s):
            continue
        if line[:1].isspace() and last is not None:
            fields[last] = f"{fields[last]}\n{s}" if fields[last] else s
            continue
        m = _KEY.match(s)
        if not m:
            continue
        last = m.group("key").strip()
        fields[last] = m.group("value").strip()
    name = fields.get("Display name") or fields.get("File name")
    if not name:
        raise fail("show installer package", "no 'Display name:' field", text)
    raw_status = fields.get("Status")
    status: str | None = None
    progress: int | None = None
    if raw_status is not None:
        pct = _PERCENT.search(raw_status)
        if pct:
            progress = int(pct.group(1))
            status = _PERCENT.sub("", raw_status).strip(" ()-:") or None
        else:
            status = raw_status
    installed_on = fields.get("Installed on")
    contains = tuple(
        v.strip() for v in fields.get("Contains", "").splitlines() if v.strip() not in _NONE
    )
    return InstallerPackageDetail(
        name=name,
        status=status,
        progress=progress,
        installed_on=None if installed_on in _NONE else installed_on,
        fields=fields,
        contains=contains,
    )
