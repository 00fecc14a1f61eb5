"""Every lab scenario as one whole headless campaign, on two topologies, through the real CLI.

A: the default shape (2 MDS, 1 MLM, 5 domains); B: 3 MDS, 2 MLM, 12 domains. ``make test``
runs the scenarios on A (but :data:`MATRIX_ONLY`) and the healthy one on B too
(:data:`ON_BOTH_SHAPES`); ``make test-matrix`` runs all of them on both. A healthy
scenario passes 00..08. A faulty one stops at the phase that owns the fault (exit 1), and
both the campaign's summary and the top cell of that phase's notebook name the cause; after
the fix (``mdstools lab fix``, or the parameter the message asks for) ``campaign --resume``
passes to 08 without repeating what passed. After every campaign ``mdstools verify`` passes,
no secret is in ``reports/``, the inventory and its keys are untouched and the repository's
runbooks are unchanged.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

import pytest

from mdstools import audit
from mdstools.lab import scenarios
from mdstools.phases import CAMPAIGN
from tests.reliability.conftest import changed, tree_digest
from tests.runbooks.conftest import (  # noqa: F401  (lab_factory is a fixture)
    Factory,
    Lab,
    assert_no_secrets,
    lab_factory,
    top_cell,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(900)]


@dataclass(frozen=True)
class Shape:
    """A lab topology: how many MDSs, log servers and domains."""

    name: str
    mds: int
    mlm: int
    domains: int

    @property
    def mdss(self) -> list[str]:
        return [f"mds{i}" for i in range(1, self.mds + 1)]

    @property
    def servers(self) -> list[str]:
        return self.mdss + [f"mlm{i}" for i in range(1, self.mlm + 1)]

    @property
    def last_mds(self) -> str:
        return self.mdss[-1]


SHAPES = (Shape("A", mds=2, mlm=1, domains=5), Shape("B", mds=3, mlm=2, domains=12))


@dataclass(frozen=True)
class Fault:
    """Where a faulty scenario must stop, what it must name, and how it is fixed."""

    phase: str
    names: tuple[str, ...]
    lab_fix: bool = False
    first: tuple[str, ...] = ()
    resume: tuple[str, ...] = ()
    after: dict[str, str] = field(default_factory=dict)


WARNINGS = ("unused-objects-with-duplicate-ip-addresses",)


def fault_of(scenario: str, shape: Shape) -> Fault | None:
    """The expected end of ``scenario`` on ``shape``; None for the healthy ones."""
    last = shape.last_mds
    if scenario == "verifier-error":
        return Fault("01", ("Invalid object names", last), lab_fix=True)
    if scenario == "verifier-warnings":
        ids = [f"{s}:{w}" for s in shape.servers for w in WARNINGS]
        ids.append("mds1:global-properties-changed")
        return Fault("01", tuple(ids), resume=("-p", "acknowledge_warnings=" + ",".join(ids)))
    if scenario == "dms-wont-start":
        return Fault("06", ("dom2", last), lab_fix=True)
    if scenario == "backup-space-short":
        return Fault("02", ("X1", last), lab_fix=True)
    if scenario == "upgrade-fails":
        return Fault("04", (last,), lab_fix=True)
    if scenario == "snapshot-space-short":
        return Fault("02", ("snapshot space", last), lab_fix=True)
    if scenario == "collision":
        cm = ("-p", "continuous_management=true")
        return Fault(
            "07",
            ("dom1", "lab_host_mds1_1", "lab_host_mds2_1", "retain_database_on=dom1=mds1"),
            first=cm,
            resume=(*cm, "-p", "retain_database_on=dom1=mds1"),
        )
    return None


def at_stop(scenario: str, lab: Lab, ticket: str, shape: Shape) -> None:
    """What the stop of ``scenario`` must also show, beyond the names in the top cell."""
    report = lab.reports / ticket
    if scenario == "verifier-error":  # R2/R3: the HTML says it too, and 03 refuses on its own
        html = (report / "01_pre_upgrade_verification.html").read_text()
        assert "Invalid object names" in html and "FAILED" in html
        r = lab.cli(
            *("run", "03", "-i", str(lab.inventory), "--ticket", ticket),
            *("--reports", str(lab.reports), "-p", "confirm=true"),
        )
        assert r.returncode == 1, r.stderr[-2000:]
        assert "01 has not passed" in top_cell(lab.notebook(ticket, "03_upgrade_primary.ipynb"))
    if scenario == "verifier-warnings":
        top = top_cell(lab.notebook(ticket, "01_pre_upgrade_verification.ipynb"))
        assert "not acknowledged" in top and "(global-properties-changed)" in top
    if scenario == "dms-wont-start":
        top = top_cell(lab.notebook(ticket, "06_update_object_versions.ipynb"))
        assert f"dom2_Server_{shape.mds}" in top, top
    if scenario == "backup-space-short":  # X1: checked before mds_backup, nothing taken
        assert "backup space (X1)" in top_cell(lab.notebook(ticket, "02_prepare_ha.ipynb"))
        assert not (report / "backups.json").exists()
    if scenario == "upgrade-fails":  # the last MDS is back on the source, the primary is not
        status = lab.control(action="status")
        versions = {s["name"]: s["version"] for s in status["servers"]}  # type: ignore[index]
        assert versions[shape.last_mds] == "R81.10" and versions["mds1"] == "R81.20", versions
    if scenario == "collision":  # R14/R15: both sides' changes and the recommendation
        top = top_cell(lab.notebook(ticket, "07_synchronize_ha.ipynb"))
        assert "recommended: retain mds1" in top, top


def after_resume(scenario: str, lab: Lab, ticket: str, stdout: str) -> None:
    """What the resumed campaign of ``scenario`` must also show."""
    report = lab.reports / ticket
    events = audit.read_journal(report / audit.JOURNAL)
    if scenario == "verifier-warnings":  # X5: the acknowledgement is on record, by id
        ack = [e for e in events if e["kind"] == "decision" and e["name"] == "warnings reviewed"]
        assert len(ack[-1]["value"]) == len(fault_ids(lab))
    if scenario == "dms-wont-start":  # X3: the failed phase runs again, nothing before it
        assert "06_update_object_versions.r2.ipynb" in stdout
    if scenario == "collision":  # R15: the re-entry list is exactly what was lost
        nb = (report / "07_synchronize_ha.r2.ipynb").read_text()
        assert "recommended mds1" in nb and "Changes to re-enter" in nb
        with (report / "reentry.csv").open() as f:
            rows = list(csv.DictReader(f))
        status = lab.control(action="status")
        lost = sorted(
            (d["name"], srv, name)
            for d in status["domains"]  # type: ignore[index]
            for srv, v in d["servers"].items()
            for name in v.get("lost", [])
        )
        assert sorted((r["domain"], r["lost on"], r["object"]) for r in rows) == lost
        assert lost == [("dom1", "mds2", "lab_host_mds2_1")], "dom3 kept mds2's change"
        draft = (report / "reentry_draft.mgmt.txt").read_text()
        assert draft.startswith("# DRAFT") and "add-host name lab_host_mds2_1" in draft
        assert any(
            e["kind"] == "decision" and e["name"] == "retain dom3" and e["value"] == "mds2"
            for e in events
        ), "the lossless domain is decided automatically, on record"


def fault_ids(lab: Lab) -> list[str]:
    """The warning ids the verifier-warnings scenario asks to acknowledge on ``lab``."""
    servers = [s["name"] for s in lab.control(action="status")["servers"]]  # type: ignore[index]
    return [f"{s}:{w}" for s in servers for w in WARNINGS] + ["mds1:global-properties-changed"]


SCENARIOS = list(scenarios.SCENARIOS)
PASSED = re.compile(r"^\s*(\d\d) \S+\s+PASSED\b", re.MULTILINE)


def passed_phases(stdout: str) -> list[str]:
    """The phase ids the campaign summary lists as PASSED."""
    return PASSED.findall(stdout)


def inputs(lab: Lab) -> dict[str, str]:
    """Digest of what the campaign reads and must never change: inventory, keys, secrets."""
    return tree_digest(
        lab.dir / "lab",
        exclude=[lab.dir / "lab" / p for p in ("lab.log", "lab.out", "lab.json", "control.sock")],
    )


def assert_record_holds(lab: Lab, ticket: str, before: dict[str, str]) -> None:
    """verify passes, no secret in reports/, nothing outside the reports folder changed."""
    v = lab.cli("verify", str(lab.reports / ticket))
    assert v.returncode == 0 and v.stdout.startswith("OK"), v.stdout + v.stderr
    assert_no_secrets(lab)
    assert changed(before, inputs(lab)) == [], "the campaign changed its inputs"


#: The scenario that runs on shape B in make test too: the healthy campaign on three MDSs
#: and two log servers. The others run on shape B in make test-matrix (marker ``matrix``),
#: which is run by hand before a change to the procedures or the lab is merged.
ON_BOTH_SHAPES = {"default"}
#: Scenarios whose fault a narrower test meets on the lab in make test (phase 02's UID
#: switch in tests/runbooks/test_api_changes.py, the snapshot space gate in
#: tests/runbooks/test_02_snapshots.py, the costly API of every phase in
#: tests/runbooks/test_api_sessions.py, warnings acknowledged in tests/browser): their whole
#: campaigns run in make test-matrix only.
MATRIX_ONLY = {"name-login-refused", "snapshot-space-short", "slow", "verifier-warnings"}

CASES = [
    pytest.param(
        scenario,
        shape,
        id=f"{scenario}-{shape.name}",
        marks=()
        if (shape.name == "A" and scenario not in MATRIX_ONLY) or scenario in ON_BOTH_SHAPES
        else (pytest.mark.matrix,),
    )
    for scenario in SCENARIOS
    for shape in SHAPES
    # the default scenario on A is tests/runbooks/test_campaign.py's detailed campaign
    if (scenario, shape.name) != ("default", "A")
]


@pytest.mark.parametrize(("scenario", "shape"), CASES)
def test_scenario_campaign(
    scenario: str,
    shape: Shape,
    lab_factory: Factory,  # noqa: F811
    runbooks_unchanged: None,
) -> None:
    """The campaign ends where the scenario says, the fix lets --resume finish, the record holds."""
    lab = lab_factory(scenario, mds=shape.mds, mlm=shape.mlm, domains=shape.domains)
    ticket = f"CHG-{shape.name}-{scenario}"
    before = inputs(lab)
    fault = fault_of(scenario, shape)
    p = lab.campaign(ticket, *(fault.first if fault else ()))
    if fault is None:
        assert p.returncode == 0, p.stderr[-3000:]
        assert passed_phases(p.stdout) == [ph.id for ph in CAMPAIGN], p.stdout
        if scenario == "clish-login":  # every expert step reached mds2 through clish
            backups = (lab.reports / ticket / "backups.json").read_text()
            assert '"mds2"' in backups, "the clish-login MDS was backed up (X1)"
            status = lab.control(action="status")
            versions = {s["name"]: s["version"] for s in status["servers"]}  # type: ignore[index]
            assert set(versions.values()) == {"R81.20"}, versions
        if scenario == "drop-during-upgrade":
            events = lab.control(action="events", last=1000)
            assert any("network drop" in e for e in events), "the connection really dropped"  # type: ignore[union-attr]
        assert_record_holds(lab, ticket, before)
        return

    assert p.returncode == 1, p.stdout + p.stderr[-3000:]
    summary = next(
        (line for line in p.stderr.splitlines() if "stopped at phase" in line), p.stderr[-2000:]
    )
    assert f"stopped at phase {fault.phase}:" in summary, summary
    ids = [ph.id for ph in CAMPAIGN]
    owner = CAMPAIGN[ids.index(fault.phase)]
    assert passed_phases(p.stdout) == ids[: ids.index(fault.phase)], p.stdout
    top = top_cell(lab.notebook(ticket, owner.notebook))
    assert "FAILED" in top, top
    for name in fault.names:
        assert name in summary, f"the summary does not name {name!r}: {summary}"
        assert name in top, f"the top cell of {owner.notebook} does not name {name!r}: {top}"
    for ph in CAMPAIGN[ids.index(fault.phase) + 1 :]:
        assert not (lab.reports / ticket / ph.notebook).exists(), f"{ph.id} ran after the stop"
    at_stop(scenario, lab, ticket, shape)
    assert_record_holds(lab, ticket, before)

    if fault.lab_fix:
        lab.control(action="fix")
    again = lab.campaign(ticket, "--resume", *fault.resume)
    assert again.returncode == 0, again.stderr[-3000:]
    assert passed_phases(again.stdout) == ids[ids.index(fault.phase) :], again.stdout
    after_resume(scenario, lab, ticket, again.stdout)
    assert_record_holds(lab, ticket, before)
