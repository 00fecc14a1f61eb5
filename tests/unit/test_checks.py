"""The upgrade gates as pure functions of records; each names its requirement."""

from __future__ import annotations

from mdstools import checks
from mdstools.records import (
    COLLISION,
    NEVER_SYNCHRONIZED,
    SYNCHRONIZED,
    DomainServerInfo,
    HaStateEntry,
    MdsStat,
    ProcessRow,
    ProcessState,
    VerifierFinding,
    VerifierReport,
)

UP = {"FWM": ProcessState("up", 1), "CPCA": ProcessState("N/R")}


def entry(domain: str, mds: str, state: str) -> HaStateEntry:
    return HaStateEntry(
        domain=domain,
        domain_type="domain",
        mds=mds,
        name=f"{domain}_{mds}",
        ip=None,
        ha_state=state,
    )


def test_all_processes_up_r12() -> None:
    good = MdsStat(
        columns=("FWM", "CPCA"),
        rows=(
            ProcessRow(type="MDS", name=None, ip="1.1.1.1", processes=UP),
            ProcessRow(type="CMA", name="d1", ip="10.0.0.1", processes=UP),
        ),
    )
    bad = MdsStat(
        columns=("FWM",),
        rows=(
            ProcessRow(
                type="CMA", name="d2", ip="10.0.0.2", processes={"FWM": ProcessState("down")}
            ),
        ),
    )
    assert checks.all_processes_up({"mds1": good}).passed
    r = checks.all_processes_up({"mds1": good, "mds2": bad})
    assert not r.passed and r.requirement == "R12" and r.evidence == ("mds2/d2 (FWM down)",)
    assert r.blocking and "mdsstart_customer" in r.next_step


def test_versions_r4() -> None:
    assert checks.versions_consistent({"a": "R81.20", "b": "R81.20"}).passed
    r = checks.versions_consistent({"a": "R81.20", "b": "R81.10"})
    assert not r.passed and r.severity == "warning" and not r.blocking
    t = checks.versions_on_target({"a": "R81.20", "b": "R81.10"}, "R81.20")
    assert not t.passed and t.evidence == ("b=R81.10",) and t.requirement == "R4"
    assert checks.versions_on_target({"a": "R81.20", "b": "R81.10"}, "R81.20", ["a"]).passed
    assert not checks.versions_on_target({"a": None}, "R81.20").passed


def test_dms_active_on_primary_r7() -> None:
    es = [
        entry("d1", "mds1", "active"),
        entry("d1", "mds2", "standby"),
        entry("d2", "mds1", "standby"),
        entry("d2", "mds2", "active"),
    ]
    r = checks.dms_active_on_primary(es, "mds1")
    assert not r.passed and r.evidence == ("d2 (active: mds2)",) and r.requirement == "R7"
    assert checks.dms_active_on_primary(es[:2], "mds1").passed


def test_one_active_per_domain_r9() -> None:
    es = [
        entry("d1", "mds1", "active"),
        entry("d1", "mds2", "active"),
        entry("d2", "mds1", "standby"),
        entry("d2", "mds2", "standby"),
        entry("d3", "mds1", "active"),
        entry("d3", "mds2", "standby"),
    ]
    r = checks.one_active_per_domain(es)
    assert r.evidence == ("d1 (2 active: mds1, mds2)", "d2 (0 active)") and r.requirement == "R9"


def test_collision_and_sync_r14_r10() -> None:
    sync = {
        "d1": {"mds1": COLLISION, "mds2": COLLISION},
        "d2": {"mds1": SYNCHRONIZED, "mds2": NEVER_SYNCHRONIZED},
    }
    r = checks.no_collision(sync)
    assert not r.passed and r.evidence == ("d1 (mds1, mds2)",) and r.requirement == "R14"
    s = checks.synchronized(sync)
    assert not s.passed and "d2/mds2=Never been synchronized" in s.evidence
    assert checks.synchronized({"d": {"a": SYNCHRONIZED}}).passed


def test_verifier_clean_r3() -> None:
    warn = VerifierFinding("warning", "Global Properties changed", "x")
    err = VerifierFinding("error", "Invalid object names", "y")
    reports = {"mds1": VerifierReport(findings=(warn,)), "mds2": VerifierReport(findings=(err,))}
    r = checks.verifier_clean(reports)
    assert not r.passed and r.requirement == "R3"
    assert "mds2: error 'Invalid object names'" in r.evidence
    assert (
        "mds1: warning 'Global Properties changed' not acknowledged "
        "(global-properties-changed)" in r.evidence
    )
    assert checks.verifier_clean(
        {"mds1": VerifierReport(findings=(warn,))}, ["mds1:global-properties-changed"]
    ).passed
    assert checks.verifier_clean(
        {"mds1": VerifierReport(findings=(warn,))}, ["global-properties-changed"]
    ).passed
    assert not checks.verifier_clean(
        {"m": VerifierReport(findings=(), upgrade_allowed=False)}
    ).passed


def test_object_versions_r11() -> None:
    infos = [
        DomainServerInfo(
            domain="d1",
            name="d1_Server",
            mds="mds1",
            ip=None,
            type="management server",
            active=True,
            version="R81.20",
        ),
        DomainServerInfo(
            domain="d1",
            name="d1_Server_2",
            mds="mds2",
            ip=None,
            type="management server",
            active=False,
            version="R81.10",
        ),
    ]
    r = checks.object_versions_on_target(infos, "R81.20")
    assert r.evidence == ("d1_Server_2=R81.10",) and r.requirement == "R11"
