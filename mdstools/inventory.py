"""The inventory: which servers make up the deployment and how to reach them.

Loaded from YAML (format in ``README.md#the-inventory``) and validated: every error names the
file, the field and what is allowed. Secrets are references (``env:NAME`` /
``file:PATH``), resolved only when a connection needs them; relative paths are relative to
the inventory file.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from mdstools import durations
from mdstools.bounded_read import NotReadable, read_regular
from mdstools.errors import InventoryError, SecretError, shown
from mdstools.phases import MAX_TIME_SCALE
from mdstools.secrets import is_reference, resolve

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
VERSION_RE = re.compile(r"R\d{2}(\.\d{1,2})?")
USER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
HOST_LABEL_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
REMOTE_PATH_RE = re.compile(r"/[A-Za-z0-9._+@%=,:/-]*")
MDSDIR_PATH_RE = re.compile(r"(\$MDSDIR|\$\{MDSDIR\})?/[A-Za-z0-9._+@%=,:/-]*")
ENV_REF_RE = re.compile(r"env:[A-Za-z_][A-Za-z0-9_]{0,127}")
MAX_PATH = 255
MAX_LOCAL_PATH = 4096
MAX_FILE = 1 << 20

NAME_WHAT = "1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit"
REMOTE_PATH_WHAT = (
    f"an absolute path on the servers of at most {MAX_PATH} characters: letters, digits "
    "and . _ + @ % = , : / - (no spaces, quotes or shell characters, no '..')"
)

TOP_KEYS = {
    "environment",
    "target_version",
    "upgrade",
    "backup_dir",
    "connection",
    "servers",
    "time_scale",
    "timings",
}
CONNECTION_KEYS = {
    "username",
    "key_file",
    "password",
    "expert_password",
    "known_hosts",
    "host_key_policy",
    "connect_timeout_s",
    "command_timeout_s",
    "keepalive_s",
    "reconnect_budget_s",
}
SERVER_KEYS = {"name", "host", "port", "role", "shell"} | CONNECTION_KEYS


class Role(str, Enum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    LOG_SERVER = "log-server"


@dataclass(frozen=True, kw_only=True)
class Connection:
    """How to log in to a server; secrets are references, never values."""

    username: str = "admin"
    key_file: Path | None = None
    password: str | None = None
    expert_password: str | None = None
    known_hosts: Path | None = None
    host_key_policy: str = "strict"
    connect_timeout_s: float = 10.0
    command_timeout_s: float = 120.0
    keepalive_s: float = 15.0
    reconnect_budget_s: float = 180.0


@dataclass(frozen=True, kw_only=True)
class Server:
    """One MDS or Multi-Domain Log Server."""

    name: str
    host: str
    port: int
    role: Role
    shell: str = "bash"
    connection: Connection = field(default_factory=Connection)

    @property
    def is_mds(self) -> bool:
        return self.role in (Role.PRIMARY, Role.SECONDARY)

    @property
    def is_log_server(self) -> bool:
        return self.role is Role.LOG_SERVER

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, kw_only=True)
class Inventory:
    """A validated inventory."""

    path: Path
    environment: str
    target_version: str
    upgrade_method: str
    upgrade_package: str
    backup_dir: str
    servers: tuple[Server, ...]
    sha256: str
    time_scale: float = 1.0
    timings_file: Path | None = None
    #: the engineer's durations from ``timings_file`` (:mod:`mdstools.durations` names)
    timings: tuple[tuple[str, float], ...] = ()

    @property
    def primary(self) -> Server:
        return next(s for s in self.servers if s.role is Role.PRIMARY)

    @property
    def secondaries(self) -> tuple[Server, ...]:
        return tuple(s for s in self.servers if s.role is Role.SECONDARY)

    @property
    def mdss(self) -> tuple[Server, ...]:
        return tuple(s for s in self.servers if s.is_mds)

    @property
    def log_servers(self) -> tuple[Server, ...]:
        return tuple(s for s in self.servers if s.is_log_server)

    def server(self, name: str) -> Server:
        for s in self.servers:
            if s.name == name:
                return s
        raise InventoryError(
            str(self.path),
            "servers",
            f"no server named {shown(name)}; the inventory has "
            f"{', '.join(s.name for s in self.servers)}",
        )


def _key(key: Any) -> str:
    """A mapping key as a field name: as written when short and printable, else escaped."""
    plain = isinstance(key, str) and key.isprintable() and 0 < len(key) <= 40
    return str(key) if plain else shown(key, 40)


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


class _Check:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field_: str, message: str, hint: str = "") -> InventoryError:
        return InventoryError(str(self.path), field_, message, hint)

    def mapping(self, value: Any, field_: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            what = field_ or "the inventory"
            raise self.fail(
                field_ or "(top level)",
                f"{what} must be a mapping of {', '.join(sorted(allowed))}; got {_kind(value)}",
            )
        unknown = sorted(_key(k) for k in value if not isinstance(k, str) or k not in allowed)
        if unknown:
            raise self.fail(
                f"{field_}.{unknown[0]}" if field_ else unknown[0],
                f"unknown field; allowed: {', '.join(sorted(allowed))}",
            )
        return value

    def string(
        self,
        value: Any,
        field_: str,
        pattern: re.Pattern[str] | None = None,
        what: str = "",
        limit: int = MAX_PATH,
    ) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(
                field_,
                f"must be a non-empty string{what and ' (' + what + ')'}, got {shown(value)}",
            )
        if len(value) > limit or not value.isprintable():
            raise self.fail(
                field_,
                f"{shown(value)} is not valid: control characters or longer than {limit} "
                f"characters; expected {what or 'printable text'}",
            )
        if pattern is not None and not pattern.fullmatch(value):
            raise self.fail(field_, f"{shown(value)} is not valid; expected {what}")
        return value

    def number(
        self, value: Any, field_: str, lo: float, hi: float, low_open: bool = False
    ) -> float:
        allowed = f"{'above ' if low_open else ''}{lo:g}..{hi:g}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(field_, f"must be a number ({allowed}), got {shown(value)}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not (math.isfinite(number) and lo <= number <= hi) or (low_open and number <= lo):
            raise self.fail(field_, f"{shown(value)} is out of range; allowed {allowed}")
        return number

    def whole(self, value: Any, field_: str, lo: int, hi: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field_, f"must be a whole number {lo}..{hi}, got {shown(value)}")
        if not lo <= value <= hi:
            raise self.fail(field_, f"{shown(value)} is out of range; allowed {lo}..{hi}")
        return value

    def choice(self, value: Any, field_: str, allowed: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise self.fail(
                field_, f"{shown(value)} is not allowed; use one of: {', '.join(allowed)}"
            )
        return value

    def remote_path(
        self, value: Any, field_: str, what: str, pattern: re.Pattern[str] = REMOTE_PATH_RE
    ) -> str:
        """A path on the servers: it ends up in command lines."""
        text = self.string(value, field_, pattern, f"{what}: {REMOTE_PATH_WHAT}")
        if ".." in text.split("/"):
            raise self.fail(
                field_, f"{shown(text)} has a '..' component; expected {REMOTE_PATH_WHAT}"
            )
        return text

    def host(self, value: Any, field_: str) -> str:
        what = "a host name (letters, digits, '-' and '.') or an IPv4/IPv6 address"
        text = self.string(value, field_, what=what)
        try:
            ipaddress.ip_address(text)
            return text
        except ValueError:
            pass
        labels = text.removesuffix(".").split(".")
        numeric = labels[-1].isdigit()  # a malformed address, not a name
        if len(text) > 253 or numeric or not all(HOST_LABEL_RE.fullmatch(x) for x in labels):
            raise self.fail(field_, f"{shown(text)} is not valid; expected {what}")
        return text

    def path_value(self, value: Any, field_: str) -> Path:
        text = self.string(value, field_, what="a path", limit=MAX_LOCAL_PATH)
        p = Path(text).expanduser()
        return p if p.is_absolute() else (self.path.parent / p)

    def secret_ref(self, value: Any, field_: str) -> str:
        s = self.string(value, field_, what="env:NAME or file:PATH", limit=MAX_LOCAL_PATH)
        if not is_reference(s):
            raise self.fail(
                field_,
                "must be a reference (env:NAME or file:PATH), not the secret itself",
                "never write a password into the inventory; put it in an "
                "environment variable or a file",
            )
        if s.startswith("env:") and not ENV_REF_RE.fullmatch(s):
            raise self.fail(
                field_,
                f"{shown(s)} is not valid; expected env:NAME with a variable name "
                "(letters, digits, '_'; not a digit first)",
            )
        if s.startswith("file:"):
            p = Path(s[5:]).expanduser()
            if not s[5:].strip():
                raise self.fail(field_, "file: is not valid; expected file:PATH with a path")
            if not p.is_absolute():
                s = f"file:{(self.path.parent / p)}"
        return s

    def connection(self, data: dict[str, Any], field_: str, base: Connection) -> Connection:
        values: dict[str, Any] = {}
        for key in CONNECTION_KEYS & data.keys():
            v = data[key]
            f = f"{field_}.{key}" if field_ else key
            if key == "username":
                values[key] = self.string(
                    v, f, USER_RE, "a user name: letters, digits, '_', '.', '-' (at most 32)"
                )
            elif key in ("key_file", "known_hosts"):
                values[key] = self.path_value(v, f)
            elif key in ("password", "expert_password"):
                values[key] = self.secret_ref(v, f)
            elif key == "host_key_policy":
                values[key] = self.choice(v, f, ("strict", "accept-new"))
            elif key == "connect_timeout_s":
                values[key] = self.number(v, f, 0.1, 600)
            elif key == "command_timeout_s":
                values[key] = self.number(v, f, 1, 86400)
            elif key == "keepalive_s":
                values[key] = self.number(v, f, 0, 3600)
            elif key == "reconnect_budget_s":
                values[key] = self.number(v, f, 0, 86400)
        return replace(base, **values)


def register_secrets(inv: Inventory) -> list[str]:
    """Resolve every secret reference now so that redaction knows the values from the start.

    Returns the references that could not be resolved (they fail later, when needed).
    """
    missing = []
    refs = {
        r for s in inv.servers for r in (s.connection.password, s.connection.expert_password) if r
    }
    for ref in sorted(refs):
        try:
            resolve(ref)
        except SecretError:
            missing.append(ref)
    return missing


def load(path: str | Path) -> Inventory:
    """Read and validate an inventory file."""
    p = Path(path).expanduser()
    try:
        raw = read_regular(p, MAX_FILE)
    except NotReadable as exc:
        raise InventoryError(
            str(p),
            "",
            f"cannot read the inventory: {exc}",
            "pass the path of an inventory YAML file with -i",
        ) from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = shown(str(getattr(exc, "problem", None) or exc), 120)
        raise InventoryError(str(p), "", f"{where}not valid YAML ({problem})") from exc
    except (ValueError, RecursionError) as exc:  # a number too long, nesting too deep
        raise InventoryError(
            str(p), "", f"not a usable YAML document ({shown(str(exc), 120)})"
        ) from exc
    return parse(data, p.resolve(), hashlib.sha256(raw).hexdigest())


def _upgrade(c: _Check, top: dict[str, Any]) -> tuple[str, str]:
    """The upgrade's method and package (the package's path checked for that method)."""
    upgrade = c.mapping(top.get("upgrade", {"method": "cpuse"}), "upgrade", {"method", "package"})
    method = c.choice(upgrade.get("method", "cpuse"), "upgrade.method", ("cpuse", "mds_setup"))
    package = upgrade.get("package", "")
    if ("upgrade" in top and method == "cpuse") or package:
        package = (
            c.remote_path(
                package,
                "upgrade.package",
                "the path of mds_setup on the servers, e.g. $MDSDIR/scripts/mds_setup",
                MDSDIR_PATH_RE,
            )
            if method == "mds_setup"
            else c.remote_path(
                package,
                "upgrade.package",
                "the package path on the servers, e.g. /var/log/upload/...tgz",
            )
        )
    return method, package


def _server(c: _Check, entry: Any, f: str, defaults: Connection) -> Server:
    """One entry of ``servers`` (``f`` is its field path)."""
    s = c.mapping(entry, f, SERVER_KEYS)
    for required in ("name", "host", "role"):
        if required not in s:
            raise c.fail(f"{f}.{required}", "is required")
    return Server(
        name=c.string(s["name"], f"{f}.name", NAME_RE, NAME_WHAT),
        host=c.host(s["host"], f"{f}.host"),
        port=c.whole(s.get("port", 22), f"{f}.port", 1, 65535),
        role=Role(c.choice(s["role"], f"{f}.role", tuple(r.value for r in Role))),
        shell=c.choice(s.get("shell", "bash"), f"{f}.shell", ("bash", "clish")),
        connection=c.connection(s, f, defaults),
    )


def _servers(c: _Check, servers_raw: Any, defaults: Connection) -> list[Server]:
    """The list ``servers``, each entry checked, at most 64."""
    if not isinstance(servers_raw, list) or not servers_raw:
        raise c.fail("servers", f"must be a non-empty list of servers, got {shown(servers_raw)}")
    if len(servers_raw) > 64:
        raise c.fail("servers", f"{len(servers_raw)} servers; at most 64")
    return [_server(c, entry, f"servers[{i}]", defaults) for i, entry in enumerate(servers_raw)]


def _check_fleet(c: _Check, servers: list[Server]) -> None:
    """The servers together: names and addresses unique, one primary, a way to log in to
    each (and to expert mode from a clish login)."""
    names = [srv.name for srv in servers]
    for i, srv in enumerate(servers):
        if names.index(srv.name) != i:
            raise c.fail(f"servers[{i}].name", f"duplicate server name {srv.name!r}")
        addrs = [x.address for x in servers]
        if addrs.index(srv.address) != i:
            raise c.fail(
                f"servers[{i}].host",
                f"{srv.address} is also used by {servers[addrs.index(srv.address)].name}",
            )
    primaries = [srv.name for srv in servers if srv.role is Role.PRIMARY]
    if len(primaries) != 1:
        raise c.fail(
            "servers",
            f"exactly one server must have role: primary "
            f"(found {len(primaries)}{': ' + ', '.join(primaries) if primaries else ''})",
        )
    for i, srv in enumerate(servers):
        if srv.shell == "clish" and not srv.connection.expert_password:
            raise c.fail(
                f"servers[{i}].expert_password",
                f"{srv.name} logs in to clish; an expert_password reference is needed "
                "to reach expert mode",
            )
        if not srv.connection.key_file and not srv.connection.password:
            raise c.fail(f"servers[{i}]", f"{srv.name} has neither key_file nor password")


def parse(data: Any, path: Path, sha256: str = "") -> Inventory:
    """Validate already-loaded inventory data (``path`` anchors relative paths).

    Every field that ends up in a command line, a file name or a lock name is checked
    against a strict pattern; an error names the field path, the value and what is allowed.
    """
    c = _Check(path)
    top = c.mapping(data, "", TOP_KEYS)
    for required in ("environment", "target_version", "servers"):
        if required not in top:
            raise c.fail(required, "is required")
    environment = c.string(top["environment"], "environment", NAME_RE, NAME_WHAT)
    target = c.string(
        top["target_version"], "target_version", VERSION_RE, "a release such as R81.20"
    )
    method, package = _upgrade(c, top)
    backup_dir = c.remote_path(
        top.get("backup_dir", "/var/log/mds_backups"), "backup_dir", "a directory on the servers"
    )
    scale = c.number(top.get("time_scale", 1.0), "time_scale", 0, MAX_TIME_SCALE, low_open=True)
    defaults = c.connection(
        c.mapping(top.get("connection", {}), "connection", CONNECTION_KEYS),
        "connection",
        Connection(),
    )
    servers = _servers(c, top["servers"], defaults)
    _check_fleet(c, servers)
    timings_file = c.path_value(top["timings"], "timings") if "timings" in top else None
    timings = durations.read_file(timings_file) if timings_file else {}
    return Inventory(
        path=path,
        environment=environment,
        target_version=target,
        upgrade_method=method,
        upgrade_package=package,
        backup_dir=backup_dir,
        servers=tuple(servers),
        sha256=sha256,
        time_scale=scale,
        timings_file=timings_file,
        timings=tuple(timings.items()),
    )
