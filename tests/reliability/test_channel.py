"""The clish -> expert interactive channel carries a whole campaign, as an exec channel does.

On the ``clish-login`` scenario ``admin``'s login shell on mds2 is clish: every expert command
there (backups, jobs, 250-item Management API batches, upgrades) runs through the interactive
PTY channel. The lab's PTY keeps 4095 bytes per line, like a real canonical-mode terminal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mdstools import inventory
from mdstools.fleet import Fleet
from mdstools.lab import runtime, scenarios
from mdstools.phases import PHASES

from .conftest import changed, tree_digest

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(900)]

SCALE = "0.002"


def _cli(cwd: Path, *args: str, timeout: float = 800) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    return subprocess.run(
        [sys.executable, "-m", "mdstools", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )


def _secrets(lab: Path) -> list[str]:
    return [(lab / "secrets" / n).read_text().strip() for n in ("mds_password", "expert_password")]


@pytest.mark.parametrize(
    ("mds", "mlm", "domains"), [(2, 1, 5), (3, 2, 12)], ids=["2mds-1mlm-5dom", "3mds-2mlm-12dom"]
)
def test_clish_login_campaign_passes_and_verifies(
    tmp_path: Path, mds: int, mlm: int, domains: int, runbooks_unchanged: None
) -> None:
    lab = tmp_path / "lab"
    opts = scenarios.LabOptions(
        scenario="clish-login", mds=mds, mlm=mlm, domains=domains, time_scale=float(SCALE)
    )
    runtime.up(lab, opts)
    try:
        inv = inventory.load(lab / "inventory.yml")
        assert inv.server("mds2").shell == "clish"
        reports = tmp_path / "reports"
        before = tree_digest(tmp_path, exclude=[reports, lab])
        p = _cli(
            tmp_path,
            "campaign",
            "-i",
            str(lab / "inventory.yml"),
            "--ticket",
            "CHG-CLISH",
            "--reports",
            str(reports),
            "--confirm",
            "-p",
            f"time_scale={SCALE}",
        )
        assert p.returncode == 0, p.stdout + p.stderr[-3000:]
        for phase in PHASES:
            assert f"{phase.id} {phase.slug}" in p.stdout
        assert p.stdout.count("PASSED") == len(PHASES), p.stdout
        assert changed(before, tree_digest(tmp_path, exclude=[reports, lab])) == []

        record = reports / "CHG-CLISH"
        backups = json.loads((record / "backups.json").read_text())
        assert "mds2" in json.dumps(backups), "the clish-login MDS was backed up (X1)"
        commands = [
            json.loads(line)
            for line in (record / "journal.jsonl").read_text().splitlines()
            if '"mds2"' in line
        ]
        assert commands, "commands ran on mds2"
        status = runtime.control(lab, {"action": "status"})
        versions = {s["name"]: s["version"] for s in status["servers"]}  # type: ignore[index]
        assert set(versions.values()) == {"R81.20"}, versions

        v = _cli(tmp_path, "verify", str(record))
        assert v.returncode == 0 and "OK" in v.stdout, v.stdout + v.stderr
        text = "\n".join(f.read_text(errors="replace") for f in record.rglob("*") if f.is_file())
        for secret in _secrets(lab):
            assert secret not in text and secret not in p.stdout + p.stderr
    finally:
        runtime.down(lab)


def _status(lab: Path) -> dict[str, object]:
    p = _cli(lab.parent, "status", "-i", str(lab / "inventory.yml"), "--format", "json")
    assert p.returncode == 0, p.stderr
    data: dict[str, object] = json.loads(p.stdout)
    data.pop("collected_at")
    return data


def test_status_of_250_domains_over_clish_login_equals_bash_login(tmp_path: Path) -> None:
    """Every domain active on mds2: its show-ha-status batch (250 Management API calls, one
    script of tens of kB) runs on mds2 through clish -> expert in one lab, over exec in the
    other; both snapshots are the same."""
    labs = {}
    for scenario in ("clish-login", "default"):
        lab = tmp_path / scenario
        opts = scenarios.LabOptions(
            scenario=scenario, domains=250, source="R81.20", target="R82", time_scale=0.002
        )
        runtime.up(lab, opts)
        labs[scenario] = lab
    try:
        for lab in labs.values():
            for i in range(1, 251):
                runtime.control(lab, {"action": "change", "domain": f"dom{i}", "on": "mds2"})
        clish, bash = _status(labs["clish-login"]), _status(labs["default"])
        assert clish == bash
        assert clish["notes"] == []
        domains = clish["domains"]
        assert isinstance(domains, list) and len(domains) == 251
        on_mds2 = [d for d in domains if d["active_server"] == "mds2"]
        assert len(on_mds2) == 250
        assert all(set(d["sync_status"]) == {"mds1", "mds2"} for d in on_mds2)
    finally:
        for lab in labs.values():
            runtime.down(lab)


def test_double_echo_and_hostile_output_over_clish_login(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    runtime.up(
        lab, scenarios.LabOptions(scenario="clish-login", double_echo=True, time_scale=0.002)
    )
    try:
        with Fleet(inventory.load(lab / "inventory.yml")) as fleet:
            s = fleet.session("mds2")
            r = s.run("printf '[Expert@mds2:0]# \\nmds2> \\n}'")
            assert (r.stdout, r.exit_status) == ("[Expert@mds2:0]# \nmds2> \n}", 0)
            data = "".join(f"{i:05d} " + "q" * 120 + "\n" for i in range(600))
            assert len(data) > 64 * 1024
            got = s.run("wc -l; exit 6", stdin=data)
            assert (got.stdout.strip(), got.exit_status) == ("600", 6)
            long_script = "echo " + "w" * 9000 + "\necho 'two\nlines'"
            assert s.run(long_script).stdout == "w" * 9000 + "\ntwo\nlines\n"
            assert s.run("echo err >&2; false").stderr == "err\n"
            many = "\n".join(f"echo {i:06d}" for i in range(6000))
            assert len(many) > 64 * 1024
            assert s.run(many).stdout.split() == [f"{i:06d}" for i in range(6000)]
    finally:
        runtime.down(lab)
