"""OpenSSH's ``sshd`` on 127.0.0.1 with a throwaway user and stand-in Check Point commands.

The fixture (one per test process; with ``pytest -n`` each worker has its own) needs root:
it creates the user ``mdst-<random>`` (``useradd``; ``userdel -r`` at the end), gives it a
password and an authorized Ed25519 key, writes an ``sshd_config`` into a temporary
directory (its own host key, a free port, ``SetEnv MDSDIR=...``), checks it with
``sshd -t`` and runs ``/usr/sbin/sshd -D -e``. The stand-in Check Point environment
(``tests/integration/standin/CPmds-R81.20``) is copied to ``<tmp>/opt/CPmds-R81.20``:
without its ``scripts/MDSprofile.sh``, ``mdsstat`` is ``command not found``, as on Gaia.

The ``clish_sshd`` variant gives its user a login shell like Gaia's clish
(``standin/clish/clish``): interactive ``host> `` prompt, ``expert`` asks for the expert
password and starts an interactive bash 5.2 with the expert prompt and bracketed paste on.

Everything is removed at the end: sshd and every process of the user are killed (by pid),
the user, its home and the temporary directory are deleted. Only ``/run/sshd`` (Debian's
privilege separation directory, created when missing) stays: another worker may use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mdstools import inventory as inv
from mdstools.inventory import Inventory, Server

SSHD = "/usr/sbin/sshd"
STANDIN = Path(__file__).parent / "standin" / "CPmds-R81.20"
CLISH_STANDIN = Path(__file__).parent / "standin" / "clish"
HOST = "127.0.0.1"
REQUIRE_ENV = "MDSTOOLS_REQUIRE_OPENSSH"


def _unavailable(reason: str) -> None:
    """Skip, unless the environment says these tests must run (then fail)."""
    if os.environ.get(REQUIRE_ENV) or os.environ.get("CI"):
        pytest.fail(f"OpenSSH integration tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def ed25519_pair() -> tuple[bytes, str]:
    """(private key in OpenSSH PEM, public key line ``ssh-ed25519 AAAA...``)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, public.decode()


def _write(path: Path, data: str | bytes, mode: int) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    path.chmod(mode)
    return path


def _run(argv: list[str], stdin: str | None = None, retries: int = 20) -> None:
    """Run an account tool; retry while another process holds the /etc/passwd lock."""
    for _ in range(retries):
        p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30)
        if p.returncode == 0:
            return
        if "lock" not in (p.stderr + p.stdout).lower():
            break
        time.sleep(0.25)
    raise RuntimeError(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr.strip()}")


def _processes() -> dict[int, tuple[int, int, str, str]]:
    """pid -> (ppid, uid, comm, state) of every live process, read from /proc."""
    procs: dict[int, tuple[int, int, str, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        try:
            procs[int(entry)] = (
                int(fields["PPid"].strip()),
                int(fields["Uid"].split()[0]),
                fields["Name"].strip(),
                fields["State"].strip()[:1],
            )
        except (KeyError, ValueError, IndexError):
            continue
    return procs


def _descendants(root: int, procs: dict[int, tuple[int, int, str, str]]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, *_) in procs.items():
        children.setdefault(ppid, []).append(pid)
    out: list[int] = []
    todo = [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _kill(pids: list[int], sig: int = signal.SIGKILL) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


@dataclass
class Sshd:
    """The running test ``sshd``, its throwaway user and the files the client needs."""

    root: Path  # world-traversable: the user reads the stand-ins and authorized_keys here
    user: str
    password: str
    key_file: Path
    key_text: str
    password_file: Path
    host_key_file: Path
    host_public: str  # "ssh-ed25519 AAAA..."
    known_hosts: Path
    port: int
    mdsdir: Path
    jobs_root: Path
    config: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    expert_password: str | None = None  # set when the login shell is the clish stand-in
    expert_password_file: Path | None = None

    # -- the daemon ----------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> None:
        assert self.proc is None, "sshd is already running"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                raise RuntimeError(f"sshd exited with {rc}: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection((HOST, self.port), timeout=1) as s:
                    s.settimeout(2)
                    if s.recv(64).startswith(b"SSH-"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sshd did not listen on {HOST}:{self.port}")
            time.sleep(0.05)

    def stop(self, drop_connections: bool = True) -> None:
        """Stop the listener; with ``drop_connections`` also kill its per-connection sshd
        processes (so open connections drop, as in a reboot). User processes survive."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        procs = _processes()
        sessions = [p for p in _descendants(proc.pid, procs) if procs[p][2].startswith("sshd")]
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if drop_connections:
            _kill(sessions)

    # -- the client side -------------------------------------------------------------------
    def inventory(self, path: Path | None = None, **connection: Any) -> Inventory:
        """An inventory with one primary ``mds1`` on this sshd; ``connection`` overrides
        the defaults (a value of None removes the key, e.g. ``key_file=None``)."""
        conn: dict[str, Any] = {
            "username": self.user,
            "key_file": str(self.key_file),
            "password": f"file:{self.password_file}",
            "known_hosts": str(self.known_hosts),
            "host_key_policy": "strict",
            "connect_timeout_s": 5,
            "command_timeout_s": 30,
        }
        if self.expert_password_file is not None:
            conn["expert_password"] = f"file:{self.expert_password_file}"
        for k, v in connection.items():
            if v is None:
                conn.pop(k, None)
            else:
                conn[k] = str(v) if isinstance(v, Path) else v
        port = conn.pop("port", self.port)
        server: dict[str, Any] = {"name": "mds1", "host": HOST, "port": port, "role": "primary"}
        if self.expert_password_file is not None:
            server["shell"] = "clish"
        data = {
            "environment": "openssh-it",
            "target_version": "R81.20",
            "upgrade": {
                "method": "cpuse",
                "package": "/var/log/upload/Check_Point_R81.20_T631.tgz",
            },
            "connection": conn,
            "servers": [server],
        }
        return inv.parse(data, path or (self.root / "client" / "inventory.yml"))

    def server(self, **connection: Any) -> Server:
        return self.inventory(**connection).primary

    def known_hosts_line(self, public: str | None = None) -> str:
        return f"[{HOST}]:{self.port} {public or self.host_public}\n"


def _sshd_config(port: int, host_key: Path, authorized: Path, user: str, mdsdir: Path) -> str:
    lines = [
        f"ListenAddress {HOST}",
        f"Port {port}",
        f"HostKey {host_key}",
        f"PidFile {host_key.parent / 'sshd.pid'}",
        f"AuthorizedKeysFile {authorized}",
        "StrictModes no",
        "UsePAM no",
        "PubkeyAuthentication yes",
        "PasswordAuthentication yes",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin no",
        f"AllowUsers {user}",
        "MaxSessions 20",
        "MaxStartups 50",
        "UseDNS no",
        "PrintMotd no",
        "PrintLastLog no",
        "X11Forwarding no",
        f"SetEnv MDSDIR={mdsdir}",
        "LogLevel ERROR",
    ]
    return "\n".join(lines) + "\n"


def _user_processes(uid: int) -> list[int]:
    return [
        pid
        for pid, (_, u, _, state) in _processes().items()
        if u == uid and state != "Z" and pid != os.getpid()
    ]


@pytest.fixture(scope="session")
def sshd() -> Iterator[Sshd]:
    """sshd with a throwaway user whose login shell is bash."""
    with _serve(clish=False) as daemon:
        yield daemon


@pytest.fixture(scope="session")
def clish_sshd() -> Iterator[Sshd]:
    """sshd with a throwaway user whose login shell is the clish stand-in."""
    with _serve(clish=True) as daemon:
        yield daemon


@contextlib.contextmanager
def _serve(clish: bool) -> Iterator[Sshd]:
    if os.geteuid() != 0:
        _unavailable("needs root to create a throwaway user and run sshd (CI runs as root)")
    if not os.access(SSHD, os.X_OK):
        _unavailable(f"{SSHD} is missing: run `make sysdeps` (installs openssh-server)")
    if shutil.which("ssh-keygen") is None:
        _unavailable("ssh-keygen is missing: run `make sysdeps` (installs openssh-client)")

    root = Path(tempfile.mkdtemp(prefix="mdst-sshd-"))
    user = f"mdst-{secrets.token_hex(4)}"
    daemon: Sshd | None = None
    user_created = False
    try:
        root.chmod(0o755)
        client = root / "client"  # root-only: private key, password file, known_hosts
        server = root / "server"  # root-only: host key, sshd_config
        for d in (client, server):
            d.mkdir(mode=0o700)

        shell = "/bin/bash"
        expert: str | None = None
        if clish:
            shutil.copytree(CLISH_STANDIN, root / "opt" / "clish")
            expert = secrets.token_urlsafe(18)
            digest = hashlib.sha256(expert.encode()).hexdigest()
            _write(root / "opt" / "clish" / "expert.sha256", digest + "\n", 0o644)
            shell = str(root / "opt" / "clish" / "clish")
        _run(["useradd", "-m", "-s", shell, "-c", "mdstools integration test", user])
        user_created = True
        password = secrets.token_urlsafe(18)
        _run(["chpasswd"], stdin=f"{user}:{password}\n")
        pw = pwd.getpwnam(user)

        private, public = ed25519_pair()
        key_file = _write(client / "id_ed25519", private, 0o600)
        password_file = _write(client / "password", password + "\n", 0o600)
        expert_file = _write(client / "expert", f"{expert}\n", 0o600) if expert else None
        authorized = _write(root / "authorized_keys", public + "\n", 0o644)
        host_private, host_public = ed25519_pair()
        host_key = _write(server / "ssh_host_ed25519_key", host_private, 0o600)
        _write(server / "ssh_host_ed25519_key.pub", host_public + "\n", 0o644)

        mdsdir = root / "opt" / "CPmds-R81.20"
        shutil.copytree(STANDIN, mdsdir)
        for folder, _, files in os.walk(root / "opt"):
            Path(folder).chmod(0o755)
            for f in files:
                p = Path(folder) / f
                p.chmod(0o755 if p.parent.name == "bin" or p.name == "clish" else 0o644)
        jobs_root = root / "jobs"
        jobs_root.mkdir(mode=0o755)
        os.chown(jobs_root, pw.pw_uid, pw.pw_gid)

        # Debian's sshd needs its privilege separation directory (the openssh-server
        # package's systemd unit creates it; a container without systemd has none). It is
        # left in place: another test worker's sshd may be using it.
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
        config = server / "sshd_config"
        for attempt in range(3):  # a free port can be taken before sshd binds it
            port = free_port()
            _write(config, _sshd_config(port, host_key, authorized, user, mdsdir), 0o600)
            check = subprocess.run(
                [SSHD, "-t", "-f", str(config)], capture_output=True, text=True, timeout=30
            )
            if check.returncode != 0:
                raise RuntimeError(f"sshd -t rejected {config}: {check.stderr.strip()}")
            daemon = Sshd(
                root=root,
                user=user,
                password=password,
                key_file=key_file,
                key_text=private.decode(),
                password_file=password_file,
                host_key_file=host_key,
                host_public=host_public,
                known_hosts=_write(
                    client / "known_hosts", f"[{HOST}]:{port} {host_public}\n", 0o600
                ),
                port=port,
                mdsdir=mdsdir,
                jobs_root=jobs_root,
                config=config,
                log=server / "sshd.log",
                expert_password=expert,
                expert_password_file=expert_file,
            )
            try:
                daemon.start()
                break
            except RuntimeError:
                if attempt == 2 or "bind" not in daemon.log.read_text().lower():
                    raise
        assert daemon is not None
        yield daemon
    finally:
        if daemon is not None:
            daemon.stop(drop_connections=True)
        if user_created:
            try:
                uid = pwd.getpwnam(user).pw_uid
            except KeyError:
                uid = -1
            for _ in range(3):
                pids = _user_processes(uid) if uid >= 0 else []
                if not pids:
                    break
                _kill(pids)
                time.sleep(0.1)
            _run(["userdel", "-f", "-r", user])
        shutil.rmtree(root, ignore_errors=True)
