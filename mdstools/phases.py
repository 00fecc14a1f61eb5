"""The nine phases of the campaign: order, requirements, gates, decisions, timeouts.

One table used by the CLI (``run``, ``campaign``, ``plan``), by the notebooks' headers and
footers, and by the tests that check that every requirement of
``reference/upgrade-procedure.md`` is carried out somewhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    """One runbook."""

    id: str
    slug: str
    title: str
    requirements: tuple[str, ...]
    summary: str
    timeout_s: int
    mutating: bool = False
    needs: tuple[str, ...] = ()
    decisions: tuple[str, ...] = ()

    @property
    def notebook(self) -> str:
        return f"{self.id}_{self.slug}.ipynb"


PHASES: tuple[Phase, ...] = (
    Phase(
        "00",
        "discover",
        "Discover the deployment",
        ("R1", "R4", "R16"),
        "connect to every server; record versions, mdsstat, domains and HA state as the "
        "baseline; identify the active MDS of the Global domain",
        900,
    ),
    Phase(
        "01",
        "pre_upgrade_verification",
        "Pre-upgrade verification on every server",
        ("R2", "R3"),
        "run the pre-upgrade verifier on ALL MDSs and MLMs in parallel; errors block; "
        "every warning must be acknowledged by name",
        3600,
        decisions=("acknowledge_warnings",),
    ),
    Phase(
        "02",
        "prepare_ha",
        "Prepare HA, back up, start the change freeze",
        ("R7", "R1", "R6", "X1"),
        "make every DMS Active on the primary MDS (with confirmation); one active MDS for "
        "Global; back up every MDS; record each DMS database's change marker",
        7200,
        mutating=True,
        needs=("01",),
        decisions=("confirm",),
    ),
    Phase(
        "03",
        "upgrade_primary",
        "Upgrade the primary MDS",
        ("R5", "R3", "R4", "R13"),
        "upgrade the primary; wait through the reboot; check its version and mdsstat",
        3 * 3600,
        mutating=True,
        needs=("01", "02"),
        decisions=("confirm",),
    ),
    Phase(
        "04",
        "upgrade_secondaries",
        "Upgrade the secondary MDSs",
        ("R5", "R4", "R13"),
        "upgrade each secondary MDS, one at a time; refuses while the primary is not on "
        "the target version",
        6 * 3600,
        mutating=True,
        needs=("03",),
        decisions=("confirm",),
    ),
    Phase(
        "05",
        "upgrade_log_servers",
        "Upgrade the Multi-Domain Log Servers",
        ("R8", "R4"),
        "upgrade every MLM; then every server must run the target version",
        6 * 3600,
        mutating=True,
        needs=("04",),
        decisions=("confirm",),
    ),
    Phase(
        "06",
        "update_object_versions",
        "Update object versions",
        ("R11", "R12"),
        "on each MDS: mdsstat; start DMSs that are down; mdsenv; "
        "mds_fix_cmas_clms_version -c ALL; mdsstop; mdsstart; mdsstat until all up",
        3 * 3600,
        mutating=True,
        needs=("05",),
        decisions=("confirm",),
    ),
    Phase(
        "07",
        "synchronize_ha",
        "Synchronize HA",
        ("R9", "R10", "R14", "R15", "R4", "R1"),
        "one active MDS and one active DMS per domain; synchronize the standbys; on "
        "Collision decide the database to retain, sync from it, list the changes to "
        "re-enter",
        3 * 3600,
        mutating=True,
        needs=("06",),
        decisions=("confirm", "retain_database_on"),
    ),
    Phase(
        "08",
        "validate",
        "Validate against the baseline",
        ("R4", "R10", "R11", "R12"),
        "compare the end state with the baseline: all domains present and up, versions "
        "equal, HA synchronized, object versions updated",
        1800,
        needs=("07",),
    ),
)

BY_ID = {p.id: p for p in PHASES}


def phase(key: str) -> Phase:
    """A phase by id (``03``), slug (``upgrade_primary``) or notebook name."""
    k = key.removesuffix(".ipynb")
    for p in PHASES:
        if k in (p.id, p.slug, f"{p.id}_{p.slug}", p.id.lstrip("0") or "0"):
            return p
    raise KeyError(key)
