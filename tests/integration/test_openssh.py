"""The client (SshTransport, Session, jobs, fleet) against OpenSSH's real ``sshd``.

The server is Debian's ``/usr/sbin/sshd`` started by ``conftest.py`` on 127.0.0.1 with a
throwaway user whose environment provides stand-in Check Point commands
(``standin/CPmds-R81.20``): what Gaia does that the embedded lab could get wrong is checked
here against the real thing (exec channels, exit statuses, stderr, window sizes, host keys,
authentication, dropped connections, detached processes).
"""

from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mdstools import jobs
from mdstools.commands.base import Command, raw
from mdstools.errors import (
    AuthenticationError,
    CommandFailed,
    CommandTimeout,
    ConnectError,
    HostKeyError,
    JobError,
    MdstoolsError,
    UnreachableError,
)
from mdstools.fleet import run_all
from mdstools.session import Result, Session
from mdstools.transport.ssh import SshTransport

from .conftest import Sshd, ed25519_pair, free_port

pytestmark = [pytest.mark.openssh, pytest.mark.timeout(120)]

# Every Result and error message this test process produced, for the secrets test.
SEEN: list[str] = []


def _remember_result(r: Result[Any]) -> None:
    SEEN.extend([r.command, r.stdout, r.stderr, r.error or "", repr(r)])


def _remember_error(exc: BaseException) -> BaseException:
    SEEN.extend([str(exc), repr(exc), getattr(exc, "hint", "")])
    return exc


Connect = Callable[..., Session]


@pytest.fixture
def connect(sshd: Sshd) -> Iterator[Connect]:
    """``connect(**connection_overrides)`` -> a Session on its own SshTransport."""
    opened: list[Session] = []

    def _connect(**connection: Any) -> Session:
        server = sshd.server(**connection)
        session = Session(server, SshTransport(server), hooks=[_remember_result])
        opened.append(session)
        return session

    yield _connect
    for s in opened:
        s.close()


@pytest.fixture
def session(connect: Connect) -> Session:
    return connect()


@pytest.fixture
def job_root(sshd: Sshd, monkeypatch: pytest.MonkeyPatch) -> str:
    """Jobs live under the throwaway user's directory (it cannot write /var/log)."""
    monkeypatch.setattr(jobs, "JOB_ROOT", str(sshd.jobs_root))
    return str(sshd.jobs_root)


def _connect_error(server_session: Session) -> ConnectError:
    with pytest.raises(ConnectError) as info:
        server_session.transport.connect()
    _remember_error(info.value)
    return info.value


def _one_line_with_hint(exc: MdstoolsError) -> None:
    text = str(exc)
    assert "\n" not in text, text
    assert exc.hint and text.endswith(exc.hint), text


def _fingerprint(public_file: Path) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-lf", str(public_file)], capture_output=True, text=True, check=True
    ).stdout
    return out.split()[1]  # "256 SHA256:... comment (ED25519)"


# -- 1. exec --------------------------------------------------------------------------------
def test_mdsstat_needs_the_prologue(sshd: Sshd, session: Session) -> None:
    r = session.run("mdsstat")
    assert r.ok, r
    assert r.exit_status == 0
    assert "Processes status checking" in r.stdout
    rows = [line.split("|")[1:3] for line in r.stdout.splitlines() if line.startswith("| CMA")]
    assert [name.strip() for _, name in rows] == ["dom1_Server", "dom2_Server", "dom3_Server"]
    assert "| CMA | dom2_Server              | 10.0.0.102      | down" in r.stdout

    # A bare exec channel loads no Check Point environment (as on Gaia).
    bare = session.transport.exec("mdsstat", timeout=10)
    assert bare.exit_status == 127
    assert "command not found" in bare.stderr
    assert bare.stdout == ""
    assert session.transport.exec("echo $MDSDIR", timeout=10).stdout.strip() == str(sshd.mdsdir)


def test_standin_versions_and_api(session: Session) -> None:
    fw = session.run("fw ver")
    assert fw.stdout.strip() == "This is Check Point's software version R81.20 - Build 059"
    ha = session.run("mgmt_cli -r true show-ha-state --format json")
    assert ha.ok
    body = json.loads(ha.stdout)
    assert [d["name"] for d in body["domains"]] == ["Global", "dom1"]
    bad = session.run("mgmt_cli -r true show-nothing --format json")
    assert bad.exit_status == 1
    assert json.loads(bad.stdout)["code"] == "generic_err_command_not_found"


def test_exit_status_and_stderr(session: Session) -> None:
    r = session.run("exit 3")
    assert r.exit_status == 3 and not r.ok and r.error == "exit status 3"
    with pytest.raises(CommandFailed) as info:
        r.raise_for_status()
    _remember_error(info.value)

    r = session.run("echo to-out; echo to-err >&2; echo more-out")
    assert r.ok
    assert r.stdout == "to-out\nmore-out\n"
    assert r.stderr == "to-err\n"


def test_two_megabytes_arrive_intact(session: Session) -> None:
    r = session.run("head -c 2000000 /dev/zero | tr '\\0' x", timeout=60)
    assert r.ok
    assert len(r.stdout) == 2_000_000
    assert r.stdout.count("x") == 2_000_000


def test_large_stderr_does_not_stall_stdout(session: Session) -> None:
    # More than the SSH window (2 MB) on stderr before stdout ends: stderr must be read
    # while stdout is read, or the server stops sending and the command times out.
    r = session.run("head -c 3000000 /dev/zero | tr '\\0' e >&2; echo finished", timeout=30)
    assert r.ok, r.error
    assert r.stdout == "finished\n"
    assert len(r.stderr) == 3_000_000


def test_non_utf8_output_does_not_crash(session: Session) -> None:
    r = session.run("printf 'caf\\351 \\377\\376 end\\n'; printf '\\377' >&2")
    assert r.ok
    assert r.stdout.startswith("caf\ufffd")
    assert r.stdout.endswith(" end\n")
    assert r.stderr == "\ufffd"


# -- 2. domain context ------------------------------------------------------------------------
def test_domain_context(sshd: Sshd, session: Session) -> None:
    mds = session.run("echo $FWDIR")
    assert mds.stdout.strip() == str(sshd.mdsdir)
    assert mds.domain is None

    r = session.run("echo $FWDIR", domain="dom1_Server")
    assert r.ok
    assert r.domain == "dom1_Server"
    assert r.stdout.strip() == f"{sshd.mdsdir}/customers/dom1_Server/CPsuite-R81.20/fw1"


def test_unknown_domain_fails_and_the_command_does_not_run(session: Session) -> None:
    r = session.run("echo THE-COMMAND-RAN", domain="nope_Server")
    assert not r.ok
    assert r.exit_status == 1
    assert "THE-COMMAND-RAN" not in r.stdout
    assert "nope_Server: no such Domain Management Server" in r.stderr


# -- 3. host keys -----------------------------------------------------------------------------
def test_unknown_host_key_is_refused_with_its_fingerprint(
    sshd: Sshd, connect: Connect, tmp_path: Path
) -> None:
    expected = _fingerprint(sshd.host_key_file.with_suffix(".pub"))
    assert expected.startswith("SHA256:")
    for known_hosts in (tmp_path / "missing_known_hosts", None):
        kw: dict[str, Any] = {"known_hosts": known_hosts}
        err = _connect_error(connect(**kw))
        assert isinstance(err, HostKeyError)
        assert err.fingerprint == expected
        assert expected in str(err)
        assert f"ssh-keyscan -p {sshd.port} 127.0.0.1" in str(err)
        _one_line_with_hint(err)


def test_accept_new_records_the_key_then_strict_works(
    sshd: Sshd, connect: Connect, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "kh" / "known_hosts"
    s = connect(known_hosts=known_hosts, host_key_policy="accept-new")
    assert s.run("echo first").stdout == "first\n"
    assert isinstance(s.transport, SshTransport)
    assert s.transport.accepted_new_key == _fingerprint(sshd.host_key_file.with_suffix(".pub"))
    assert known_hosts.read_text() == sshd.known_hosts_line()
    # OpenSSH itself finds the recorded entry.
    found = subprocess.run(
        ["ssh-keygen", "-F", f"[127.0.0.1]:{sshd.port}", "-f", str(known_hosts)],
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0 and sshd.host_public.split()[1] in found.stdout

    again = connect(known_hosts=known_hosts, host_key_policy="strict")
    assert again.run("echo second").stdout == "second\n"
    assert isinstance(again.transport, SshTransport)
    assert again.transport.accepted_new_key is None
    assert known_hosts.read_text() == sshd.known_hosts_line()  # nothing appended twice


def test_changed_host_key_is_refused(sshd: Sshd, connect: Connect, tmp_path: Path) -> None:
    _, other = ed25519_pair()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(sshd.known_hosts_line(other))
    for policy in ("strict", "accept-new"):  # accept-new never accepts a CHANGED key
        err = _connect_error(connect(known_hosts=known_hosts, host_key_policy=policy))
        assert isinstance(err, HostKeyError)
        assert "CHANGED" in str(err)
        assert f"ssh-keygen -R '[127.0.0.1]:{sshd.port}'" in str(err)
        assert err.fingerprint == _fingerprint(sshd.host_key_file.with_suffix(".pub"))
        _one_line_with_hint(err)
    assert known_hosts.read_text() == sshd.known_hosts_line(other)


# -- 4. authentication and reachability ----------------------------------------------------------
def test_key_only_and_password_only_logins(sshd: Sshd, connect: Connect) -> None:
    by_key = connect(password=None)
    assert by_key.run("id -un").stdout.strip() == sshd.user
    by_password = connect(key_file=None)
    assert by_password.run("id -un").stdout.strip() == sshd.user


def test_wrong_password_and_unknown_key(sshd: Sshd, connect: Connect, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong_password"
    wrong.write_text("not-the-password-" + sshd.password[:4] + "\n")
    wrong.chmod(0o600)
    err = _connect_error(connect(key_file=None, password=f"file:{wrong}"))
    assert isinstance(err, AuthenticationError)
    assert "password refused" in str(err)
    _one_line_with_hint(err)

    stranger = tmp_path / "id_stranger"
    stranger.write_bytes(ed25519_pair()[0])
    stranger.chmod(0o600)
    err = _connect_error(connect(key_file=stranger, password=None))
    assert isinstance(err, AuthenticationError)
    assert "key id_stranger refused" in str(err)
    _one_line_with_hint(err)


def test_closed_port_is_unreachable(connect: Connect) -> None:
    err = _connect_error(connect(port=free_port()))
    assert isinstance(err, UnreachableError)
    assert "refused" in str(err)
    _one_line_with_hint(err)


# -- 5. timeouts -------------------------------------------------------------------------------
def test_command_timeout_leaves_the_transport_usable(session: Session) -> None:
    assert session.run("true").ok
    with pytest.raises(CommandTimeout) as info:
        session.run("sleep 5", timeout=1)
    _remember_error(info.value)
    assert "'sleep 5' did not finish within 1 s" in str(info.value)
    _one_line_with_hint(info.value)
    assert session.transport.connected
    assert session.run("echo still-here").stdout == "still-here\n"


# -- 6. concurrency ------------------------------------------------------------------------------
def test_concurrent_channels_on_one_transport(session: Session) -> None:
    session.transport.connect()
    assert isinstance(session.transport, SshTransport)
    before = session.transport._t
    commands = [
        Command(f"date +%s%N; sleep 1; echo channel-{i}; date +%s%N", raw) for i in range(8)
    ]
    results = run_all(session, commands)
    assert all(r.ok for r in results)
    assert [r.stdout.split()[1] for r in results] == [f"channel-{i}" for i in range(8)]
    starts = [int(r.stdout.split()[0]) for r in results]
    ends = [int(r.stdout.split()[2]) for r in results]
    assert max(starts) < min(ends), "every command was running at the same moment on the server"
    assert session.transport._t is before  # one transport, no reconnect


# -- 7. detached jobs ----------------------------------------------------------------------------
def test_job_start_returns_at_once_with_the_jobs_pid(session: Session, job_root: str) -> None:
    handle = jobs.start(session, "quick-start", "sleep 3; echo late")
    assert jobs.poll(session, handle).state == "running", "the start exec did not wait"
    cmdline = session.run(f"tr '\\0' ' ' < /proc/{handle.pid}/cmdline").stdout
    assert cmdline.startswith("bash -c ") and f"{handle.directory}/rc" in cmdline
    result = jobs.wait(session, handle, timeout_s=30, interval_s=0.3)
    assert result.log == "late\n"


def test_failing_job_reports_rc_and_log(session: Session, job_root: str) -> None:
    with pytest.raises(JobError) as info:
        jobs.run(session, "sleep-job", "sleep 2; echo done; exit 4", timeout_s=30, interval_s=0.3)
    _remember_error(info.value)
    assert info.value.details["rc"] == 4
    assert info.value.details["log"] == "done\n"
    assert "done" in info.value.log_tail
    assert "failed with exit status 4" in str(info.value)


def test_successful_job_returns_its_log(session: Session, job_root: str) -> None:
    result = jobs.run(
        session,
        "ok-job",
        "echo $FWDIR; mdsstat | grep -c CMA",
        timeout_s=30,
        interval_s=0.3,
        domain="dom3_Server",
    )
    assert result.rc == 0
    lines = result.log.splitlines()
    assert lines[0].endswith("/customers/dom3_Server/CPsuite-R81.20/fw1")
    assert lines[1] == "3"
    assert result.handle.directory.startswith(job_root)


def test_job_survives_closing_the_transport(session: Session, job_root: str) -> None:
    handle = jobs.start(session, "close-job", "sleep 1.5; echo survived")
    session.transport.close()
    assert not session.transport.connected
    result = jobs.wait(session, handle, timeout_s=30, interval_s=0.3)
    assert result.log == "survived\n"
    assert result.rc == 0


def test_job_survives_an_sshd_restart(sshd: Sshd, session: Session, job_root: str) -> None:
    handle = jobs.start(session, "restart-job", "sleep 3; echo after-restart")
    old_pid = sshd.pid
    sshd.stop(drop_connections=True)
    deadline = time.monotonic() + 10
    while session.transport.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not session.transport.connected, "killing sshd did not drop the connection"
    restarter = threading.Timer(1.0, sshd.start)
    restarter.start()
    try:
        result = jobs.wait(session, handle, timeout_s=40, interval_s=0.3)
    finally:
        restarter.join()
    assert sshd.pid is not None and sshd.pid != old_pid
    assert result.rc == 0
    assert result.log == "after-restart\n"


def test_killed_job_is_reported_lost(session: Session, job_root: str) -> None:
    handle = jobs.start(session, "lost-job", "sleep 30; echo never")
    assert jobs.poll(session, handle).state == "running"
    group = session.run(f"cut -d' ' -f5 /proc/{handle.pid}/stat").stdout.strip()
    assert session.run(f"kill -9 {handle.pid}").ok
    with pytest.raises(JobError) as info:
        jobs.wait(session, handle, timeout_s=15, interval_s=0.3)
    _remember_error(info.value)
    assert "disappeared without an exit status" in str(info.value)
    assert group.isdigit()
    session.run(f"kill -9 -- -{group} 2>/dev/null; true")  # the job's orphaned sleep


# -- 8. secrets -------------------------------------------------------------------------------
def test_no_secret_reaches_results_errors_or_output(
    sshd: Sshd,
    connect: Connect,
    job_root: str,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    pw = sshd.password
    # A password login resolves (and so registers) the password.
    s = connect(key_file=None)
    r = s.run(f"echo {pw}; echo {pw} >&2")
    assert r.stdout == "***\n" and r.stderr == "***\n"
    assert r.command == "echo ***; echo *** >&2"

    failed = s.run(f"echo 'login failed for {pw}' >&2; exit 2")
    with pytest.raises(CommandFailed) as info:
        failed.raise_for_status()
    _remember_error(info.value)

    with pytest.raises(CommandTimeout) as timeout:
        s.run(f"echo {pw}; sleep 5", timeout=1)
    _remember_error(timeout.value)
    assert pw not in timeout.value.partial and pw not in timeout.value.command

    with pytest.raises(JobError) as job:
        jobs.run(s, "secret-job", f"echo {pw}; exit 5", timeout_s=30, interval_s=0.3)
    _remember_error(job.value)
    SEEN.extend([job.value.log_tail, str(job.value.details)])

    logging.getLogger("paramiko").debug("after the secret test")
    out, err = capfd.readouterr()
    texts = [*SEEN, out, err, caplog.text]
    key_lines = [
        line for line in sshd.key_text.splitlines() if line and not line.startswith("-----")
    ]
    assert len(SEEN) > 10
    for text in texts:
        assert pw not in text
        for line in key_lines:
            assert line not in text
