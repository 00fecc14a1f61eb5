"""CPUSE clish in the lab: ``installer import/verify/upgrade/install``, ``show installer ...``."""

from __future__ import annotations

import time
from collections.abc import Callable

from mdstools.lab import clish
from mdstools.lab.model import Deployment
from mdstools.lab.scenarios import upgrade_package_path
from tests.lab.conftest import LabFactory, Ran, run_on

PKG = upgrade_package_path("R81.20")
PKG_NAME = PKG.rsplit("/", 1)[1]
HOTFIX = "/var/log/upload/Check_Point_R81_10_JUMBO_HF_MAIN_Bundle_T150_FULL.tgz"


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def clish_c(
    dep: Deployment, server: str, command: str, stdin: str = "", user: str = "admin"
) -> Ran:
    return run_on(dep, server, f'clish -c "{command}"', stdin, user=user)


def field(out: str, key: str) -> str:
    for line in out.splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {key}: line in\n{out}")


def imported(dep: Deployment, server: str = "mds1") -> None:
    r = clish_c(dep, server, f"installer import local {PKG} not-interactive")
    assert r.rc == 0, r.out
    wait_for(lambda: dep.server(server).packages[PKG_NAME].status == "Imported")


def test_import_returns_at_once_and_becomes_imported(labs: LabFactory) -> None:
    dep = labs()
    r = clish_c(dep, "mds1", f"installer import local {PKG} not-interactive")
    assert r.rc == 0
    assert f"Info: Initiating import of {PKG_NAME}..." in r.out
    assert "Preparing package for import" in r.out
    assert field(clish_c(dep, "mds1", "show installer package 1").out, "Status") == "Importing"
    pkg = dep.server("mds1").packages[PKG_NAME]
    assert (pkg.num, pkg.type, pkg.target) == (1, "Major Version", "R81.20")
    wait_for(
        lambda: (
            field(clish_c(dep, "mds1", f"show installer package {PKG_NAME}").out, "Status")
            == "Imported"
        )
    )
    assert pkg.status == "Imported"
    listing = clish_c(dep, "mds1", "show installer packages imported").out
    assert "Connection error. Packages list might be incomplete" in listing
    assert "Major Versions" in listing
    row = next(line for line in listing.splitlines() if PKG_NAME in line)
    assert row.split()[0] == "1" and row.rstrip().endswith("Major Version")
    assert listing.splitlines()[6].startswith("Num  Display name")


def test_import_of_missing_file_fails(labs: LabFactory) -> None:
    dep = labs()
    r = clish_c(dep, "mds1", "installer import local /var/log/upload/nope.tgz not-interactive")
    assert r.rc == 1
    assert "CLINFR0815 Invalid command or package cannot be processed" in r.out
    assert dep.server("mds1").packages == {}


def test_lists_installed_jumbo_and_empty_imported(labs: LabFactory) -> None:
    dep = labs()
    allp = clish_c(dep, "mds1", "show installer packages all").out
    assert "Check_Point_R81_10_JUMBO_HF_MAIN_Bundle_T130_FULL.tgz" in allp
    assert "Installed" in allp
    imp = clish_c(dep, "mds1", "show installer packages imported")
    assert imp.rc == 0
    assert "There are no imported packages" in imp.out


def test_unknown_id_is_a_clear_error(labs: LabFactory) -> None:
    dep = labs()
    for cmd in (
        "show installer package 7",
        "installer verify nope.tgz not-interactive",
        "installer upgrade 3 not-interactive",
    ):
        r = clish_c(dep, "mds1", cmd)
        assert r.rc == 1, cmd
        assert "CLINFR0815" in r.out and "not in the CPUSE repository" in r.out


def test_verify_allowed_on_healthy_server(labs: LabFactory) -> None:
    dep = labs()
    imported(dep)
    start = time.monotonic()
    r = clish_c(dep, "mds1", "installer verify 1 not-interactive")
    assert time.monotonic() - start >= dep.clock.dur(dep.timings.verify_package) * 0.9
    assert r.rc == 0, r.out
    assert r.out.splitlines()[0] == f"Info: Initiating verify of {PKG_NAME}..."
    for line in (
        "Result: Verifier results:",
        "Clean Install: Clean Install is allowed.",
        "Upgrade: Upgrade is allowed.",
    ):
        assert line in r.out.splitlines()
    text = dep.server("mds1").vfs.read_text("/var/log/CPUSE_pre_upgrade_verifier_R81.20.txt")
    assert "Summary: 0 errors, 0 warnings" in text


def test_verify_not_allowed_with_verifier_error(labs: LabFactory) -> None:
    dep = labs("verifier-error")
    imported(dep, "mds2")
    r = clish_c(dep, "mds2", f"installer verify {PKG_NAME} not-interactive")
    assert r.rc == 1
    assert (
        "Upgrade: Upgrade is not allowed. Pre-upgrade verification failed with 1 error(s)."
        in r.out.splitlines()
    )
    report_line = r.out.splitlines()[-1]
    assert report_line.startswith("Pre-upgrade verification report: ")
    path = report_line.split(": ", 1)[1]
    text = dep.server("mds2").vfs.read_text(path)
    assert "Pre-Upgrade Verification Results  (current: R81.10  target: R81.20)" in text
    assert "  Title: Invalid object names" in text
    assert "Summary: 1 error, 1 warning" in text
    up = clish_c(dep, "mds2", "installer upgrade 1 not-interactive")
    assert up.rc == 1 and "Upgrade is not allowed" in up.out
    assert dep.server("mds2").upgrade is None


def test_upgrade_returns_at_once_then_installs_and_reboots(labs: LabFactory) -> None:
    dep = labs()
    imported(dep)
    s = dep.server("mds1")
    boots = s.boot_count
    start = time.monotonic()
    r = clish_c(dep, "mds1", "installer upgrade 1 not-interactive")
    assert time.monotonic() - start < dep.clock.dur(dep.timings.upgrade) / 3
    assert r.rc == 0, r.out
    assert f"Info: Initiating upgrade of {PKG_NAME}..." in r.out
    assert s.upgrade is not None
    first = field(clish_c(dep, "mds1", "show installer package 1").out, "Status")
    assert first.startswith("Installing ") and first.endswith("%")
    again = clish_c(dep, "mds1", "installer upgrade 1 not-interactive")
    assert again.rc == 1 and "Upgrade is not allowed" in again.out
    seen: set[int] = set()

    def progress() -> bool:
        if s.upgrade is None:
            return True
        st = field(clish_c(dep, "mds1", "show installer package 1").out, "Status")
        if st.startswith("Installing"):
            seen.add(int(st.split()[1].rstrip("%")))
        return False

    wait_for(progress)
    assert len(seen) > 1 and max(seen) > min(seen)
    wait_for(lambda: s.online and s.boot_count > boots)
    out = clish_c(dep, "mds1", "show installer package 1").out
    assert field(out, "Status") == "Installed"
    assert field(out, "Installed on") != "N/A"
    assert "Product version Check Point Gaia R81.20" in clish_c(dep, "mds1", "show version all").out


def test_upgrade_prompt_reads_stdin(labs: LabFactory) -> None:
    dep = labs()
    imported(dep)
    r = clish_c(dep, "mds1", "installer upgrade 1", stdin="n\n")
    assert r.rc == 1
    assert f"The machine will automatically reboot after upgrade of {PKG_NAME}." in r.out
    assert "Do you want to continue? ([y]es / [n]o)" in r.out
    assert dep.server("mds1").upgrade is None
    r = clish_c(dep, "mds1", f"installer upgrade {PKG_NAME}", stdin="y\n")
    assert r.rc == 0 and dep.server("mds1").upgrade is not None


def test_config_lock(labs: LabFactory) -> None:
    dep = labs()
    imported(dep)
    assert clish_c(dep, "mds1", "lock database override", user="monitor").rc == 0
    out = clish_c(dep, "mds1", "show installer package 1").out
    assert out.splitlines()[0] == (
        "CLINFR0771  Config lock is owned by monitor. "
        "Use 'lock database override' to acquire the lock."
    )
    r = clish_c(dep, "mds1", "installer verify 1 not-interactive")
    assert r.rc == 1 and "CLINFR0519" in r.out
    assert clish_c(dep, "mds1", "lock database override").rc == 0
    assert dep.server("mds1").config_lock_owner == "admin"
    assert "CLINFR0771" not in clish_c(dep, "mds1", "show installer package 1").out
    assert clish_c(dep, "mds1", "unlock database").rc == 0
    assert dep.server("mds1").config_lock_owner is None


def test_hotfix_install_with_suppressed_reboot(labs: LabFactory) -> None:
    dep = labs()
    s = dep.server("mds1")
    s.vfs.write(HOTFIX, b"hotfix\n", size=2_000_000_000)
    assert clish_c(dep, "mds1", f"installer import local {HOTFIX}").rc == 0
    name = HOTFIX.rsplit("/", 1)[1]
    wait_for(lambda: s.packages[name].status == "Imported")
    assert s.packages[name].type == "Hotfix"
    v = clish_c(dep, "mds1", f"installer verify {name} not-interactive")
    assert v.rc == 0 and "Installation: Installation is allowed." in v.out
    up = clish_c(dep, "mds1", f"installer upgrade {name} not-interactive")
    assert up.rc == 1 and "Upgrade is not allowed" in up.out
    boots = s.boot_count
    r = clish_c(dep, "mds1", f"installer install {name}", stdin="s\n")
    assert r.rc == 0, r.out
    assert "([y]es / [n]o / [s]uppress reboot)" in r.out
    assert field(clish_c(dep, "mds1", f"show installer package {name}").out, "Status").startswith(
        "Installing"
    )
    wait_for(lambda: s.packages[name].status == "Installed")
    assert s.jumbo == 150 and s.boot_count == boots
    listing = clish_c(dep, "mds1", "show installer packages installed").out
    assert name in listing and "T130" not in listing


def test_unnumbered_layout_on_r82(labs: LabFactory) -> None:
    dep = labs(source="R82", target="R82")
    path = "/var/log/upload/Check_Point_R82_JUMBO_HF_MAIN_Bundle_T30_FULL.tgz"
    dep.server("mds1").vfs.write(path, b"x", size=10)
    assert clish_c(dep, "mds1", f"installer import local {path} not-interactive").rc == 0
    lines = clish_c(dep, "mds1", "show installer packages imported").out.splitlines()
    head = next(line for line in lines if line.startswith("Display name"))
    assert head.index("Type") == clish.NAME_WIDTH["type"]
    row = next(line for line in lines if line.startswith("Check_Point_R82_JUMBO"))
    assert row.index("Hotfix") == clish.NAME_WIDTH["type"]


def test_clish_login_shell_runs_installer_directly(labs: LabFactory) -> None:
    dep = labs("clish-login")
    r = run_on(dep, "mds2", f"installer import local {PKG} not-interactive", profile=False)
    assert r.rc == 0, r.out + r.err
    r = run_on(dep, "mds2", "show installer status build", profile=False)
    assert r.rc == 0 and r.out.startswith("Build number: ")
