"""Named lab scenarios: a healthy deployment and the faults an engineer rehearses.

* ``default``: healthy R81.10 deployment to upgrade to R81.20; every DMS active on the primary;
* ``verifier-error``: the pre-upgrade verifier reports an error on the last MDS;
* ``verifier-warnings``: warnings on every MDS and MLM, each to be acknowledged by name;
* ``dms-wont-start``: the second domain's DMS (``dom2``'s) on the last MDS that holds one
  never starts again once stopped (until ``mdstools lab fix``);
* ``collision``: after the primary is upgraded, admins publish changes to the first domain
  (``dom1``) on the primary and on the second MDS (``mds2``), and to the third (``dom3``; the
  second when there are two) on the second MDS; only domains with a DMS on both count;
* ``drop-during-upgrade``: the SSH connections of a server being upgraded drop at 30 % and
  its port refuses for a while;
* ``clish-login``: ``admin``'s login shell on the second MDS (``mds2``; the primary when
  there is one MDS) is clish; expert needs the expert password;
* ``backup-space-short``: only 600 MB free in the backup directory of the last MDS (until
  ``mdstools lab fix``);
* ``upgrade-fails``: the CPUSE upgrade of the last MDS (the primary when there is only one)
  ends ``Failed``: the server reboots and comes back on the source version with its DMSs
  down; the primary, upgraded before it, stays upgraded (until ``mdstools lab fix``);
* ``snapshot-space-short``: only 5 GB of space for Gaia snapshots on the last MDS, less than
  a snapshot needs (until ``mdstools lab fix``);
* ``slow``: realistic durations (time scale 1.0), a slow command prompt, and the
  Management API's assumed costs (``docs/durations.md``): a login 1 s, 120 s of
  ``generic_server_initializing`` after a reboot.

The Management API costs nothing in the other scenarios unless ``LabOptions`` (``mdstools
lab up --api-latency/--api-init-after-boot/--api-rate-limit``) sets them.

"The last MDS" is the last secondary MDS in the servers' order (the primary when there is
none) and "the second MDS" the first secondary: in the default lab ``mds2`` and ``mds2``
.. ``mds4``; on a twin (``LabOptions.like``, :mod:`mdstools.lab.twin`) the same picks fall on
the twin's own names, and the domains are picked by their order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mdstools.lab import system, twin
from mdstools.lab.api_costs import SESSION_LIMIT, ApiCosts, ApiMeter
from mdstools.lab.api_options import options as api_options
from mdstools.lab.api_options import problem as api_problem
from mdstools.lab.api_options import status_line as api_status_line
from mdstools.lab.clock import Clock
from mdstools.lab.model import (
    SNAPSHOT_SPACE,
    Deployment,
    Finding,
    LabError,
    SimServer,
    Timings,
    User,
    build,
)
from mdstools.lab.versions import profile
from mdstools.lab.vfs import Mount

__all__ = [
    "BACKUP_DIR",
    "DEFAULT_SCALE",
    "SCENARIOS",
    "LabOptions",
    "Scenario",
    "TwinDocumentError",
    "api_arguments",
    "api_costs",
    "api_options",
    "api_problem",
    "api_status_line",
    "create",
    "fix",
    "load_twin",
    "upgrade_package_path",
]

TwinDocumentError = twin.TwinDocumentError
load_twin = twin.load

DEFAULT_SCALE = 0.01
BACKUP_DIR = "/var/log/mds_backups"
SHORT_SNAPSHOT_SPACE = 5 * 1024**3


@dataclass
class LabOptions:
    """How to build a lab deployment."""

    scenario: str = "default"
    mds: int = 2
    mlm: int = 1
    domains: int = 5
    time_scale: float | None = None
    source: str = "R81.10"
    target: str = "R81.20"
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    double_echo: bool = False
    manual_clock: bool = False
    api_latency: float | None = None  # product seconds of a read/write login; None: scenario's
    api_init_after_boot: float | None = None  # None: scenario's
    api_rate_limit: float | None = None  # calls per product second; 0: off; None: scenario's
    max_sessions: int = SESSION_LIMIT
    like: str | None = None  # a status document: the lab is its twin (mds .. source unused)
    owner_pid: int | None = None  # the lab stops by itself once this process has ended


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    apply: Callable[[Deployment, LabOptions], None]
    time_scale: float = DEFAULT_SCALE
    command_latency: float = 0.0
    api_latency: float = 0.0
    api_init_after_boot: float = 0.0
    api_rate_limit: float = 0.0


def upgrade_package_path(target: str) -> str:
    return f"/var/log/upload/{profile(target).upgrade_package}"


def _none(dep: Deployment, opts: LabOptions) -> None:
    pass


def _verifier_error(dep: Deployment, opts: LabOptions) -> None:
    last = dep.last_mds
    last.findings.append(
        Finding(
            "error",
            "Invalid object names",
            "The database of Domain dom1 contains the object 'Net 10.0.0.0/8' whose name has "
            "characters that are not allowed in " + opts.target + ". Rename the object in "
            "SmartConsole and run the verification again.",
        )
    )
    last.findings.append(
        Finding(
            "warning",
            "Deprecated SmartEvent settings",
            "SmartEvent correlation unit settings are not migrated. Review them after the upgrade.",
        )
    )


def _verifier_warnings(dep: Deployment, opts: LabOptions) -> None:
    for s in dep.servers:
        s.findings.append(
            Finding(
                "warning",
                "Unused objects with duplicate IP addresses",
                f"Objects with the same IP address exist in domains of {s.name}. "
                "They are migrated as they are; review them after the upgrade.",
            )
        )
    dep.primary.findings.append(
        Finding(
            "warning",
            "Global Properties changed",
            "Some Global Properties differ from their default values and are kept. "
            "Review them in SmartConsole after the upgrade.",
        )
    )


def _dms_wont_start(dep: Deployment, opts: LabOptions) -> None:
    """The second domain (the first when there is one) on the last MDS that holds it."""
    doms = dep.user_domains
    dom = doms[1] if len(doms) >= 2 else doms[0]
    order = [dep.last_mds, *reversed(dep.mdss)]
    d = next(x for x in (dom.on(s.name) for s in order) if x is not None and x.kind == "CMA")
    d.start_fault = True


def _collision(dep: Deployment, opts: LabOptions) -> None:
    primary = dep.primary
    others = dep.secondaries
    if not others:
        return
    second = others[0].name
    doms = [
        d.name
        for d in dep.user_domains
        if d.on(primary.name) is not None and d.on(second) is not None
    ]
    if not doms:
        return
    plan = [(doms[0], primary.name), (doms[0], second)]
    if len(doms) > 2:
        plan.append((doms[2], second))
    elif len(doms) > 1:
        plan.append((doms[1], second))
    done: dict[str, bool] = {"fired": False}

    def maybe_fire() -> None:
        if done["fired"]:
            return
        if primary.version.name == others[0].version.name:
            return
        targets = [dep.domain(dom).on(srv) for dom, srv in plan]
        if any(t is None or dep.dms_state(t) != "up" for t in targets):
            dep.scheduler.after(dep.clock.dur(5), maybe_fire)
            return
        done["fired"] = True
        for dom, srv in plan:
            try:
                dep.lab_change(dom, srv, admin=f"admin_{srv}")
            except LabError as exc:
                dep.log(f"collision scenario: change on {dom}/{srv} refused: {exc.message}")

    def on_boot(s: SimServer) -> None:
        if s is primary:
            dep.scheduler.after(dep.clock.dur(5), maybe_fire)

    dep.boot_hooks.append(on_boot)


def _drop(dep: Deployment, opts: LabOptions) -> None:
    dep.drop_during_upgrade = True


def _backup_space_short(dep: Deployment, opts: LabOptions) -> None:
    """The backup directory of the last MDS is its own small file system, nearly full."""
    target = dep.last_mds
    target.vfs.mounts.append(Mount(BACKUP_DIR, 2 * 1024 * 1024, 2 * 1024 * 1024 - 600 * 1024))


def _name_login_refused(dep: Deployment, opts: LabOptions) -> None:
    """Read/write logins to a domain by its name are refused; by UID they work."""
    dep.api.name_logins_refused = True


def _upgrade_fails(dep: Deployment, opts: LabOptions) -> None:
    """The CPUSE upgrade of the last MDS fails at its end."""
    dep.last_mds.upgrade_fails = True


def _snapshot_space_short(dep: Deployment, opts: LabOptions) -> None:
    """The volume group of the last MDS has only 5 GB unallocated: too little for a snapshot."""
    dep.last_mds.snapshot_space = SHORT_SNAPSHOT_SPACE


def _clish(dep: Deployment, opts: LabOptions) -> None:
    others = dep.secondaries
    target = others[0] if others else dep.primary
    target.users["admin"] = User("admin", "clish")


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("default", "healthy deployment, every DMS active on the primary", _none),
        Scenario("verifier-error", "pre-upgrade verifier error on the last MDS", _verifier_error),
        Scenario("verifier-warnings", "verifier warnings on every server", _verifier_warnings),
        Scenario(
            "dms-wont-start",
            "the second domain's DMS (dom2's) on the last MDS does not start once stopped",
            _dms_wont_start,
        ),
        Scenario(
            "collision",
            "changes to the first domain (dom1) on the primary and the second MDS during "
            "the upgrade",
            _collision,
        ),
        Scenario("drop-during-upgrade", "SSH drops during the upgrade", _drop),
        Scenario(
            "clish-login",
            "clish login shell on the second MDS (mds2), expert password needed",
            _clish,
        ),
        Scenario(
            "backup-space-short",
            "only 600 MB free in /var/log on the last MDS",
            _backup_space_short,
        ),
        Scenario(
            "name-login-refused",
            "a read/write API login to a domain by its name is refused; by its UID it works",
            _name_login_refused,
        ),
        Scenario(
            "upgrade-fails",
            "the CPUSE upgrade of the last MDS fails; it comes back on the source version",
            _upgrade_fails,
        ),
        Scenario(
            "snapshot-space-short",
            "only 5 GB of space for Gaia snapshots on the last MDS",
            _snapshot_space_short,
        ),
        Scenario(
            "slow",
            "realistic durations and a slow command prompt",
            _none,
            time_scale=1.0,
            command_latency=0.3,
            api_latency=1.0,
            api_init_after_boot=120.0,
        ),
    )
}


def _pick(value: float | None, default: float) -> float:
    return default if value is None else value


def api_costs(opts: LabOptions, scen: Scenario) -> ApiCosts:
    """The Management API's costs: ``opts`` where set, else the scenario's."""
    return ApiCosts(
        latency=_pick(opts.api_latency, scen.api_latency),
        init_after_boot=_pick(opts.api_init_after_boot, scen.api_init_after_boot),
        rate_limit=_pick(opts.api_rate_limit, scen.api_rate_limit),
        max_sessions=opts.max_sessions,
    )


def api_arguments(opts: LabOptions) -> list[str]:
    """The ``lab serve`` arguments that carry ``opts``' Management API settings."""
    args: list[str] = []
    for flag, value in (
        ("--api-latency", opts.api_latency),
        ("--api-init-after-boot", opts.api_init_after_boot),
        ("--api-rate-limit", opts.api_rate_limit),
    ):
        if value is not None:
            args += [flag, repr(value)]
    if opts.max_sessions != SESSION_LIMIT:
        args += ["--api-max-sessions", str(opts.max_sessions)]
    return args


def create(opts: LabOptions | None = None) -> Deployment:
    """Build a deployment for ``opts.scenario`` with its filesystem and users."""
    opts = opts or LabOptions()
    try:
        scen = SCENARIOS[opts.scenario]
    except KeyError:
        raise ValueError(
            f"unknown scenario {opts.scenario!r}; choose one of {', '.join(SCENARIOS)}"
        ) from None
    profile(opts.target)
    scale = opts.time_scale if opts.time_scale is not None else scen.time_scale
    timings = Timings(command_latency=scen.command_latency)
    clock = Clock(scale, manual=opts.manual_clock)
    spec = twin.load(opts.like) if opts.like else None
    if spec is not None:
        dep = twin.build(spec, clock, timings, columns=opts.columns)
    else:
        dep = build(
            clock,
            mds=opts.mds,
            mlm=opts.mlm,
            domains=opts.domains,
            version=profile(opts.source, opts.columns),
            timings=timings,
            columns=opts.columns,
        )
    dep.target = opts.target
    dep.double_echo = opts.double_echo
    dep.api = ApiMeter(api_costs(opts, scen))
    pkg = upgrade_package_path(opts.target)
    shells = {s.name: s.login_shell for s in spec.servers} if spec else {}
    for s in dep.servers:
        s.users["admin"] = User("admin", shells.get(s.name, "bash"))
        system.install(s, upload_files=[pkg])
    dep.upgrade_hooks.append(_after_upgrade)
    scen.apply(dep, opts)
    twin_of = f"twin of {spec.source}, " if spec else ""
    dep.log(
        f"lab built: {twin_of}scenario {scen.name}, {len(dep.mdss)} MDS, "
        f"{len(dep.servers) - len(dep.mdss)} MLM, {len(dep.user_domains)} domains, "
        f"time scale {scale}"
    )
    c = dep.api.costs
    if c.enabled:
        dep.log(
            f"Management API costs: login {c.latency:g} s, {c.init_after_boot:g} s "
            f"initializing after a reboot, rate limit {c.rate_limit:g}/s (0: none), "
            f"{c.max_sessions} read/write sessions"
        )
    return dep


def _after_upgrade(s: SimServer) -> None:
    s.jumbo = None
    system.install(s)


def fix(dep: Deployment, server: str | None = None) -> list[str]:
    """Clear injected faults (start faults, verifier findings, a full backup directory, short
    snapshot space, a failing upgrade); returns what was fixed."""
    fixed: list[str] = []
    with dep.lock:
        for s in dep.servers:
            if server and s.name != server:
                continue
            for d in s.locals:
                if d.start_fault:
                    d.start_fault = False
                    fixed.append(f"{s.name}: {d.name} can start again")
            if s.findings:
                fixed.append(f"{s.name}: {len(s.findings)} verifier finding(s) resolved")
                s.findings.clear()
            if any(m.path == BACKUP_DIR for m in s.vfs.mounts):
                s.vfs.mounts = [m for m in s.vfs.mounts if m.path != BACKUP_DIR]
                fixed.append(f"{s.name}: {BACKUP_DIR} has room again")
            if s.upgrade_fails:
                s.upgrade_fails = False
                fixed.append(f"{s.name}: the next upgrade can succeed")
            if s.snapshot_space < SNAPSHOT_SPACE:
                s.snapshot_space = SNAPSHOT_SPACE
                fixed.append(f"{s.name}: room for Gaia snapshots again")
    return fixed
