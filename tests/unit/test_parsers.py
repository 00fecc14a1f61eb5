"""Focused tests of the command families: command lines, quoting, edge cases of the parsers,
``Command.parse`` wrapping, and the SmartConsole sync-status mapping.

The fixture files (``test_fixtures.py``) cover whole outputs; this file covers the corners.
"""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

from mdstools.commands import (
    backup,
    ha,
    mdsstat,
    objects,
    services,
    upgrade,
    verifier,
    versions,
)
from mdstools.commands.base import Command, Mode
from mdstools.errors import ApiError, ParseError
from mdstools.records import (
    COLLISION,
    NEVER_SYNCHRONIZED,
    SYNCHRONIZED,
    UNKNOWN,
    HaPeer,
    HaStateEntry,
    HaStatus,
    ProcessState,
)

MODULES = (mdsstat, versions, services, objects, verifier, upgrade, ha, backup)

HEADER = "| Type| Name | IP address | FWM | FWD | CPD | CPCA |"


# -- the catalogue --------------------------------------------------------------------------
@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_every_public_function_documents_an_example(module: ModuleType) -> None:
    for name in module.__all__:
        fn = getattr(module, name)
        assert inspect.isfunction(fn), name
        doc = inspect.getdoc(fn) or ""
        assert "xample" in doc, f"{module.__name__}.{name} has no example in its docstring"


# -- command lines --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("command", "line"),
    [
        (mdsstat.mdsstat(), "mdsstat"),
        (mdsstat.mdsstat("dom1_Server"), "mdsstat dom1_Server"),
        (mdsstat.mdsstat("Dom A Server"), "mdsstat 'Dom A Server'"),
        (mdsstat.mdsstat(mds_only=True), "mdsstat -m"),
        (versions.fw_ver(), "fw ver"),
        (versions.cp_release(), "cat /etc/cp-release"),
        (versions.show_version_all(), "show version all"),
        (versions.cpinfo_hotfixes(), "cpinfo -y all"),
        (versions.mdsquerydb_mdss(), "$MDSDIR/scripts/mdsquerydb MDSs"),
        (versions.all_cmas(), "$MDSVERUTIL AllCMAs"),
        (services.mdsstart(), "mdsstart"),
        (services.mdsstart(mds_only=True), "mdsstart -m"),
        (services.mdsstart(sequential=True), "mdsstart -s"),
        (services.mdsstop(), "mdsstop"),
        (services.mdsstop(mds_only=True), "mdsstop -m"),
        (services.mdsstart_customer("dom1_Server"), "mdsstart_customer dom1_Server"),
        (services.mdsstop_customer("Dom A Server"), "mdsstop_customer 'Dom A Server'"),
        (services.mdsstart_customer("10.1.0.1"), "mdsstart_customer 10.1.0.1"),
        (
            objects.fix_cmas_clms_version(),
            "$MDSDIR/scripts/mds_fix_cmas_clms_version -c ALL",
        ),
        (
            objects.fix_cmas_clms_version("Dom A Server"),
            "$MDSDIR/scripts/mds_fix_cmas_clms_version -n 'Dom A Server'",
        ),
        (
            verifier.mds_setup_verification("$MDSDIR/scripts/mds_setup"),
            "printf '1\\n4\\n' | $MDSDIR/scripts/mds_setup",
        ),
        (
            verifier.mds_setup_verification("/opt/my tools/mds_setup"),
            "printf '1\\n4\\n' | '/opt/my tools/mds_setup'",
        ),
        (
            verifier.pre_upgrade_verifier("$FWDIR", "R81.10", "R81.20", "/var/log/puv.txt"),
            "($FWDIR/bin/upgrade_tools/pre_upgrade_verifier -p $FWDIR -c R81.10 -t R81.20"
            " -f /var/log/puv.txt; rc=$?; cat /var/log/puv.txt; exit $rc)",
        ),
        (verifier.installer_verify(1), "installer verify 1 not-interactive"),
        (upgrade.lock_database_override(), "lock database override"),
        (
            upgrade.installer_import_local("/var/log/upload/pkg.tgz"),
            "installer import local /var/log/upload/pkg.tgz not-interactive",
        ),
        (upgrade.installer_upgrade("2"), "installer upgrade 2 not-interactive"),
        (upgrade.show_installer_packages(), "show installer packages imported"),
        (upgrade.show_installer_packages("all"), "show installer packages all"),
        (upgrade.show_installer_package(1), "show installer package 1"),
        (
            ha.show_domains(),
            "mgmt_cli -r true show-domains details-level 'full' limit '500' --format json",
        ),
        (
            ha.show_mdss(),
            "mgmt_cli -r true show-mdss details-level 'full' limit '500' --format json",
        ),
        (ha.show_ha_state(), "mgmt_cli -r true show-ha-state --format json"),
        (ha.show_ha_state("dom1"), "mgmt_cli -r true -d 'dom1' show-ha-state --format json"),
        (ha.show_ha_status("dom1"), "mgmt_cli -r true -d 'dom1' show-ha-status --format json"),
        (ha.show_ha_status(None), "mgmt_cli -r true show-ha-status --format json"),
        (
            ha.set_ha_state("dom1", "active"),
            "mgmt_cli -r true -d 'dom1' set-ha-state new-state 'active' --format json",
        ),
        (
            ha.ha_full_sync("Global", "mds2"),
            "mgmt_cli -r true -d 'Global' ha-full-sync name 'mds2' --format json",
        ),
        (
            ha.show_task("0123-abcd"),
            "mgmt_cli -r true show-task task-id '0123-abcd' details-level 'full' --format json",
        ),
        (
            ha.show_servers_and_processes(),
            "mgmt_cli -r true show-servers-and-processes --format json",
        ),
        (
            backup.mds_backup("/var/log/mds_backups"),
            "cd /var/log/mds_backups && mds_backup -b -l -d /var/log/mds_backups",
        ),
        (
            backup.mds_backup("/var/log/my backups"),
            "cd '/var/log/my backups' && mds_backup -b -l -d '/var/log/my backups'",
        ),
        (
            backup.backup_files("/var/log/mds_backups/"),
            "stat -c '%n|%s|%Y' /var/log/mds_backups/*.mdsbk.* 2>/dev/null",
        ),
        (
            backup.backup_files("/var/log/my backups"),
            "stat -c '%n|%s|%Y' '/var/log/my backups'/*.mdsbk.* 2>/dev/null",
        ),
        (backup.sha256("/var/log/a b.tar"), "sha256sum '/var/log/a b.tar'"),
        (backup.free_space("/var/log"), "df -P -k /var/log"),
    ],
    ids=lambda v: v if isinstance(v, str) else v.name,
)
def test_command_line(command: Command[object], line: str) -> None:
    assert command.line == line


def test_modes_and_mutating_flags() -> None:
    clish = [
        versions.show_version_all(),
        verifier.installer_verify(1),
        upgrade.lock_database_override(),
        upgrade.installer_import_local("/p.tgz"),
        upgrade.installer_upgrade(1),
        upgrade.show_installer_packages(),
        upgrade.show_installer_package(1),
    ]
    assert all(c.mode is Mode.CLISH for c in clish)
    assert mdsstat.mdsstat().mode is Mode.EXPERT
    assert ha.show_ha_state().mode is Mode.EXPERT
    mutating = [
        services.mdsstart(),
        services.mdsstop(),
        services.mdsstart_customer("d"),
        services.mdsstop_customer("d"),
        objects.fix_cmas_clms_version(),
        upgrade.lock_database_override(),
        upgrade.installer_import_local("/p.tgz"),
        upgrade.installer_upgrade(1),
        ha.set_ha_state("d", "standby"),
        ha.ha_full_sync("d", "p"),
        backup.mds_backup("/b"),
    ]
    assert all(c.mutating for c in mutating)
    reads = [
        mdsstat.mdsstat(),
        versions.fw_ver(),
        verifier.installer_verify(1),
        verifier.mds_setup_verification("$MDSDIR/scripts/mds_setup"),
        upgrade.show_installer_packages(),
        ha.show_ha_state(),
        ha.show_task("t"),
        backup.backup_files("/b"),
    ]
    assert not any(c.mutating for c in reads)
    assert services.mdsstart().timeout_s >= 1800
    assert upgrade.installer_upgrade(1).timeout_s >= 3600
    assert ha.show_ha_state().ok_codes == (0, 1)
    assert verifier.installer_verify(1).ok_codes == (0, 1)


def test_pre_upgrade_verifier_runs_in_the_domain_context() -> None:
    cmd = verifier.pre_upgrade_verifier("$FWDIR", "R81.10", "R81.20", "/tmp/r.txt", "dom1_Server")
    assert cmd.domain == "dom1_Server"


@pytest.mark.parametrize(
    "bad",
    [
        lambda: mdsstat.mdsstat("dom1_Server", mds_only=True),
        lambda: services.mdsstart(mds_only=True, sequential=True),
        lambda: upgrade.show_installer_packages("everything"),
        lambda: upgrade.installer_import_local("/var/log/my pkg.tgz"),
        lambda: upgrade.installer_upgrade('1"; reboot'),
        lambda: verifier.installer_verify("1; reboot"),
        lambda: ha.set_ha_state("dom1", "passive"),
        lambda: ha.mgmt("show ha state"),
        lambda: ha.mgmt("show-task", {"task id": "x"}),
    ],
)
def test_bad_arguments_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        bad()  # type: ignore[operator]


def test_mgmt_quotes_every_value() -> None:
    assert (
        ha.mgmt("show-domains", {"filter": "it's a b"}, domain="My Domain")
        == "mgmt_cli -r true -d 'My Domain' show-domains filter 'it'\"'\"'s a b' --format json"
    )
    assert ha.mgmt("show-mdss") == "mgmt_cli -r true show-mdss --format json"


# -- Command.parse wrapping -----------------------------------------------------------------
def test_command_parse_wraps_unexpected_errors() -> None:
    def broken(text: str) -> int:
        return int(text)

    cmd = Command("echo x", broken)
    with pytest.raises(ParseError) as info:
        cmd.parse("x")
    assert info.value.raw == "x"
    assert info.value.command == "echo x"


def test_command_parse_keeps_parse_and_api_errors() -> None:
    with pytest.raises(ParseError) as perr:
        mdsstat.mdsstat().parse("nothing here\n")
    assert perr.value.command == "mdsstat"
    assert perr.value.raw == "nothing here\n"
    body = '{"code":"err_login_failed","message":"Authentication to server failed."}'
    with pytest.raises(ApiError) as aerr:
        ha.show_ha_state("dom9").parse(body)
    assert aerr.value.code == "err_login_failed"
    assert aerr.value.command == "show-ha-state"


def test_show_ha_status_records_where_it_was_seen_from() -> None:
    body = '{"uid": "u", "name": "dom1", "domain-type": "domain", "successfully-synced": true}'
    status = ha.show_ha_status("dom1", seen_from="mds1").parse(body)
    assert status.seen_from == "mds1"
    assert status.peers == ()
    assert status.successfully_synced is True


# -- mdsstat --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cell", "state"),
    [
        ("up 1234", ProcessState("up", 1234)),
        ("up", ProcessState("up", None)),
        ("UP  77", ProcessState("up", 77)),
        ("down", ProcessState("down")),
        ("pnd", ProcessState("pnd")),
        ("init", ProcessState("init")),
        ("init 12", ProcessState("init", 12)),
        ("N/A", ProcessState("N/A")),
        ("n/r", ProcessState("N/R")),
    ],
)
def test_process_cells(cell: str, state: ProcessState) -> None:
    assert mdsstat.parse_process_cell(cell) == state


@pytest.mark.parametrize("cell", ["", "stopped", "up abc", "up 1 2", "-"])
def test_unknown_process_cells(cell: str) -> None:
    with pytest.raises(ValueError):
        mdsstat.parse_process_cell(cell)


def test_mdsstat_reads_columns_by_header_name_in_any_order() -> None:
    text = (
        "| Name | CPD | Type | FWM | IP address |\n"
        "| -    | up 3 | MDS | up 1 | 10.0.0.1 |\n"
        "| d1_Server | down | CMA | pnd | 10.1.0.1 |\n"
    )
    st = mdsstat.parse_mdsstat(text)
    assert st.columns == ("CPD", "FWM")
    assert st.server_row is not None and st.server_row.name is None
    assert st.server_row.processes == {"CPD": ProcessState("up", 3), "FWM": ProcessState("up", 1)}
    (dom,) = st.domain_rows
    assert (dom.type, dom.name, dom.ip) == ("CMA", "d1_Server", "10.1.0.1")
    assert not dom.all_up
    assert st.total is None


def test_mdsstat_header_only_is_an_empty_table() -> None:
    st = mdsstat.parse_mdsstat(HEADER + "\n")
    assert st.rows == ()
    assert st.columns == ("FWM", "FWD", "CPD", "CPCA")


def test_mdsstat_unknown_token_keeps_the_raw_text() -> None:
    text = HEADER + "\n| MDS | - | 1.1.1.1 | up 1 | up 2 | restarting | up 4 |\n"
    with pytest.raises(ParseError) as info:
        mdsstat.parse_mdsstat(text)
    assert info.value.raw == text
    assert "restarting" in info.value.reason


def test_mdsstat_footer_without_counts() -> None:
    text = HEADER + "\n| Total Domain Management Servers checked: 0 |\n"
    st = mdsstat.parse_mdsstat(text)
    assert (st.total, st.up, st.down) == (0, None, None)


# -- versions -------------------------------------------------------------------------------
def test_fw_ver_old_release_without_r_number() -> None:
    text = "This is Check Point VPN-1(TM) & FireWall-1(R) NGX - Build 011\n"
    assert versions.parse_fw_ver(text).version == "NGX"


def test_cpinfo_no_hotfixes_gives_nothing_for_that_product() -> None:
    text = "[IDA]\n\tNo hotfixes..\n[MGMT]\n\tHOTFIX_X\tTake:  5\n"
    assert [(h.product, h.name, h.take) for h in versions.parse_cpinfo_hotfixes(text)] == [
        ("MGMT", "HOTFIX_X", 5)
    ]


def test_all_cmas_illegal_command() -> None:
    with pytest.raises(ParseError):
        versions.parse_all_cmas("Error: Illegal command 'AllCMA'\n")


# -- objects --------------------------------------------------------------------------------
def test_fix_cmas_clms_version_never_fails() -> None:
    for text in ("", "\x00\x01 garbage |||", "Updating ... Done\n", "Updating x\n"):
        result = objects.parse_fix_cmas_clms_version(text)
        assert result.raw == text
    fixed = objects.parse_fix_cmas_clms_version(
        "Updating a (CMA) ... Done\nUpdating b ... Failed\n"
    )
    assert fixed.failed == ("b",)
    assert [o.ok for o in fixed.outcomes] == [True, False]


# -- verifier -------------------------------------------------------------------------------
def test_verifier_one_line_findings_under_headers() -> None:
    text = (
        "WARNINGS\n"
        "Title: Old objects * Description: Review them.\n"
        "Errors found:\n"
        "Title: Bad names * Description: Rename them.\n"
    )
    report = verifier.parse_verifier_report(text)
    assert [(f.severity, f.title, f.description) for f in report.findings] == [
        ("warning", "Old objects", "Review them."),
        ("error", "Bad names", "Rename them."),
    ]
    assert [f.id for f in report.errors] == ["bad-names"]


def test_verifier_finding_without_header_counts_as_error() -> None:
    report = verifier.parse_verifier_report("Title: Something\nDescription: odd\n")
    assert report.findings[0].severity == "error"


def test_verifier_multiline_description_stops_at_the_next_header() -> None:
    text = (
        "Errors:\n"
        "  Title: A\n"
        "  Description: first line\n"
        "     second line\n"
        "  continued at the same indent\n"
        "Warnings:\n"
        "  Title: B\n"
        "  Description: b\n"
        "Summary: 1 error, 1 warning\n"
    )
    report = verifier.parse_verifier_report(text)
    assert report.findings[0].description == ("first line second line continued at the same indent")
    assert report.findings[1].severity == "warning"
    assert report.summary == "1 error, 1 warning"


def test_verifier_verdict_prefers_the_upgrade_line() -> None:
    text = "Clean Install: Clean Install is not allowed. No space.\nUpgrade: Upgrade is allowed.\n"
    report = verifier.parse_verifier_report(text)
    assert report.upgrade_allowed is True
    assert report.verdicts[0].allowed is False
    assert report.verdicts[0].reason == "No space."


def test_verifier_without_anything_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        verifier.parse_verifier_report("Welcome to mds_setup\n(4) Exit\n")


# -- CPUSE ----------------------------------------------------------------------------------
def test_installer_packages_extra_gaps_in_a_name_are_kept() -> None:
    text = "Display name                   Type\nMy  Odd   Package.tgz          Hotfix\n"
    (pkg,) = upgrade.parse_installer_packages(text)
    assert pkg.name == "My Odd Package.tgz"
    assert pkg.type == "Hotfix"


def test_installer_packages_row_that_cannot_be_split() -> None:
    with pytest.raises(ParseError):
        upgrade.parse_installer_packages("Num  Display name  Status\n1 pkg.tgz Weird\n")


def test_installer_package_status_percentages() -> None:
    detail = upgrade.parse_installer_package("Display name:  p.tgz\nStatus:  Installing (78%)\n")
    assert (detail.status, detail.progress) == ("Installing", 78)
    assert detail.contains == ()
    assert detail.installed_on is None


# -- Management API -------------------------------------------------------------------------
def test_load_json_error_body_with_details() -> None:
    body = '{"code":"err_validation_failed","message":"m","errors":[{"message":"x"}]}'
    with pytest.raises(ApiError) as info:
        ha.load_json(body, "set-ha-state")
    assert info.value.code == "err_validation_failed"
    assert info.value.command == "set-ha-state"


def test_load_json_an_object_with_a_code_field_is_not_an_error() -> None:
    body = '{"code": "x", "message": "y", "task-id": "t"}'
    assert ha.load_json(body)["task-id"] == "t"


def test_load_json_keeps_the_raw_text() -> None:
    with pytest.raises(ParseError) as info:
        ha.load_json("mgmt_cli: command not found\n", "show-ha-state")
    assert info.value.raw == "mgmt_cli: command not found\n"
    assert info.value.command == "mgmt_cli show-ha-state"


def test_task_ref_from_a_waited_task_and_login_required_words() -> None:
    waited = '{"tasks": [{"task-id": "t1", "status": "succeeded"}]}'
    assert ha.parse_task_ref(waited).task_id == "t1"
    assert ha.parse_task_ref('{"task-id": "t", "login-required": false}').login_required is False
    assert ha.parse_task_ref('{"task-id": "t", "login-required": "true"}').login_required is True
    with pytest.raises(ParseError):
        ha.parse_task_ref('{"message": "OK"}')


def test_show_task_empty_list_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        ha.parse_task('{"tasks": []}')


def test_servers_and_processes_pid_conversion() -> None:
    body = (
        '{"servers": [{"name": "l1", "type": "log-server", "ip-address": "1.1.1.1", '
        '"processes": [{"name": "FWM", "status": "down", "pid": ""}, '
        '{"name": "CPD", "status": "up", "pid": 42}]}]}'
    )
    (row,) = ha.parse_servers_and_processes(body)
    assert row.type == "CLM"
    assert row.processes == {"FWM": ProcessState("down"), "CPD": ProcessState("up", 42)}


# -- sync_status: SmartConsole's words (INFERRED mapping) ------------------------------------
def entry(mds: str, state: str, domain: str = "dom1") -> HaStateEntry:
    return HaStateEntry(
        domain=domain,
        domain_type="domain",
        mds=mds,
        name=f"{domain}_{mds}",
        ip=None,
        ha_state=state,
    )


def peer(mds: str, sync: str | None, last: str | None, state: str = "standby") -> HaPeer:
    return HaPeer(mds=mds, ip=None, ha_state=state, sync_state=sync, last_successful_sync=last)


def status(seen_from: str, *peers: HaPeer, domain: str = "dom1") -> HaStatus:
    return HaStatus(
        domain=domain,
        domain_type="domain",
        seen_from=seen_from,
        peers=tuple(peers),
        successfully_synced=None,
    )


T = "2026-11-26T14:42+0000"


@pytest.mark.parametrize(
    ("entries", "statuses", "expected"),
    [
        pytest.param(
            [entry("mds1", "active"), entry("mds2", "standby")],
            [status("mds1", peer("mds2", "Ok", T))],
            {"mds2": SYNCHRONIZED},
            id="standby ok with a last sync",
        ),
        pytest.param(
            [entry("mds1", "active"), entry("mds2", "standby")],
            [status("mds1", peer("mds2", "Sync Error", None))],
            {"mds2": NEVER_SYNCHRONIZED},
            id="no last sync",
        ),
        pytest.param(
            [entry("mds1", "active"), entry("mds2", "standby")],
            [status("mds1", peer("mds2", "Ok", None))],
            {"mds2": NEVER_SYNCHRONIZED},
            id="ok but never synced",
        ),
        pytest.param(
            [entry("mds1", "active"), entry("mds2", "standby")],
            [status("mds1", peer("mds2", "Communication Error", T))],
            {"mds2": UNKNOWN},
            id="communication error after a sync",
        ),
        pytest.param(
            [entry("mds1", "active"), entry("mds2", "standby")],
            [],
            {"mds2": UNKNOWN},
            id="no ha-status available",
        ),
        pytest.param(
            [entry("mds1", "active"), entry("mds2", "active")],
            [status("mds1", peer("mds2", None, T, "active"))],
            {"mds1": COLLISION, "mds2": COLLISION},
            id="two actives",
        ),
        pytest.param(
            [entry("mds1", "active"), entry("mds2", "active"), entry("mds3", "standby")],
            [status("mds1", peer("mds3", "Ok", T))],
            {"mds1": COLLISION, "mds2": COLLISION, "mds3": SYNCHRONIZED},
            id="collision and a synchronized standby",
        ),
        pytest.param(
            [entry("mds1", "active"), entry("mds2", "standby"), entry("mds3", "standby")],
            [
                status("mds3", peer("mds2", "Communication Error", None)),
                status("mds1", peer("mds2", "Ok", T), peer("mds3", "Ok", T)),
            ],
            {"mds2": SYNCHRONIZED, "mds3": SYNCHRONIZED},
            id="the active server's view wins",
        ),
        pytest.param(
            [entry("mds1", "active"), entry("mds2", "standby"), entry("mds1", "active", "dom2")],
            [
                status("mds1", peer("mds2", "Ok", T)),
                status("mds1", peer("mds2", "Sync Error", None), domain="dom2"),
            ],
            {"mds2": SYNCHRONIZED},
            id="other domains are ignored",
        ),
        pytest.param(
            [entry("mds1", "standby"), entry("mds2", "standby")],
            [status("mds1", peer("mds2", "Ok", T))],
            {"mds1": UNKNOWN, "mds2": SYNCHRONIZED},
            id="no active at all",
        ),
    ],
)
def test_sync_status(
    entries: list[HaStateEntry], statuses: list[HaStatus], expected: dict[str, str]
) -> None:
    assert ha.sync_status("dom1", entries, statuses) == expected


def test_sync_status_on_the_official_examples() -> None:
    state = ha.parse_ha_state(
        '{"domains": [{"name": "domain1", "domain-type": "domain", "servers": ['
        '{"name": "domain1_Server", "ip-address": "3.3.3.3", "ha-state": "active",'
        ' "multi-domain-server": "primary"},'
        '{"name": "domain1_Server_2", "ip-address": "172.23.3.234", "ha-state": "standby",'
        ' "multi-domain-server": "secondary"},'
        '{"name": "domain1_Server_3", "ip-address": "172.23.3.235", "ha-state": "standby",'
        ' "multi-domain-server": "secondary2"}]}]}'
    )
    from tests.unit.test_fixtures import FIXTURES, read_text

    seen = ha.parse_ha_status(
        read_text(FIXTURES / "show_ha_status" / "official_domain.txt"), "primary"
    )
    assert ha.sync_status("domain1", state, [seen]) == {
        "secondary": SYNCHRONIZED,
        "secondary2": NEVER_SYNCHRONIZED,
    }
