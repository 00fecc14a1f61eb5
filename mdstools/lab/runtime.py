"""Running the lab: its directory, the files it writes, the control socket, up/down.

``DIR`` after ``mdstools lab up --dir DIR``::

    inventory.yml        the inventory of the simulated servers (README.md#the-inventory)
    known_hosts          their host keys, as OpenSSH writes them ([127.0.0.1]:PORT ...)
    id_ed25519(.pub)     the client key the lab accepts for user admin
    secrets/mds_password, secrets/expert_password   the secret files the inventory names
    hostkeys/            each server's persistent host key
    lab.json             pid, ports, scenario of the running lab
    lab.log              what the lab did (reboots, collisions, changes)
    control.sock         the control socket (``lab status``, ``lab change``, ``lab fix`` ...)
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from mdstools.lab import scenarios
from mdstools.lab.model import Deployment, LabError
from mdstools.lab.server import LabServer, ensure_ed25519

CONTROL = "control.sock"
STATE = "lab.json"


def control_path(lab_dir: Path) -> Path:
    """The control socket: in the lab directory, or in /tmp when that path is too long for
    a Unix socket (about 100 bytes)."""
    path = lab_dir / CONTROL
    if len(str(path)) < 100:
        return path
    import hashlib

    digest = hashlib.sha1(str(lab_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"mdstools-lab-{digest}.sock"


MAX_REQUEST = 4 << 20
MAX_LOG_LINE = 4000
MAX_NAME = 64
MAX_DATA = 65536
MAX_SECONDS = 86400.0
MAX_EVENTS = 100_000


class LabRuntimeError(Exception):
    """The lab could not start, stop or answer; the message says what to do."""


class LabRequestError(LabRuntimeError):
    """The lab refused a request as invalid (an unknown name, a bad value)."""


class LabNotRunning(LabRuntimeError):
    """No lab runs from the directory given."""


class BadRequest(Exception):
    """A control request the lab cannot carry out; the message says which field."""


def loggable(text: str, limit: int = MAX_LOG_LINE) -> str:
    """``text`` as one line of ``lab.log``: control characters and lone surrogates escaped
    (so that no request can forge or break a log line), truncated."""
    safe = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text[: limit + 1])
    return safe if len(safe) <= limit else safe[: limit - 3] + "..."


def _name(req: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = req.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{key}: a name is needed")
    if len(value) > MAX_NAME or not value.isprintable():
        raise BadRequest(
            f"{key} {loggable(repr(value), 40)}: at most {MAX_NAME} printable characters"
        )
    return value


def _data(req: dict[str, Any], key: str) -> str | None:
    """A name a simulated administrator publishes (admin, object): any text, as a real
    server may hold it, up to MAX_DATA characters; what is not valid Unicode (lone
    surrogates, the command line's undecodable bytes) becomes U+FFFD."""
    value = req.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{key}: a name is needed")
    if len(value) > MAX_DATA:
        raise BadRequest(f"{key}: at most {MAX_DATA} characters")
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)


def _seconds(value: Any, key: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"{key}: a number of seconds is needed")
    number = float(value)
    if not 0 <= number <= MAX_SECONDS:  # NaN fails too
        raise BadRequest(f"{key}: between 0 and {MAX_SECONDS:g}")
    return number


def _secret_file(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(18)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def write_client_files(
    lab_dir: Path, dep: Deployment, server: LabServer, opts: scenarios.LabOptions
) -> None:
    """known_hosts and inventory.yml for the running servers."""
    lines = []
    for sim in dep.servers:
        key = server.host_key(sim.name)
        lines.append(f"[{server.host}]:{sim.port} {key.get_name()} {key.get_base64()}")
    (lab_dir / "known_hosts").write_text("\n".join(lines) + "\n")
    servers = []
    for sim in dep.servers:
        entry: dict[str, Any] = {
            "name": sim.name,
            "host": server.host,
            "port": sim.port,
            "role": sim.role,
        }
        admin = sim.users.get("admin")
        if admin is not None and admin.shell == "clish":
            entry["shell"] = "clish"
        servers.append(entry)
    inventory = {
        "environment": dep.environment or f"lab-{opts.scenario}",
        "target_version": opts.target,
        "upgrade": {"method": "cpuse", "package": scenarios.upgrade_package_path(opts.target)},
        "backup_dir": "/var/log/mds_backups",
        "time_scale": dep.clock.scale,
        "connection": {
            "username": "admin",
            "key_file": "./id_ed25519",
            "password": "file:./secrets/mds_password",
            "expert_password": "file:./secrets/expert_password",
            "known_hosts": "./known_hosts",
            "host_key_policy": "strict",
            "connect_timeout_s": 10,
        },
        "servers": servers,
    }
    versions = sorted({s.version.name for s in dep.servers})
    twin_of = "twin, " if opts.like else ""
    header = (
        f"# mdstools lab, {twin_of}scenario {opts.scenario}: {len(dep.mdss)} MDS, "
        f"{len(dep.servers) - len(dep.mdss)} MLM, {len(dep.user_domains)} domains, "
        f"{'/'.join(versions)} -> {opts.target}\n"
        f"# time_scale {dep.clock.scale:g}: the lab's; runs against it use it unless "
        "-p time_scale is given (leave it out on real servers)\n"
    )
    text = header + yaml.safe_dump(inventory, sort_keys=False, default_flow_style=False)
    (lab_dir / "inventory.yml").write_text(text)


class ControlServer:
    """A Unix socket answering one JSON request per connection."""

    def __init__(self, path: Path, dep: Deployment, on_stop: threading.Event) -> None:
        self.path = path
        self.dep = dep
        self.on_stop = on_stop
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(16)
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            reply = self._reply(conn)
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps(reply).encode() + b"\n")

    def _reply(self, conn: socket.socket) -> dict[str, Any]:
        data = b""
        try:
            conn.settimeout(30)
            while not data.endswith(b"\n"):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
                if len(data) > MAX_REQUEST:
                    return {"ok": False, "bad_request": True, "error": "request too large"}
        except OSError as exc:
            return {"ok": False, "error": f"cannot read the request: {exc}"}
        try:
            req = json.loads(data or b"{}")
            if not isinstance(req, dict):
                raise BadRequest("a request is a JSON object with an action")
            return {"ok": True, "result": self.dispatch(req)}
        except LabError as exc:
            return {"ok": False, "bad_request": True, "error": loggable(exc.message, 300)}
        except (BadRequest, ValueError, RecursionError) as exc:
            return {
                "ok": False,
                "bad_request": True,
                "error": f"bad request: {loggable(str(exc), 300)}",
            }
        except Exception as exc:  # the lab keeps serving whatever one request does
            self.dep.log(f"control: internal error: {exc!r}")
            return {"ok": False, "error": f"internal error: {loggable(repr(exc), 300)}"}

    def dispatch(self, req: dict[str, Any]) -> Any:
        action = req.get("action")
        dep = self.dep
        if action == "status":
            return dep.summary()
        if action == "change":
            rev = dep.lab_change(
                str(_name(req, "domain")),
                str(_name(req, "on")),
                admin=_data(req, "admin") or "lab-admin",
                obj=_data(req, "object"),
            )
            return {
                "session": rev.uid,
                "admin": rev.admin,
                "server": rev.server,
                "changes": [c.name for c in rev.changes],
            }
        if action == "fix":
            only = _name(req, "server", required=False)
            return scenarios.fix(dep, dep.server(only).name if only else None)
        if action == "reboot":
            sim = dep.server(str(_name(req, "server")))
            dep.scheduler.after(0, lambda: dep.reboot(sim))
            return f"{sim.name} is rebooting"
        if action == "drop":
            sim = dep.server(str(_name(req, "server")))
            seconds = _seconds(req.get("seconds"), "seconds", 5.0)
            dep.scheduler.after(0, lambda: dep.network_blip(sim, seconds))
            return f"{sim.name}: connections dropped, port refused for {seconds} s"
        if action == "events":
            last = req.get("last", 50)
            if isinstance(last, bool) or not isinstance(last, int) or not 0 < last <= MAX_EVENTS:
                raise BadRequest(f"last: a whole number 1..{MAX_EVENTS}")
            with dep.lock:
                return list(dep.events[-last:])
        if action == "stop":
            self.on_stop.set()
            return "stopping"
        raise BadRequest(f"unknown action {loggable(repr(action), 40)}")

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def serve(
    lab_dir: Path,
    opts: scenarios.LabOptions,
    ports: dict[str, int] | None = None,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run the lab in this process until ``stop`` is set (or SIGTERM/SIGINT)."""
    lab_dir.mkdir(parents=True, exist_ok=True)
    dep = scenarios.create(opts)
    password = _secret_file(lab_dir / "secrets" / "mds_password")
    expert = _secret_file(lab_dir / "secrets" / "expert_password")
    client = ensure_ed25519(lab_dir / "id_ed25519")
    server = LabServer(
        dep, lab_dir / "hostkeys", password, expert, [client.get_base64()], ports=ports
    )
    stop = stop or threading.Event()
    log = (lab_dir / "lab.log").open("a", encoding="utf-8", errors="backslashreplace")

    def record(text: str) -> None:
        log.write(loggable(text) + "\n")
        log.flush()

    started = server.start()
    control = ControlServer(control_path(lab_dir), dep, stop)
    write_client_files(lab_dir, dep, server, opts)
    state = {
        "pid": os.getpid(),
        "ports": started,
        "scenario": opts.scenario,
        "options": asdict(opts),
        "started": time.time(),
    }
    (lab_dir / STATE).write_text(json.dumps(state, indent=2) + "\n")
    record(f"lab up: pid {os.getpid()} ports {started}")
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    if ready is not None:
        ready.set()
    seen = 0
    try:
        while not stop.wait(0.2):
            if opts.owner_pid and not _alive(opts.owner_pid):
                record(f"lab down: its owner, pid {opts.owner_pid}, has ended")
                break
            with dep.lock:
                new = dep.events[seen:]
                seen = len(dep.events)
            for e in new:
                record(e)
    finally:
        control.close()
        server.stop()
        with contextlib.suppress(FileNotFoundError):
            (lab_dir / STATE).unlink()
        record("lab down")
        log.close()


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def read_state(lab_dir: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((lab_dir / STATE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return state


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_twin(opts: scenarios.LabOptions) -> None:
    """For a twin (``opts.like``): its document checked, the path made absolute; raises
    :class:`LabRequestError` naming what is wrong with the document."""
    if not opts.like:
        return
    path = Path(opts.like).expanduser().resolve()
    try:
        scenarios.load_twin(path)
    except scenarios.TwinDocumentError as exc:
        raise LabRequestError(str(exc)) from None
    opts.like = str(path)


def _serve_arguments(lab_dir: Path, opts: scenarios.LabOptions) -> list[str]:
    """The ``lab serve`` command line that builds the lab ``opts`` describe."""
    cmd = [sys.executable, "-m", "mdstools", "lab", "serve", "--dir", str(lab_dir)]
    cmd += ["--scenario", opts.scenario, "--target", opts.target]
    if opts.like:
        cmd += ["--like", opts.like]
    else:
        cmd += ["--mds", str(opts.mds), "--mlm", str(opts.mlm), "--domains", str(opts.domains)]
        cmd += ["--source", opts.source]
    if opts.time_scale is not None:
        cmd += ["--time-scale", repr(opts.time_scale)]
    for ver, cols in opts.columns.items():
        cmd += ["--columns", f"{ver}={','.join(cols)}"]
    if opts.double_echo:
        cmd.append("--double-echo")
    if opts.owner_pid:
        cmd += ["--owner-pid", str(opts.owner_pid)]
    return cmd + scenarios.api_arguments(opts)


def up(lab_dir: Path, opts: scenarios.LabOptions, timeout: float = 60.0) -> dict[str, Any]:
    """Start the lab in the background; return its state once every port accepts.

    A twin's document (``opts.like``) is checked first: :class:`LabRequestError` names
    what is wrong with it, before anything starts."""
    check_twin(opts)
    lab_dir = lab_dir.resolve()
    state = read_state(lab_dir)
    if state and _alive(int(state["pid"])):
        raise LabRuntimeError(
            f"a lab is already running from {lab_dir} (pid {state['pid']}); "
            f"stop it with: mdstools lab down --dir {lab_dir}"
        )
    lab_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (lab_dir / STATE).unlink()
    cmd = _serve_arguments(lab_dir, opts)
    out = (lab_dir / "lab.out").open("ab")
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        close_fds=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (lab_dir / "lab.out").read_text(errors="replace")[-2000:]
            raise LabRuntimeError(f"the lab exited at start (code {proc.returncode}):\n{tail}")
        state = read_state(lab_dir)
        if (
            state
            and state.get("pid") == proc.pid
            and all(_port_open(p) for p in state["ports"].values())
        ):
            return state
        time.sleep(0.05)
    proc.terminate()
    raise LabRuntimeError(
        f"the lab did not open its ports within {timeout:.0f} s; see {lab_dir / 'lab.out'}"
    )


def control(lab_dir: Path, request: dict[str, Any], timeout: float = 30.0) -> Any:
    """Send one request to a running lab; returns its result or raises LabRuntimeError."""
    path = control_path(lab_dir)
    if not path.exists():
        raise LabNotRunning(
            f"no lab is running from {lab_dir} (no {CONTROL}); "
            f"start one with: mdstools lab up --dir {lab_dir}"
        )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(str(path))
        except OSError as exc:
            raise LabRuntimeError(
                f"the lab at {lab_dir} does not answer ({exc}); "
                f"restart it: mdstools lab down --dir {lab_dir} && "
                f"mdstools lab up --dir {lab_dir}"
            ) from exc
        try:
            s.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError as exc:
            raise LabRuntimeError(
                f"the lab at {lab_dir} did not answer ({exc}); see {lab_dir / 'lab.log'}"
            ) from exc
    try:
        reply = json.loads(data)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        raise LabRuntimeError(
            f"the lab at {lab_dir} closed the connection without an answer; "
            f"see {lab_dir / 'lab.log'}"
        )
    if not reply.get("ok"):
        error = str(reply.get("error"))
        raise LabRequestError(error) if reply.get("bad_request") else LabRuntimeError(error)
    return reply["result"]


def down(lab_dir: Path, timeout: float = 15.0) -> bool:
    """Stop the lab running from ``lab_dir``; returns False if none was running."""
    lab_dir = lab_dir.resolve()
    state = read_state(lab_dir)
    if state is None:
        return False
    pid = int(state["pid"])
    with contextlib.suppress(LabRuntimeError, OSError, ValueError):
        control(lab_dir, {"action": "stop"}, timeout=5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        (lab_dir / STATE).unlink()
    return True
