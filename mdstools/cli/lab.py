"""``mdstools lab ...``: start, stop and steer the embedded lab.

A launcher of the lab: it imports only the lab's ``runtime``, ``scenarios`` and ``versions``."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

from mdstools.errors import ExitCode, shown
from mdstools.escape import terminal_text
from mdstools.phases import MAX_TIME_SCALE


def _columns(values: list[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for v in values:
        ver, sep, cols = v.partition("=")
        names = tuple(c.strip().upper() for c in cols.split(",") if c.strip())
        if (
            not sep
            or not re.fullmatch(r"R\d{2}(\.\d{1,2})?", ver)
            or not names
            or not all(re.fullmatch(r"[A-Z0-9_]{1,12}", n) for n in names)
        ):
            raise argparse.ArgumentTypeError(
                f"--columns {shown(v)}: use RELEASE=COL,COL,... (names of letters and digits) "
                "e.g. R81.20=FWM,FWMHA,FWD,CPD,CPCA"
            )
        out[ver] = names
    return out


SHAPE_DEFAULTS = {"mds": 2, "mlm": 1, "domains": 5, "source": "R81.10"}
"""``lab up``'s shape when not given (and not a twin: ``--like`` takes them from its file)."""
DEFAULT_TARGET = "R81.20"


def _shape(args: argparse.Namespace, name: str) -> Any:
    value = getattr(args, name, None)
    return SHAPE_DEFAULTS[name] if value is None else value


def lab_options(args: argparse.Namespace) -> Any:
    """The ``LabOptions`` of ``lab up``/``lab serve``'s arguments (the lab imported only now)."""
    from mdstools.lab.scenarios import LabOptions, api_options

    return LabOptions(
        scenario=args.scenario,
        mds=_shape(args, "mds"),
        mlm=_shape(args, "mlm"),
        domains=_shape(args, "domains"),
        time_scale=args.time_scale,
        source=_shape(args, "source"),
        target=args.target or DEFAULT_TARGET,
        columns=_columns(args.columns),
        double_echo=args.double_echo,
        like=args.like,
        owner_pid=getattr(args, "owner_pid", None),
        **api_options(args),
    )


def _twin_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with ``--like`` and the options beside it, if anything; without
    ``--target``, the file's ``target_version`` becomes it."""
    from mdstools.lab.scenarios import TwinDocumentError, load_twin

    given = [f"--{n}" for n in SHAPE_DEFAULTS if getattr(args, n, None) is not None]
    if given:
        return (
            f"--like takes the servers, domains and versions from its file: leave out "
            f"{', '.join(given)}"
        )
    try:
        spec = load_twin(args.like)
    except TwinDocumentError as exc:
        return terminal_text(str(exc))
    if args.target is None and spec.target is not None:
        args.target = spec.target
    return None


def _validate_lab_options(args: argparse.Namespace) -> str | None:
    from mdstools.lab.scenarios import SCENARIOS, api_problem
    from mdstools.lab.versions import VERSIONS

    if args.scenario not in SCENARIOS:
        return f"unknown scenario {args.scenario!r}; choose one of: {', '.join(SCENARIOS)}"
    if getattr(args, "like", None) is not None:
        problem = _twin_problem(args)
        if problem:
            return problem
    elif not 1 <= _shape(args, "mds") <= 4:
        return "--mds must be between 1 and 4"
    elif not 0 <= _shape(args, "mlm") <= 4:
        return "--mlm must be between 0 and 4"
    elif not 1 <= _shape(args, "domains") <= 500:
        return "--domains must be between 1 and 500"
    for v in (_shape(args, "source"), args.target or DEFAULT_TARGET):
        if v not in VERSIONS:
            return f"unknown release {v!r}; the lab knows {', '.join(VERSIONS)}"
    if args.time_scale is not None and not (
        math.isfinite(args.time_scale) and 0 < args.time_scale <= MAX_TIME_SCALE
    ):
        return (
            f"--time-scale must be a number above 0 and at most {MAX_TIME_SCALE:g} "
            "(0.01 = 100 times faster than real)"
        )
    try:
        _columns(args.columns)
    except argparse.ArgumentTypeError as exc:
        return str(exc)
    owner = getattr(args, "owner_pid", None)
    if owner is not None and not 0 < owner < 2**31:
        return "--owner-pid must be the id of a running process"
    return api_problem(args)


def cmd_lab_up(args: argparse.Namespace) -> int:
    """Start the embedded lab in the background and print how to reach it."""
    from mdstools.lab import runtime

    problem = _validate_lab_options(args)
    if problem:
        print(f"mdstools lab up: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    lab_dir = Path(args.dir).resolve()
    try:
        state = runtime.up(lab_dir, lab_options(args))
    except runtime.LabRequestError as exc:
        print(f"mdstools lab up: {terminal_text(str(exc))}", file=sys.stderr)
        return ExitCode.USAGE
    except runtime.LabRuntimeError as exc:
        print(f"mdstools lab up: {exc}", file=sys.stderr)
        return ExitCode.FAILED
    target = args.target or DEFAULT_TARGET
    twin = f"twin of {terminal_text(args.like)} (target {target}), " if args.like else ""
    print(f"lab up: {twin}scenario {args.scenario}, pid {state['pid']}, directory {lab_dir}")
    for name, port in state["ports"].items():
        print(f"  {name:6} 127.0.0.1:{port}")
    first = next(iter(state["ports"].values()))
    print(f"inventory: {lab_dir / 'inventory.yml'}")
    print("connect by hand:")
    print(
        f"  ssh -i {lab_dir / 'id_ed25519'} -o UserKnownHostsFile={lab_dir / 'known_hosts'} "
        f"-p {first} admin@127.0.0.1 'source /etc/profile.d/CP.sh; mdsstat'"
    )
    print(f"stop it with: mdstools lab down --dir {args.dir}")
    return ExitCode.OK


def cmd_lab_serve(args: argparse.Namespace) -> int:
    """Run the lab in the foreground until Ctrl-C."""
    from mdstools.lab import runtime

    problem = _validate_lab_options(args)
    if problem:
        print(f"mdstools lab serve: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    runtime.serve(Path(args.dir).resolve(), lab_options(args))
    return ExitCode.OK


def cmd_lab_down(args: argparse.Namespace) -> int:
    """Stop the lab running from --dir."""
    from mdstools.lab import runtime

    if runtime.down(Path(args.dir)):
        print(f"lab down ({args.dir})")
    else:
        print(f"no lab was running from {args.dir}")
    return ExitCode.OK


def _control(args: argparse.Namespace, request: dict[str, Any]) -> tuple[int, Any]:
    from mdstools.lab import runtime

    try:
        return ExitCode.OK, runtime.control(Path(args.dir).resolve(), request)
    except (runtime.LabRequestError, runtime.LabNotRunning) as exc:
        print(f"mdstools lab {args.lab_command}: {exc}", file=sys.stderr)
        return ExitCode.USAGE, None
    except runtime.LabRuntimeError as exc:
        print(f"mdstools lab {args.lab_command}: {exc}", file=sys.stderr)
        return ExitCode.FAILED, None


def cmd_lab_status(args: argparse.Namespace) -> int:
    """Show the lab's servers, versions and each domain's HA state."""
    rc, result = _control(args, {"action": "status"})
    if rc:
        return rc
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return ExitCode.OK
    print(f"{'server':8} {'kind':4} {'role':10} {'version':8} {'port':6} state")
    for s in result["servers"]:
        state = "upgrading" if s["upgrading"] else s["state"]
        if not s["online"]:
            state = "offline"
        print(f"{s['name']:8} {s['kind']:4} {s['role']:10} {s['version']:8} {s['port']:<6} {state}")
    print()
    for d in result["domains"]:
        cells = ", ".join(
            f"{srv}: {v.get('ha', '')}/{v['sync']}/{v['state']}" for srv, v in d["servers"].items()
        )
        print(f"{d['name']:10} {cells}")
    if "api" in result:
        from mdstools.lab.scenarios import api_status_line

        print(f"\n{api_status_line(result['api'])}")
    return ExitCode.OK


def cmd_lab_change(args: argparse.Namespace) -> int:
    """Play an administrator who publishes a change on one DMS (to provoke a Collision)."""
    rc, result = _control(
        args,
        {
            "action": "change",
            "domain": args.domain,
            "on": args.on,
            "admin": args.admin,
            "object": args.object,
        },
    )
    if rc:
        return rc
    print(
        terminal_text(
            f"{result['admin']} published {', '.join(result['changes'])} on {args.domain} "
            f"at {result['server']} (session {result['session']})"
        )
    )
    return ExitCode.OK


def cmd_lab_fix(args: argparse.Namespace) -> int:
    """Clear the scenario's faults: a DMS that would not start, verifier findings."""
    rc, result = _control(args, {"action": "fix", "server": args.server})
    if rc:
        return rc
    print("\n".join(result) if result else "nothing to fix")
    return ExitCode.OK


def cmd_lab_reboot(args: argparse.Namespace) -> int:
    """Reboot one simulated server (its SSH connections drop, its port refuses a while)."""
    rc, result = _control(args, {"action": "reboot", "server": args.server})
    if not rc:
        print(result)
    return rc


def cmd_lab_drop(args: argparse.Namespace) -> int:
    """Drop a server's SSH connections and refuse its port for --seconds (lab seconds)."""
    rc, result = _control(args, {"action": "drop", "server": args.server, "seconds": args.seconds})
    if not rc:
        print(result)
    return rc


def cmd_lab_events(args: argparse.Namespace) -> int:
    """The lab's recent events: starts, stops, upgrades, reboots, changes, collisions."""
    rc, result = _control(args, {"action": "events", "last": args.last})
    if not rc:
        print("\n".join(terminal_text(line) for line in result))
    return rc
