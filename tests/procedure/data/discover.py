"""Cases of ``mdstools.procedure.discover``: the baseline snapshot (00) and the end state (08)."""

from __future__ import annotations

from typing import Any

from mdstools import mgmt_api
from mdstools.procedure import discover
from mdstools.run import Run
from tests.procedure.harness import Case, fixture, ha_state_json

DOMAINS = "mgmt_cli -r true show-domains details-level 'full' limit '500' --format json"
HA_STATE = "mgmt_cli -r true show-ha-state --format json"
R81_10 = fixture("fw_ver/lab_r81.10.txt")


def fleet(ha_state: str) -> dict[str, dict[str, Any]]:
    """Every server on R81.10 with every process up; ``ha_state`` from the primary."""
    return {
        "mds1": {
            "^fw ver$": R81_10,
            "^mdsstat$": fixture("mdsstat/lab_r81.10_all_up.txt"),
            "show-domains": fixture("show_domains/lab_r81.10.txt"),
            "show-ha-state": ha_state,
        },
        "mds2": {"^fw ver$": R81_10, "^mdsstat$": fixture("mdsstat/lab_r81.10_one_dms.txt")},
        "mlm1": {"^fw ver$": R81_10, "^mdsstat$": fixture("mdsstat/lab_r81.10_mlm.txt")},
    }


def _baseline(run: Run) -> tuple[str, str, list[str]]:
    snap = discover.snapshot(run)
    return (
        discover.global_active(run, snap).reason,
        discover.reachable(snap).reason,
        [d.name for d in snap.domains],
    )


def _against_itself(run: Run) -> list[tuple[str, bool]]:
    snap = discover.snapshot(run)
    discover.save(run, snap, discover.BASELINE)
    return [(c.name, c.passed) for c in discover.compare(run, snap)]


def _without_baseline(run: Run) -> list[tuple[str, bool, str]]:
    return [(c.name, c.passed, c.reason) for c in discover.compare(run, discover.snapshot(run))]


def _sync(run: Run) -> list[tuple[str, str | None, dict[str, str]]]:
    snap = discover.snapshot(run)
    return [(d.name, d.active_server, dict(d.sync_status)) for d in snap.domains]


R81_20 = fixture("fw_ver/lab_r81.20_after_upgrade.txt")
HA_STATUS_BATCH = mgmt_api.script(
    [("Global", "Global", ['mgmt_cli show-ha-status -s "$d/s1" --format json'])]
)
ON_TARGET = {
    "mds1": {
        "^fw ver$": R81_20,
        "^mdsstat$": fixture("mdsstat/lab_r81.10_all_up.txt"),
        "show-domains": fixture("show_domains/lab_r81.10.txt"),
        "show-ha-state": ha_state_json({"Global": {"mds1": "active", "mds2": "standby"}}),
        "show-ha-status": "\n### mdstools item Global\n"
        + fixture("show_ha_status/lab_r81.20_global.txt"),
    },
    "mds2": {"^fw ver$": R81_20, "^mdsstat$": fixture("mdsstat/lab_r81.10_one_dms.txt")},
    "mlm1": {"^fw ver$": R81_20, "^mdsstat$": fixture("mdsstat/lab_r81.10_mlm.txt")},
}

SYSTEM_DATA = fixture("show_ha_state/lab_r81.10_system_data.txt")
EVERY_SERVER = {
    "mds1": ["fw ver", "mdsstat", DOMAINS, HA_STATE],
    "mds2": ["fw ver", "mdsstat"],
    "mlm1": ["fw ver", "mdsstat"],
}

CASES = [
    Case(
        "the baseline: Global active on the primary, every server answers",
        _baseline,
        answers=fleet(SYSTEM_DATA),
        sent=EVERY_SERVER,
        any_order=["mds1", "mds2", "mlm1"],
        phase_id="00",
        result=(
            "mds1 is the active MDS for global policy and objects",
            "every server answered",
            ["Global", "dom1", "dom2", "dom3", "dom4", "dom5"],
        ),
    ),
    Case(
        "Global active on a secondary that does not answer",
        _baseline,
        answers=fleet(ha_state_json({"Global": {"mds1": "standby", "mds2": "active"}})),
        down=["mds2"],
        sent={"mds1": EVERY_SERVER["mds1"], "mlm1": EVERY_SERVER["mlm1"]},
        any_order=["mds1", "mlm1"],
        phase_id="00",
        result=(
            "the active MDS of Global, mds2, is unreachable",
            "unreachable: mds2 (mds2: refused the connection (fake))",
            ["Global"],
        ),
    ),
    Case(
        "the end state against a baseline of the same state",
        _against_itself,
        answers=fleet(SYSTEM_DATA),
        sent=EVERY_SERVER,
        any_order=["mds1", "mds2", "mlm1"],
        phase_id="08",
        events=[("file", {"path": "baseline.json"})],
        result=[
            ("all domain servers present", True),
            ("all domain servers up", True),
            ("versions on R81.20", False),
            ("all domains present", True),
            ("no collision", True),
            ("synchronized", False),
            ("one active per domain", True),
        ],
    ),
    Case(
        "the end state without a baseline",
        _without_baseline,
        answers=fleet(SYSTEM_DATA),
        sent=EVERY_SERVER,
        any_order=["mds1", "mds2", "mlm1"],
        phase_id="08",
        result=[("baseline present", False, "no baseline.json for ticket CHG-PROC-1")],
    ),
    Case(
        "on R81.20 the sync status of each domain comes from show-ha-status, one exec per MDS",
        _sync,
        answers=ON_TARGET,
        sent={**EVERY_SERVER, "mds1": [*EVERY_SERVER["mds1"], HA_STATUS_BATCH]},
        any_order=["mds1", "mds2", "mlm1"],
        phase_id="08",
        result=[("Global", "mds1", {"mds1": "Synchronized", "mds2": "Synchronized"})],
    ),
]
