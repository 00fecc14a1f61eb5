"""The client layer against the embedded lab over real SSH: status, clish login, jobs, faults."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mdstools import inventory, jobs, status
from mdstools.commands import mdsstat, upgrade, versions
from mdstools.errors import AuthenticationError, HostKeyError, JobError, UnreachableError
from mdstools.fleet import Fleet
from mdstools.lab import runtime, scenarios
from mdstools.session import Session
from mdstools.transport.ssh import SshTransport

pytestmark = pytest.mark.lab

SCENARIOS = list(scenarios.SCENARIOS)


def lab_up(path: Path, **kw: Any) -> dict[str, Any]:
    kw.setdefault("time_scale", 0.002)
    return runtime.up(path, scenarios.LabOptions(**kw))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("clientlab")
    lab_up(path)
    yield path
    runtime.down(path)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mdstools", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def secrets_of(path: Path) -> list[str]:
    return [(path / "secrets" / n).read_text().strip() for n in ("mds_password", "expert_password")]


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "slow"])
def test_status_json_shape_for_every_scenario(tmp_path: Path, scenario: str) -> None:
    lab_up(tmp_path, scenario=scenario)
    try:
        p = cli("status", "-i", str(tmp_path / "inventory.yml"), "--format", "json")
    finally:
        runtime.down(tmp_path)
    assert p.returncode in (0, 1), p.stderr
    data = json.loads(p.stdout)
    assert set(data) >= {"collected_at", "servers", "domain_servers", "domains", "checks"}
    assert [s["name"] for s in data["servers"]] == ["mds1", "mds2", "mlm1"]
    for s in data["servers"]:
        assert set(s) >= {
            "name",
            "role",
            "host",
            "reachable",
            "error",
            "version",
            "build",
            "processes",
        }
        assert s["reachable"] is True and s["version"] == "R81.10"
        assert all(set(v) == {"status", "pid"} for v in s["processes"].values())
    assert len(data["domain_servers"]) == 15
    for d in data["domain_servers"]:
        assert d["type"] in ("CMA", "CLM") and d["domain"] in {f"dom{i}" for i in range(1, 6)}
        assert isinstance(d["all_up"], bool)
    names = [d["name"] for d in data["domains"]]
    assert set(names) >= {f"dom{i}" for i in range(1, 6)}
    for d in data["domains"]:
        assert d["active_server"] == "mds1" and d["standby_servers"] == ["mds2"]
        assert set(d["sync_status"]) == {"mds1", "mds2"}
        assert set(d["sync_status"].values()) <= {
            "Synchronized",
            "Never been synchronized",
            "Collision",
            "unknown",
        }
    assert all(set(c) >= {"name", "passed", "reason"} for c in data["checks"])
    for secret in secrets_of(tmp_path):
        assert secret not in p.stdout + p.stderr


def test_status_table_is_readable_at_250_domains(tmp_path: Path) -> None:
    lab_up(tmp_path, domains=250, mds=4, mlm=2)
    try:
        p = cli("status", "-i", str(tmp_path / "inventory.yml"))
    finally:
        runtime.down(tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) < 80, "summarized, not 1500 rows"
    assert "domain servers: 1500 of 1500 up" in p.stdout
    assert max(len(line) for line in lines) < 200


def test_unreachable_server_is_reported_and_others_still_are(lab: Path, tmp_path: Path) -> None:
    data = yaml.safe_load((lab / "inventory.yml").read_text())
    data["servers"][2]["port"] = 1  # nothing listens there
    for key in ("key_file", "known_hosts", "password", "expert_password"):
        value = data["connection"][key]
        data["connection"][key] = value.replace("./", f"{lab}/")
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump(data))
    p = cli("status", "-i", str(inv), "--format", "json")
    assert p.returncode == 4
    out = json.loads(p.stdout)
    mlm = next(s for s in out["servers"] if s["name"] == "mlm1")
    assert mlm["reachable"] is False and "refused" in mlm["error"]
    assert all(s["reachable"] for s in out["servers"] if s["name"] != "mlm1")
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


def test_malformed_inventory_is_one_line_exit_2(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yml"
    inv.write_text(
        "environment: x\ntarget_version: R81.20\nservers:\n"
        "  - {name: a, host: h, role: chief, key_file: k}\n"
    )
    p = cli("status", "-i", str(inv))
    assert p.returncode == 2 and "servers[0].role" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


def test_changed_host_key_and_wrong_password_are_one_line_causes(lab: Path, tmp_path: Path) -> None:
    inv = inventory.load(lab / "inventory.yml")
    lines = (lab / "known_hosts").read_text().splitlines()
    swapped = [lines[0].split(" ", 1)[0] + " " + lines[1].split(" ", 1)[1], *lines[1:]]
    kh = tmp_path / "known_hosts"
    kh.write_text("\n".join(swapped) + "\n")
    from dataclasses import replace

    mds1 = inv.server("mds1")
    bad_key = replace(mds1, connection=replace(mds1.connection, known_hosts=kh))
    with pytest.raises(HostKeyError) as exc:
        SshTransport(bad_key).connect()
    assert "CHANGED" in str(exc.value) and "SHA256:" in str(exc.value)
    assert "ssh-keygen -R" in str(exc.value) and "\n" not in str(exc.value)

    wrong = tmp_path / "wrong"
    wrong.write_text("definitely-wrong\n")
    bad_pw = replace(
        mds1, connection=replace(mds1.connection, key_file=None, password=f"file:{wrong}")
    )
    with pytest.raises(AuthenticationError) as exc2:
        SshTransport(bad_pw).connect()
    assert "password refused" in str(exc2.value) and "definitely-wrong" not in str(exc2.value)


def test_clish_login_session_reaches_expert(tmp_path: Path) -> None:
    lab_up(tmp_path, scenario="clish-login")
    try:
        inv = inventory.load(tmp_path / "inventory.yml")
        assert inv.server("mds2").shell == "clish"
        with Fleet(inv) as fleet:
            sess = fleet.session("mds2")
            table = sess.run(mdsstat.mdsstat(), check=True).value()
            assert [r.name for r in table.domain_rows][:2] == ["dom1_Server_2", "dom2_Server_2"]
            assert sess.run(versions.show_version_all(), check=True).value().version == "R81.10"
            assert (
                sess.run("echo $FWDIR", domain="dom1_Server_2")
                .stdout.strip()
                .endswith("customers/dom1_Server_2/CPsuite-R81.10/fw1")
            )
            failed = sess.run("exit 3")
            assert failed.exit_status == 3 and not failed.ok
            snap = status.collect(fleet)
        assert all(s.reachable for s in snap.servers)
        for secret in secrets_of(tmp_path):
            assert secret not in status.render_json(snap)
    finally:
        runtime.down(tmp_path)


def test_job_survives_a_drop_and_a_reboot_kills_it(lab: Path) -> None:
    inv = inventory.load(lab / "inventory.yml")
    with Fleet(inv) as fleet:
        sess = fleet.session("mds2")
        seen: list[str] = []
        handle = jobs.start(sess, "restart", "sleep 1.5; echo restarted")
        runtime.control(lab, {"action": "drop", "server": "mds2", "seconds": 0.3})
        result = jobs.wait(
            sess,
            handle,
            timeout_s=30,
            interval_s=0.2,
            progress=lambda label, st, t: seen.append(label),
        )
        assert result.rc == 0 and result.log == "restarted\n"
        transport = sess.transport
        assert isinstance(transport, SshTransport) and transport.connections >= 2, "it dropped"
        assert seen and all(label == "restart" or "reconnecting" in label for label in seen)

        handle = jobs.start(sess, "long", "sleep 30")
        runtime.control(lab, {"action": "reboot", "server": "mds2"})
        with pytest.raises(JobError, match="disappeared without an exit status"):
            jobs.wait(sess, handle, timeout_s=30, interval_s=0.2)


def test_cpuse_upgrade_done_when_the_package_says_so(tmp_path: Path) -> None:
    lab_up(tmp_path, scenario="drop-during-upgrade")
    try:
        inv = inventory.load(tmp_path / "inventory.yml")
        with Fleet(inv) as fleet:
            sess = fleet.session("mds1")
            pkg = inv.upgrade_package.rsplit("/", 1)[-1]
            sess.run(upgrade.installer_import_local(inv.upgrade_package), check=True)
            jobs.poll_until(
                sess, lambda s: _package_status(s, pkg, "Imported"), 30, 0.1, label="import"
            )
            ret = sess.run(upgrade.installer_upgrade(pkg), check=True)
            assert "Initiating upgrade" in ret.stdout
            states: list[str] = []
            jobs.poll_until(
                sess,
                lambda s: _package_status(s, pkg, "Installed", states),
                60,
                0.1,
                label="upgrade",
            )
            assert any(s.startswith("Installing") for s in states)
            version = sess.run(versions.fw_ver(), check=True).value()
            assert version.version == "R81.20"
    finally:
        runtime.down(tmp_path)


def _package_status(
    sess: Session, pkg: str, want: str, seen: list[str] | None = None
) -> tuple[bool, str]:
    detail = sess.run(upgrade.show_installer_package(pkg), check=True).value()
    if seen is not None:
        seen.append(detail.status or "")
    return (detail.status == want, detail.status or "unknown")


def test_unreachable_transport_error(lab: Path) -> None:
    inv = inventory.load(lab / "inventory.yml")
    from dataclasses import replace

    s = replace(inv.server("mds1"), port=1)
    with pytest.raises(UnreachableError, match="refused"):
        SshTransport(s).connect()
