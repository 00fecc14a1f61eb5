"""Management API reads on the fake transport: the script each server is sent (one read-only
session per domain, logout always), the spread over a bounded number of execs, the retries
of "not now" answers, and the fallback to the domain's UID."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mdstools import mgmt_api
from mdstools.commands import ha
from mdstools.commands.base import BATCH_MARK
from mdstools.errors import ApiError
from mdstools.inventory import Connection, Role, Server
from mdstools.session import Session
from mdstools.transport.fake import FakeTransport

_DOMAIN = re.compile(
    r"'### mdstools item login ([^']*)'; if mgmt_cli login -r true -d '([^']*)' read-only true"
)
Behaviour = Callable[[str, str], str | None]
"""``(domain, login_as) -> error code of the login, or None when it succeeds``."""


def error(code: str) -> str:
    return json.dumps({"code": code, "message": f"{code} (fake)"})


def answer(domain: str) -> str:
    return json.dumps({"name": domain, "ok": True})


def responder(behaviour: Behaviour) -> Callable[[str, str | None], tuple[str, str, int]]:
    """Plays a session script: each domain's login fails as ``behaviour`` says (its error
    body printed), else its one read answers."""

    def respond(command: str, stdin: str | None) -> tuple[str, str, int]:
        out = []
        for domain, login_as in _DOMAIN.findall(command):
            out.append(f"\n{BATCH_MARK}login {domain}\n")
            code = behaviour(domain, login_as)
            if code is not None:
                out.append(error(code))
            else:
                out.append(f"\n{BATCH_MARK}{domain}\n{answer(domain)}")
        return "".join(out), "", 0

    return respond


def session(behaviour: Behaviour) -> tuple[Session, FakeTransport]:
    fake = FakeTransport("mds1", responder(behaviour))
    server = Server(
        name="mds1",
        host="192.0.2.11",
        port=22,
        role=Role.PRIMARY,
        shell="bash",
        connection=Connection(),
    )
    return Session(server, fake), fake


def stripped(got: dict[str, list[str]]) -> dict[str, list[str]]:
    """The answers without the line ends the exec's output has between items."""
    return {d: [t.strip() for t in texts] for d, texts in got.items()}


def status_reads(domain: str, session_file: str) -> list[str]:
    return [ha.mgmt("show-ha-status", session=session_file)]


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(mgmt_api.time, "sleep", slept.append)
    return slept


def test_one_read_only_session_per_domain_and_logout_always() -> None:
    sess, fake = session(lambda d, a: None)
    got = stripped(mgmt_api.read_domains(sess, ["dom1", "dom2"], status_reads, execs=1))
    assert got == {"dom1": [answer("dom1")], "dom2": [answer("dom2")]}
    (script,) = [c.removeprefix(c[: c.index("umask 077")]) for c in fake.calls]
    assert re.search(r"d=\$\(mktemp -d /tmp/mdstools-api\.X+\) \|\| exit 70", script)
    trap = re.search(r"trap '([^']*)' EXIT; trap 'exit 129' HUP; trap 'exit 143' TERM", script)
    assert trap is not None
    assert 'mdstools_logout "$f"' in trap.group(1)
    assert 'rm -rf "$d"' in trap.group(1)
    for i, dom in enumerate(("dom1", "dom2"), 1):
        part = (
            f"if mgmt_cli login -r true -d '{dom}' read-only true --format json > \"$d/s{i}\"; "
            f"then printf '\\n%s\\n' '### mdstools item {dom}'; "
            f'mgmt_cli show-ha-status -s "$d/s{i}" --format json; '
            f'mdstools_logout "$d/s{i}"; '
            f'else cat "$d/s{i}"; fi; rm -f "$d/s{i}"'
        )
        assert part in script
    assert "-r true show-ha-status" not in script


def test_domains_spread_over_a_bounded_number_of_execs() -> None:
    sess, fake = session(lambda d, a: None)
    domains = [f"dom{i}" for i in range(20)]
    got = mgmt_api.read_domains(sess, domains, status_reads, execs=8)
    assert sorted(got) == sorted(domains)
    assert len(fake.calls) == 8
    per_exec = [len(_DOMAIN.findall(c)) for c in fake.calls]
    assert sum(per_exec) == 20 and max(per_exec) == 3
    assert mgmt_api.EXECS_PER_SERVER == 8


@pytest.mark.parametrize("code", sorted(mgmt_api.RETRYABLE))
def test_not_now_is_retried_with_a_progress_line(code: str, no_sleep: list[float]) -> None:
    tries: dict[str, int] = {}

    def behaviour(domain: str, login_as: str) -> str | None:
        tries[domain] = tries.get(domain, 0) + 1
        return code if tries[domain] <= 2 else None

    sess, fake = session(behaviour)
    lines: list[str] = []
    got = stripped(mgmt_api.read_domains(sess, ["dom1"], status_reads, progress=lines.append))
    assert got == {"dom1": [answer("dom1")]}
    assert len(fake.calls) == 3 and no_sleep == [5.0, 10.0]
    assert lines == [
        f"waiting for the Management API on mds1 ({mgmt_api.RETRYABLE[code]}), 0 s so far",
        f"waiting for the Management API on mds1 ({mgmt_api.RETRYABLE[code]}), 5 s so far",
    ]


def test_the_waits_are_slept_at_the_time_scale(no_sleep: list[float]) -> None:
    """Against the lab the backoff is the lab's time: realistic seconds times its scale,
    counted against the budget as realistic seconds."""
    tries = {"n": 0}

    def behaviour(domain: str, login_as: str) -> str | None:
        tries["n"] += 1
        return "generic_server_initializing" if tries["n"] <= 2 else None

    sess, _ = session(behaviour)
    lines: list[str] = []
    mgmt_api.read_domains(sess, ["dom1"], status_reads, time_scale=0.01, progress=lines.append)
    assert no_sleep == [0.05, 0.1]
    assert lines[-1].endswith("5 s so far")


def test_not_now_beyond_the_budget_is_an_error_never_an_answer(no_sleep: list[float]) -> None:
    sess, _ = session(lambda d, a: "generic_server_initializing")
    with pytest.raises(ApiError) as info:
        mgmt_api.read_domains(sess, ["dom1"], status_reads, budget_s=30, progress=lambda s: None)
    assert info.value.code == "generic_server_initializing"
    assert "after 30 s of retries" in str(info.value)
    assert sum(no_sleep) == 30


def test_a_read_answered_not_now_is_retried_too() -> None:
    calls: list[str] = []

    def respond(command: str, stdin: str | None) -> tuple[str, str, int]:
        calls.append(command)
        text = error("err_too_many_requests") if len(calls) == 1 else answer("dom1")
        return f"\n{BATCH_MARK}login dom1\n\n{BATCH_MARK}dom1\n{text}", "", 0

    sess, _ = session(lambda d, a: None)
    sess.transport = FakeTransport("mds1", respond)
    got = stripped(mgmt_api.read_domains(sess, ["dom1"], status_reads, progress=lambda s: None))
    assert got == {"dom1": [answer("dom1")]} and len(calls) == 2


def test_login_by_name_failing_is_retried_once_with_the_uid() -> None:
    sess, fake = session(lambda d, a: "err_login_failed" if a == d else None)
    notes: list[str] = []
    got = stripped(
        mgmt_api.read_domains(
            sess, ["dom1", "dom2"], status_reads, uids={"dom1": "uid-1"}, notes=notes, execs=1
        )
    )
    assert got["dom1"] == [answer("dom1")]
    assert got["dom2"] == [error("err_login_failed")]
    assert "-d 'uid-1' read-only true" in fake.calls[1]
    assert len(fake.calls) == 2
    assert notes == ["mds1: login to domain dom1 by name failed; retried with its UID"]


def test_a_login_that_fails_gives_its_error_to_every_read() -> None:
    sess, _ = session(lambda d, a: "err_login_failed")
    got = stripped(
        mgmt_api.read_domains(
            sess, ["dom1"], lambda d, s: [ha.mgmt("show-ha-status", session=s)] * 2
        )
    )
    assert got == {"dom1": [error("err_login_failed")] * 2}
    with pytest.raises(ApiError):
        ha.load_json(got["dom1"][0])


def test_a_logout_refused_for_too_many_requests_is_tried_again(tmp_path: Path) -> None:
    """The script in a real bash with a stand-in ``mgmt_cli`` whose first two logouts are
    refused (rate limit): the session is logged out in the end, never left open."""
    calls = tmp_path / "calls"
    stand_in = tmp_path / "mgmt_cli"
    stand_in.write_text(
        "#!/bin/bash\n"
        f'echo "$*" >> {calls}\n'
        'case "$1" in\n'
        '  login) echo \'{"sid": "s"}\' ;;\n'
        f'  logout) n=$(grep -c "^logout" {calls});'
        ' if [ "$n" -le 2 ]; then echo \'{"code": "err_too_many_requests"}\'; exit 1; fi;'
        ' echo \'{"message": "OK"}\' ;;\n'
        "  *) echo '{\"ok\": true}' ;;\n"
        "esac\n"
    )
    stand_in.chmod(0o755)
    text = mgmt_api.script([("dom1", "dom1", ['mgmt_cli show-ha-status -s "$d/s1"'])], pause_s=0)
    proc = subprocess.run(
        ["bash", "-c", text],
        env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = calls.read_text().splitlines()
    assert [ln.split()[0] for ln in lines] == ["login", "show-ha-status", *["logout"] * 3]
