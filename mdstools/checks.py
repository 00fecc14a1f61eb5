"""The gates of the upgrade procedure, as pure functions of records.

Each returns a :class:`CheckResult` naming the requirement (R-id of
``docs/requirements.md``) it enforces, why it passed or failed, the evidence
(the rows that fail), and what to do next. No I/O here: the runbooks and the status
command collect records and call these.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from mdstools.records import (
    COLLISION,
    SYNCHRONIZED,
    DomainServerInfo,
    HaStateEntry,
    MdsStat,
    VerifierReport,
)

LABELS = ("FAIL", "WARNING", "INFO", "PASS")


def outcome_label(passed: bool, severity: str = "error") -> str:
    """The one label of a check's outcome: PASS, FAIL (a failure that blocks), WARNING or
    INFO (a failure that does not block). Banners, tables, log lines and the journal show it."""
    if passed:
        return "PASS"
    return "FAIL" if severity == "error" else severity.upper()


def label_summary(labels: Iterable[str]) -> str:
    """``"6 checks: 4 PASS, 1 WARNING, 1 INFO, 0 FAIL"``: how many checks ended how."""
    found = list(labels)
    counts = ", ".join(f"{found.count(x)} {x}" for x in ("PASS", "WARNING", "INFO", "FAIL"))
    return f"{len(found)} check{'s' if len(found) != 1 else ''}: {counts}"


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """A gate's verdict; ``severity`` "error" blocks, "warning" and "info" do not."""

    name: str
    passed: bool
    reason: str
    requirement: str = ""
    severity: str = "error"
    evidence: tuple[str, ...] = ()
    next_step: str = ""

    @property
    def blocking(self) -> bool:
        return not self.passed and self.severity == "error"

    @property
    def label(self) -> str:
        """PASS, FAIL (a blocking failure), WARNING or INFO (:func:`outcome_label`)."""
        return outcome_label(self.passed, self.severity)


def _result(
    name: str,
    failures: Sequence[str],
    ok: str,
    bad: str,
    requirement: str,
    next_step: str,
    severity: str = "error",
) -> CheckResult:
    if failures:
        shown = ", ".join(failures[:5]) + (
            f" and {len(failures) - 5} more" if len(failures) > 5 else ""
        )
        return CheckResult(
            name=name,
            passed=False,
            reason=f"{bad}: {shown}",
            requirement=requirement,
            severity=severity,
            evidence=tuple(failures),
            next_step=next_step,
        )
    return CheckResult(
        name=name, passed=True, reason=ok, requirement=requirement, severity=severity
    )


def all_processes_up(mdsstat: Mapping[str, MdsStat]) -> CheckResult:
    """R12: every MDS/MLM and every DMS/DLS process is up (or not relevant)."""
    failures = []
    for server, table in mdsstat.items():
        for row in table.rows:
            if not row.all_up:
                bad = ", ".join(f"{p} {s.status}" for p, s in row.processes.items() if not s.ok)
                failures.append(f"{server}/{row.name or row.type} ({bad})")
    return _result(
        "all processes up",
        failures,
        "every process is up",
        "processes not up",
        "R12",
        "start the DMSs that are down (mdsstart_customer <DMS>) and check again",
    )


def versions_consistent(versions: Mapping[str, str | None]) -> CheckResult:
    """R4: every MDS and MLM runs the same release (they only synchronize then)."""
    known = {v for v in versions.values() if v}
    failures = (
        [f"{s}={v or 'unknown'}" for s, v in sorted(versions.items())]
        if (len(known) > 1 or None in versions.values())
        else []
    )
    return _result(
        "versions consistent",
        failures,
        f"every server runs {next(iter(known))}" if known else "no servers",
        "servers run different releases",
        "R4",
        "finish upgrading the remaining servers",
        severity="warning",
    )


def versions_on_target(
    versions: Mapping[str, str | None],
    target: str,
    servers: Iterable[str] | None = None,
    severity: str = "error",
) -> CheckResult:
    """R4/R8: the given servers (default all) run ``target``."""
    names = list(servers) if servers is not None else list(versions)
    failures = [f"{s}={versions.get(s) or 'unknown'}" for s in names if versions.get(s) != target]
    return _result(
        f"versions on {target}",
        failures,
        f"every server runs {target}",
        f"not on {target}",
        "R4",
        "upgrade them in order: primary, secondaries, log servers",
        severity,
    )


def dms_active_on_primary(entries: Sequence[HaStateEntry], primary: str) -> CheckResult:
    """R7: every domain's DMS (and Global) is active on the primary MDS."""
    by_domain: dict[str, list[HaStateEntry]] = defaultdict(list)
    for e in entries:
        by_domain[e.domain].append(e)
    failures = []
    for domain, servers in sorted(by_domain.items()):
        actives = [e.mds for e in servers if e.ha_state == "active"]
        if actives != [primary]:
            failures.append(f"{domain} (active: {', '.join(actives) or 'none'})")
    return _result(
        "DMSs active on the primary",
        failures,
        f"every domain is active on {primary}",
        f"not active only on {primary}",
        "R7",
        f"make the DMS on {primary} active for these domains (phase 02)",
    )


def one_active_per_domain(entries: Sequence[HaStateEntry]) -> CheckResult:
    """R9: each domain has exactly one active server when synchronizing."""
    counts: dict[str, list[str]] = defaultdict(list)
    domains: set[str] = set()
    for e in entries:
        domains.add(e.domain)
        if e.ha_state == "active":
            counts[e.domain].append(e.mds)
    failures = [
        f"{d} ({len(counts[d])} active{': ' + ', '.join(counts[d]) if counts[d] else ''})"
        for d in sorted(domains)
        if len(counts[d]) != 1
    ]
    return _result(
        "one active per domain",
        failures,
        "each domain has one active server",
        "not exactly one active",
        "R9",
        "set the other DMS to standby (set-ha-state) before synchronizing",
    )


def no_collision(sync: Mapping[str, Mapping[str, str]], name: str = "no collision") -> CheckResult:
    """R14: no domain is in Collision. ``name`` tells a look before the resolution
    ("no collision before resolution") from the final gate."""
    failures = [
        f"{d} ({', '.join(sorted(s for s, v in peers.items() if v == COLLISION))})"
        for d, peers in sorted(sync.items())
        if COLLISION in peers.values()
    ]
    return _result(
        name,
        failures,
        "no domain is in Collision",
        "Collision",
        "R14",
        "decide which database to retain (phase 07) and synchronize from it",
    )


def synchronized(sync: Mapping[str, Mapping[str, str]]) -> CheckResult:
    """R10: every peer of every domain reports Synchronized."""
    failures = [
        f"{d}/{s}={v}"
        for d, peers in sorted(sync.items())
        for s, v in sorted(peers.items())
        if v != SYNCHRONIZED
    ]
    return _result(
        "synchronized",
        failures,
        "every peer is Synchronized",
        "not synchronized",
        "R10",
        "synchronize the standbys from the active server (ha-full-sync)",
    )


def verifier_clean(
    reports: Mapping[str, VerifierReport], acknowledged: Iterable[str] = ()
) -> CheckResult:
    """R3: no verifier error on any server, and every warning acknowledged by id.

    A warning id is ``<server>:<finding id>`` or just ``<finding id>`` (all servers).
    """
    acks = set(acknowledged)
    failures = []
    pending = []
    for server, report in sorted(reports.items()):
        for f in report.errors:
            failures.append(f"{server}: error '{f.title}'")
        for f in report.warnings:
            if f.id not in acks and f"{server}:{f.id}" not in acks:
                failures.append(f"{server}: warning '{f.title}' not acknowledged ({f.id})")
                pending.append(f"{server}:{f.id}")
        if report.upgrade_allowed is False and not report.errors:
            failures.append(f"{server}: the verifier does not allow the upgrade")
    ids = f": {','.join(pending)}" if pending else ""
    return _result(
        "pre-upgrade verification clean",
        failures,
        "no errors and every warning acknowledged",
        "blocking findings",
        "R3",
        f"fix the errors and rerun 01; acknowledge each warning by id (acknowledge_warnings{ids})",
    )


def object_versions_on_target(servers: Sequence[DomainServerInfo], target: str) -> CheckResult:
    """R11: the version attribute of every DMS and DLS object equals ``target``."""
    failures = [f"{s.name}={s.version or 'unknown'}" for s in servers if s.version != target]
    return _result(
        "object versions updated",
        failures,
        f"every DMS/DLS object is {target}",
        "outdated object versions",
        "R11",
        "run mds_fix_cmas_clms_version -c ALL on each MDS (phase 06)",
    )
