"""The lab model's rules, each state change on a manual clock (no threads, no sleeping)."""

from __future__ import annotations

import pytest

from mdstools.lab import scenarios
from mdstools.lab.model import COLLISION, SYNCHRONIZED, Deployment, LabError
from mdstools.lab.versions import profile


def lab(scenario: str = "default", **kw: object) -> Deployment:
    opts = scenarios.LabOptions(scenario=scenario, manual_clock=True, time_scale=1.0, **kw)  # type: ignore[arg-type]
    return scenarios.create(opts)


def advance(dep: Deployment, seconds: float) -> None:
    """Move the manual clock in small steps, running timed events as they come due."""
    step = 1.0
    while seconds > 0:
        dep.clock.advance(min(step, seconds))
        seconds -= step
        dep.scheduler.run_due()


def states(dep: Deployment, server: str) -> dict[str, str]:
    s = dep.server(server)
    return {d.name: dep.dms_state(d) for d in s.locals if not d.is_global}


def test_topology_one_dms_per_mds_one_dls_per_mlm_and_global() -> None:
    dep = lab(mds=3, mlm=2, domains=4)
    assert [s.name for s in dep.servers] == ["mds1", "mds2", "mds3", "mlm1", "mlm2"]
    assert dep.domains[0].is_global and len(dep.domains[0].dms) == 3
    for dom in dep.user_domains:
        assert [d.host.name for d in dom.dms] == ["mds1", "mds2", "mds3"]
        assert [d.host.name for d in dom.dls] == ["mlm1", "mlm2"]
        assert [d.ha_state for d in dom.dms] == ["active", "standby", "standby"]
    assert dep.domain("dom2").dms[1].name == "dom2_Server_2"
    assert dep.domain("dom2").dls[0].name == "dom2_Log_Server"


def test_mdsstop_then_mdsstart_in_batches_of_ten() -> None:
    dep = lab(domains=25)
    mds1 = dep.server("mds1")
    end = dep.stop_server(mds1)
    advance(dep, end - dep.clock.now() + 1)
    assert set(states(dep, "mds1").values()) == {"down"}
    assert dep.server_state(mds1) == "down"
    dep.start_server(mds1)
    t = dep.timings
    advance(dep, t.mds_start + 1)  # MDS up, first batch pending
    first = [dep.dms_state(d) for d in mds1.locals if not d.is_global]
    assert first[:10] == ["pnd"] * 10 and set(first[10:]) == {"down"}
    advance(dep, t.dms_pnd)
    assert dep.dms_state(mds1.local("dom1_Server")) == "init"  # type: ignore[arg-type]
    advance(dep, t.dms_init)
    now = [dep.dms_state(d) for d in mds1.locals if not d.is_global]
    assert now[:10] == ["up"] * 10 and now[10:20] == ["pnd"] * 10 and set(now[20:]) == {"down"}
    advance(dep, 2 * (t.dms_pnd + t.dms_init))
    assert set(states(dep, "mds1").values()) == {"up"}


def test_init_row_shows_the_intermediate_tokens() -> None:
    dep = lab(domains=1)
    mds1 = dep.server("mds1")
    d = mds1.local("dom1_Server")
    assert d is not None
    dep.stop_dms(d)
    advance(dep, dep.timings.dms_stop_batch + 1)
    dep.start_dms(d)
    advance(dep, dep.timings.dms_pnd + 1)
    row = dep.rows(mds1, "dom1_Server")[1]
    assert row.cells["FWM"] == ("init", None) and row.cells["CPCA"] == ("N/A", None)
    assert row.cells["CPD"][0] == "up" and not row.all_up


def test_log_server_rows_have_cpca_not_relevant() -> None:
    dep = lab()
    rows = dep.rows(dep.server("mlm1"))
    assert rows[0].type == "MLM" and rows[0].cells["CPCA"] == ("N/R", None)
    assert all(r.type == "CLM" and r.cells["CPCA"][0] == "N/R" for r in rows[1:])
    assert all(r.all_up for r in rows)


def test_start_fault_keeps_a_dms_down_until_fixed() -> None:
    dep = lab("dms-wont-start")
    d = dep.domain("dom2").on("mds2")
    assert d is not None and dep.dms_state(d) == "up"  # the fault bites on the next start
    dep.stop_dms(d)
    advance(dep, 20)
    assert dep.start_dms(d) == float("inf")
    advance(dep, 200)
    assert dep.dms_state(d) == "down"
    assert scenarios.fix(dep) == ["mds2: dom2_Server_2 can start again"]
    dep.start_dms(d)
    advance(dep, 100)
    assert dep.dms_state(d) == "up"


def test_publish_on_active_synchronizes_standbys() -> None:
    dep = lab()
    dom = dep.domain("dom1")
    rev = dep.lab_change("dom1", "mds1")
    assert [r.uid for r in dom.dms[1].revisions] == [rev.uid]
    assert dom.dms[1].sync_status == SYNCHRONIZED


def test_standby_is_read_only() -> None:
    dep = lab()
    with pytest.raises(LabError) as exc:
        dep.publish(dep.domain("dom1").dms[1], [], "someone")
    assert exc.value.code == "err_publish_failed"


def test_set_ha_state_moves_the_active_and_demotes_the_peer() -> None:
    dep = lab()
    dom = dep.domain("dom1")
    dep.set_ha_state(dom.dms[1], "active")
    assert [d.ha_state for d in dom.dms] == ["standby", "active"]
    with pytest.raises(LabError) as exc:
        dep.set_ha_state(dom.dms[1], "active")
    assert exc.value.code == "err_ha_invalid_operation"


def test_different_versions_do_not_synchronize() -> None:
    dep = lab()
    dep.server("mds1").version = profile("R81.20")
    dep.lab_change("dom1", "mds1")
    dom = dep.domain("dom1")
    assert len(dom.dms[0].revisions) == 1 and dom.dms[1].revisions == []
    dep.server("mds2").version = profile("R81.20")
    dep.sync_all()
    assert len(dom.dms[1].revisions) == 1 and dom.dms[1].sync_status == SYNCHRONIZED


def test_changes_on_two_mdss_while_versions_differ_end_in_collision() -> None:
    dep = lab()
    dep.server("mds1").version = profile("R81.20")
    dep.lab_change("dom1", "mds1", admin="alice")
    dep.lab_change("dom1", "mds2", admin="bob")
    dom = dep.domain("dom1")
    assert [d.ha_state for d in dom.dms] == ["active", "active"]
    assert [d.sync_status for d in dom.dms] == [COLLISION, COLLISION]
    dep.server("mds2").version = profile("R81.20")
    dep.sync_all()
    assert [d.sync_status for d in dom.dms] == [COLLISION, COLLISION], "Collision is sticky"
    with pytest.raises(LabError):
        dep.full_sync(dom.dms[0], "dom1_Server_2")  # the peer is still active
    dep.set_ha_state(dom.dms[1], "standby")
    peer = dep.full_sync(dom.dms[0], "dom1_Server_2")
    dep.complete_full_sync(dom.dms[0], peer)
    assert [d.sync_status for d in dom.dms] == [SYNCHRONIZED, SYNCHRONIZED]
    assert [r.admin for r in dom.dms[1].revisions] == ["alice"]
    assert [r.admin for r in dom.dms[1].lost] == ["bob"]


def test_full_sync_refuses_across_versions() -> None:
    dep = lab()
    dep.server("mds1").version = profile("R81.20")
    dom = dep.domain("dom1")
    with pytest.raises(LabError) as exc:
        dep.full_sync(dom.dms[0], "dom1_Server_2")
    assert "different versions" in exc.value.message


def test_upgrade_reboots_and_returns_on_target_with_old_object_versions() -> None:
    dep = lab()
    mds1 = dep.server("mds1")
    seen: list[bool] = []
    dep.listeners.append(lambda s, online: seen.append(online) if s is mds1 else None)
    mds1.vfs.write("/tmp/scratch", "x")
    mds1.vfs.write("/var/log/keep", "y")
    dep.start_upgrade(mds1, profile("R81.20"), "pkg.tgz")
    advance(dep, dep.timings.upgrade / 2)
    assert 40 <= dep.upgrade_progress(mds1) <= 60 and mds1.online
    advance(dep, dep.timings.upgrade / 2 + 1)
    assert not mds1.online and seen == [False]
    assert mds1.version.name == "R81.20"
    assert not mds1.vfs.exists("/tmp/scratch") and mds1.vfs.exists("/var/log/keep")
    advance(dep, dep.timings.reboot + 1)
    assert mds1.online and seen == [False, True]
    advance(dep, dep.timings.mds_start + dep.timings.dms_pnd + dep.timings.dms_init + 1)
    assert set(states(dep, "mds1").values()) == {"up"}
    assert mds1.vfs.read_text("/etc/cp-release") == "Check Point Gaia R81.20\n"
    d = mds1.local("dom1_Server")
    assert d is not None and d.object_version == "R81.10"
    fixed = dep.fix_object_versions(mds1, None)
    assert {o for _, o in fixed} == {"updated"} and d.object_version == "R81.20"


def test_fix_object_versions_reports_a_down_dms() -> None:
    dep = lab()
    mds1 = dep.server("mds1")
    d = mds1.local("dom3_Server")
    assert d is not None
    dep.stop_dms(d)
    advance(dep, 20)
    result = dict((x.name, o) for x, o in dep.fix_object_versions(mds1, None))
    assert result["dom3_Server"] == "down" and result["dom1_Server"] == "updated"
    with pytest.raises(LabError):
        dep.fix_object_versions(mds1, "nope")


def test_collision_scenario_fires_after_the_primary_is_upgraded() -> None:
    dep = lab("collision")
    mds1 = dep.server("mds1")
    dep.start_upgrade(mds1, profile("R81.20"), "pkg.tgz")
    t = dep.timings
    advance(dep, t.upgrade + t.reboot + t.mds_start + t.dms_pnd + t.dms_init + 30)
    dom1 = dep.domain("dom1")
    assert [d.sync_status for d in dom1.dms] == [COLLISION, COLLISION]
    dom3 = dep.domain("dom3")
    assert [len(d.revisions) for d in dom3.dms] == [0, 1]
    assert [d.ha_state for d in dom3.dms] == ["active", "active"]


def test_network_blip_drops_and_comes_back_without_changing_version() -> None:
    dep = lab()
    mds2 = dep.server("mds2")
    seen: list[bool] = []
    dep.listeners.append(lambda s, online: seen.append(online))
    dep.network_blip(mds2, 5)
    assert not mds2.online
    advance(dep, 6)
    assert mds2.online and seen == [False, True] and mds2.version.name == "R81.10"


def test_sizes_are_validated() -> None:
    with pytest.raises(ValueError):
        lab(mds=5)
    with pytest.raises(ValueError):
        lab(domains=501)
    with pytest.raises(ValueError):
        scenarios.create(scenarios.LabOptions(scenario="nope"))
