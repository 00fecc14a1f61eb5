"""The ``mdstools`` command line.

Exit codes: 0 done, 1 a gate or a step failed (or the record could not be written: disk
full), 2 bad input (inventory, parameters, ticket id, usage, a record that does not verify,
a reports folder that cannot be written, a lock directory that cannot be used), 3 another
run holds the lock of the environment (on this host or on the primary MDS), 4 could not
connect. A message on stderr always says what to do next.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mdstools import __version__
from mdstools.errors import ExitCode, shown
from mdstools.escape import terminal_text
from mdstools.phases import MAX_TIME_SCALE

DEFAULT_LAB_DIR = Path("lab-data")


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


def _lab_options(args: argparse.Namespace) -> Any:
    from mdstools.lab.scenarios import LabOptions

    return LabOptions(
        scenario=args.scenario,
        mds=args.mds,
        mlm=args.mlm,
        domains=args.domains,
        time_scale=args.time_scale,
        source=args.source,
        target=args.target,
        columns=_columns(args.columns),
        double_echo=args.double_echo,
    )


def _validate_lab_options(args: argparse.Namespace) -> str | None:
    from mdstools.lab.scenarios import SCENARIOS
    from mdstools.lab.versions import VERSIONS

    if args.scenario not in SCENARIOS:
        return f"unknown scenario {args.scenario!r}; choose one of: {', '.join(SCENARIOS)}"
    if not 1 <= args.mds <= 4:
        return "--mds must be between 1 and 4"
    if not 0 <= args.mlm <= 4:
        return "--mlm must be between 0 and 4"
    if not 1 <= args.domains <= 500:
        return "--domains must be between 1 and 500"
    for v in (args.source, args.target):
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
    return None


def cmd_lab_up(args: argparse.Namespace) -> int:
    """Start the embedded lab in the background and print how to reach it."""
    from mdstools.lab import runtime

    problem = _validate_lab_options(args)
    if problem:
        print(f"mdstools lab up: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    lab_dir = Path(args.dir).resolve()
    try:
        state = runtime.up(lab_dir, _lab_options(args))
    except runtime.LabRuntimeError as exc:
        print(f"mdstools lab up: {exc}", file=sys.stderr)
        return ExitCode.FAILED
    print(f"lab up: scenario {args.scenario}, pid {state['pid']}, directory {lab_dir}")
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
    runtime.serve(Path(args.dir).resolve(), _lab_options(args))
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


def cmd_status(args: argparse.Namespace) -> int:
    """Live health snapshot: versions, process status of every DMS/DLS, HA state per domain."""
    from mdstools import inventory, status
    from mdstools.errors import MdstoolsError
    from mdstools.fleet import Fleet

    try:
        inv = inventory.load(args.inventory)
    except MdstoolsError as exc:
        print(f"mdstools status: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    with Fleet(inv) as fleet:
        try:
            snap = status.collect(fleet)
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


def parse_params(values: list[str]) -> dict[str, Any]:
    """``-p KEY=VALUE`` pairs; true/false/numbers/JSON lists are typed, the rest are strings.

    Raises ValueError (naming the pair) for a pair without ``=`` or a name given twice.
    """
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"-p {shown(item)}: use KEY=VALUE, e.g. -p confirm=true")
        if key in out:
            raise ValueError(f"-p {shown(key)} is given twice; give each parameter once")
        low = raw.strip().lower()
        if low in ("true", "yes", "on"):
            value: Any = True
        elif low in ("false", "no", "off"):
            value = False
        else:
            try:
                value = json.loads(raw)
            except (ValueError, RecursionError):
                value = raw
        out[key] = value
    return out


def check_params(
    params: dict[str, Any], phases: list[Any], command: str, operator: str = ""
) -> dict[str, Any] | None:
    """``params`` (and ``--operator``) checked against the parameter table for ``phases``
    (None after printing the error: the caller exits 2)."""
    from mdstools.errors import ParameterError
    from mdstools.phases import BY_NAME
    from mdstools.phases import check_params as check

    try:
        if operator:
            BY_NAME["operator"].validate(operator)
        return check(params, phases)
    except ParameterError as exc:
        print(f"mdstools {command}: {exc}", file=sys.stderr)
        return None


def _load_inventory(path: str, command: str) -> Any:
    from mdstools import inventory
    from mdstools.errors import MdstoolsError

    try:
        return inventory.load(path)
    except MdstoolsError as exc:
        print(f"mdstools {command}: {exc}", file=sys.stderr)
        return None


def _reports(args: argparse.Namespace) -> Path:
    return Path(args.reports).expanduser().resolve()


def _error_code(command: str, exc: Exception, where: Path | None = None) -> int:
    """One line on stderr for an expected failure; its exit code: the error's own
    (``MdstoolsError.exit_code``), and 2 for a plain ``MdstoolsError``, which here refused
    the command's input (a ticket id, a report folder). ``where`` names the file of an
    OSError that does not say which. The one place the command line turns an error into
    an exit code."""
    from mdstools.errors import MdstoolsError, RecordWriteError

    if isinstance(exc, OSError):
        exc = RecordWriteError(str(exc.filename or where or "the reports folder"), exc)
    print(f"mdstools {command}: {exc}", file=sys.stderr)
    if not isinstance(exc, MdstoolsError) or type(exc) is MdstoolsError:
        return ExitCode.USAGE
    return exc.exit_code


def _check_ticket(command: str, ticket: str) -> bool:
    from mdstools import audit
    from mdstools.errors import MdstoolsError

    try:
        audit.validate_ticket(ticket)
    except MdstoolsError as exc:
        print(f"mdstools {command}: {exc}", file=sys.stderr)
        return False
    return True


def _check_report(reports: Path, ticket: str) -> None:
    """The reports folder (or the folder it will be created in) takes new files and the
    ticket's record verifies; nothing is created here, so a refused run leaves no trace."""
    from mdstools import audit, fsio

    folder = reports / ticket
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    fsio.check_writable(folder)
    audit.check_before_write(reports / ticket)


def _run_phase_params(args: argparse.Namespace) -> tuple[Any, dict[str, Any]] | None:
    """``run``'s phase and checked parameters, or None when the phase, the parameters or the
    ticket id are refused (the message is printed)."""
    from mdstools.phases import phase

    try:
        ph = phase(args.phase)
        params = parse_params(args.param)
    except KeyError:
        print(
            f"mdstools run: unknown phase {shown(args.phase)}; use 00..08 or a name such as "
            "upgrade_primary",
            file=sys.stderr,
        )
        return None
    except ValueError as exc:
        print(f"mdstools run: {exc}", file=sys.stderr)
        return None
    checked = check_params(params, [ph], "run", args.operator)
    if checked is None or not _check_ticket("run", args.ticket):
        return None
    return ph, checked


def cmd_run(args: argparse.Namespace) -> int:
    """Execute one runbook headless with papermill into reports/<ticket>/.

    Refuses (exit 2) a ticket id that is not a plain folder name, and a ticket whose
    record does not verify; the record is sealed at the end (with any run journaled
    since the last seal).
    """
    from mdstools import lock
    from mdstools.errors import MdstoolsError, RecordDamaged, RecordWriteError

    chosen = _run_phase_params(args)
    if chosen is None:
        return ExitCode.USAGE
    ph, params = chosen
    inv = _load_inventory(args.inventory, "run")
    if inv is None:
        return ExitCode.USAGE
    reports = _reports(args)
    operator = args.operator or _user()
    held: lock.Lock | None = None
    try:
        _check_report(reports, args.ticket)
    except (MdstoolsError, OSError) as exc:
        return _error_code("run", exc)
    from mdstools import runbook  # papermill: loaded for a run that goes ahead, before the lock

    if ph.mutating and not args.dry_run:
        code, held = _take_lock(inv, args.ticket, ph.id, operator, args.break_lock, "run")
        if held is None:
            return code
    try:
        outcome = runbook.execute(
            ph,
            inv,
            args.ticket,
            operator,
            params,
            args.dry_run,
            reports,
            held.token if held else None,
            break_lock=args.break_lock and held is not None,
            lock_broken=held.broken if held else None,
        )
    except (RecordDamaged, RecordWriteError) as exc:
        return _error_code("run", exc)
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
        return _error_code(command, exc), None
    if held.broken is not None:
        print(
            f"mdstools {command}: broke the stale lock {held.path} of {lock.describe(held.broken)}",
            file=sys.stderr,
        )
    return ExitCode.OK, held


def _user() -> str:
    import getpass

    return getpass.getuser()


def _campaign_params(args: argparse.Namespace) -> dict[str, Any] | None:
    """The campaign's checked parameters (``--confirm`` included), or None when the phases,
    the parameters or the ticket id are refused (the message is printed)."""
    from mdstools.phases import between

    try:
        params = parse_params(args.param)
        span = between(args.from_phase, args.to_phase)
    except ValueError as exc:
        print(f"mdstools campaign: {exc}", file=sys.stderr)
        return None
    except KeyError as exc:
        print(f"mdstools campaign: unknown phase {exc}; use 00..08", file=sys.stderr)
        return None
    if not span:
        print(
            f"mdstools campaign: --from {shown(args.from_phase)} comes after "
            f"--to {shown(args.to_phase)}; use --from 00 --to 08 or a part of it in order",
            file=sys.stderr,
        )
        return None
    checked = check_params(params, span, "campaign", args.operator)
    if checked is None:
        return None
    if args.confirm:
        checked.setdefault("confirm", True)
    if not _check_ticket("campaign", args.ticket):
        return None
    return checked


def _campaign_phases(args: argparse.Namespace, reports: Path) -> list[Any] | int:
    """The phases still to run for this ticket, or the exit code when they cannot be
    chosen or the record does not take them (the message is printed)."""
    from mdstools import runbook
    from mdstools.errors import MdstoolsError

    try:
        phases = runbook.next_phases(
            reports / args.ticket, args.from_phase, args.to_phase, args.resume
        )
        _check_report(reports, args.ticket)
    except KeyError as exc:
        print(f"mdstools campaign: unknown phase {exc}; use 00..08", file=sys.stderr)
        return ExitCode.USAGE
    except (MdstoolsError, OSError) as exc:
        return _error_code("campaign", exc)
    return phases


def cmd_campaign(args: argparse.Namespace) -> int:
    """Run the phases in order and stop at the first failure (--resume: after the last pass).

    Exit 2 when --from comes after --to, for an invalid ticket id, or when the ticket's
    record (state.json, journal, manifest, notebooks) does not verify.
    """
    from mdstools import lock
    from mdstools.errors import RecordDamaged, RecordWriteError

    params = _campaign_params(args)
    if params is None:
        return ExitCode.USAGE
    reports = _reports(args)
    from mdstools import runbook  # papermill: loaded once the arguments hold, before the lock

    phases = _campaign_phases(args, reports)
    if isinstance(phases, int):
        return phases
    inv = _load_inventory(args.inventory, "campaign")
    if inv is None:
        return ExitCode.USAGE
    if not phases:
        print(
            f"mdstools campaign: every phase from {args.from_phase} to {args.to_phase} has "
            f"passed for ticket {args.ticket}; nothing to resume",
            file=sys.stderr,
        )
        return ExitCode.OK
    operator = args.operator or _user()
    held: lock.Lock | None = None
    if not args.dry_run:
        code, held = _take_lock(
            inv, args.ticket, phases[0].id, operator, args.break_lock, "campaign"
        )
        if held is None:
            return code
    try:
        outcomes = runbook.campaign(
            phases,
            inv,
            args.ticket,
            operator,
            params,
            args.dry_run,
            reports,
            held,
            break_lock=args.break_lock,
        )
    except (RecordDamaged, RecordWriteError) as exc:
        return _error_code("campaign", exc)
    finally:
        if held is not None:
            held.release()
    return _campaign_summary(outcomes, inv.environment, args.ticket, reports)


def _campaign_summary(outcomes: list[Any], environment: str, ticket: str, reports: Path) -> int:
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


def cmd_plan(args: argparse.Namespace) -> int:
    """The whole campaign as it would run: phases, gates, decisions, commands; nothing runs."""
    from mdstools import plan

    inv = _load_inventory(args.inventory, "plan")
    if inv is None:
        return ExitCode.USAGE
    print(plan.render(inv))
    return ExitCode.OK


def _not_a_report(command: str, report: str) -> int:
    print(
        f"mdstools {command}: not a report: {report} has no manifest.json/journal.jsonl "
        "(give the folder reports/<ticket> of a run)",
        file=sys.stderr,
    )
    return ExitCode.USAGE


def _unsealed_lines(result: Any, report: str) -> list[str]:
    return [
        f"NOT SEALED YET: {u.describe()}; `mdstools seal {report} NOTEBOOK` seals it with "
        "its executed notebook (plain papermill's output file); the next headless run of "
        f"this ticket (mdstools run/campaign) or `mdstools seal {report}` seals it without"
        for u in result.unsealed
    ]


def cmd_verify(args: argparse.Namespace) -> int:
    """Check a ticket's report: every file's SHA-256, the hash chain of the manifest and
    the sealed part of the journal.

    Exit 0 when nothing differs from what was sealed: "OK: N runs sealed, every file
    matches; head H". A run journaled after the last seal (a notebook run in JupyterLab,
    or a headless run that could not write its seal) whose lines were only appended and
    whose files are journaled with their content is not a change: it is listed on its own
    line, "NOT SEALED YET: run R of phase NN (journal lines a..b)", and the exit code stays
    0. Exit 1 naming every file that changed, was cut or is missing; exit 2 for a folder
    that is not a report.
    """
    from mdstools import audit

    result = audit.verify(Path(args.report))
    if not result.is_report:
        return _not_a_report("verify", args.report)
    if result.ok:
        if result.runs and not result.unsealed:
            print(f"OK: {result.runs} runs sealed, every file matches; head {result.head}")
        else:
            print(
                f"OK: {result.runs} runs sealed, every other file and line is journaled by "
                f"the runs below; head {result.head or 'none'}"
            )
            for line in _unsealed_lines(result, args.report):
                print(line)
        return ExitCode.OK
    for p in result.problems:
        print(f"MISMATCH {p}", file=sys.stderr)
    print(
        f"mdstools verify: {len(result.problems)} problem(s) in {args.report}; the report "
        "was changed after it was sealed or journaled",
        file=sys.stderr,
    )
    return ExitCode.FAILED


def _refuse_seal(report: Path, result: Any, args: argparse.Namespace) -> None:
    """Why ``seal`` refuses a report that does not verify: each mismatch, a notebook given
    from inside the record, and that nothing was sealed."""
    for p in result.problems:
        print(f"MISMATCH {p}", file=sys.stderr)
    inside = [n for n in args.notebooks if report.resolve() in Path(n).resolve().parents]
    if inside:
        print(
            f"mdstools seal: {inside[0]} is inside the record: write papermill's output "
            "file outside reports/<ticket>/ (the seal puts the notebook there itself)",
            file=sys.stderr,
        )
    print(f"mdstools seal: {args.report} does not verify; nothing sealed", file=sys.stderr)


def cmd_seal(args: argparse.Namespace) -> int:
    """Seal runs into the record of a ticket, so that it verifies as a whole and can be
    bundled.

    With executed notebooks (plain papermill's output files, a scheduler's, or JupyterLab's
    working copies): each run is put into the record like a headless run's: NN_<phase>.ipynb
    (reruns .r2 ...) with the verdict from the journal on top, every secret masked, its HTML,
    a manifest entry. A run sealed before is left as it is; a run without a phase end in the
    journal (its kernel was killed) is sealed as incomplete. A notebook that holds no
    mdstools run, a run of another ticket, a run header that does not match the journal's
    phase, an inventory other than the run's, or a path that is no regular file is refused
    (exit 2) and nothing is sealed.
    Without notebooks: the runs journaled since the last seal. Refuses (exit 1) a report that
    does not verify, and (exit 2) a folder that is not a report. Nothing to seal is not an
    error.
    """
    import uuid

    from mdstools import __version__ as version
    from mdstools import audit
    from mdstools.errors import MdstoolsError

    report = Path(args.report)
    result = audit.verify(report)
    if not result.is_report:
        return _not_a_report("seal", args.report)
    if not result.ok:
        _refuse_seal(report, result, args)
        return ExitCode.FAILED
    if args.notebooks:
        return _seal_notebooks(report, args)
    if not result.unsealed:
        print(f"nothing to seal: {result.runs} runs sealed; head {result.head}")
        return ExitCode.OK
    try:
        entry = audit.seal(
            report,
            {
                "run_id": uuid.uuid4().hex[:12],
                "phase": "seal",
                "verdict": "sealed",
                "notebook": None,
                "operator": args.operator or _user(),
                "toolkit": version,
            },
        )
    except (MdstoolsError, OSError) as exc:
        return _error_code("seal", exc)
    for u in result.unsealed:
        print(f"sealed: {u.describe()}")
    print(f"OK: {result.runs + 1} runs sealed; head {entry['hash']}")
    return ExitCode.OK


def _seal_notebooks(report: Path, args: argparse.Namespace) -> int:
    """``mdstools seal REPORT NOTEBOOK...``: every notebook checked first, then sealed."""
    from mdstools import audit, notebook_record
    from mdstools.errors import MdstoolsError

    report = report.resolve()
    paths = [Path(n) for n in args.notebooks]
    inventory = Path(args.inventory) if args.inventory else None
    try:
        for path in paths:
            notebook_record.inspect(report, path, inventory)
        results = [
            notebook_record.seal_notebook(
                report,
                path,
                allow_incomplete=True,
                inventory=inventory,
                operator=args.operator or _user(),
            )
            for path in paths
        ]
    except (MdstoolsError, OSError) as exc:
        return _error_code("seal", exc)
    for path, done in zip(paths, results, strict=True):
        if done is None:  # pragma: no cover - allow_incomplete seals every run
            continue
        what = f"run {done.run_id} of phase {done.phase.id} ({done.verdict})"
        if done.already:
            print(f"already sealed: {what} -> {done.notebook or 'no notebook'} ({path})")
        else:
            print(f"sealed: {what} from {path} -> {report / (done.notebook or '')}")
    after = audit.verify(report)
    print(f"OK: {after.runs} runs sealed; head {after.head}")
    return ExitCode.OK


def cmd_bundle(args: argparse.Namespace) -> int:
    """One zip for the change ticket: notebooks, HTML, journal, manifest (verified first).

    Exit 1 for a report that does not verify or has runs not sealed yet (`mdstools seal`
    seals them), exit 2 for a folder that is not a report.
    """
    from mdstools import audit, report

    result = audit.verify(Path(args.report))
    if not result.is_report:
        return _not_a_report("bundle", args.report)
    if result.ok and result.unsealed:
        for line in _unsealed_lines(result, args.report):
            print(line, file=sys.stderr)
        print(
            f"mdstools bundle: {args.report} has runs not sealed yet; seal them first "
            f"(mdstools seal {args.report})",
            file=sys.stderr,
        )
        return ExitCode.FAILED
    try:
        target = report.bundle(Path(args.report), Path(args.output) if args.output else None)
    except (ValueError, OSError) as exc:
        print(f"mdstools bundle: {exc}", file=sys.stderr)
        return ExitCode.FAILED
    print(target)
    return ExitCode.OK


def _demo_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with ``demo``'s scenario, domains or time scale, if anything."""
    from mdstools.lab.scenarios import SCENARIOS

    if args.scenario not in SCENARIOS:
        return f"unknown scenario {shown(args.scenario)}; choose one of: {', '.join(SCENARIOS)}"
    if not 1 <= args.domains <= 500:
        return "--domains must be between 1 and 500"
    if not (math.isfinite(args.time_scale) and 0 < args.time_scale <= MAX_TIME_SCALE):
        return f"--time-scale must be a number above 0 and at most {MAX_TIME_SCALE:g}"
    return None


def _demo_campaign(lab_dir: Path, ticket: str, reports: Path) -> int:
    """The whole campaign on the running lab, its summary and the record verified; the exit
    code (the message of a failure is printed)."""
    from mdstools import audit, inventory, lock, runbook
    from mdstools.errors import MdstoolsError
    from mdstools.phases import PHASES

    try:
        inv = inventory.load(lab_dir / "inventory.yml")
        held = lock.acquire(inv.environment, ticket, "00", _user(), break_stale=True)
        try:
            outcomes = runbook.campaign(
                list(PHASES),
                inv,
                ticket,
                _user(),
                {"confirm": True},
                False,
                reports,
                held,
            )
        finally:
            held.release()
        rc = _campaign_summary(outcomes, inv.environment, ticket, reports)
        result = audit.verify(reports / ticket)
        print(
            f"verify: {'OK' if result.ok else 'FAILED'} ({result.runs} runs sealed, "
            f"head {(result.head or '')[:16]})"
        )
        if not result.ok:
            rc = ExitCode.FAILED
    except lock.LockDirError as exc:
        print(f"mdstools demo: {exc}", file=sys.stderr)
        rc = ExitCode.USAGE
    except MdstoolsError as exc:
        print(f"mdstools demo: {exc}", file=sys.stderr)
        rc = ExitCode.FAILED
    return rc


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole job on the embedded lab: lab up, the campaign 00..08 headless, verify, lab down.

    Prints where the report is. Takes about a minute once .venv exists.
    """
    import tempfile
    import time

    from mdstools.errors import MdstoolsError
    from mdstools.lab import runtime
    from mdstools.lab.scenarios import LabOptions

    problem = _demo_problem(args)
    if problem:
        print(f"mdstools demo: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    ticket = args.ticket or f"DEMO-{time.strftime('%Y%m%d-%H%M%S')}"
    if not _check_ticket("demo", ticket):
        return ExitCode.USAGE
    reports = Path(args.reports).resolve()
    try:
        _check_report(reports, ticket)
    except (MdstoolsError, OSError) as exc:
        return _error_code("demo", exc)
    from mdstools import runbook  # noqa: F401  papermill: loaded once the arguments hold

    lab_dir = Path(args.dir).resolve() if args.dir else Path(tempfile.mkdtemp(prefix="mdst-lab-"))
    print(
        f"demo: starting the lab (scenario {args.scenario}, {args.domains} domains) in {lab_dir}",
        file=sys.stderr,
    )
    try:
        runtime.up(
            lab_dir,
            LabOptions(scenario=args.scenario, domains=args.domains, time_scale=args.time_scale),
        )
    except runtime.LabRuntimeError as exc:
        print(f"mdstools demo: {exc}", file=sys.stderr)
        return ExitCode.FAILED
    started = time.monotonic()
    try:
        rc = _demo_campaign(lab_dir, ticket, reports)
    finally:
        runtime.down(lab_dir)
    outcome = "passed" if rc == ExitCode.OK else "FAILED"
    print(
        f"demo {outcome} in {time.monotonic() - started:.0f} s; "
        f"open {reports / ticket} (HTML next to each notebook); lab files in {lab_dir}"
    )
    return rc


def cmd_jupyter(args: argparse.Namespace) -> int:
    """JupyterLab on the ticket's working copies of the runbooks, bound to 127.0.0.1.

    The runbooks are copied once into <reports>/<ticket>/.work/ with this ticket's parameters
    (inventory, ticket, reports folder, the lab's time scale); the repository's runbooks/
    are never opened. A saved working copy whose run has ended is sealed into the record
    (notebook, HTML, manifest); Ctrl-C seals the ended runs not sealed yet. Without -i it
    starts the embedded lab in --lab-dir (or reuses the one running there) and stops it
    again on Ctrl-C; with -i, --ticket is needed. Prints the URL (with its token).
    """
    from mdstools import jupyter

    if args.ticket and not _check_ticket("jupyter", args.ticket):
        return ExitCode.USAGE
    return jupyter.serve(
        inventory=Path(args.inventory) if args.inventory else None,
        lab_dir=Path(args.lab_dir),
        scenario=args.scenario,
        port=args.port,
        ticket=args.ticket or None,
        open_browser=not args.no_browser,
        reports=Path(args.reports),
    )


def _add_lab_shape(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", default=str(DEFAULT_LAB_DIR), help="lab directory (default lab-data)")
    p.add_argument("--scenario", default="default", help="named scenario (see README)")
    p.add_argument("--mds", type=int, default=2, help="number of MDSs, 1..4 (default 2)")
    p.add_argument("--mlm", type=int, default=1, help="number of log servers, 0..4 (default 1)")
    p.add_argument("--domains", type=int, default=5, help="number of domains, 1..500 (default 5)")
    p.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="lab seconds per real second of the product (default: scenario's, 0.01)",
    )
    p.add_argument("--source", default="R81.10", help="release installed now (default R81.10)")
    p.add_argument("--target", default="R81.20", help="release to upgrade to (default R81.20)")
    p.add_argument(
        "--columns",
        action="append",
        default=[],
        metavar="RELEASE=COL,...",
        help="mdsstat process columns of a release, e.g. R81.20=FWM,FWMHA,FWD,CPD,CPCA",
    )
    p.add_argument(
        "--double-echo",
        action="store_true",
        help="echo interactive commands twice, as some Gaia builds do",
    )


def _add_status(sub: Any) -> None:
    p = sub.add_parser(
        "status",
        help="live health snapshot of the deployment",
        description=(cmd_status.__doc__ or "").strip(),
    )
    p.add_argument("-i", "--inventory", required=True, help="inventory YAML file")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_status)


def _run_options() -> argparse.ArgumentParser:
    """The options ``run`` and ``campaign`` share, as a parent parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-i", "--inventory", required=True, help="inventory YAML file")
    common.add_argument("--reports", default="reports", help="reports folder (default reports)")
    common.add_argument("--operator", default="", help="who runs it (default: login name)")
    common.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="runbook parameter, e.g. -p confirm=true",
    )
    common.add_argument("--dry-run", action="store_true", help="show what would change")
    common.add_argument(
        "--break-lock",
        action="store_true",
        help="break a STALE lock left by a dead run on this host, or the lock on the primary "
        "MDS left by a run from another host (journaled)",
    )
    return common


def _add_run(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "run",
        parents=[common],
        help="execute one runbook headless",
        description=(cmd_run.__doc__ or "").strip(),
    )
    p.add_argument("phase", help="00..08 or a name such as upgrade_primary")
    p.add_argument("--ticket", required=True, help="change ticket id (names reports/<ticket>)")
    p.set_defaults(func=cmd_run)


def _add_campaign(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "campaign",
        parents=[common],
        help="run the phases in order",
        description=(cmd_campaign.__doc__ or "").strip(),
    )
    p.add_argument("--ticket", required=True)
    p.add_argument("--from", dest="from_phase", default="00")
    p.add_argument("--to", dest="to_phase", default="08")
    p.add_argument(
        "--resume",
        action="store_true",
        help="start after the last phase that passed for this ticket",
    )
    p.add_argument(
        "--confirm",
        action="store_true",
        help="confirm every mutating step (headless change window)",
    )
    p.set_defaults(func=cmd_campaign)


def _add_plan(sub: Any) -> None:
    p = sub.add_parser(
        "plan",
        help="the campaign as it would run; nothing is executed",
        description=(cmd_plan.__doc__ or "").strip(),
    )
    p.add_argument("-i", "--inventory", required=True)
    p.set_defaults(func=cmd_plan)


def _add_verify(sub: Any) -> None:
    p = sub.add_parser(
        "verify",
        help="check a report's manifest and hash chain",
        description=(cmd_verify.__doc__ or "").strip(),
    )
    p.add_argument("report", help="reports/<ticket>")
    p.set_defaults(func=cmd_verify)


def _add_seal(sub: Any) -> None:
    p = sub.add_parser(
        "seal",
        help="seal runs journaled since the last seal (JupyterLab runs)",
        description=(cmd_seal.__doc__ or "").strip(),
    )
    p.add_argument("report", help="reports/<ticket>")
    p.add_argument(
        "notebooks",
        nargs="*",
        metavar="NOTEBOOK",
        help="executed notebooks of runs of this ticket (papermill's output files)",
    )
    p.add_argument(
        "-i",
        "--inventory",
        default=None,
        help="the runs' inventory, for masking its secrets (default: the one each run names)",
    )
    p.add_argument("--operator", default="", help="who seals it (default: login name)")
    p.set_defaults(func=cmd_seal)


def _add_bundle(sub: Any) -> None:
    p = sub.add_parser(
        "bundle", help="zip a ticket's report", description=(cmd_bundle.__doc__ or "").strip()
    )
    p.add_argument("report", help="reports/<ticket>")
    p.add_argument("-o", "--output", default=None, help="zip file (default next to the report)")
    p.set_defaults(func=cmd_bundle)


def _add_jupyter(sub: Any) -> None:
    p = sub.add_parser(
        "jupyter",
        help="JupyterLab on the runbooks (the lab unless -i)",
        description=(cmd_jupyter.__doc__ or "").strip(),
    )
    p.add_argument("-i", "--inventory", default=None, help="inventory YAML (default: the lab's)")
    p.add_argument(
        "--lab-dir", default=str(DEFAULT_LAB_DIR), help="lab directory (default lab-data)"
    )
    p.add_argument(
        "--scenario", default=None, help="lab scenario when it starts the lab (default default)"
    )
    p.add_argument("--port", type=int, default=8888, help="JupyterLab's port (default 8888)")
    p.add_argument(
        "--ticket", default="", help="change ticket (needed with -i; on the lab: LAB-<date>)"
    )
    p.add_argument("--reports", default="reports", help="reports folder (default reports)")
    p.add_argument(
        "--no-browser", action="store_true", help="only print the URL; do not open a browser"
    )
    p.set_defaults(func=cmd_jupyter)


def _add_demo(sub: Any) -> None:
    p = sub.add_parser(
        "demo", help="the embedded lab end to end", description=(cmd_demo.__doc__ or "").strip()
    )
    p.add_argument("--dir", default=None, help="lab directory (default: a new temp dir)")
    p.add_argument("--scenario", default="default")
    p.add_argument("--domains", type=int, default=5)
    p.add_argument(
        "--time-scale",
        type=float,
        default=0.005,
        help="lab time scale (default 0.005: a 25-minute upgrade takes 7.5 s)",
    )
    p.add_argument("--reports", default="reports", help="reports folder (default reports)")
    p.add_argument("--ticket", default="", help="ticket id (default DEMO-<timestamp>)")
    p.set_defaults(func=cmd_demo)


_LAB_CONTROL_COMMANDS: tuple[tuple[str, Callable[[argparse.Namespace], int], str], ...] = (
    ("down", cmd_lab_down, "stop the lab"),
    ("status", cmd_lab_status, "servers, versions, HA per domain"),
    ("change", cmd_lab_change, "an admin publishes a change on a DMS"),
    ("fix", cmd_lab_fix, "clear injected faults"),
    ("reboot", cmd_lab_reboot, "reboot one simulated server"),
    ("drop", cmd_lab_drop, "drop a server's connections for a while"),
    ("events", cmd_lab_events, "what the lab did lately"),
)


def _add_lab_control_options(p: argparse.ArgumentParser, name: str) -> None:
    """The options of one ``lab`` command after ``serve``, besides ``--dir``."""
    if name == "status":
        p.add_argument("--format", choices=("table", "json"), default="table")
    if name == "change":
        p.add_argument("--domain", required=True, help="domain name, e.g. dom1")
        p.add_argument("--on", required=True, help="server whose DMS gets the change")
        p.add_argument("--admin", default="lab-admin", help="who publishes")
        p.add_argument("--object", default=None, help="object name (default generated)")
    if name == "fix":
        p.add_argument("--server", default=None, help="only this server")
    if name in ("reboot", "drop"):
        p.add_argument("server", help="server name, e.g. mds2")
    if name == "drop":
        p.add_argument("--seconds", type=float, default=5.0)
    if name == "events":
        p.add_argument("--last", type=int, default=50)


def _add_lab(sub: Any) -> None:
    lab = sub.add_parser("lab", help="the embedded MDS HA lab (simulated servers over SSH)")
    labsub = lab.add_subparsers(dest="lab_command", required=True)
    p = labsub.add_parser("up", help="start the lab in the background")
    _add_lab_shape(p)
    p.set_defaults(func=cmd_lab_up)
    p = labsub.add_parser("serve", help="run the lab in the foreground")
    _add_lab_shape(p)
    p.set_defaults(func=cmd_lab_serve)
    for name, func, help_ in _LAB_CONTROL_COMMANDS:
        p = labsub.add_parser(name, help=help_, description=(func.__doc__ or "").strip())
        p.add_argument("--dir", default=str(DEFAULT_LAB_DIR), help="lab directory")
        p.set_defaults(func=func)
        _add_lab_control_options(p, name)


def build_parser() -> argparse.ArgumentParser:
    """The ``mdstools`` argument parser: one subcommand per command of the README's table."""
    parser = argparse.ArgumentParser(
        prog="mdstools",
        description="Check Point MDS High Availability upgrade runbooks, and their lab.",
    )
    parser.add_argument("--version", action="version", version=f"mdstools {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_status(sub)
    common = _run_options()
    _add_run(sub, common)
    _add_campaign(sub, common)
    _add_plan(sub)
    _add_verify(sub)
    _add_seal(sub)
    _add_bundle(sub)
    _add_jupyter(sub)
    _add_demo(sub)
    _add_lab(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mdstools`` console script."""
    from mdstools.errors import BadInput, RecordDamaged, RecordWriteError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and ExitCode.USAGE
    try:
        rc: int = args.func(args)
    except (BadInput, RecordDamaged, RecordWriteError) as exc:
        return _error_code(args.command, exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()
        return rc if "rc" in locals() else ExitCode.OK
    except OSError as exc:
        if exc.filename is None:
            raise
        return _error_code(args.command, exc)
    return rc
