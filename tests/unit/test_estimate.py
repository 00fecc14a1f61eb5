"""The change window's estimate: per phase, total and critical path, checked against sums
written out here from the durations table (not against the function's own output); the
engineer's timings file; plan's section; the comparison 08 records."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from mdstools import durations, estimate, plan
from mdstools.audit import JOURNAL
from mdstools.cli import main
from mdstools.errors import ExitCode, InventoryError
from mdstools.inventory import Inventory, load

T = durations.DEFAULTS
OVERHEAD = T["phase_overhead"]
EXECS = 8  # Management API sessions at once per server


def inventory(tmp_path: Path, mdss: int, mlms: int, **top: Any) -> Inventory:
    servers = [{"name": "mds1", "host": "192.0.2.1", "role": "primary"}]
    servers += [
        {"name": f"mds{i}", "host": f"192.0.2.{i}", "role": "secondary"} for i in range(2, mdss + 1)
    ]
    servers += [
        {"name": f"mlm{i}", "host": f"192.0.2.{100 + i}", "role": "log-server"}
        for i in range(1, mlms + 1)
    ]
    data = {
        "environment": "prod",
        "target_version": "R81.20",
        "upgrade": {"method": "cpuse", "package": "/var/log/upload/pkg.tgz"},
        "connection": {"key_file": "./id"},
        "servers": servers,
        **top,
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data))
    return load(path)


def document(
    mdss: int, mlms: int, domains: int, active_on: dict[int, str], lagging: int = 0
) -> dict[str, Any]:
    """Every domain with a DMS on every MDS and a DLS on every MLM; active on mds1 unless
    ``active_on`` names another MDS for it; the standbys of the first ``lagging`` domains
    are Lagging, the others' sync status unknown (a source without show-ha-status)."""
    mds_names = [f"mds{i}" for i in range(1, mdss + 1)]
    servers = [*mds_names, *(f"mlm{i}" for i in range(1, mlms + 1))]
    doms = []
    for d in range(domains):
        active = active_on.get(d, "mds1")
        doms.append(
            {
                "name": f"dom{d}",
                "active_server": active,
                "standby_servers": [m for m in mds_names if m != active],
                "sync_status": {
                    m: ("Lagging" if d < lagging and m != active else "unknown") for m in mds_names
                },
            }
        )
    return {
        "collected_at": "2026-12-01T02:00:00",
        "servers": [{"name": s} for s in servers],
        "domain_servers": [
            {"server": s, "name": f"dom{d}_{s}", "domain": f"dom{d}"}
            for s in servers
            for d in range(domains)
        ],
        "domains": doms,
    }


def upgrade_of(hosted: int) -> float:
    """One server's upgrade: install (its domains migrated), reboot, MDS up, DMSs by ten."""
    return (
        T["upgrade_install"]
        + hosted * T["upgrade_per_domain"]
        + T["reboot"]
        + T["mds_start"]
        + math.ceil(hosted / 10) * T["mdsstart_batch"]
    )


def hand(mdss: int, mlms: int, domains: int, to_switch: int, lagging: int = 0) -> dict[str, float]:
    """The phases summed by hand: every server hosts one domain server per domain."""
    reads = math.ceil(domains / EXECS) * T["api_login"]
    backup = (T["backup_base_gb"] + domains * T["backup_per_domain_gb"]) * T["backup_per_gb"]
    restart = (
        math.ceil(domains / 10) * T["mdsstop_batch"]
        + T["mds_start"]
        + math.ceil(domains / 10) * T["mdsstart_batch"]
    )
    to_sync = lagging * (mdss - 1)
    return {
        "00": OVERHEAD + reads,
        "01": OVERHEAD + T["cpuse_import"] + T["verifier"],
        "02": OVERHEAD
        + to_switch * T["set_ha_state"]
        + backup  # every MDS's at once
        + mdss * reads
        + T["snapshot_create"],
        "03": OVERHEAD + reads + upgrade_of(domains),
        "04": OVERHEAD + reads + (mdss - 1) * upgrade_of(domains),
        "05": OVERHEAD + reads + mlms * upgrade_of(domains),
        "06": OVERHEAD + reads + mdss * domains * T["fix_versions_per_domain"] + mdss * restart,
        "07": OVERHEAD + 2 * reads + to_sync * T["full_sync_per_domain"],
        "08": OVERHEAD + 2 * reads,
    }


@pytest.mark.parametrize(("mdss", "mlms", "domains", "to_switch"), [(2, 1, 5, 2), (4, 2, 212, 0)])
def test_the_phases_and_the_total_are_the_table_summed_as_the_procedures_run(
    tmp_path: Path, mdss: int, mlms: int, domains: int, to_switch: int
) -> None:
    inv = inventory(tmp_path, mdss, mlms)
    doc = document(mdss, mlms, domains, {d: "mds2" for d in range(to_switch)})
    est = estimate.estimate(inv, doc, "the test's baseline")
    expected = hand(mdss, mlms, domains, to_switch)
    assert {p.phase: p.seconds for p in est.phases} == pytest.approx(expected)
    assert est.total_s == pytest.approx(sum(expected.values()))
    assert est.headline().startswith(f"{mdss} MDS, {mlms} MLM, {domains} domains: about ")
    assert "the test's baseline (collected at 2026-12-01T02:00:00)" in est.shape.source
    by_id = {p.phase: p for p in est.phases}
    assert by_id["04"].dominates.startswith("upgrade of mds2")
    assert "at once" in by_id["01"].dominates and by_id["01"].parts[-1].parallel
    assert "03 upgrade of mds1" in est.critical_path


def test_the_large_deployment_in_words(tmp_path: Path) -> None:
    """4 MDS, 2 MLM, 212 domains, the standbys of 10 Lagging: the upgrades dominate, the 30
    full syncs are on the path; every other standby's sync is the worst case, said apart."""
    est = estimate.estimate(inventory(tmp_path, 4, 2), document(4, 2, 212, {}, lagging=10))
    total = sum(hand(4, 2, 212, 0, lagging=10).values())
    assert est.headline() == f"4 MDS, 2 MLM, 212 domains: about {estimate.span(total)}"
    path = est.critical_path
    assert path.index("02 backups on mds1, mds2, mds3, mds4 at once") < path.index(
        "03 upgrade of mds1"
    )
    assert path.index("04 upgrade of mds2, mds3, mds4 one after another") < path.index(
        "05 upgrade of mlm1"
    )
    by_id = {p.phase: p for p in est.phases}
    assert by_id["07"].dominates.startswith("ha-full-sync of 30 standby DMSs not synchronized")
    assert est.worst_sync_s == pytest.approx((636 - 30) * T["full_sync_per_domain"])
    worst = (
        "every other standby not Synchronized (each then gets a full sync, one after "
        f"another): about {estimate.span(est.worst_sync_s)} more"
    )
    assert any(worst in line for line in est.lines())


def test_without_a_document_the_domains_are_an_assumption_said_so(tmp_path: Path) -> None:
    inv = inventory(tmp_path, 2, 1)
    est = estimate.estimate(inv)
    n = estimate.ASSUMED_DOMAINS
    assert est.shape.domains == n and est.shape.of("mlm1") == n
    assert est.total_s == pytest.approx(sum(hand(2, 1, n, 0).values()))
    assert f"ASSUMPTION {n} domains" in est.shape.source
    assert "defaults of docs/durations.md (assumptions" in est.timings_origin


def test_a_document_without_servers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match='no "servers" list'):
        estimate.estimate(inventory(tmp_path, 2, 1), {"domains": []})
    bad = tmp_path / "status.json"
    bad.write_text(json.dumps({"domains": []}))
    with pytest.raises(Exception, match='not a baseline or status document: no "servers"') as e:
        estimate.read_document(bad)
    assert getattr(e.value, "exit_code", None) == ExitCode.USAGE


def test_the_backout_is_one_server_after_another_then_the_syncs(tmp_path: Path) -> None:
    inv = inventory(tmp_path, 2, 1)
    est = estimate.estimate(inv, document(2, 1, 5, {0: "mds2"}))
    reads = 1 * T["api_login"]  # 5 domain servers: one round of 8
    revert = T["snapshot_revert"] + T["reboot"]
    start = T["mds_start"] + T["mdsstart_batch"]
    expected = (
        OVERHEAD
        + reads  # the change-freeze watch
        + 3 * revert
        + 3 * start
        + 1 * T["set_ha_state"]  # dom0, active on mds2
        + reads  # the HA picture
        + 5 * T["full_sync_per_domain"]
    )
    assert est.backout.phase == "09" and est.backout.seconds == pytest.approx(expected)
    assert est.backout.dominates.startswith("revert and reboot of mds1, mds2, mlm1 one after")
    assert est.total_s == pytest.approx(sum(p.seconds for p in est.phases))
    assert est.by_phase()["09"] == est.backout.seconds
    assert f"if backed out (09, not in the total): about {estimate.span(expected)}" in (
        "\n".join(est.lines())
    )


# -- the engineer's timings file ---------------------------------------------------------------
def test_a_timings_file_replaces_the_values_it_names(tmp_path: Path) -> None:
    (tmp_path / "timings.yml").write_text("reboot: 1200\nupgrade_install: 3600.5\n")
    inv = inventory(tmp_path, 2, 1, timings="timings.yml")
    assert inv.timings_file == tmp_path / "timings.yml"
    assert dict(inv.timings) == {"reboot": 1200.0, "upgrade_install": 3600.5}
    defaults = replace(inv, timings_file=None, timings=())
    base = estimate.estimate(defaults, document(2, 1, 5, {}))
    mine = estimate.estimate(inv, document(2, 1, 5, {}))
    upgrades = 3  # mds1 in 03, mds2 in 04, mlm1 in 05
    delta = (1200 - T["reboot"]) + (3600.5 - T["upgrade_install"])
    assert mine.total_s - base.total_s == pytest.approx(upgrades * delta)
    assert "timings.yml (2 of" in mine.timings_origin and "reboot, upgrade_install" in (
        mine.timings_origin
    )


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("reboots: 10\n", "reboots", "unknown name"),
        ("reboot: -1\n", "reboot", "out of range"),
        ("reboot: ten\n", "reboot", "must be a number of s"),
        ("reboot: true\n", "reboot", "must be a number"),
        ("reboot: .nan\n", "reboot", "out of range"),
        ("backup_per_domain_gb: 1.0e+9\n", "backup_per_domain_gb", "out of range"),
        ("- reboot\n", "", "must be a mapping"),
        ("reboot: [1\n", "", "not valid YAML"),
    ],
)
def test_a_bad_timings_file_is_refused_naming_the_file_and_the_name(
    tmp_path: Path, text: str, field: str, words: str
) -> None:
    (tmp_path / "timings.yml").write_text(text)
    with pytest.raises(InventoryError) as exc:
        inventory(tmp_path, 2, 1, timings="timings.yml")
    assert exc.value.field == field and words in str(exc.value)
    assert exc.value.path == str(tmp_path / "timings.yml")
    assert exc.value.exit_code == ExitCode.USAGE


def test_a_missing_timings_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="cannot read the timings file"):
        inventory(tmp_path, 2, 1, timings="nowhere.yml")


def test_plan_exits_2_on_a_bad_timings_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory(tmp_path, 2, 1)
    path = tmp_path / "inventory.yml"
    data = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**data, "timings": "t.yml"}))
    (tmp_path / "t.yml").write_text("mdsstart_batch: -5\n")
    assert main(["plan", "-i", str(path)]) == ExitCode.USAGE
    assert "t.yml: mdsstart_batch: -5 is out of range" in capsys.readouterr().err


# -- plan ------------------------------------------------------------------------------------
def test_plan_prints_the_estimate_of_the_tickets_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inv = inventory(tmp_path, 2, 1)
    text = plan.render(inv)
    assert "Change window estimate: 2 MDS, 1 MLM, 10 domains: about " in text
    assert "critical path: " in text and "ASSUMPTION 10 domains" in text
    ticket = tmp_path / "reports" / "CHG7"
    ticket.mkdir(parents=True)
    (ticket / "baseline.json").write_text(json.dumps(document(2, 1, 5, {})))
    rc = main(
        ["plan", "-i", str(inv.path), "--ticket", "CHG7", "--reports", str(tmp_path / "reports")]
    )
    out = capsys.readouterr().out
    total = sum(hand(2, 1, 5, 0).values())
    assert rc == 0 and f"2 MDS, 1 MLM, 5 domains: about {estimate.span(total)}" in out
    assert "the baseline of CHG7 (collected at" in out
    for phase in ("00", "03", "07", "08"):
        assert f"\n   {phase} " in out


# -- 08: the comparison --------------------------------------------------------------------
def test_the_real_durations_come_from_the_runs_that_count(tmp_path: Path) -> None:
    events = [
        ("2026-12-01T02:00:00", "r1", "00", "start"),
        ("2026-12-01T02:01:30", "r1", "00", "end"),
        ("2026-12-01T02:02:00", "r2", "01", "start"),  # never ended: not counted
        ("2026-12-01T02:03:00", "r3", "01", "start"),
        ("2026-12-01T02:23:00", "r3", "01", "end"),
    ]
    (tmp_path / JOURNAL).write_text(
        "".join(
            json.dumps({"ts": ts, "run_id": r, "phase": p, "kind": "phase", "event": e}) + "\n"
            for ts, r, p, e in events
        )
    )
    real = estimate.real_durations(tmp_path)
    assert real == {"00": 90.0, "01": 1200.0}
    est = estimate.estimate(inventory(tmp_path, 2, 1), document(2, 1, 5, {}))
    rows = estimate.comparison(est, real)
    by = {r["phase"]: r for r in rows}
    planned_01 = OVERHEAD + T["cpuse_import"] + T["verifier"]
    assert by["01"]["estimated"] == estimate.span(planned_01) == "16 min"
    assert by["01"]["real"] == "20 min" and by["01"]["ratio"] == round(1200 / planned_01, 3)
    assert by["01"]["estimated s"] == planned_01 and by["01"]["real s"] == 1200.0
    assert by["03"]["real"] == "not run" and by["03"]["ratio"] is None
    planned = est.phases[0].seconds + planned_01
    assert by["total (phases run)"]["ratio"] == round(1290 / planned, 3)
    scaled = {r["phase"]: r for r in estimate.comparison(est, real, scale=0.01)}
    assert scaled["01"]["ratio"] == round(1200 / (planned_01 * 0.01), 3)
    assert set(estimate.COLUMNS) <= set(rows[0])


def test_the_dms_down_in_the_baseline_are_started_in_06(tmp_path: Path) -> None:
    inv = inventory(tmp_path, 2, 1)
    doc = document(2, 1, 5, {})
    before = {p.phase: p.seconds for p in estimate.estimate(inv, doc).phases}
    for ds in doc["domain_servers"][5:7]:  # two DMSs of mds2
        ds["all_up"] = False
    after = {p.phase: p.seconds for p in estimate.estimate(inv, doc).phases}
    assert after["06"] - before["06"] == pytest.approx(2 * T["dms_start"])
    assert {k: v for k, v in after.items() if k != "06"} == {
        k: v for k, v in before.items() if k != "06"
    }


def test_docs_durations_has_every_row_of_the_code_with_its_value() -> None:
    text = (Path(__file__).parents[2] / "docs" / "durations.md").read_text()
    for row in durations.TABLE:
        assert f"| `{row.name}` | {row.value:g} {row.unit} |" in text, row.name


def test_the_run_asking_counts_until_now(tmp_path: Path) -> None:
    start = datetime.now() - timedelta(seconds=30)
    event = {"ts": start.isoformat(), "run_id": "r8", "phase": "08", "kind": "phase"}
    (tmp_path / JOURNAL).write_text(json.dumps({**event, "event": "start"}) + "\n")
    assert estimate.real_durations(tmp_path, "r8")["08"] >= 30
    assert estimate.real_durations(tmp_path) == {}


def test_spans_in_words() -> None:
    assert [estimate.span(s) for s in (0.44, 45, 720, 20400)] == [
        "0.4 s",
        "45 s",
        "12 min",
        "5 h 40 min",
    ]


def test_on_the_lab_the_estimate_says_its_times_are_real_servers(tmp_path: Path) -> None:
    text = "\n".join(estimate.estimate(inventory(tmp_path, 2, 1, time_scale=0.01)).lines())
    assert "real-server times; at the inventory's time scale 0.01" in text
    real = "\n".join(estimate.estimate(inventory(tmp_path / "real", 2, 1)).lines())
    assert "time scale" not in real
