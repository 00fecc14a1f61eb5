"""``mdstools status`` and ``mdstools plan``: look at a deployment, change nothing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mdstools.cli.inputs import check_ticket, load_inventory, reports_folder
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


def _deployment(args: argparse.Namespace) -> tuple[dict[str, Any] | None, str]:
    """The document the estimate counts the domains of: ``--baseline``, else the ticket's
    baseline when it exists, else none; and how the estimate names it."""
    from mdstools import estimate

    if args.baseline:
        return estimate.read_document(Path(args.baseline).expanduser()), args.baseline
    if args.ticket:
        found = estimate.baseline_of(reports_folder(args), args.ticket)
        if found is not None:
            return found, f"the baseline of {args.ticket}"
    return None, ""


def cmd_plan(args: argparse.Namespace) -> int:
    """The whole campaign as it would run: phases, gates, decisions, commands; nothing runs.
    Last, the change window's estimate (per phase, total, critical path)."""
    from mdstools import plan

    inv = load_inventory(args.inventory, "plan")
    if inv is None or (args.ticket and not check_ticket("plan", args.ticket)):
        return ExitCode.USAGE
    try:
        document, origin = _deployment(args)
    except MdstoolsError as exc:
        print(f"mdstools plan: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    print(plan.render(inv, document, origin or "the document"))
    return ExitCode.OK
