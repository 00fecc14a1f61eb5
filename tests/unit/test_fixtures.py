"""Every parser on every fixture: ``tests/fixtures/<command>/<version>_<case>.txt``.

Beside each ``.txt`` is the expected result: ``.json`` (``mdstools.records.asdict`` of the
parse) or ``.error`` (the exception class name, ``ApiError:<code>`` for API errors). The
folder name selects the parser in :data:`PARSERS`. Texts are read as bytes, so CRLF
variants stay byte-exact. ``python tests/fixtures/write_expected.py`` writes the missing
expectations (review them before committing).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mdstools.commands import backup, ha, mdsstat, objects, upgrade, verifier, versions
from mdstools.commands.base import raw
from mdstools.errors import ApiError, MdstoolsError
from mdstools.records import asdict

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

PARSERS: dict[str, Callable[[str], Any]] = {
    "mdsstat": mdsstat.parse_mdsstat,
    "fw_ver": versions.parse_fw_ver,
    "cp_release": versions.parse_cp_release,
    "show_version_all": versions.parse_show_version_all,
    "cpinfo_hotfixes": versions.parse_cpinfo_hotfixes,
    "mdsquerydb_mdss": versions.parse_mdsquerydb_mdss,
    "all_cmas": versions.parse_all_cmas,
    "mdsstart": raw,
    "mdsstop": raw,
    "mdsstart_customer": raw,
    "mdsstop_customer": raw,
    "fix_cmas_clms_version": objects.parse_fix_cmas_clms_version,
    "mds_setup_verification": verifier.parse_verifier_report,
    "pre_upgrade_verifier": verifier.parse_verifier_report,
    "installer_verify": verifier.parse_verifier_report,
    "lock_database_override": raw,
    "installer_import_local": raw,
    "installer_upgrade": raw,
    "show_installer_packages": upgrade.parse_installer_packages,
    "show_installer_package": upgrade.parse_installer_package,
    "mgmt_json": ha.load_json,
    "show_domains": ha.parse_domains,
    "show_mdss": ha.parse_mdss,
    "show_ha_state": ha.parse_ha_state,
    "show_ha_status": ha.parse_ha_status,
    "set_ha_state": ha.parse_task_ref,
    "ha_full_sync": ha.parse_task_ref,
    "show_task": ha.parse_task,
    "show_servers_and_processes": ha.parse_servers_and_processes,
    "mds_backup": raw,
    "backup_files": backup.parse_backup_files,
    "sha256": backup.parse_sha256,
    "free_space": backup.parse_free_space,
}

CASES = sorted(FIXTURES.glob("*/*.txt"))


def read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def expected_error(exc: Exception) -> str:
    """The ``.error`` spelling of an exception: ``ParseError`` or ``ApiError:<code>``."""
    if isinstance(exc, ApiError):
        return f"ApiError:{exc.code}"
    return type(exc).__name__


def test_every_folder_has_a_parser() -> None:
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir() and not p.name.startswith("_")}
    assert folders <= set(PARSERS), f"no parser for {sorted(folders - set(PARSERS))}"
    assert set(PARSERS) <= folders, f"no fixture for {sorted(set(PARSERS) - folders)}"


def test_every_fixture_has_an_expectation() -> None:
    missing = [
        str(c.relative_to(FIXTURES))
        for c in CASES
        if not c.with_suffix(".json").exists() and not c.with_suffix(".error").exists()
    ]
    assert not missing, f"write the expectations: {missing}"


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture(case: Path) -> None:
    parser = PARSERS[case.parent.name]
    text = read_text(case)
    error_file = case.with_suffix(".error")
    if error_file.exists():
        want = error_file.read_text().strip()
        with pytest.raises(MdstoolsError) as info:
            parser(text)
        assert expected_error(info.value) == want
        if want == "ParseError":
            assert info.value.raw == text  # type: ignore[attr-defined]
        return
    expected = json.loads(case.with_suffix(".json").read_text())
    assert asdict(parser(text)) == expected
