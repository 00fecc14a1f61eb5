"""The pre-upgrade verifier in the lab: the report, ``pre_upgrade_verifier`` and ``mds_setup``."""

from __future__ import annotations

import time

from mdstools.lab import verifier
from mdstools.lab.model import Finding
from tests.lab.conftest import LabFactory, run_on

PUV = "$FWDIR/bin/upgrade_tools/pre_upgrade_verifier"


def test_report_layout(labs: LabFactory) -> None:
    dep = labs()
    s = dep.server("mds1")
    s.findings = [
        Finding("error", "E1", "first error"),
        Finding("warning", "W1", "a warning"),
        Finding("warning", "W2", "another"),
    ]
    lines = verifier.report(s, "R81.10", "R81.20").splitlines()
    title = "Pre-Upgrade Verification Results  (current: R81.10  target: R81.20)"
    assert lines[:3] == ["=" * len(title), title, "=" * len(title)]
    assert lines[3:] == [
        "Errors (must be fixed before upgrade):",
        "  Title: E1",
        "  Description: first error",
        "Warnings (should be reviewed):",
        "  Title: W1",
        "  Description: a warning",
        "  Title: W2",
        "  Description: another",
        "Summary: 1 error, 2 warnings",
    ]
    s.findings = []
    clean = verifier.report(s, "R81.10", "R81.20")
    assert "Summary: 0 errors, 0 warnings" in clean and "  None" in clean


def test_mds_setup_verification_lists_every_warning(labs: LabFactory) -> None:
    dep = labs("verifier-warnings")
    for server in ("mds1", "mds2", "mlm1"):
        r = run_on(dep, server, "printf '1\\n' | $MDSDIR/scripts/mds_setup")
        assert r.rc == 0, r.out + r.err
        assert "(1) Pre-Upgrade Verification Only" in r.out
        assert "Enter your choice (1-4) :" in r.out
        for f in dep.server(server).findings:
            assert f"  Title: {f.title}" in r.out
        assert verifier.MDS_SETUP_REPORT in r.out
        saved = dep.server(server).vfs.read_text(verifier.MDS_SETUP_REPORT)
        assert "Warnings (should be reviewed):" in saved
    assert "Global Properties changed" in run_on(dep, "mds1", "$MDSDIR/scripts/mds_setup <<< 1").out


def test_mds_setup_verification_fails_on_error(labs: LabFactory) -> None:
    dep = labs("verifier-error")
    r = run_on(dep, "mds2", "$MDSDIR/scripts/mds_setup <<< 1")
    assert r.rc == 1
    assert "  Title: Invalid object names" in r.out
    assert run_on(dep, "mds1", "$MDSDIR/scripts/mds_setup <<< 1").rc == 0


def test_mds_setup_upgrade_refused_on_error(labs: LabFactory) -> None:
    dep = labs("verifier-error")
    r = run_on(dep, "mds2", "printf '2\\ny\\n' | $MDSDIR/scripts/mds_setup")
    assert r.rc == 1
    assert "The upgrade cannot continue" in r.out
    assert "Are you sure you want to proceed?" not in r.out
    assert dep.server("mds2").upgrade is None


def test_mds_setup_upgrade_asks_then_starts(labs: LabFactory) -> None:
    dep = labs()
    s = dep.server("mlm1")
    r = run_on(dep, "mlm1", "printf '2\\nn\\n' | $MDSDIR/scripts/mds_setup")
    assert r.rc == 1 and "Are you sure you want to proceed? (y/n) [n] ?" in r.out
    assert s.upgrade is None
    start = time.monotonic()
    r = run_on(dep, "mlm1", "printf '2\\ny\\n' | $MDSDIR/scripts/mds_setup")
    assert r.rc == 0, r.out
    assert time.monotonic() - start < dep.clock.dur(dep.timings.upgrade) / 2
    assert "reboot" in r.out
    started = dep.server("mlm1").upgrade
    assert started is not None and started.target.name == "R81.20"


def test_mds_setup_other_choices(labs: LabFactory) -> None:
    dep = labs()
    r = run_on(dep, "mds1", "$MDSDIR/scripts/mds_setup", stdin="")
    assert r.rc == 1 and verifier.MDS_SETUP_EOF in r.out
    r = run_on(dep, "mds1", "printf '9\\n4\\n' | $MDSDIR/scripts/mds_setup")
    assert r.rc == 0 and "Invalid choice '9'" in r.out
    r = run_on(dep, "mds1", "$MDSDIR/scripts/mds_setup <<< 3")
    assert r.rc == 0 and "mds_backup" in r.out


def test_pre_upgrade_verifier_to_file(labs: LabFactory) -> None:
    dep = labs("verifier-error")
    r = run_on(dep, "mds2", f"{PUV} -p $FWDIR -c R81.10 -t R81.20 -f /var/log/puv.txt")
    assert r.rc == 1, r.out + r.err
    assert "Pre-upgrade verification report: /var/log/puv.txt" in r.out
    text = dep.server("mds2").vfs.read_text("/var/log/puv.txt")
    assert "(current: R81.10  target: R81.20)" in text
    assert "  Title: Invalid object names" in text
    r = run_on(dep, "mds1", f"{PUV} -p $FWDIR -c R81.20")
    assert r.rc == 0
    assert "(current: R81.10  target: R81.20)" in r.out
    assert "Summary: 0 errors, 0 warnings" in r.out
    r = run_on(dep, "mds1", f"{PUV} -p $FWDIR -c R81.10 -t R81.20 -w -f /var/log/puv.html")
    assert r.rc == 0
    assert dep.server("mds1").vfs.read_text("/var/log/puv.html").startswith("<html>")
    assert run_on(dep, "mds1", f"{PUV} -c R81.20").rc == 2
    assert run_on(dep, "mds1", f"{PUV} -p $FWDIR -c R99.99").rc == 2
