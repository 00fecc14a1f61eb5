"""Expert commands through a clish login shell on OpenSSH's real ``sshd``.

The throwaway user's login shell is the clish stand-in (``standin/clish/clish``): the session
types ``expert`` and the expert password on a real PTY and runs every expert command in the
interactive bash 5.2 behind it (readline, bracketed paste, the kernel's line discipline and
its 4095-byte lines). Each command must come back as it would from an exec channel.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mdstools import jobs
from mdstools.commands import mdsstat as mdsstat_cmd
from mdstools.commands.base import Command, batch, raw
from mdstools.errors import CommandTimeout, InventoryError, JobError, ModeError
from mdstools.session import CLISH_PROMPT, EXPERT_PROMPT, PASSWORD_PROMPT, Result, Session
from mdstools.transport.ssh import SshTransport

from .conftest import Sshd

pytestmark = [pytest.mark.openssh, pytest.mark.timeout(180)]

SEEN: list[str] = []


def _remember(r: Result[Any]) -> None:
    SEEN.extend([r.command, r.stdout, r.stderr, r.error or "", repr(r)])


Connect = Callable[..., Session]


@pytest.fixture
def connect(clish_sshd: Sshd) -> Iterator[Connect]:
    opened: list[Session] = []

    def _connect(**connection: Any) -> Session:
        server = clish_sshd.server(**connection)
        assert server.shell == "clish"
        s = Session(server, SshTransport(server), hooks=[_remember])
        opened.append(s)
        return s

    yield _connect
    for s in opened:
        s.close()


@pytest.fixture
def session(connect: Connect) -> Session:
    return connect()


@pytest.fixture
def job_root(clish_sshd: Sshd, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(jobs, "JOB_ROOT", str(clish_sshd.jobs_root))
    return str(clish_sshd.jobs_root)


def test_the_login_shell_is_clish_and_expert_has_bracketed_paste(clish_sshd: Sshd) -> None:
    t = SshTransport(clish_sshd.server())
    sh = t.open_shell(10)
    try:
        sh.expect(CLISH_PROMPT, 10)
        sh.send("expert\n")
        sh.expect(PASSWORD_PROMPT, 10)
        assert clish_sshd.expert_password
        sh.send(clish_sshd.expert_password + "\n")
        text, _ = sh.expect(EXPERT_PROMPT, 10)
        assert "You are in expert mode now." in text and "\x1b[?2004h" in text
        assert clish_sshd.expert_password not in text
    finally:
        sh.close()
        t.close()
    assert t.exec("mdsstat", 10).stdout.startswith("CLINFR0329"), "exec runs clish"


def test_fw_ver_mdsstat_and_json_without_final_newline(session: Session) -> None:
    fw = session.run("fw ver")
    assert fw.stdout == "This is Check Point's software version R81.20 - Build 059\n"
    table = session.run(mdsstat_cmd.mdsstat(), check=True).value()
    assert [r.name for r in table.domain_rows] == ["dom1_Server", "dom2_Server", "dom3_Server"]
    t0 = time.monotonic()
    ha = session.run("mgmt_cli -r true show-ha-state --format json", timeout=20)
    assert time.monotonic() - t0 < 10, "the answer is read as soon as it is complete"
    assert ha.ok and ha.stdout.endswith("}") and not ha.stdout.endswith("\n")
    assert [d["name"] for d in json.loads(ha.stdout)["domains"]] == ["Global", "dom1"]
    bad = session.run("mgmt_cli -r true show-nothing --format json")
    assert bad.exit_status == 1 and json.loads(bad.stdout)["code"].startswith("generic_err")


def test_batch_of_json_answers_without_final_newline(session: Session) -> None:
    line = "mgmt_cli -r true show-ha-state --format json"
    items = {f"call{i}": line for i in range(60)}
    assert len(batch("ha", items).line) > 4095
    got = session.run(batch("ha", items), check=True).value()
    assert sorted(got) == sorted(items)
    for text in got.values():
        assert [d["name"] for d in json.loads(text)["domains"]] == ["Global", "dom1"]


def test_exit_status_stderr_and_domain_context(clish_sshd: Sshd, session: Session) -> None:
    r = session.run("echo out; echo err >&2; exit 3")
    assert (r.stdout, r.stderr, r.exit_status, r.ok) == ("out\n", "err\n", 3, False)
    assert session.run("true").exit_status == 0
    assert session.run("exit 255").exit_status == 255
    missing = session.run("no-such-command-here")
    assert missing.exit_status == 127 and "command not found" in missing.stderr
    ctx = session.run("echo $FWDIR", domain="dom1_Server")
    assert ctx.stdout == f"{clish_sshd.mdsdir}/customers/dom1_Server/CPsuite-R81.20/fw1\n"
    assert session.run("echo x", domain="nope").exit_status == 1


def test_multiline_scripts_and_20k_scripts(session: Session) -> None:
    script = 'x="first\nsecond"\nfor i in 1 2; do\n  echo "$i:$x"\ndone | wc -l\necho \'$HOME\''
    r = session.run(script)
    assert r.stdout == "4\n$HOME\n" and r.exit_status == 0
    long_line = "echo " + "a" * 20000
    assert len(long_line) > 4095 * 4
    assert session.run(long_line).stdout == "a" * 20000 + "\n"
    many = "\n".join(f"echo line-{i:05d}" for i in range(1500))
    assert len(many) > 20000
    got = session.run(many)
    assert got.stdout.splitlines() == [f"line-{i:05d}" for i in range(1500)]


def test_stdin_data_large_and_binary(session: Session) -> None:
    data = "".join(f"row {i} ünïcode\n" for i in range(5000))
    assert len(data.encode()) > 64 * 1024
    r = session.run("sha256sum", stdin=data)
    assert r.stdout.split()[0] == hashlib.sha256(data.encode()).hexdigest()
    assert session.run("cat", stdin="no newline").stdout == "no newline"
    weird = session.run("printf 'a\\377b\\033[?2004hc\\r\\n__MDST_x_E=0'")
    assert weird.stdout == "a\ufffdb\x1b[?2004hc\r\n__MDST_x_E=0" and weird.exit_status == 0


def test_job_started_and_waited_through_the_expert_channel(session: Session, job_root: str) -> None:
    handle = jobs.start(session, "backup", 'echo "one\ntwo"; sleep 0.5; echo done')
    assert handle.pid > 0
    result = jobs.wait(session, handle, timeout_s=30, interval_s=0.2)
    assert result.rc == 0 and result.log == "one\ntwo\ndone\n"
    failed = jobs.start(session, "failing", "echo bad >&2; exit 4")
    with pytest.raises(JobError) as info:
        jobs.wait(session, failed, timeout_s=30, interval_s=0.2)
    SEEN.extend([str(info.value), info.value.log_tail])
    assert "4" in str(info.value)


def test_timeout_then_a_working_command(session: Session) -> None:
    # Staging directories of this user in /tmp (the running command's own included).
    mine = "find /tmp -maxdepth 1 -name 'mdstools.*' -user \"$(id -u)\" | wc -l"
    staged = session.run(mine).stdout.strip()
    t0 = time.monotonic()
    with pytest.raises(CommandTimeout) as info:
        session.run("sleep 20", timeout=1.5)
    assert time.monotonic() - t0 < 8
    SEEN.extend([str(info.value), info.value.partial])
    assert info.value.command == "sleep 20"
    r = session.run("echo after")
    assert r.stdout == "after\n" and r.exit_status == 0
    # The timed-out command's directory went with its shell.
    deadline = time.monotonic() + 10
    while session.run(mine).stdout.strip() != staged and time.monotonic() < deadline:
        time.sleep(0.2)
    assert session.run(mine).stdout.strip() == staged


def test_wrong_or_missing_expert_password(clish_sshd: Sshd, connect: Connect) -> None:
    wrong = clish_sshd.root / "client" / "wrong-expert"
    wrong.write_text("not-the-expert-password\n")
    wrong.chmod(0o600)
    with pytest.raises(ModeError) as info:
        connect(expert_password=f"file:{wrong}").run("echo hi")
    SEEN.append(str(info.value))
    assert "Wrong password." in str(info.value) and "not-the-expert" not in str(info.value)
    with pytest.raises(InventoryError, match="an expert_password reference is needed"):
        connect(expert_password=None)


def test_no_expert_password_in_any_output(
    clish_sshd: Sshd, session: Session, job_root: str, capfd: pytest.CaptureFixture[str]
) -> None:
    pw = clish_sshd.expert_password
    assert pw
    r = session.run(f"echo {pw}; echo {pw} >&2")
    assert r.stdout == "***\n" and r.stderr == "***\n" and pw not in r.command
    with pytest.raises(CommandTimeout) as info:
        session.run(f"echo {pw}; sleep 10", timeout=1)
    SEEN.extend([str(info.value), info.value.partial, info.value.command])
    res = jobs.run(session, "echo-job", f"echo {pw}", timeout_s=30, interval_s=0.2)
    SEEN.append(res.log)
    out, err = capfd.readouterr()
    assert len(SEEN) > 10
    for text in [*SEEN, out, err]:
        assert pw not in text
    cmd = Command("cat", raw)
    assert pw not in session.describe(cmd)


def test_expert_idle_logout_back_at_clish_is_noticed(session: Session) -> None:
    """Gaia's expert shell logs out after TMOUT idle seconds, back to clish: the next
    command (even a mutating one, which is never retried) gets a new expert shell."""
    assert session.run("echo first").ok
    shell = session._shell
    assert shell is not None
    shell.send("TMOUT=1\n")
    time.sleep(2.5)
    r = session.run(Command("echo second", raw, mutating=True), timeout=10)
    assert (r.stdout, r.exit_status) == ("second\n", 0)
    assert session._shell is not shell


def test_two_megabytes_and_a_background_process(session: Session) -> None:
    t0 = time.monotonic()
    big = session.run("head -c 2000000 /dev/zero | tr '\\0' a; echo; echo end")
    assert big.stdout == "a" * 2000000 + "\nend\n" and big.exit_status == 0
    assert time.monotonic() - t0 < 60
    # A process left running in the background does not hold the answer back, and a
    # command reading the terminal gets end of input instead of the next command's lines.
    bg = session.run('sleep 30 & echo $!; read line; echo "read=$? [$line]"')
    pid, answer = bg.stdout.splitlines()
    assert pid.isdigit() and answer == "read=1 []"
    assert session.run("echo next").stdout == "next\n"
    assert session.run(f"kill {pid}").exit_status == 0
