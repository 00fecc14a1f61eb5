"""``mdstools run`` and ``mdstools campaign``: runbooks executed headless into the
ticket's record, under the environment's lock."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mdstools.cli.exits import error_code
from mdstools.cli.inputs import (
    check_params,
    check_report,
    check_ticket,
    load_inventory,
    login_name,
    parse_params,
    reports_folder,
)
from mdstools.errors import ExitCode, MdstoolsError, RecordDamaged, RecordWriteError, shown
from mdstools.escape import terminal_text


def _run_phase_params(args: argparse.Namespace) -> tuple[Any, dict[str, Any]] | None:
    """``run``'s phase and checked parameters, or None when the phase, the parameters or the
    ticket id are refused (the message is printed)."""
    from mdstools.phases import phase

    try:
        ph = phase(args.phase)
        params = parse_params(args.param)
    except KeyError:
        print(
            f"mdstools run: unknown phase {shown(args.phase)}; use 00..09 (09: the back-out) "
            "or a name such as upgrade_primary",
            file=sys.stderr,
        )
        return None
    except ValueError as exc:
        print(f"mdstools run: {exc}", file=sys.stderr)
        return None
    checked = check_params(params, [ph], "run", args.operator)
    if checked is None or not check_ticket("run", args.ticket):
        return None
    return ph, checked


def cmd_run(args: argparse.Namespace) -> int:
    """Execute one runbook headless with papermill into reports/<ticket>/.

    Refuses (exit 2) a ticket id that is not a plain folder name, and a ticket whose
    record does not verify; the record is sealed at the end (with any run journaled
    since the last seal).
    """
    chosen = _run_phase_params(args)
    if chosen is None:
        return ExitCode.USAGE
    ph, params = chosen
    inv = load_inventory(args.inventory, "run", [ph.id])
    if inv is None:
        return ExitCode.USAGE
    reports = reports_folder(args)
    operator = args.operator or login_name()
    try:
        check_report(reports, args.ticket)
    except (MdstoolsError, OSError) as exc:
        return error_code("run", exc)
    from mdstools import runbook  # papermill: loaded for a run that goes ahead, before the lock

    with runbook.abort_on_signals():
        try:
            return _run_locked(args, ph, inv, params, reports, operator)
        except runbook.Aborted as exc:
            return _aborted("run", exc)


def _aborted(command: str, exc: Exception) -> int:
    """A signal that came outside a runbook's execution (before it, between two phases):
    one line; the lock was released on the way out, the record holds what had ended."""
    print(
        f"mdstools {command}: aborted by {exc} outside a phase; the phases that ran are in "
        "the record, the lock is released; run again (campaign: --resume) to go on",
        file=sys.stderr,
    )
    return error_code(command, exc)


def _run_locked(
    args: argparse.Namespace,
    ph: Any,
    inv: Any,
    params: dict[str, Any],
    reports: Path,
    operator: str,
) -> int:
    """``cmd_run`` once its inputs hold: the lock, the runbook, the lock released."""
    from mdstools import lock, runbook

    held: lock.Lock | None = None
    if ph.mutating and not args.dry_run:
        code, held = _take_lock(inv, args.ticket, ph.id, operator, args.break_lock, "run")
        if held is None:
            return code
    try:
        outcome = runbook.execute(
            ph,
            inv,
            ticket=args.ticket,
            operator=operator,
            params=params,
            dry_run=args.dry_run,
            reports=reports,
            lock_token=held.token if held else None,
            break_lock=args.break_lock and held is not None,
            lock_broken=held.broken if held else None,
        )
    except (RecordDamaged, RecordWriteError) as exc:
        return error_code("run", exc)
    finally:
        if held is not None:
            held.release()
    if outcome.verdict == "locked":
        print(f"mdstools run: {outcome.cause}", file=sys.stderr)
    return outcome.exit_code


def _take_lock(
    inv: Any, ticket: str, phase_id: str, operator: str, break_stale: bool, command: str
) -> tuple[int, Any]:
    """(exit code, the host-wide lock) -- the lock is None when it was refused: the message
    is printed, the exit code says why (3 held, 2 the lock directory is unusable)."""
    from mdstools import lock

    try:
        held = lock.acquire(inv.environment, ticket, phase_id, operator, break_stale=break_stale)
    except (lock.LockHeld, lock.LockDirError) as exc:
        return error_code(command, exc), None
    if held.broken is not None:
        print(
            f"mdstools {command}: broke the stale lock {held.path} of {lock.describe(held.broken)}",
            file=sys.stderr,
        )
    return ExitCode.OK, held


def campaign_params(args: argparse.Namespace, command: str = "campaign") -> dict[str, Any] | None:
    """The campaign's checked parameters (``--confirm`` included), or None when the phases,
    the parameters or the ticket id are refused (the message, under ``command``'s name, is
    printed)."""
    from mdstools.phases import between

    try:
        params = parse_params(args.param)
        span = between(args.from_phase, args.to_phase)
    except ValueError as exc:
        print(f"mdstools {command}: {exc}", file=sys.stderr)
        return None
    except KeyError as exc:
        print(f"mdstools {command}: unknown phase {exc}; use 00..09", file=sys.stderr)
        return None
    if not span:
        print(
            f"mdstools {command}: --from {shown(args.from_phase)} comes after "
            f"--to {shown(args.to_phase)}; use --from 00 --to 08 or a part of it in order",
            file=sys.stderr,
        )
        return None
    checked = check_params(params, span, command, args.operator)
    if checked is None:
        return None
    if args.confirm:
        checked.setdefault("confirm", True)
    if not check_ticket(command, args.ticket):
        return None
    return checked


def _campaign_phases(args: argparse.Namespace, reports: Path) -> list[Any] | int:
    """The phases still to run for this ticket, or the exit code when they cannot be
    chosen or the record does not take them (the message is printed)."""
    from mdstools import runbook

    try:
        phases = runbook.next_phases(
            reports / args.ticket, args.from_phase, args.to_phase, args.resume
        )
        check_report(reports, args.ticket)
    except KeyError as exc:
        print(f"mdstools campaign: unknown phase {exc}; use 00..09", file=sys.stderr)
        return ExitCode.USAGE
    except (MdstoolsError, OSError) as exc:
        return error_code("campaign", exc)
    return phases


def cmd_campaign(args: argparse.Namespace) -> int:
    """Run the phases in order and stop at the first failure (--resume: after the last pass).

    Exit 2 when --from comes after --to, for an invalid ticket id, or when the ticket's
    record (state.json, journal, manifest, notebooks) does not verify.
    """

    params = campaign_params(args)
    if params is None:
        return ExitCode.USAGE
    reports = reports_folder(args)
    from mdstools import runbook  # papermill: loaded once the arguments hold, before the lock

    phases = _campaign_phases(args, reports)
    if isinstance(phases, int):
        return phases
    inv = load_inventory(args.inventory, "campaign", [ph.id for ph in phases])
    if inv is None:
        return ExitCode.USAGE
    if not phases:
        print(
            f"mdstools campaign: every phase from {args.from_phase} to {args.to_phase} has "
            f"passed for ticket {args.ticket}; nothing to resume",
            file=sys.stderr,
        )
        return ExitCode.OK
    operator = args.operator or login_name()
    with runbook.abort_on_signals():
        try:
            return _campaign_locked(args, phases, inv, params, reports, operator)
        except runbook.Aborted as exc:
            return _aborted("campaign", exc)


def _campaign_locked(
    args: argparse.Namespace,
    phases: list[Any],
    inv: Any,
    params: dict[str, Any],
    reports: Path,
    operator: str,
) -> int:
    """``cmd_campaign`` once its inputs hold: the lock, the phases, the lock released."""
    code, outcomes = locked_campaign(
        phases,
        inv,
        params,
        reports=reports,
        ticket=args.ticket,
        operator=operator,
        dry_run=args.dry_run,
        break_lock=args.break_lock,
    )
    if code != ExitCode.OK:
        return code
    return campaign_summary(outcomes, inv.environment, args.ticket, reports)


def locked_campaign(
    phases: list[Any],
    inv: Any,
    params: dict[str, Any],
    *,
    reports: Path,
    ticket: str,
    operator: str,
    dry_run: bool = False,
    break_lock: bool = False,
    command: str = "campaign",
) -> tuple[int, list[Any]]:
    """The phases run in order under the environment's host-wide lock (none for a dry run),
    the lock released at the end: (0, the outcomes), or (the exit code, no outcomes) when
    the lock was refused or the record could not be written (the message is printed)."""
    from mdstools import lock, runbook

    held: lock.Lock | None = None
    if not dry_run:
        code, held = _take_lock(inv, ticket, phases[0].id, operator, break_lock, command)
        if held is None:
            return code, []
    try:
        outcomes = runbook.campaign(
            phases,
            inv,
            ticket,
            operator,
            params,
            dry_run,
            reports,
            held,
            break_lock=break_lock,
        )
    except (RecordDamaged, RecordWriteError) as exc:
        return error_code(command, exc), []
    finally:
        if held is not None:
            held.release()
    return ExitCode.OK, outcomes


def campaign_summary(outcomes: list[Any], environment: str, ticket: str, reports: Path) -> int:
    """Print each phase's verdict and where the report is; the campaign's exit code (the
    first failure's, with what to do next on stderr)."""
    print(f"\ncampaign {ticket} ({environment}):")
    for o in outcomes:
        print(
            f"  {o.phase.id} {o.phase.slug:28} {o.verdict.upper():16} {o.notebook.name}"
            + (f"  cause: {terminal_text(o.cause)}" if o.cause else "")
        )
    print(f"report: {reports / ticket}")
    failed = [o for o in outcomes if o.exit_code != ExitCode.OK]
    if failed and failed[0].unreachable:
        print(
            f"mdstools campaign: stopped at phase {failed[0].phase.id}: {failed[0].cause}",
            file=sys.stderr,
        )
        return ExitCode.UNREACHABLE
    if failed:
        why = failed[0].cause or f"a check failed (see {failed[0].notebook.name})"
        then = (
            "then run again with --resume"
            if failed[0].verdict == "locked"
            else "fix it, then run again with --resume"
        )
        print(
            f"mdstools campaign: stopped at phase {failed[0].phase.id}: {terminal_text(why)}; "
            f"{then}",
            file=sys.stderr,
        )
        return int(failed[0].exit_code)
    return ExitCode.OK
