"""Management API reads under a rate limit, on the fake transport and in a real bash: a
round answered "too many" runs fewer execs at once in the next (down to one), and those
execs try a refused call again in place, a pause apart that differs from exec to exec."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from mdstools import mgmt_api
from mdstools.errors import ApiError
from tests.unit.test_mgmt_api import _DOMAIN, answer, session, status_reads, stripped

_PAUSE = re.compile(r"mdstools_call\(\) \{[^}]*sleep ([0-9.]+)")


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(mgmt_api.time, "sleep", slept.append)
    return slept


def test_a_rate_limited_round_halves_the_execs_and_paces_them() -> None:
    """Round 1: 8 execs, every login refused; round 2: 4 paced execs, refused again;
    round 3: 2 paced execs, read. The fast path (round 1) is the plain script."""
    waits: list[str] = []

    def behaviour(domain: str, login_as: str) -> str | None:
        return "err_too_many_requests" if len(waits) < 2 else None

    sess, fake = session(behaviour)
    domains = [f"dom{i}" for i in range(16)]
    got = stripped(mgmt_api.read_domains(sess, domains, status_reads, progress=waits.append))
    assert got == {d: [answer(d)] for d in domains}
    calls = fake.calls
    assert len(calls) == 8 + 4 + 2
    assert all(len(_DOMAIN.findall(c)) == 2 for c in calls[:8])
    assert not any("mdstools_call" in c for c in calls[:8])
    paced = calls[8:]
    assert all("mdstools_call mgmt_cli show-ha-status" in c for c in paced)
    assert all("|| mdstools_again" in c for c in paced)
    pauses = [float(_PAUSE.search(c).group(1)) for c in paced[:4]]  # type: ignore[union-attr]
    assert len(set(pauses)) == 4 and min(pauses) >= 1.0 and max(pauses) < 2.0


def test_the_execs_grow_again_one_at_a_time_after_a_round_without_crowding() -> None:
    pace = mgmt_api._Pace(execs=8, most=8)
    pace.after({"err_too_many_requests"})
    pace.after({"err_too_many_sessions"})
    pace.after({"err_too_many_requests"})
    pace.after({"err_too_many_requests"})
    assert (pace.execs, pace.paced) == (1, True)
    pace.after({"generic_server_initializing"})
    pace.after(set())
    assert pace.execs == 3


def test_what_is_left_unread_after_the_budget_is_named() -> None:
    sess, _ = session(lambda d, a: "err_too_many_requests" if d == "dom2" else None)
    with pytest.raises(ApiError) as info:
        mgmt_api.read_domains(
            sess, ["dom1", "dom2"], status_reads, budget_s=30, progress=lambda s: None
        )
    assert info.value.code == "err_too_many_requests"
    assert "1 domains not read: dom2" in str(info.value)


def test_a_paced_exec_tries_refused_calls_again_in_a_real_bash(tmp_path: Path) -> None:
    """A stand-in ``mgmt_cli`` that refuses every other call for too many requests: the
    paced exec logs in, reads and logs out all the same, each call tried again in place."""
    calls = tmp_path / "calls"
    stand_in = tmp_path / "mgmt_cli"
    stand_in.write_text(
        "#!/bin/bash\n"
        f'echo "$1" >> {calls}\n'
        f"n=$(wc -l < {calls})\n"
        'if [ $((n % 2)) -eq 1 ]; then echo \'{"code": "err_too_many_requests"}\'; exit 1; fi\n'
        'case "$1" in\n'
        '  login) echo \'{"sid": "s"}\' ;;\n'
        '  logout) echo \'{"message": "OK"}\' ;;\n'
        "  *) echo '{\"ok\": true}' ;;\n"
        "esac\n"
    )
    stand_in.chmod(0o755)
    parts = [
        (d, d, [mgmt_api.paced(f'mgmt_cli show-ha-status -s "$d/s{i}"')])
        for i, d in enumerate(("dom1", "dom2"), 1)
    ]
    proc = subprocess.run(
        ["bash", "-c", mgmt_api.script(parts, pace_s=0.01)],
        env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert [ln for ln in calls.read_text().splitlines()] == [
        *["login"] * 2,
        *["show-ha-status"] * 2,
        *["logout"] * 2,
    ] * 2
    out = mgmt_api._parse(proc.stdout)
    assert {k: v.strip() for k, v in out.items() if not k.startswith("login")} == {
        "dom1": '{"ok": true}',
        "dom2": '{"ok": true}',
    }
