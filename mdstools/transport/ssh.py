"""SSH transport on paramiko: one authenticated transport per server, a channel per command.

* ``TCP_NODELAY`` on the socket (without it every small exchange stalls ~40 ms on the
  delayed ACK), keepalives, connect and command timeouts;
* host keys checked against ``known_hosts``: an unknown key is refused unless the inventory
  says ``host_key_policy: accept-new`` (then it is appended to known_hosts), a changed key is
  always refused; both messages show the SHA256 fingerprint and how to accept it;
* public key authentication, then password; secrets come as :class:`Secret` objects;
* reconnect with exponential backoff after a drop or a reboot;
* every paramiko / socket error is translated here, once, into ``mdstools.errors``.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import hashlib
import logging
import re
import select
import socket
import threading
import time
from pathlib import Path

import paramiko

from mdstools.errors import (
    AuthenticationError,
    CommandTimeout,
    ConnectError,
    ConnectionLostError,
    HostKeyError,
    UnreachableError,
)
from mdstools.inventory import Server
from mdstools.secrets import Secret, redact, resolve
from mdstools.transport.base import ExecOutput

_known_hosts_lock = threading.Lock()
# paramiko logs a dropped connection (a reboot) as an ERROR with a traceback on stderr; the
# toolkit reports drops itself (ConnectionLostError, the runbooks' progress lines).
logging.getLogger("paramiko.transport").setLevel(logging.CRITICAL)


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's ``SHA256:...`` fingerprint of a public key."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _text(data: bytes | bytearray) -> str:
    """Command output as text; bytes that are not UTF-8 become U+FFFD."""
    return bytes(data).decode(errors="replace")


def known_hosts_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def _load_private_key(path: Path, server: str) -> paramiko.PKey:
    try:
        return paramiko.PKey.from_path(path)
    except FileNotFoundError as exc:
        raise AuthenticationError(
            server, f"key file {path} does not exist", "fix connection.key_file in the inventory"
        ) from exc
    except paramiko.PasswordRequiredException as exc:
        raise AuthenticationError(
            server,
            f"key file {path} is encrypted",
            "use an unencrypted key or load it into ssh-agent",
        ) from exc
    except (paramiko.SSHException, ValueError, OSError) as exc:
        raise AuthenticationError(
            server,
            f"cannot read key file {path}: {exc}",
            "point connection.key_file at an OpenSSH private key",
        ) from exc


class _Shell:
    """A PTY channel with blocking regex waits (no sleeps).

    What arrives is decoded as one UTF-8 stream (a character split between two packets
    stays whole; bytes that are not UTF-8 become U+FFFD, as on an exec channel).
    """

    def __init__(self, chan: paramiko.Channel, server: str) -> None:
        self.chan = chan
        self.server = server
        self.buf = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def send(self, text: str) -> None:
        """Send ``text``; what the server echoes meanwhile is read into the buffer (a
        terminal stops reading input while its output is not read)."""
        data = text.encode()
        try:
            for i in range(0, len(data), 4096):
                self.chan.sendall(data[i : i + 4096])
                self._read_ready()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise ConnectionLostError(self.server) from exc

    def _read_ready(self) -> None:
        while self.chan.recv_ready():
            chunk = self.chan.recv(65536)
            if not chunk:
                break
            self.buf += self._decoder.decode(chunk)

    def drain(self) -> str:
        try:
            self._read_ready()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise ConnectionLostError(self.server) from exc
        out, self.buf = self.buf, ""
        return out

    def expect(self, pattern: re.Pattern[str], timeout: float) -> tuple[str, re.Match[str]]:
        deadline = time.monotonic() + timeout
        while True:
            m = pattern.search(self.buf)
            if m:
                out, self.buf = self.buf[: m.end()], self.buf[m.end() :]
                return out, m
            left = deadline - time.monotonic()
            if left <= 0:
                raise CommandTimeout(
                    self.server, f"waiting for {pattern.pattern!r}", timeout, self.buf[-500:]
                )
            self.chan.settimeout(min(left, 1.0))
            try:
                data = self.chan.recv(65536)
            except TimeoutError:
                continue
            except (OSError, EOFError, paramiko.SSHException) as exc:
                raise ConnectionLostError(self.server) from exc
            if not data:
                raise ConnectionLostError(self.server, "the interactive session closed")
            self.buf += self._decoder.decode(data)

    @property
    def closed(self) -> bool:
        return bool(self.chan.closed or self.chan.exit_status_ready())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.chan.close()


class SshTransport:
    """One server's SSH connection (thread-safe; channels are opened per command)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.name = server.name
        self._lock = threading.RLock()
        self._t: paramiko.Transport | None = None
        self._password: Secret | None = None
        self.accepted_new_key: str | None = None
        self.connections = 0

    # -- connection ------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        t = self._t
        return t is not None and t.is_active() and t.is_authenticated()

    def connect(self) -> None:
        with self._lock:
            if self.connected:
                return
            self._close()
            self._t = self._open()

    def _open(self) -> paramiko.Transport:
        s, c = self.server, self.server.connection
        try:
            sock = socket.create_connection((s.host, s.port), timeout=c.connect_timeout_s)
        except TimeoutError as exc:
            raise UnreachableError(
                s.name,
                f"{s.address} did not answer within {c.connect_timeout_s:g} s",
                "check the address, the route and the firewall",
            ) from exc
        except ConnectionRefusedError as exc:
            raise UnreachableError(
                s.name,
                f"{s.address} refused the connection",
                "check that SSH runs on that port (or the server is still rebooting)",
            ) from exc
        except socket.gaierror as exc:
            raise UnreachableError(
                s.name,
                f"cannot resolve {s.host}: {exc.strerror}",
                "fix the host name in the inventory",
            ) from exc
        except OSError as exc:
            raise UnreachableError(
                s.name,
                f"cannot connect to {s.address}: {exc.strerror}",
                "check the address and the network",
            ) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t = paramiko.Transport(sock)
        t.banner_timeout = c.connect_timeout_s
        t.auth_timeout = c.connect_timeout_s
        try:
            t.start_client(timeout=c.connect_timeout_s)
            self._check_host_key(t.get_remote_server_key())
            self._authenticate(t)
        except ConnectError:
            t.close()
            raise
        except (paramiko.SSHException, EOFError, OSError) as exc:
            t.close()
            raise UnreachableError(
                s.name,
                f"SSH handshake with {s.address} failed: {exc}",
                "check that this is an SSH server and retry",
            ) from exc
        if c.keepalive_s:
            t.set_keepalive(int(c.keepalive_s))
        self.connections += 1
        return t

    def _check_host_key(self, key: paramiko.PKey) -> None:
        s, c = self.server, self.server.connection
        name = known_hosts_name(s.host, s.port)
        fp = fingerprint(key)
        path = c.known_hosts
        hostkeys = paramiko.HostKeys()
        if path is not None and path.exists():
            try:
                hostkeys.load(str(path))
            except (OSError, paramiko.SSHException) as exc:
                raise HostKeyError(
                    s.name,
                    f"cannot read known_hosts {path}: {exc}",
                    fp,
                    "fix or recreate the known_hosts file",
                ) from exc
        entry = hostkeys.lookup(name)
        if entry is not None and key.get_name() in entry:
            if entry[key.get_name()] == key:
                return
            old = fingerprint(entry[key.get_name()])
            raise HostKeyError(
                s.name,
                f"the host key of {name} CHANGED: known_hosts has {old}, the server now "
                f"offers {key.get_name()} {fp}",
                fp,
                f"if the server was reinstalled and {fp} is right, remove the old entry with "
                f"ssh-keygen -R '{name}' -f {path} and connect again; otherwise stop: "
                "this may be an attack",
            )
        if c.host_key_policy == "accept-new" and path is not None:
            line = f"{name} {key.get_name()} {key.get_base64()}\n"
            with _known_hosts_lock:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a") as f:
                    f.write(line)
            self.accepted_new_key = fp
            return
        where = f" in {path}" if path else " (no known_hosts file is configured)"
        raise HostKeyError(
            s.name,
            f"unknown host key for {name}{where}: {key.get_name()} {fp}",
            fp,
            f"verify {fp} with the server's administrator, then add it with "
            f"ssh-keyscan -p {s.port} {s.host} >> {path or 'known_hosts'}, or set "
            "host_key_policy: accept-new in the inventory to record it on first use",
        )

    def _authenticate(self, t: paramiko.Transport) -> None:
        s, c = self.server, self.server.connection
        errors: list[str] = []
        if c.key_file is not None:
            key = _load_private_key(c.key_file, s.name)
            try:
                t.auth_publickey(c.username, key)
                return
            except paramiko.AuthenticationException:
                errors.append(f"key {c.key_file.name} refused")
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise UnreachableError(
                    s.name,
                    f"connection lost during login: {exc}",
                    "retry; check the server's SSH logs",
                ) from exc
        if c.password is not None:
            if self._password is None:
                self._password = resolve(c.password)
            try:
                t.auth_password(c.username, self._password.reveal())
                return
            except paramiko.BadAuthenticationType as exc:
                errors.append(f"password login not allowed ({', '.join(exc.allowed_types)})")
            except paramiko.AuthenticationException:
                errors.append("password refused")
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise UnreachableError(
                    s.name,
                    f"connection lost during login: {exc}",
                    "retry; check the server's SSH logs",
                ) from exc
        raise AuthenticationError(
            s.name,
            f"login as {c.username} failed: {'; '.join(errors) or 'no credentials'}",
            "check the username, the key_file and the password reference in the inventory",
        )

    def reconnect(self, wait_s: float) -> None:
        """Reconnect with exponential backoff (0.2 s doubling to 5 s) for up to ``wait_s``."""
        deadline = time.monotonic() + wait_s
        delay = 0.2
        while True:
            with self._lock:
                self._close()
                try:
                    self._t = self._open()
                    return
                except (UnreachableError, ConnectionLostError):
                    if time.monotonic() + delay > deadline:
                        raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        t, self._t = self._t, None
        if t is not None:
            with contextlib.suppress(Exception):
                t.close()

    def _transport(self) -> paramiko.Transport:
        with self._lock:
            if not self.connected:
                if self._t is not None:
                    self._close()
                    raise ConnectionLostError(self.name)
                self._t = self._open()
            assert self._t is not None
            return self._t

    # -- commands ----------------------------------------------------------------------
    def _channel(self, timeout: float) -> paramiko.Channel:
        t = self._transport()
        try:
            return t.open_session(timeout=min(timeout, self.server.connection.connect_timeout_s))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            with self._lock:
                if self._t is t and not t.is_active():
                    self._close()
            why = str(exc).strip() or (
                f"{type(exc).__name__} without a reason (the server refused the session "
                "or the connection is closing)"
            )
            raise ConnectionLostError(self.name, f"cannot open a channel: {why}") from exc

    def exec(self, command: str, timeout: float, stdin: str | None = None) -> ExecOutput:
        start = time.monotonic()
        chan = self._channel(timeout)
        deadline = start + timeout
        out, err = bytearray(), bytearray()
        try:
            chan.exec_command(command)
            if stdin is not None:
                chan.sendall(stdin.encode())
            chan.shutdown_write()
            # stdout and stderr share the channel's window: both are drained as data
            # arrives (unread stderr beyond the window would stall stdout until the
            # timeout). The channel's fileno() is readable while either has data, at EOF
            # and when the connection drops.
            ready = chan.fileno()
            while True:
                if time.monotonic() >= deadline:
                    raise CommandTimeout(
                        self.name, redact(command), timeout, redact(_text(out))[-2000:]
                    )
                if chan.recv_ready():
                    out += chan.recv(65536)
                elif chan.recv_stderr_ready():
                    err += chan.recv_stderr(65536)
                elif chan.eof_received or chan.closed:
                    break
                else:
                    select.select([ready], [], [], max(0.0, min(deadline - time.monotonic(), 1.0)))
            while chan.recv_ready():  # after EOF everything is buffered
                out += chan.recv(65536)
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(65536)
            left = max(0.1, deadline - time.monotonic())
            if not chan.status_event.wait(left):
                raise CommandTimeout(
                    self.name, redact(command), timeout, redact(_text(out))[-2000:]
                )
            status = chan.recv_exit_status()
        except (EOFError, OSError, paramiko.SSHException) as exc:
            with self._lock:
                if self._t is not None and not self._t.is_active():
                    self._close()
            raise ConnectionLostError(self.name) from exc
        finally:
            with contextlib.suppress(Exception):
                chan.close()
        if status == -1:
            raise ConnectionLostError(
                self.name, "the connection dropped before the command reported its exit status"
            )
        return ExecOutput(
            stdout=_text(out),
            stderr=_text(err),
            exit_status=status,
            duration_s=time.monotonic() - start,
        )

    def open_shell(self, timeout: float) -> _Shell:
        chan = self._channel(timeout)
        try:
            chan.get_pty(term="vt100", width=250, height=50)
            chan.invoke_shell()
        except (EOFError, OSError, paramiko.SSHException) as exc:
            raise ConnectionLostError(self.name, f"cannot open a shell: {exc}") from exc
        return _Shell(chan, self.name)
