"""``mdstools lab up --like``: a twin of a lab, over SSH, compared with the original.

The original is a lab of other counts whose last MDS was upgraded (a mixed-version
deployment) and one of whose domains was made active on the second MDS; its ``status
--format json`` is the document. The twin's own ``status --format json`` must equal it in
every field but the addresses, the process ids and ``collected_at`` (:func:`normalized`),
with the environment ``<original>-twin``. A copy renamed by hand gives a twin with those
names, and a scenario laid on it stops the campaign where it should.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mdstools import inventory, jobs
from mdstools.commands import upgrade
from mdstools.fleet import Fleet
from mdstools.lab import runtime
from tests.integration.test_lab_client import _package_status, cli, lab_up

pytestmark = pytest.mark.lab

SCALE = "0.002"


def normalized(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` without what a twin cannot share with its original: ``collected_at``, each
    server's address (``host``) and every process id."""
    out = copy.deepcopy(doc)
    out.pop("collected_at", None)
    for server in out["servers"]:
        server.pop("host", None)
    for row in out["servers"] + out["domain_servers"]:
        for cell in row["processes"].values():
            cell.pop("pid", None)
    return out


def status_json(lab_dir: Path, settle_s: float = 60.0) -> dict[str, Any]:
    """``status --format json`` of the lab once every DMS and DLS is up again."""
    deadline = time.monotonic() + settle_s
    while True:
        p = cli("status", "-i", str(lab_dir / "inventory.yml"), "--format", "json")
        assert p.returncode in (0, 1), p.stderr
        doc: dict[str, Any] = json.loads(p.stdout)
        if all(d["all_up"] for d in doc["domain_servers"]) or time.monotonic() > deadline:
            return doc
        time.sleep(0.5)


def upgrade_server(lab_dir: Path, name: str) -> None:
    """The CPUSE upgrade of one server of the lab, through the client's own commands."""
    inv = inventory.load(lab_dir / "inventory.yml")
    with Fleet(inv) as fleet:
        sess = fleet.session(name)
        pkg = inv.upgrade_package.rsplit("/", 1)[-1]
        sess.run(upgrade.installer_import_local(inv.upgrade_package), check=True)
        jobs.poll_until(sess, lambda s: _package_status(s, pkg, "Imported"), 30, 0.1, label="i")
        sess.run(upgrade.installer_upgrade(pkg), check=True)
        jobs.poll_until(sess, lambda s: _package_status(s, pkg, "Installed"), 60, 0.1, label="u")


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The status document of a lab of 3 MDSs (a clish login on mds2), 2 MLMs and 7
    domains, mds3 upgraded to R81.20 and dom2 active on mds2."""
    lab_dir = tmp_path_factory.mktemp("original")
    lab_up(lab_dir, scenario="clish-login", mds=3, mlm=2, domains=7)
    try:
        upgrade_server(lab_dir, "mds3")
        runtime.control(lab_dir, {"action": "change", "domain": "dom2", "on": "mds2"})
        return status_json(lab_dir)
    finally:
        runtime.down(lab_dir)


@pytest.fixture
def twin_dirs(tmp_path: Path) -> Iterator[list[Path]]:
    """Lab directories of this test's twins; every twin is taken down afterwards."""
    dirs: list[Path] = []
    yield dirs
    for d in dirs:
        runtime.down(d)


def twin_up(dirs: list[Path], doc: dict[str, Any], where: Path, *extra: str) -> Path:
    """``mdstools lab up --like`` of ``doc`` (written to a file) in ``where``."""
    path = where.with_suffix(".json")
    path.write_text(json.dumps(doc, indent=2))
    dirs.append(where)
    p = cli("lab", "up", "--dir", str(where), "--like", str(path), "--time-scale", SCALE, *extra)
    assert p.returncode == 0, p.stderr
    return where


def test_the_twins_status_equals_the_originals(
    captured: dict[str, Any], twin_dirs: list[Path], tmp_path: Path
) -> None:
    assert {s["name"]: s["version"] for s in captured["servers"]} == {
        "mds1": "R81.10",
        "mds2": "R81.10",
        "mds3": "R81.20",
        "mlm1": "R81.10",
        "mlm2": "R81.10",
    }
    assert [s["login_shell"] for s in captured["servers"]] == ["bash", "clish", "bash"] + [
        "bash"
    ] * 2
    dom2 = next(d for d in captured["domains"] if d["name"] == "dom2")
    assert dom2["active_servers"] == ["mds2"] and len(captured["domain_servers"]) == 35
    lab_dir = twin_up(twin_dirs, captured, tmp_path / "twin")
    got = status_json(lab_dir)
    assert got["environment"] == f"{captured['environment']}-twin"
    want = normalized(captured)
    want["environment"] = got["environment"]
    assert normalized(got) == want
    inv = yaml.safe_load((lab_dir / "inventory.yml").read_text())
    assert [(s["name"], s["role"], s.get("shell", "bash")) for s in inv["servers"]] == [
        (s["name"], s["role"], s["login_shell"]) for s in captured["servers"]
    ]
    assert all(s["host"] == "127.0.0.1" for s in inv["servers"])
    assert inv["environment"] == "lab-clish-login-twin"


SERVERS = {
    "mds1": "fra-mgmt-1",
    "mds2": "fra-mgmt-2",
    "mds3": "fra-mgmt-3",
    "mlm1": "fra-log-1",
    "mlm2": "fra-log-2",
}
DOMAINS = {
    f"dom{k}": name
    for k, name in enumerate(
        ["Retail_EU", "Corp.HQ", "OT-1", "Branch-42", "lab_test", "SOC", "Payments"], start=1
    )
}


def renamed(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` by hand: other server, domain and DMS/DLS names, the primary listed second
    (the ``mdsstat`` rows follow the servers' order, as ``status`` lists them), every server
    back on R81.10 (before the upgrade), no environment (an older file)."""
    out = copy.deepcopy(doc)
    del out["environment"]
    srv = SERVERS.__getitem__
    r81_10 = next(s for s in out["servers"] if s["version"] == "R81.10")
    for s in out["servers"]:
        s["name"] = srv(s["name"])
        s["version"], s["build"] = r81_10["version"], r81_10["build"]
    out["servers"][0], out["servers"][1] = out["servers"][1], out["servers"][0]
    for row in out["domain_servers"]:
        row["name"] = f"{DOMAINS[row['domain']]}_{'DLS' if row['type'] == 'CLM' else 'DMS'}_" + (
            srv(row["server"])
        )
        row["server"], row["domain"] = srv(row["server"]), DOMAINS[row["domain"]]
    order = [s["name"] for s in out["servers"]]
    out["domain_servers"].sort(key=lambda row: order.index(row["server"]))
    for dom in out["domains"]:
        dom["name"] = DOMAINS.get(dom["name"], dom["name"])
        if dom["active_server"]:
            dom["active_server"] = srv(dom["active_server"])
        for key in ("standby_servers", "active_servers"):
            dom[key] = [srv(m) for m in dom[key]]
        dom["sync_status"] = {srv(m): w for m, w in dom["sync_status"].items()}
    return out


def campaign(lab_dir: Path, tmp_path: Path, ticket: str) -> subprocess.CompletedProcess[str]:
    """The confirmed campaign on the lab, as a scheduler runs it, up to phase 04."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "MDSTOOLS_LOCK_DIR": str(tmp_path / "locks"),
    }
    args = ["campaign", "-i", str(lab_dir / "inventory.yml"), "--ticket", ticket]
    args += ["--reports", str(tmp_path / "reports"), "--confirm", "--to", "04"]
    args += ["-p", f"time_scale={SCALE}"]
    return subprocess.run(
        [sys.executable, "-m", "mdstools", *args],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=tmp_path,
    )


@pytest.mark.slow
def test_a_renamed_twin_has_those_names_and_its_scenario_stops_the_campaign(
    captured: dict[str, Any], twin_dirs: list[Path], tmp_path: Path
) -> None:
    doc = renamed(captured)
    lab_dir = twin_up(twin_dirs, doc, tmp_path / "twin", "--scenario", "upgrade-fails")
    got = status_json(lab_dir)
    assert got["environment"] == "twin"
    want, have = normalized(doc), normalized(got)
    for key in ("servers", "domain_servers", "domains"):
        assert have[key] == want[key], key
    p = campaign(lab_dir, tmp_path, "TWIN-1")
    assert p.returncode == 1, p.stdout + p.stderr
    journal = (tmp_path / "reports" / "TWIN-1" / "journal.jsonl").read_text().splitlines()
    runs = [e for e in map(json.loads, journal) if e["kind"] == "run"]
    assert [(e["phase"], e["verdict"]) for e in runs] == [
        ("00", "passed"),
        ("01", "passed"),
        ("02", "passed"),
        ("03", "passed"),
        ("04", "failed"),
    ]
    assert "fra-mgmt-3: the upgrade failed" in runs[-1]["cause"]
    baseline = json.loads((tmp_path / "reports" / "TWIN-1" / "baseline.json").read_text())
    assert baseline["environment"] == "twin"
    for key in ("servers", "domain_servers", "domains"):
        assert normalized(baseline)[key] == want[key], key
    status = runtime.control(lab_dir, {"action": "status"})
    versions = {s["name"]: s["version"] for s in status["servers"]}
    assert versions["fra-mgmt-1"] == "R81.20" and versions["fra-mgmt-2"] == "R81.20"
    assert versions["fra-mgmt-3"] == "R81.10"
