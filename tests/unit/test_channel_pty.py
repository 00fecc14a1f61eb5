"""The interactive expert channel's framing on a local PTY running a real interactive bash.

``Session._run_interactive`` and the SSH transport's ``_Shell`` read a pseudo-terminal here
exactly as they read an SSH PTY channel: bash 5.2 with readline (bracketed paste on, the
kernel's line discipline, CRLF output processing, echo), no network. Hypothesis feeds
arbitrary output bytes through ``cat`` (from ``stdin=``) and ``printf``: the body returned is
what the command printed, the exit status is exact.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pty
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdstools.commands.base import Command, batch, raw
from mdstools.errors import CommandTimeout
from mdstools.inventory import Connection, Role, Server
from mdstools.session import Session
from mdstools.transport.base import ExecOutput
from mdstools.transport.ssh import _Shell

pytestmark = pytest.mark.timeout(300)

BASH = shutil.which("bash")


class PtyChannel:
    """The part of a paramiko channel ``_Shell`` uses, on the master side of a local PTY."""

    def __init__(self, rcfile: Path) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: an interactive bash on the PTY's slave side
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(rcfile.parent),
                "TERM": "vt100",
                "INPUTRC": str(rcfile.parent / "inputrc"),
            }
            os.execve(
                BASH or "/bin/bash", ["bash", "--noprofile", "--rcfile", str(rcfile), "-i"], env
            )
        self.pid, self.fd = pid, fd
        self.timeout = 1.0
        self.raw = bytearray()
        self.pending = bytearray()
        self.status: int | None = None

    @property
    def closed(self) -> bool:
        return self.status is not None

    def exit_status_ready(self) -> bool:
        if self.status is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.status = status
        return self.status is not None

    def settimeout(self, seconds: float) -> None:
        self.timeout = seconds

    def _read(self, timeout: float) -> bytes | None:
        """Up to 64 kB the shell wrote; None when nothing came in time, b"" when it is gone."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return None
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the shell is gone
            return b""
        self.raw += data
        return data

    def recv_ready(self) -> bool:
        return bool(self.pending) or bool(select.select([self.fd], [], [], 0)[0])

    def recv(self, size: int) -> bytes:
        if self.pending:
            data, self.pending = bytes(self.pending), bytearray()
            return data
        data = self._read(self.timeout)
        if data is None:
            raise TimeoutError
        return data

    def sendall(self, data: bytes) -> None:
        """Like SSH, output that arrives while input waits is kept for ``recv``."""
        view = memoryview(data)
        deadline = time.monotonic() + 30
        while view:
            readable, writable, _ = select.select([self.fd], [self.fd], [], 1)
            if readable:
                self.pending += self._read(0) or b""
            if writable:
                view = view[os.write(self.fd, view[:1024]) :]
            elif time.monotonic() > deadline:
                raise TimeoutError("the PTY does not take input")

    def close(self) -> None:
        """Hang up as sshd does (the master side closes), then reap the shell."""
        with contextlib.suppress(OSError):
            os.close(self.fd)
        deadline = time.monotonic() + 5
        while not self.exit_status_ready() and time.monotonic() < deadline:
            time.sleep(0.02)
        if self.status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                self.status = os.waitpid(self.pid, 0)[1]


class PtyTransport:
    """A transport whose only channel is a local interactive bash on a PTY."""

    def __init__(self, rcfile: Path) -> None:
        self.name = "mds2"
        self.rcfile = rcfile
        self.channels: list[PtyChannel] = []

    @property
    def connected(self) -> bool:
        return True

    def connect(self) -> None:
        return None

    def exec(self, command: str, timeout: float, stdin: str | None = None) -> ExecOutput:
        raise AssertionError("a clish login server runs expert commands in its PTY")

    def open_shell(self, timeout: float) -> _Shell:
        chan = PtyChannel(self.rcfile)
        self.channels.append(chan)
        return _Shell(chan, self.name)  # type: ignore[arg-type]

    def reconnect(self, wait_s: float) -> None:
        return None

    def close(self) -> None:
        for c in self.channels:
            c.close()


@pytest.fixture(scope="module")
def rcfile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if BASH is None:
        pytest.skip("bash is not installed")
    home = tmp_path_factory.mktemp("ptyhome")
    (home / "inputrc").write_text("set enable-bracketed-paste on\n")
    rc = home / "bashrc"
    rc.write_text("PS1='[Expert@mds2:0]# '\n")
    return rc


@pytest.fixture(scope="module")
def session(rcfile: Path) -> Iterator[Session]:
    server = Server(
        name="mds2",
        host="127.0.0.1",
        port=22,
        role=Role.SECONDARY,
        shell="clish",
        connection=Connection(),
    )
    s = Session(server, PtyTransport(rcfile))  # type: ignore[arg-type]
    yield s
    s.close()


def _printed(data: bytes) -> str:
    """What a command printing ``data`` gives back: U+FFFD for bytes that are not UTF-8."""
    return data.decode(errors="replace")


def test_bracketed_paste_is_really_on(session: Session) -> None:
    r = session.run("echo ready")
    assert r.stdout == "ready\n" and r.exit_status == 0
    transport = session.transport
    assert isinstance(transport, PtyTransport)
    assert b"\x1b[?2004h" in transport.channels[-1].raw


def test_output_without_final_newline_and_empty_output(session: Session) -> None:
    r = session.run("printf '{\\n  \"a\" : 1\\n}'")
    assert r.stdout == '{\n  "a" : 1\n}' and r.exit_status == 0
    empty = session.run("true")
    assert empty.stdout == "" and empty.stderr == "" and empty.exit_status == 0
    nl = session.run("echo")
    assert nl.stdout == "\n"


def test_stderr_apart_and_exit_status(session: Session) -> None:
    r = session.run("echo out; echo err >&2; exit 7")
    assert (r.stdout, r.stderr, r.exit_status) == ("out\n", "err\n", 7)


def test_prompts_and_markers_in_the_output(session: Session) -> None:
    text = (
        "[Expert@mds2:0]# \nmds2> \n__MDST_0123456789abcdef_E=0\n__MDST_x_X\nEnter expert password:"
    )
    r = session.run("cat", stdin=text)
    assert r.stdout == text and r.exit_status == 0


def test_multiline_script_and_long_lines(session: Session) -> None:
    script = "x='a\nb'\necho \"$x\"\nif true; then\n  echo yes\nfi\n" + "echo " + "y" * 20000
    r = session.run(script)
    assert r.stdout == "a\nb\nyes\n" + "y" * 20000 + "\n" and r.exit_status == 0
    many = "\n".join(f"echo line{i:05d}" for i in range(6000))
    assert len(many) > 64 * 1024
    r2 = session.run(many)
    assert r2.stdout.splitlines() == [f"line{i:05d}" for i in range(6000)]


def test_batch_items_without_final_newline_stay_apart(session: Session) -> None:
    items = {"a": "printf '{\"a\" : 1}'", "d": "printf 'x\\n\\n'", "b": "true", "c": "echo c"}
    got = session.run(batch("items", items), check=True).value()
    assert got == {"a": '{"a" : 1}', "b": "", "c": "c\n", "d": "x\n\n"}


def test_stdin_larger_than_64k(session: Session) -> None:
    data = "".join(f"{i:08d} " + "z" * 90 + "\n" for i in range(800))
    assert len(data) > 64 * 1024
    r = session.run("sha256sum; wc -c", stdin=data)
    assert r.exit_status == 0
    digest = hashlib.sha256(data.encode()).hexdigest()
    assert r.stdout.split()[0] == digest


def test_timeout_drops_the_shell_and_the_next_command_works(session: Session) -> None:
    transport = session.transport
    assert isinstance(transport, PtyTransport)
    before = len(transport.channels)
    secret_script = "sleep 30 # " + "s3cr3t-in-the-script " * 40
    with pytest.raises(CommandTimeout) as info:
        session.run(secret_script, timeout=1)
    assert info.value.partial == "", "the echo of the staged script is not output"
    r = session.run("echo after")
    assert r.stdout == "after\n" and len(transport.channels) == before + 1


def _staged() -> set[Path]:
    return {p for p in Path("/tmp").glob("mdstools.*") if p.stat().st_uid == os.getuid()}


def test_no_staging_directory_outlives_a_command(session: Session) -> None:
    before = _staged()
    assert session.run("echo done").ok
    assert session.run("exit 3").exit_status == 3
    with pytest.raises(CommandTimeout):
        session.run("sleep 30", timeout=1)
    deadline = time.monotonic() + 5
    while _staged() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _staged() - before == set(), "the closed shell removed the timed-out one too"


def test_a_shell_that_logged_out_is_replaced_before_the_next_command(session: Session) -> None:
    transport = session.transport
    assert isinstance(transport, PtyTransport)
    assert session.run("echo one").ok
    shell = transport.channels[-1]
    os.kill(shell.pid, signal.SIGKILL)  # as an idle logout (TMOUT) ends it
    deadline = time.monotonic() + 10
    while not shell.exit_status_ready() and time.monotonic() < deadline:
        time.sleep(0.05)
    r = session.run(Command("echo two", raw, mutating=True))
    assert r.stdout == "two\n" and transport.channels[-1] is not shell


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=2000))
def test_any_stdin_text_comes_back_through_cat(session: Session, text: str) -> None:
    r = session.run("cat", stdin=text)
    assert (r.stdout, r.exit_status) == (text, 0)


output_bytes = st.binary(max_size=3000) | st.lists(
    st.sampled_from(
        [
            b"\n",
            b"\r",
            b"\r\n",
            b"\x1b[?2004h",
            b"\x1b[?2004l",
            b"\x1b]0;title\x07",
            b"\x1b[31m",
            b"__MDST_",
            b"_E=0",
            b"_S",
            b"_X",
            b"[Expert@mds2:0]# ",
            b"mds2> ",
            b"\xff\xfe",
            "é".encode(),
            b"plain text",
            b"'\"$`\\",
        ]
    ),
    max_size=40,
).map(b"".join)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=output_bytes, status=st.integers(0, 255))
def test_any_output_comes_back_exactly(session: Session, data: bytes, status: int) -> None:
    printed = subprocess.run(
        ["base64", "-w0"], input=data, capture_output=True, check=True
    ).stdout.decode()
    r = session.run(f"echo {printed} | base64 -d; exit {status}")
    assert r.exit_status == status
    assert r.stdout == _printed(data)
    assert r.stderr == ""
