"""The lab end to end over real SSH: paramiko and OpenSSH's ``ssh`` client."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

from mdstools.lab import runtime, scenarios

pytestmark = pytest.mark.lab

SSH = shutil.which("ssh")


class Lab:
    def __init__(self, path: Path, state: dict[str, Any]) -> None:
        self.dir = path
        self.state = state
        self.ports: dict[str, int] = state["ports"]
        self.key = paramiko.Ed25519Key.from_private_key_file(str(path / "id_ed25519"))
        self.password = (path / "secrets" / "mds_password").read_text().strip()
        self.expert = (path / "secrets" / "expert_password").read_text().strip()

    def client(
        self, server: str, password: bool = False, pw: str | None = None
    ) -> paramiko.SSHClient:
        c = paramiko.SSHClient()
        c.load_host_keys(str(self.dir / "known_hosts"))
        c.set_missing_host_key_policy(paramiko.RejectPolicy())
        kw: dict[str, Any] = {
            "username": "admin",
            "port": self.ports[server],
            "timeout": 10,
            "allow_agent": False,
            "look_for_keys": False,
        }
        if password:
            kw["password"] = pw if pw is not None else self.password
        else:
            kw["pkey"] = self.key
        c.connect("127.0.0.1", **kw)
        return c

    def run(self, server: str, command: str) -> tuple[int, str, str]:
        c = self.client(server)
        try:
            return exec_on(c, command)
        finally:
            c.close()


def exec_on(c: paramiko.SSHClient, command: str, timeout: float = 30) -> tuple[int, str, str]:
    _, out, err = c.exec_command(command, timeout=timeout)
    o = out.read().decode()
    e = err.read().decode()
    return out.channel.recv_exit_status(), o, e


def start_lab(path: Path, **kw: Any) -> Lab:
    opts = scenarios.LabOptions(**kw)
    return Lab(path, runtime.up(path, opts))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    path = tmp_path_factory.mktemp("lab")
    lab = start_lab(path, time_scale=0.002)
    yield lab
    runtime.down(path)


@pytest.fixture(scope="module")
def clish_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    path = tmp_path_factory.mktemp("clishlab")
    lab = start_lab(path, scenario="clish-login", time_scale=0.002)
    yield lab
    runtime.down(path)


PROFILE = "source /etc/profile.d/CP.sh; "


def test_lab_writes_inventory_known_hosts_key_and_secrets(lab: Lab) -> None:
    inv = (lab.dir / "inventory.yml").read_text()
    for name, port in lab.ports.items():
        assert f"name: {name}" in inv and f"port: {port}" in inv
    assert "password: file:./secrets/mds_password" in inv
    assert lab.password not in inv and lab.expert not in inv
    hosts = (lab.dir / "known_hosts").read_text().splitlines()
    assert len(hosts) == 3 and all(h.startswith("[127.0.0.1]:") for h in hosts)
    assert len({h.split()[2] for h in hosts}) == 3, "each server has its own host key"
    assert oct((lab.dir / "secrets" / "mds_password").stat().st_mode & 0o777) == "0o600"


def test_exec_without_profile_is_command_not_found(lab: Lab) -> None:
    rc, out, err = lab.run("mds1", "mdsstat")
    assert rc == 127 and "mdsstat: command not found" in err and out == ""


def test_exec_with_profile_prints_mdsstat_for_every_domain(lab: Lab) -> None:
    rc, out, _ = lab.run("mds1", PROFILE + "mdsstat")
    assert rc == 0
    cma = [line for line in out.splitlines() if re.match(r"^\|\s*CMA\s*\|", line)]
    assert [c.split("|")[2].strip() for c in cma] == [f"dom{i}_Server" for i in range(1, 6)]
    assert "Total Domain Management Servers checked: 5" in out


def test_mdsprofile_via_glob_works_too(lab: Lab) -> None:
    rc, out, _ = lab.run(
        "mds2",
        "export MDSDIR=$(ls -d /opt/CPmds-R* | head -1); "
        ". $MDSDIR/scripts/MDSprofile.sh && mdsenv && mdsstat -m",
    )
    assert rc == 0 and re.search(r"\|\s*MDS\s*\|", out) and "CMA" not in out.split("Total")[0]


def test_password_authentication_and_wrong_password(lab: Lab) -> None:
    c = lab.client("mds1", password=True)
    assert exec_on(c, "echo $USER")[1] == "admin\n"
    c.close()
    with pytest.raises(paramiko.AuthenticationException):
        lab.client("mds1", password=True, pw="not-the-password")


def test_unknown_host_key_is_refused_by_a_strict_client(lab: Lab, tmp_path: Path) -> None:
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.RejectPolicy())
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        c.connect(
            "127.0.0.1",
            port=lab.ports["mds1"],
            username="admin",
            pkey=lab.key,
            allow_agent=False,
            look_for_keys=False,
            timeout=10,
        )


def test_host_keys_persist_across_lab_restarts(tmp_path: Path) -> None:
    lab1 = start_lab(tmp_path, time_scale=0.002)
    keys1 = sorted(line.split()[2] for line in (tmp_path / "known_hosts").read_text().splitlines())
    runtime.down(tmp_path)
    lab2 = start_lab(tmp_path, time_scale=0.002)
    try:
        keys2 = sorted(
            line.split()[2] for line in (tmp_path / "known_hosts").read_text().splitlines()
        )
        assert keys1 == keys2
        assert lab2.run("mds1", "echo ok")[1] == "ok\n"
    finally:
        runtime.down(tmp_path)
    assert lab1.password == lab2.password


def openssh(
    lab: Lab, known_hosts: Path, command: str | None = None, options: tuple[str, ...] = ()
) -> list[str]:
    """An OpenSSH command line to mds1 of the lab, with strict host key checking."""
    return [
        SSH or "ssh",
        *options,
        "-i",
        str(lab.dir / "id_ed25519"),
        "-o",
        f"UserKnownHostsFile={known_hosts}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-p",
        str(lab.ports["mds1"]),
        "admin@127.0.0.1",
        *([command] if command is not None else []),
    ]


@pytest.mark.openssh
@pytest.mark.skipif(SSH is None, reason="OpenSSH client missing: make test installs it")
def test_openssh_client_strict_host_key_checking(lab: Lab) -> None:
    cmd = openssh(lab, lab.dir / "known_hosts", PROFILE + "mdsstat")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert sum(1 for line in p.stdout.splitlines() if "| CMA |" in line) == 5


@pytest.mark.openssh
@pytest.mark.skipif(SSH is None, reason="OpenSSH client missing: make test installs it")
def test_openssh_rejects_a_changed_host_key(lab: Lab, tmp_path: Path) -> None:
    lines = (lab.dir / "known_hosts").read_text().splitlines()
    mds1 = next(line for line in lines if f":{lab.ports['mds1']} " in line)
    mds2_key = next(line for line in lines if f":{lab.ports['mds2']} " in line).split(" ", 1)[1]
    wrong = mds1.split(" ", 1)[0] + " " + mds2_key
    kh = tmp_path / "known_hosts"
    kh.write_text(wrong + "\n")
    p = subprocess.run(
        openssh(lab, kh, "true"),
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert p.returncode == 255
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in p.stderr


@pytest.mark.openssh
@pytest.mark.skipif(SSH is None, reason="OpenSSH client missing: make test installs it")
def test_openssh_interactive_tty_bash_prompt(lab: Lab) -> None:
    cmd = openssh(lab, lab.dir / "known_hosts", options=("-tt",))
    p = subprocess.run(cmd, input="fw ver\nexit\n", capture_output=True, text=True, timeout=30)
    assert "[Expert@mds1:0]# " in p.stdout
    assert "This is Check Point's software version R81.10 - Build 335" in p.stdout


class Shell:
    """A tiny expect over a paramiko interactive channel (blocking regex waits)."""

    def __init__(self, chan: paramiko.Channel) -> None:
        self.chan = chan
        self.buf = ""

    def expect(self, pattern: str, timeout: float = 10) -> str:
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                out, self.buf = self.buf[: m.end()], self.buf[m.end() :]
                return out
            if time.monotonic() > end:
                raise AssertionError(f"timeout waiting for {pattern!r}; got {self.buf!r}")
            self.chan.settimeout(0.2)
            try:
                data = self.chan.recv(65536)
            except TimeoutError:
                continue
            if not data:
                raise AssertionError(f"channel closed waiting for {pattern!r}; got {self.buf!r}")
            self.buf += data.decode()

    def send(self, line: str) -> None:
        self.chan.sendall((line + "\n").encode())


def test_clish_login_expert_with_right_and_wrong_password(clish_lab: Lab) -> None:
    c = clish_lab.client("mds2")
    chan = c.invoke_shell(width=200)
    sh = Shell(chan)
    sh.expect(r"mds2> $")
    sh.send("show version all")
    assert "Product version Check Point Gaia R81.10" in sh.expect(r"mds2> $")
    sh.send("expert")
    sh.expect(r"Enter expert password:")
    sh.send("wrong-password")
    out = sh.expect(r"mds2> $")
    assert "Wrong password." in out and "wrong-password" not in out, "password is not echoed"
    sh.send("expert")
    sh.expect(r"Enter expert password:")
    sh.send(clish_lab.expert)
    out = sh.expect(r"\[Expert@mds2:0\]# $")
    assert "You are in expert mode now." in out and clish_lab.expert not in out
    sh.send("mdsstat dom1_Server_2")
    assert "| CMA | dom1_Server_2" in sh.expect(r"\[Expert@mds2:0\]# $")
    sh.send("exit")
    sh.expect(r"mds2> $")
    sh.send("exit")
    assert chan.recv_exit_status() == 0
    c.close()


def test_interactive_lines_are_cut_at_4095_bytes_and_continue_like_bash(lab: Lab) -> None:
    c = lab.client("mds1")
    chan = c.invoke_shell(width=250)
    sh = Shell(chan)
    sh.expect(r"\[Expert@mds1:0\]# $")
    # A canonical-mode terminal keeps 4095 characters of a line: the rest is dropped.
    sh.send("echo " + "y" * 5000 + " END")
    out = sh.expect(r"\[Expert@mds1:0\]# $")
    assert "y" * 4090 + "\r\n" in out and "END" not in out and "y" * 4091 not in out
    # An open quote, a trailing operator and a here document read more lines after "> ".
    sh.chan.sendall(b"x='a\nb'; echo \"[$x]\" &&\necho two\ncat <<'EOT' | wc -l\n1\n2\nEOT\n")
    out = sh.expect(r"> EOT\r\n2\r\n\[Expert@mds1:0\]# $")
    assert "x='a\r\n> b'; echo \"[$x]\" &&\r\n> echo two\r\n[a\r\nb]\r\ntwo\r\n" in out
    assert "> 1\r\n> 2\r\n> EOT\r\n2\r\n" in out
    sh.send("exit")
    assert chan.recv_exit_status() == 0
    c.close()


def test_clish_login_exec_runs_clish_commands(clish_lab: Lab) -> None:
    rc, out, _ = clish_lab.run("mds2", "show version all")
    assert rc == 0 and out.startswith("Product version Check Point Gaia R81.10")
    rc, out, _ = clish_lab.run("mds2", "mdsstat")
    assert rc != 0 and "CLINFR0329" in out
    assert clish_lab.run("mds1", "echo bash here")[1] == "bash here\n", "mds1 keeps bash"


def test_detached_job_survives_disconnect_and_is_picked_up(lab: Lab) -> None:
    rc, out, _ = lab.run(
        "mds1",
        "nohup sh -c '(sleep 0.5; echo finished; exit 3); echo $? > /var/log/job.rc' "
        "> /var/log/job.log 2>&1 & echo $!",
    )
    pid = out.strip()
    assert rc == 0 and pid.isdigit()
    assert lab.run("mds1", f"kill -0 {pid}")[0] == 0
    deadline = time.monotonic() + 10
    while lab.run("mds1", f"kill -0 {pid}")[0] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert lab.run("mds1", "cat /var/log/job.log /var/log/job.rc")[1] == "finished\n3\n"
    assert lab.run("mds2", "test -f /var/log/job.rc")[0] == 1, "files are per server"


def test_reboot_drops_connections_refuses_port_then_comes_back(tmp_path: Path) -> None:
    lab = start_lab(tmp_path, time_scale=0.01)  # reboot takes 3 s
    try:
        c = lab.client("mds2")
        t = c.get_transport()
        assert t is not None and t.is_active()
        runtime.control(tmp_path, {"action": "reboot", "server": "mds2"})
        deadline = time.monotonic() + 5
        while t.is_active():
            assert time.monotonic() < deadline, "connection not dropped by the reboot"
            time.sleep(0.02)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", lab.ports["mds2"]), timeout=1).close()
        assert lab.run("mds1", "echo still here")[1] == "still here\n"
        deadline = time.monotonic() + 15
        while True:
            try:
                rc, _out, _ = lab.run("mds2", "uptime")
                break
            except (OSError, paramiko.SSHException):
                assert time.monotonic() < deadline, "server did not come back"
                time.sleep(0.1)
        assert rc == 0
    finally:
        runtime.down(tmp_path)


def test_concurrent_clients_on_several_servers(lab: Lab) -> None:
    errors: list[str] = []
    results: dict[tuple[str, int], int] = {}

    def work(server: str, n: int) -> None:
        try:
            c = lab.client(server)
            for _ in range(5):
                rc, out, _ = exec_on(c, PROFILE + "mdsstat")
                if rc != 0 or "Total Domain" not in out:
                    errors.append(f"{server}: rc {rc}")
            results[(server, n)] = rc
            c.close()
        except Exception as exc:  # collected and asserted below
            errors.append(f"{server}: {exc!r}")

    threads = [threading.Thread(target=work, args=(s, n)) for s in lab.ports for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == [] and len(results) == 12


def test_lab_change_and_status_through_the_control_socket(lab: Lab) -> None:
    result = runtime.control(lab.dir, {"action": "change", "domain": "dom4", "on": "mds1"})
    assert result["server"] == "mds1"
    status = runtime.control(lab.dir, {"action": "status"})
    dom4 = next(d for d in status["domains"] if d["name"] == "dom4")
    assert dom4["servers"]["mds1"]["revisions"] == 1
    assert dom4["servers"]["mds2"]["revisions"] == 1, "synchronized to the standby"
    with pytest.raises(runtime.LabRuntimeError, match="not found"):
        runtime.control(lab.dir, {"action": "change", "domain": "nope", "on": "mds1"})
