"""``mdstools verify``, ``seal`` and ``bundle``: the ticket's record checked, completed
and zipped."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mdstools.cli.exits import error_code
from mdstools.cli.inputs import login_name
from mdstools.errors import ExitCode, MdstoolsError


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
                "operator": args.operator or login_name(),
                "toolkit": version,
            },
        )
    except (MdstoolsError, OSError) as exc:
        return error_code("seal", exc)
    for u in result.unsealed:
        print(f"sealed: {u.describe()}")
    print(f"OK: {result.runs + 1} runs sealed; head {entry['hash']}")
    return ExitCode.OK


def _seal_notebooks(report: Path, args: argparse.Namespace) -> int:
    """``mdstools seal REPORT NOTEBOOK...``: every notebook checked first, then sealed."""
    from mdstools import audit, notebook_record

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
                operator=args.operator or login_name(),
            )
            for path in paths
        ]
    except (MdstoolsError, OSError) as exc:
        return error_code("seal", exc)
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
