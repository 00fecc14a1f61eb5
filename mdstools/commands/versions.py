"""Versions and inventory: ``fw ver``, ``/etc/cp-release``, ``show version all``,
``cpinfo -y all``, ``mdsquerydb MDSs`` and ``$MDSVERUTIL AllCMAs``.

Formats: ``docs/formats.md#fw-ver``, ``docs/formats.md#cp-release``,
``docs/formats.md#show-version-all``, ``docs/formats.md#cpinfo``,
``docs/formats.md#mdsquerydb-mdss`` and ``docs/formats.md#mdsverutil-allcmas``.
"""

from __future__ import annotations

import re

from mdstools.commands._text import fail, integer, lines
from mdstools.commands.base import Command, Mode
from mdstools.records import GaiaVersion, Hotfix, MdsAddress, VersionInfo

__all__ = [
    "all_cmas",
    "cp_release",
    "cpinfo_hotfixes",
    "fw_ver",
    "mdsquerydb_mdss",
    "parse_all_cmas",
    "parse_cp_release",
    "parse_cpinfo_hotfixes",
    "parse_fw_ver",
    "parse_mdsquerydb_mdss",
    "parse_show_version_all",
    "show_version_all",
]

_RELEASE = re.compile(r"\bR\d+(?:\.\d+)*\b")
_FW_VER_PREFIXES = (
    "This is Check Point's software version ",
    "This is Check Point VPN-1(TM) & FireWall-1(R) ",
)
_BUILD = re.compile(r"-\s*Build\s+(\S+)")


# -- fw ver ---------------------------------------------------------------------------------
def fw_ver() -> Command[VersionInfo]:
    """``fw ver``: the installed release and build.

    Example record: ``VersionInfo(version="R81.20", build="059", source="fw ver")`` from
    ``This is Check Point's software version R81.20 - Build 059``; the old
    ``This is Check Point VPN-1(TM) & FireWall-1(R) R76 - Build 380`` form is read too.
    """
    return Command("fw ver", parse_fw_ver, name="fw_ver")


def parse_fw_ver(text: str) -> VersionInfo:
    """Parse ``fw ver`` into a :class:`VersionInfo`.

    Example record: ``This is Check Point's software version R80.10 - Build 236`` ->
    ``VersionInfo("R80.10", "236", "fw ver")``.
    """
    for line in lines(text):
        s = line.strip()
        for prefix in _FW_VER_PREFIXES:
            pos = s.find(prefix)
            if pos < 0:
                continue
            rest = s[pos + len(prefix) :]
            release = _RELEASE.search(rest)
            words = rest.split()
            version = release.group(0) if release else (words[0] if words else "")
            if not version:
                break
            build = _BUILD.search(rest)
            return VersionInfo(version, build.group(1) if build else None, "fw ver")
    raise fail("fw ver", "no 'This is Check Point ... version' line", text)


# -- /etc/cp-release ------------------------------------------------------------------------
def cp_release() -> Command[VersionInfo]:
    """``cat /etc/cp-release``: the Gaia release.

    Example record: ``VersionInfo(version="R81.20", build=None, source="cp-release")`` from
    ``Check Point Gaia R81.20``.
    """
    return Command("cat /etc/cp-release", parse_cp_release, name="cp_release")


def parse_cp_release(text: str) -> VersionInfo:
    """Parse ``/etc/cp-release`` into a :class:`VersionInfo`.

    Example record: ``Check Point Gaia R81.20`` -> ``VersionInfo("R81.20", None, "cp-release")``.
    """
    for line in lines(text):
        if "Check Point" in line:
            release = _RELEASE.search(line)
            if release:
                return VersionInfo(release.group(0), None, "cp-release")
    raise fail("cat /etc/cp-release", "no 'Check Point Gaia R..' line", text)


# -- show version all -----------------------------------------------------------------------
_GAIA_LABELS = (
    ("product version", "product"),
    ("os kernel version", "kernel"),
    ("os build", "os_build"),
    ("os edition", "edition"),
)


def show_version_all() -> Command[GaiaVersion]:
    """clish ``show version all``: product, OS build, kernel and edition.

    Example record::

        GaiaVersion(product="Check Point Gaia R80.40", version="R80.40", os_build="294",
                    kernel="3.10.0-957.21.3cpx86_64", edition="64-bit")
    """
    return Command(
        "show version all", parse_show_version_all, mode=Mode.CLISH, name="show_version_all"
    )


def parse_show_version_all(text: str) -> GaiaVersion:
    """Parse the four lines of ``show version all`` (any order, extra lines ignored).

    Example record: ``GaiaVersion(product="Check Point Gaia R77.30", version="R77.30",
    os_build="204", kernel="2.6.18-92cp", edition="32-bit")``.
    """
    found: dict[str, str] = {}
    for line in lines(text):
        s = " ".join(line.split())
        low = s.lower()
        for label, key in _GAIA_LABELS:
            if low.startswith(label + " ") and key not in found:
                found[key] = s[len(label) :].strip().lstrip(":").strip()
                break
    product = found.get("product")
    if not product:
        raise fail("show version all", "no 'Product version' line", text)
    release = _RELEASE.search(product)
    return GaiaVersion(
        product=product,
        version=release.group(0) if release else None,
        os_build=found.get("os_build"),
        kernel=found.get("kernel"),
        edition=found.get("edition"),
    )


# -- cpinfo -y all --------------------------------------------------------------------------
_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_TAKE = re.compile(r"\bTake:\s*(\d+)")


def cpinfo_hotfixes() -> Command[list[Hotfix]]:
    """``cpinfo -y all``: the hotfixes of every product heading.

    Example records: ``[Hotfix(product="MGMT", name="HOTFIX_R81_20_JUMBO_HF_MAIN", take=122),
    Hotfix(product="FW1", name="HOTFIX_GOT_MGMT_AUTOUPDATE", take=None), ...]``. A heading
    with ``No hotfixes..`` yields nothing; the R77.30 layout (``Hotfix versions`` banner,
    no takes) is read too.
    """
    return Command("cpinfo -y all", parse_cpinfo_hotfixes, name="cpinfo_hotfixes", timeout_s=180.0)


def parse_cpinfo_hotfixes(text: str) -> list[Hotfix]:
    """Parse ``cpinfo -y all`` into :class:`Hotfix` records, in the order printed.

    Example record: ``[CPUpdates]`` / ``BUNDLE_R81_20_JUMBO_HF_MAIN     Take:  122`` ->
    ``Hotfix("CPUpdates", "BUNDLE_R81_20_JUMBO_HF_MAIN", 122)``.
    """
    product: str | None = None
    sections = 0
    out: list[Hotfix] = []
    for line in lines(text):
        m = _SECTION.match(line)
        if m:
            product = m.group(1).strip()
            sections += 1
            continue
        s = line.strip()
        if product is None or not s or s.startswith("No hotfixes") or set(s) <= {".", "…"}:
            continue
        if set(s) <= {"-", "="}:
            continue
        take = _TAKE.search(s)
        number = integer(take.group(1)) if take else None
        if take and number is None:
            raise fail("cpinfo -y all", f"take is not a number: {s!r}", text)
        out.append(Hotfix(product, s.split()[0], number))
    if not sections:
        raise fail("cpinfo -y all", "no [PRODUCT] heading", text)
    return out


# -- mdsquerydb MDSs ------------------------------------------------------------------------
def mdsquerydb_mdss() -> Command[list[MdsAddress]]:
    """``$MDSDIR/scripts/mdsquerydb MDSs``: the MDS and MLM peers by name and IP (no roles).

    Example records: ``[MdsAddress(name="mds-primary", ip="10.0.0.1"),
    MdsAddress(name="mlm-01", ip="10.0.0.3")]``.
    """
    return Command("$MDSDIR/scripts/mdsquerydb MDSs", parse_mdsquerydb_mdss, name="mdsquerydb_mdss")


def parse_mdsquerydb_mdss(text: str) -> list[MdsAddress]:
    """Parse the ``Name IP`` table of ``mdsquerydb MDSs``.

    Example record: ``mds-second  10.0.0.2`` -> ``MdsAddress("mds-second", "10.0.0.2")``.
    """
    out: list[MdsAddress] = []
    header = False
    for line in lines(text):
        words = line.split()
        if not words:
            continue
        if not header:
            header = [w.lower() for w in words] == ["name", "ip"]
            continue
        if len(words) < 2 or set(line.strip()) <= {"-", " "}:
            continue
        out.append(MdsAddress(" ".join(words[:-1]), words[-1]))
    if not header:
        raise fail("mdsquerydb MDSs", "no 'Name IP' header", text)
    return out


# -- $MDSVERUTIL AllCMAs --------------------------------------------------------------------
def all_cmas() -> Command[list[str]]:
    """``$MDSVERUTIL AllCMAs``: the DMS names of this server, one per line.

    Example record: ``["dom1_Server", "dom2_Server"]``. ``Error: Illegal command ...``
    raises ParseError.
    """
    return Command("$MDSVERUTIL AllCMAs", parse_all_cmas, name="all_cmas")


def parse_all_cmas(text: str) -> list[str]:
    """Parse ``$MDSVERUTIL AllCMAs``: one name per non-empty line.

    Example record: ``["dom1_Server", "dom2_Server"]``.
    """
    names = [line.strip() for line in lines(text) if line.strip()]
    for name in names:
        if name.lower().startswith("error:") or "illegal command" in name.lower():
            raise fail("$MDSVERUTIL AllCMAs", name, text)
    return names
