"""MDS programs of the lab against the formats of docs/formats.md."""

from __future__ import annotations

import re
import time

from mdstools.lab.model import Deployment
from tests.lab.conftest import Runner, make_lab, run_on

ROW = re.compile(r"^\|\s*(MDS|MLM|CMA|CLM)\s*\|")
STATUS = re.compile(r"^(up \d+|down|pnd|init|N/A|N/R)$")


def table(out: str) -> list[list[str]]:
    """Rows of an mdsstat table split on pipes, as the real-world parsers do."""
    return [
        [c.strip() for c in line.split("|")[1:-1]] for line in out.splitlines() if ROW.match(line)
    ]


def header(out: str) -> list[str]:
    line = next(line for line in out.splitlines() if re.match(r"^\|\s*Type\s*\|", line))
    return [c.strip() for c in line.split("|")[1:-1]]


def test_mdsstat_is_a_pipe_table_with_the_reference_layout(run: Runner) -> None:
    r = run("mds1", "mdsstat")
    assert r.rc == 0
    assert header(r.out) == ["Type", "Name", "IP address", "FWM", "FWD", "CPD", "CPCA"]
    rows = table(r.out)
    assert rows[0][:2] == ["MDS", "-"]
    assert [row[1] for row in rows[1:]] == [f"dom{i}_Server" for i in range(1, 6)]
    assert all(STATUS.match(cell) for row in rows for cell in row[3:])
    assert "| Total Domain Management Servers checked: 5    5 up   0 down" in r.out
    assert "| Tip: Run mdsstat -h for legend" in r.out
    # the awk field numbers of the public scripts in docs/formats.md#mdsstat
    cma = [line for line in r.out.splitlines() if re.search(r"\|\s+CMA\s+\|", line)]
    assert next(line.split()[3] for line in cma) == "dom1_Server"
    assert next(line.split()[5] for line in cma) == "10.1.0.1"
    widths = {len(line) for line in r.out.splitlines() if line.startswith(("|", "+"))}
    assert len(widths) == 1, "every border and row has the same width"


def test_mdsstat_variants(run: Runner) -> None:
    assert [row[0] for row in table(run("mds1", "mdsstat -m").out)] == ["MDS"]
    one = table(run("mds2", "mdsstat dom3_Server_2").out)
    assert [row[1] for row in one] == ["-", "dom3_Server_2"]
    legend = run("mds1", "mdsstat -h").out
    for token in ("up", "down", "pnd", "init", "N/A", "N/R"):
        assert re.search(rf"^{re.escape(token)}\s+- ", legend, re.M)
    bad = run("mds1", "mdsstat nope")
    assert bad.rc == 1 and "nope" in bad.err


def test_mdsstat_on_a_log_server(run: Runner) -> None:
    rows = table(run("mlm1", "mdsstat").out)
    assert rows[0][0] == "MLM" and rows[0][-1] == "N/R"
    assert {row[0] for row in rows[1:]} == {"CLM"} and all(row[-1] == "N/R" for row in rows[1:])
    assert rows[1][1] == "dom1_Log_Server"


def test_mdsstat_columns_are_configurable_per_release() -> None:
    dep = make_lab(columns={"R81.10": ("FWM", "FWMHA", "FWD", "CPD", "CPCA")})
    out = run_on(dep, "mds1", "mdsstat").out
    assert header(out)[3:] == ["FWM", "FWMHA", "FWD", "CPD", "CPCA"]
    assert all(len(row) == 8 for row in table(out))


def test_mdsstat_handles_long_names_and_500_domains() -> None:
    dep = make_lab(domains=500)
    out = run_on(dep, "mds2", "mdsstat").out
    rows = table(out)
    assert len(rows) == 501 and rows[-1][1] == "dom500_Server_2"
    assert "checked: 500    500 up   0 down" in out


def wait_all_up(dep: Deployment, server: str, timeout: float = 10) -> list[list[str]]:
    end = time.monotonic() + timeout
    while True:
        rows = table(run_on(dep, server, "mdsstat").out)
        if all(c.startswith(("up", "N/R")) for row in rows for c in row[3:]):
            return rows
        assert time.monotonic() < end, rows
        time.sleep(0.02)


def test_mdsstop_mdsstart_move_processes_through_the_states() -> None:
    dep = make_lab(domains=12, time_scale=0.01)
    r = run_on(dep, "mds1", "mdsstop")
    assert r.rc == 0
    rows = table(run_on(dep, "mds1", "mdsstat").out)
    assert {c for row in rows for c in row[3:]} == {"down"}
    r = run_on(dep, "mds1", "mdsstart; mdsstat")
    assert r.rc == 0 and "2 batch(es) of up to 10" in r.out
    seen = {c.split()[0] for row in table(r.out)[1:] for c in row[3:]}
    assert seen & {"pnd", "init", "down"}, "mdsstart returns before every DMS is up"
    assert len(wait_all_up(dep, "mds1")) == 13
    dep.scheduler.stop()


def test_customer_start_and_stop(run: Runner, lab: Deployment) -> None:
    r = run("mds1", "mdsstop_customer dom2_Server")
    assert r.rc == 0
    assert table(run("mds1", "mdsstat dom2_Server").out)[1][3] == "down"
    assert run("mds1", "mdsstart_customer 10.1.0.2").rc == 0, "by IP works too"
    assert table(run("mds1", "mdsstat dom2_Server").out)[1][3].startswith("up ")
    bad = run("mds1", "mdsstart_customer nope")
    assert bad.rc == 1 and "nope" in bad.err


def test_customer_start_fails_with_the_fault_scenario() -> None:
    dep = make_lab("dms-wont-start")
    assert run_on(dep, "mds2", "mdsstop_customer dom2_Server_2").rc == 0
    r = run_on(dep, "mds2", "mdsstart_customer dom2_Server_2")
    assert r.rc == 1 and "Failed to start" in r.err
    assert table(run_on(dep, "mds2", "mdsstat dom2_Server_2").out)[1][3] == "down"


def test_mdsenv_sets_variables_not_the_prompt(run: Runner) -> None:
    r = run("mds1", "mdsenv dom1_Server; echo $FWDIR; echo $MDS_FWDIR; mdsenv; echo $FWDIR")
    fwdir, mds_fwdir, back = r.out.splitlines()
    assert fwdir == "/opt/CPmds-R81.10/customers/dom1_Server/CPsuite-R81.10/fw1"
    assert mds_fwdir == back == "/opt/CPmds-R81.10/fw1"
    bad = run("mds1", "mdsenv nope")
    assert bad.rc == 1


def test_helpers_allcmas_illegal_and_mdsquerydb(run: Runner) -> None:
    assert run("mds2", "$MDSVERUTIL AllCMAs").out.split() == [
        f"dom{i}_Server_2" for i in range(1, 6)
    ]
    bad = run("mds1", "$MDSVERUTIL AllMdssInfo")
    assert bad.rc == 1 and bad.out.strip() == "Error: Illegal command 'AllMdssInfo'"
    assert run("mds1", "mdsquerydb MDSs").rc == 127, "not on PATH, as on a real MDS"
    lines = run("mds1", "$MDSDIR/scripts/mdsquerydb MDSs").out.splitlines()
    assert lines[0].split() == ["Name", "IP"]
    assert [line.split() for line in lines[1:]] == [
        ["mds1", "192.0.2.11"],
        ["mds2", "192.0.2.12"],
        ["mlm1", "192.0.2.21"],
    ]


def test_versions(run: Runner) -> None:
    assert (
        run("mds1", "fw ver").out == "This is Check Point's software version R81.10 - Build 335\n"
    )
    assert (
        run(
            "mds1",
            "cat /etc/cp-release",
        ).out
        == "Check Point Gaia R81.10\n"
    )
    info = run("mds1", "cpinfo -y all").out
    assert info.startswith("This is Check Point CPinfo Build")
    assert re.search(r"^\[MGMT\]\n\s+HOTFIX_R81_10_JUMBO_HF_MAIN\s+Take:\s+130$", info, re.M)
    assert re.search(r"^\[IDA\]\n\s+No hotfixes\.\.$", info, re.M)
    assert re.search(r"^\[CPUpdates\]\n\s+BUNDLE_R81_10_JUMBO_HF_MAIN\s+Take:\s+130$", info, re.M)
    show = run("mds1", 'clish -c "show version all"').out.splitlines()
    assert show == [
        "Product version Check Point Gaia R81.10",
        "OS build 335",
        "OS kernel version 3.10.0-957.21.3cpx86_64",
        "OS edition 64-bit",
    ]


def test_fix_object_versions_both_forms(run: Runner, lab: Deployment) -> None:
    from mdstools.lab.versions import profile

    lab.server("mds1").version = profile("R81.20")
    r = run("mds1", "$MDSDIR/scripts/mds_fix_cmas_clms_version -n dom1_Server")
    assert r.rc == 0 and "dom1_Server" in r.out
    assert lab.domain("dom1").dms[0].object_version == "R81.20"
    assert lab.domain("dom2").dms[0].object_version == "R81.10"
    r = run("mds1", "$MDSDIR/scripts/mds_fix_cmas_clms_version -c ALL")
    assert r.rc == 0 and "Summary: 5 updated, 0 failed" in r.out
    assert run("mds1", "$MDSDIR/scripts/mds_fix_cmas_clms_version").rc == 1


def test_mds_backup_writes_archive_and_helpers(run: Runner) -> None:
    r = run("mds1", "mds_backup -b -l -d /var/log/mds_backups")
    assert r.rc == 0, r.err
    name = re.search(r"Backup file: (\S+)", r.out)
    assert name and re.search(r"/\d{2}[A-Z][a-z]{2}\d{4}-\d{6}\.mdsbk\.tar$", name.group(1))
    assert run("mds1", f"test -f {name.group(1)}").rc == 0
    for helper in ("mds_restore", "gtar", "gzip"):
        assert run("mds1", f"test -f /var/log/mds_backups/{helper}").rc == 0


def test_mds_backup_fails_when_space_is_short(run: Runner, lab: Deployment) -> None:
    mount = lab.server("mds1").vfs.mount_for("/var/log")
    assert mount is not None
    mount.used_kb = mount.total_kb - 1024
    r = run("mds1", "mds_backup -b -d /var/log/mds_backups")
    assert r.rc == 1 and "not enough free disk space" in r.err
