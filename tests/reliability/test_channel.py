"""The clish -> expert interactive channel reads what an exec channel reads.

On the ``clish-login`` scenario ``admin``'s login shell on mds2 is clish: every expert command
there (backups, jobs, 250-item Management API batches, upgrades) runs through the interactive
PTY channel. The lab's PTY keeps 4095 bytes per line, like a real canonical-mode terminal.
The whole campaign on this scenario, on two topologies, is in ``test_scenarios.py``.
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


def _status(lab: Path) -> dict[str, object]:
    p = _cli(lab.parent, "status", "-i", str(lab / "inventory.yml"), "--format", "json")
    assert p.returncode == 0, p.stderr
    data: dict[str, object] = json.loads(p.stdout)
    data.pop("collected_at")
    return data


def test_status_of_250_domains_over_clish_login_equals_bash_login(tmp_path: Path) -> None:
    """Every domain active on mds2: its show-ha-status reads (250 read-only Management API
    sessions, scripts of kilobytes) run on mds2 through clish -> expert in one lab, over
    exec in the other; both snapshots are the same."""
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
        shells = {}
        for doc in (clish, bash):
            doc.pop("environment")  # lab-clish-login, lab-default
            for s in doc["servers"]:  # type: ignore[attr-defined]
                shells[s["name"]] = (*shells.get(s["name"], ()), s.pop("login_shell"))
        assert shells["mds2"] == ("clish", "bash"), shells
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
