"""``mdstools status`` and ``mdstools plan``: look at a deployment, change nothing."""

from __future__ import annotations

import argparse
import sys

from mdstools.cli.inputs import load_inventory
from mdstools.errors import ExitCode, MdstoolsError
from mdstools.escape import terminal_text


def cmd_status(args: argparse.Namespace) -> int:
    """Live health snapshot: versions, process status of every DMS/DLS, HA state per domain."""
    from mdstools import inventory, status
    from mdstools.fleet import Fleet

    try:
        inv = inventory.load(args.inventory)
    except MdstoolsError as exc:
        print(f"mdstools status: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    with Fleet(inv) as fleet:
        try:
            snap = status.collect(fleet, cross_check=args.cross_check)
        except MdstoolsError as exc:
            print(f"mdstools status: {exc}", file=sys.stderr)
            return ExitCode.FAILED
    print(
        status.render_json(snap, pretty=sys.stdout.isatty())
        if args.format == "json"
        else status.render_table(snap)
    )
    for s in snap.unreachable:
        print(f"mdstools status: {terminal_text(s.error)}", file=sys.stderr)
    return snap.exit_code()


def cmd_plan(args: argparse.Namespace) -> int:
    """The whole campaign as it would run: phases, gates, decisions, commands; nothing runs."""
    from mdstools import plan

    inv = load_inventory(args.inventory, "plan")
    if inv is None:
        return ExitCode.USAGE
    print(plan.render(inv))
    return ExitCode.OK
