"""The lab's SSH server: one paramiko listener per simulated server on 127.0.0.1.

* authentication by the lab's client public key and by password; each simulated server
  has its own persistent Ed25519 host key (in ``DIR/hostkeys/``);
* exec channels (no Check Point environment) and interactive PTY shells (clish or bash
  login shell, ``expert`` with its password);
* a reboot or a network drop closes every open connection of that server and closes its
  listening socket (the port refuses) until the server is back.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)

from mdstools.lab.model import Deployment, Rebooted, SimServer
from mdstools.lab.terminal import Terminal, run_exec


def ensure_ed25519(path: Path) -> paramiko.Ed25519Key:
    """Load the Ed25519 key at ``path``, creating it (OpenSSH format, mode 0600) if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
        path.chmod(0o600)
        pub = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        path.with_name(path.name + ".pub").write_bytes(pub + b" mdstools-lab\n")
    return paramiko.Ed25519Key.from_private_key_file(str(path))


_MSG_CHANNEL_SUCCESS, _MSG_CHANNEL_FAILURE = 99, 100


class _Transport(paramiko.Transport):
    """Tells a worker when the reply to its channel request has been sent.

    paramiko answers an exec/shell request only after ``check_channel_*_request`` returns;
    a command that finishes first would close the channel before the reply, and the client
    would see "Channel closed". Workers wait for this event before closing.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.replied: dict[int, threading.Event] = {}

    def expect_reply(self, chan: paramiko.Channel) -> threading.Event:
        ev = threading.Event()
        self.replied[chan.remote_chanid] = ev
        return ev

    def _send_user_message(self, data: paramiko.Message) -> None:
        super()._send_user_message(data)  # type: ignore[misc]
        raw = data.asbytes()
        if raw[:1] and raw[0] in (_MSG_CHANNEL_SUCCESS, _MSG_CHANNEL_FAILURE) and len(raw) >= 5:
            ev = self.replied.pop(struct.unpack(">I", raw[1:5])[0], None)
            if ev is not None:
                ev.set()


class _ChannelSource:
    """stdin of an exec channel: what the client sends until EOF."""

    def __init__(self, chan: paramiko.Channel) -> None:
        self.chan = chan
        self.buf = b""
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.chan.recv(32768)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def readline(self) -> str:
        while b"\n" not in self.buf and self._fill():
            pass
        if b"\n" in self.buf:
            line, _, self.buf = self.buf.partition(b"\n")
            return line.decode(errors="replace") + "\n"
        line, self.buf = self.buf, b""
        return line.decode(errors="replace")

    def read(self) -> str:
        while self._fill():
            pass
        data, self.buf = self.buf, b""
        return data.decode(errors="replace")


class _ChannelSink:
    def __init__(self, chan: paramiko.Channel, stderr: bool, crlf: bool) -> None:
        self.chan = chan
        self.stderr = stderr
        self.crlf = crlf

    def write(self, text: str) -> None:
        if not text:
            return
        if self.crlf:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        data = text.encode(errors="replace")
        with contextlib.suppress(OSError, EOFError):
            if self.stderr:
                self.chan.sendall_stderr(data)
            else:
                self.chan.sendall(data)


MAX_LINE = 4095
"""Characters a canonical-mode terminal keeps of one input line (Linux's n_tty): the rest,
up to the newline, is dropped."""


class _LineReader:
    """Reads lines typed on a PTY channel, echoing them like a terminal does (lines longer
    than :data:`MAX_LINE` lose their end, as on a real terminal)."""

    def __init__(self, chan: paramiko.Channel) -> None:
        self.chan = chan
        self.pending = b""
        self.skip_lf = False

    def __call__(self, echo: bool) -> str | None:
        line = bytearray()
        while True:
            if not self.pending:
                try:
                    data = self.chan.recv(4096)
                except OSError:
                    return None
                if not data:
                    return None if not line else line.decode(errors="replace")
                self.pending = data
            echoed = bytearray()
            i = 0
            result: str | None = None
            done = False
            while i < len(self.pending):
                ch = self.pending[i : i + 1]
                i += 1
                if self.skip_lf:
                    self.skip_lf = False
                    if ch == b"\n":
                        continue
                if ch in (b"\r", b"\n"):
                    self.skip_lf = ch == b"\r"
                    echoed += b"\r\n"
                    result, done = line.decode(errors="replace"), True
                    break
                if ch in (b"\x7f", b"\x08"):
                    if line:
                        line.pop()
                        if echo:
                            echoed += b"\x08 \x08"
                    continue
                if ch == b"\x03":
                    echoed += b"^C\r\n"
                    result, done = "", True
                    break
                if ch == b"\x04" and not line:
                    self.pending = self.pending[i:]
                    self._send(bytes(echoed))
                    return None
                if len(line) >= MAX_LINE:
                    continue
                line += ch
                if echo:
                    echoed += ch
            self.pending = self.pending[i:]
            if echoed:
                self._send(bytes(echoed))
            if done:
                return result

    def _send(self, data: bytes) -> None:
        with contextlib.suppress(OSError, EOFError):
            self.chan.sendall(data)


class _Interface(paramiko.ServerInterface):
    def __init__(self, lab: LabServer, sim: SimServer) -> None:
        self.lab = lab
        self.sim = sim
        self.username = ""
        self.pty: set[int] = set()

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_password(self, username: str, password: str) -> int:
        if username in self.sim.users and password == self.lab.password:
            self.username = username
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if username in self.sim.users and key.get_base64() in self.lab.authorized:
            self.username = username
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return OPEN_SUCCEEDED
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(
        self,
        channel: paramiko.Channel,
        term: bytes,
        width: int,
        height: int,
        pixelwidth: int,
        pixelheight: int,
        modes: bytes,
    ) -> bool:
        self.pty.add(channel.get_id())
        return True

    def check_channel_window_change_request(
        self, channel: paramiko.Channel, width: int, height: int, pixelwidth: int, pixelheight: int
    ) -> bool:
        return True

    def check_channel_env_request(
        self, channel: paramiko.Channel, name: bytes, value: bytes
    ) -> bool:
        return False

    def _replied(self, channel: paramiko.Channel) -> threading.Event:
        t = channel.get_transport()
        if isinstance(t, _Transport):
            return t.expect_reply(channel)
        ev = threading.Event()
        ev.set()
        return ev

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        tty = channel.get_id() in self.pty
        self.lab.spawn(
            self._exec, channel, command.decode(errors="replace"), tty, self._replied(channel)
        )
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        self.lab.spawn(self._shell, channel, self._replied(channel))
        return True

    def _exec(
        self, chan: paramiko.Channel, command: str, tty: bool, replied: threading.Event
    ) -> None:
        out = _ChannelSink(chan, stderr=False, crlf=tty)
        err = out if tty else _ChannelSink(chan, stderr=True, crlf=False)
        rc = 255
        try:
            rc = run_exec(
                self.lab.dep, self.sim, self.username, command, _ChannelSource(chan), out, err
            )
        except Rebooted:
            return
        except Exception as exc:  # the lab must answer, not hang, on its own bugs
            err.write(f"lab: internal error: {exc!r}\n")
            self.lab.dep.log(f"{self.sim.name}: exec crashed: {exc!r}")
            rc = 255
        replied.wait(5)
        with contextlib.suppress(OSError, EOFError):
            chan.send_exit_status(rc)
            chan.shutdown_write()
            chan.close()

    def _shell(self, chan: paramiko.Channel, replied: threading.Event) -> None:
        reader = _LineReader(chan)
        sink = _ChannelSink(chan, stderr=False, crlf=True)
        term = Terminal(self.lab.dep, self.sim, self.username, reader, sink.write)
        rc = 0
        try:
            rc = term.run()
        except Rebooted:
            return
        except Exception as exc:
            sink.write(f"lab: internal error: {exc!r}\n")
            rc = 255
        replied.wait(5)
        with contextlib.suppress(OSError, EOFError):
            chan.send_exit_status(rc)
            chan.close()


class _Listener:
    """The listening socket and open connections of one simulated server."""

    def __init__(
        self, lab: LabServer, sim: SimServer, host_key: paramiko.PKey, host: str, port: int
    ) -> None:
        self.lab = lab
        self.sim = sim
        self.host_key = host_key
        self.host = host
        self.port = port
        self.sock: socket.socket | None = None
        self.transports: set[paramiko.Transport] = set()
        self.lock = threading.Lock()

    def open(self) -> None:
        with self.lock:
            if self.sock is not None:
                return
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((self.host, self.port))
            s.listen(128)
            self.port = s.getsockname()[1]
            self.sock = s
        self.lab.spawn(self._accept_loop, s)

    def close(self, drop: bool = True) -> None:
        with self.lock:
            s, self.sock = self.sock, None
            transports = list(self.transports) if drop else []
            if drop:
                self.transports.clear()
        if s is not None:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        for t in transports:
            with contextlib.suppress(Exception):
                t.close()

    def _accept_loop(self, s: socket.socket) -> None:
        while True:
            try:
                conn, _ = s.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.lab.spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        t = _Transport(conn)
        t.add_server_key(self.host_key)
        with self.lock:
            if self.sock is None:
                conn.close()
                return
            self.transports.add(t)
        try:
            t.start_server(server=_Interface(self.lab, self.sim))
        except (paramiko.SSHException, EOFError, OSError):
            with self.lock:
                self.transports.discard(t)
            t.close()
            return
        t.join()
        with self.lock:
            self.transports.discard(t)


class LabServer:
    """Serves a :class:`Deployment` over SSH, one port per simulated server."""

    def __init__(
        self,
        dep: Deployment,
        key_dir: Path,
        password: str,
        expert_password: str,
        authorized_keys: list[str],
        host: str = "127.0.0.1",
        ports: dict[str, int] | None = None,
    ) -> None:
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # port probes, client drops
        self.dep = dep
        self.key_dir = key_dir
        self.password = password
        self.authorized = set(authorized_keys)
        self.host = host
        self.listeners: dict[str, _Listener] = {}
        for sim in dep.servers:
            sim.expert_password = expert_password
            key = ensure_ed25519(key_dir / f"{sim.name}_ed25519")
            port = (ports or {}).get(sim.name, 0)
            self.listeners[sim.name] = _Listener(self, sim, key, host, port)
        dep.listeners.append(self._on_state)
        self._stopped = threading.Event()

    def spawn(self, fn: object, *args: object) -> None:
        t = threading.Thread(target=fn, args=args, daemon=True)  # type: ignore[arg-type]
        t.start()

    def start(self) -> dict[str, int]:
        """Open every port and start the lab clock's scheduler; returns name -> port."""
        for name, lst in self.listeners.items():
            lst.open()
            self.dep.server(name).port = lst.port
        self.dep.scheduler.start()
        return self.ports()

    def ports(self) -> dict[str, int]:
        return {name: lst.port for name, lst in self.listeners.items()}

    def host_key(self, name: str) -> paramiko.PKey:
        return self.listeners[name].host_key

    def _on_state(self, sim: SimServer, online: bool) -> None:
        if self._stopped.is_set():
            return
        lst = self.listeners.get(sim.name)
        if lst is None:
            return
        if online:
            lst.open()
        else:
            lst.close(drop=True)

    def stop(self) -> None:
        self._stopped.set()
        for lst in self.listeners.values():
            lst.close(drop=True)
        self.dep.scheduler.stop()
