"""``mdstools rehearse``: phase 00 on the real deployment, a twin of it in the lab, the
whole campaign on the twin, the twin taken down, a summary.

The one place where a rehearsal's client side (``mdstools/rehearsal.py``) meets the lab: it
starts the twin the way ``mdstools lab up --like`` does (``cli/lab.py``) and stops it with
the lab's ``runtime.down``; the campaign runs through the code of ``mdstools campaign``
(``cli/runs.py``) on the inventory the lab writes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from mdstools.cli.exits import error_code
from mdstools.cli.inputs import load_inventory, login_name, reports_folder
from mdstools.cli.runs import campaign_params, campaign_summary, locked_campaign
from mdstools.errors import ExitCode, MdstoolsError, shown
from mdstools.escape import terminal_text
from mdstools.phases import CAMPAIGN_LAST, MAX_TIME_SCALE
from mdstools.secrets import redact

COMMAND = "rehearse"


def cmd_rehearse(args: argparse.Namespace) -> int:
    """Rehearse the whole campaign on a twin of the real deployment before the window.

    Phase 00 (reads only) on the real servers into reports/<ticket>-rehearsal/discovery/,
    a lab twin of that baseline on 127.0.0.1 (a fault scenario on top with --scenario),
    the campaign 00..08 headless on the twin with the same -p parameters and --confirm,
    the twin taken down (also on failure, Ctrl-C or SIGTERM; --keep-twin leaves it up),
    then a summary (rehearsal.txt, rehearsal.json). Nothing changes on the real servers.
    Exit 0 the campaign passed on the twin, 1 it stopped (the summary says where and why),
    2 bad input, 4 the real servers could not be reached.
    """
    from mdstools import rehearsal

    args.from_phase, args.to_phase = "00", CAMPAIGN_LAST
    params = campaign_params(args, COMMAND)
    if params is None:
        return ExitCode.USAGE
    problem = _twin_problem(args)
    if problem:
        print(f"mdstools {COMMAND}: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        rehearsal.rehearsal_ticket(args.ticket)
        layout = rehearsal.Layout(reports_folder(args), args.ticket)
        rehearsal.check_new(layout)
    except (MdstoolsError, OSError) as exc:
        return error_code(COMMAND, exc)
    from mdstools.phases import CAMPAIGN

    inv = load_inventory(args.inventory, COMMAND, [p.id for p in CAMPAIGN])
    if inv is None:
        return ExitCode.USAGE
    from mdstools import runbook  # papermill: loaded once the inputs hold

    summary = rehearsal.Summary(
        ticket=args.ticket,
        name=layout.name,
        environment=inv.environment,
        folder=layout.folder,
        scenario=args.scenario,
    )
    with runbook.abort_on_signals():
        try:
            rc = _rehearse(args, inv, params, layout, summary)
        except runbook.Aborted as exc:
            summary.verdict = "aborted"
            summary.notes.append(f"aborted by {exc} between two steps of the rehearsal")
            rc = error_code(COMMAND, exc)
    return _finish(summary, rc)


def _twin_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with ``--scenario`` or ``--time-scale``, if anything."""
    from mdstools.lab.scenarios import SCENARIOS

    if args.scenario not in SCENARIOS:
        return f"unknown scenario {shown(args.scenario)}; choose one of: {', '.join(SCENARIOS)}"
    scale = args.time_scale
    if scale is not None and not (math.isfinite(scale) and 0 < scale <= MAX_TIME_SCALE):
        return f"--time-scale must be a number above 0 and at most {MAX_TIME_SCALE:g}"
    return None


def _rehearse(
    args: argparse.Namespace, inv: Any, params: dict[str, Any], layout: Any, summary: Any
) -> int:
    """The discovery on the real deployment, then the campaign on its twin; the exit code."""
    from mdstools import rehearsal

    operator = args.operator or login_name()
    print(
        f"rehearse: phase 00 (reads only) on the real deployment {inv.environment}",
        file=sys.stderr,
    )
    found = rehearsal.discover(inv, layout, operator, params)
    summary.discovery = {
        "verdict": found.verdict,
        "cause": found.cause,
        "record": str(layout.discovery_reports / layout.name),
    }
    baseline = _read_baseline(layout.baseline)
    summary.estimate = rehearsal.window_estimate(inv, baseline)
    if rehearsal.unreachable(found, layout.discovery_reports / layout.name):
        summary.verdict = "unreachable"
        summary.stopped = rehearsal.stop_entry(found, layout.discovery_reports / layout.name)
        return ExitCode.UNREACHABLE
    if found.verdict != "passed" or baseline is None:
        summary.verdict = "aborted" if found.verdict == "aborted" else "stopped"
        summary.add_outcome(found, layout.discovery_reports / layout.name)
        return ExitCode.FAILED
    _compare_method(inv, summary)
    lab_dir = Path(tempfile.mkdtemp(prefix="mdstools-twin-"))
    try:
        return _on_twin(args, inv, params, layout, summary, lab_dir, operator)
    finally:
        _twin_down(lab_dir, args.keep_twin, summary)


def _read_baseline(path: Path) -> dict[str, Any] | None:
    """The discovery's baseline, or None when it wrote none."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _compare_method(inv: Any, summary: Any) -> None:
    """A note when the twin cannot upgrade the way the real inventory says."""
    if inv.upgrade_method != "cpuse":
        summary.notes.append(
            f"the real inventory upgrades with {inv.upgrade_method}; the twin's inventory, "
            "written by the lab, with cpuse"
        )


def _twin_arguments(inv: Any, baseline: Path, lab_dir: Path, args: argparse.Namespace) -> list[str]:
    """``mdstools lab up --like`` for the twin (the real target release when the lab has it)."""
    from mdstools.lab.versions import VERSIONS

    argv = ["lab", "up", "--like", str(baseline), "--dir", str(lab_dir)]
    argv += ["--scenario", args.scenario]
    if inv.target_version in VERSIONS:
        argv += ["--target", inv.target_version]
    if args.time_scale is not None:
        argv += ["--time-scale", repr(args.time_scale)]
    if not args.keep_twin:
        argv += ["--owner-pid", str(os.getpid())]
    return argv


def _twin_up(inv: Any, layout: Any, lab_dir: Path, args: argparse.Namespace) -> str | None:
    """The twin started as ``mdstools lab up --like`` starts it (its lines on stderr); None,
    or the lab's last line when it could not start."""
    from mdstools.cli.parser import build_parser

    lab_args = build_parser().parse_args(_twin_arguments(inv, layout.baseline, lab_dir, args))
    said = io.StringIO()
    with contextlib.redirect_stdout(sys.stderr), contextlib.redirect_stderr(said):
        rc: int = lab_args.func(lab_args)
    sys.stderr.write(said.getvalue())
    if rc == ExitCode.OK:
        return None
    lines = [line for line in said.getvalue().splitlines() if line.strip()]
    return lines[0] if lines else f"lab up ended with exit {rc}"


def _on_twin(
    args: argparse.Namespace,
    inv: Any,
    params: dict[str, Any],
    layout: Any,
    summary: Any,
    lab_dir: Path,
    operator: str,
) -> int:
    """The twin up, the whole campaign on it through ``mdstools campaign``'s code; the exit
    code (0 passed, 1 stopped)."""
    from mdstools import inventory, rehearsal
    from mdstools.phases import CAMPAIGN

    print(f"rehearse: starting the twin in {lab_dir}", file=sys.stderr)
    refused = _twin_up(inv, layout, lab_dir, args)
    if refused is not None:
        summary.verdict = "not run"
        summary.notes.append(f"the twin could not be started: {refused}")
        return ExitCode.FAILED
    twin_inv = inventory.load(lab_dir / "inventory.yml")
    record = layout.twin_reports / layout.name
    summary.twin = {"environment": twin_inv.environment, "record": str(record)}
    code, outcomes = locked_campaign(
        list(CAMPAIGN),
        twin_inv,
        params,
        reports=layout.twin_reports,
        ticket=layout.name,
        operator=operator,
        command=COMMAND,
    )
    if code != ExitCode.OK:
        summary.verdict = "not run"
        summary.notes.append("the campaign on the twin could not start (the message is above)")
        return ExitCode.FAILED
    campaign_summary(outcomes, twin_inv.environment, layout.name, layout.twin_reports)
    for outcome in outcomes:
        summary.add_outcome(outcome, record)
    summary.verdict = rehearsal.verdict_of(outcomes, len(CAMPAIGN))
    return ExitCode.OK if summary.verdict == "passed" else ExitCode.FAILED


def _twin_down(lab_dir: Path, keep: bool, summary: Any) -> None:
    """The twin stopped and its private directory removed, unless ``keep``: then how to
    reach and stop it is printed and noted."""
    from mdstools.lab import runtime

    if keep and runtime.read_state(lab_dir) is not None:
        summary.twin["kept"] = str(lab_dir)
        summary.notes.append(
            f"the twin is still running: inventory {lab_dir / 'inventory.yml'}; "
            f"stop it with: mdstools lab down --dir {lab_dir}"
        )
        return
    if runtime.read_state(lab_dir) is None and any(lab_dir.iterdir()):
        _wait_for_state(lab_dir)
    runtime.down(lab_dir)
    shutil.rmtree(lab_dir, ignore_errors=True)


def _wait_for_state(lab_dir: Path, seconds: float = 5.0) -> None:
    """A twin interrupted while it started writes its state a moment later: wait for it
    (at most ``seconds``), so that ``runtime.down`` finds the process to stop."""
    import time

    from mdstools.lab import runtime

    deadline = time.monotonic() + seconds
    while runtime.read_state(lab_dir) is None and time.monotonic() < deadline:
        time.sleep(0.1)


def _finish(summary: Any, rc: int) -> int:
    """The summary written into the rehearsal's folder and printed; the exit code."""
    from mdstools import rehearsal

    try:
        paths = rehearsal.write(summary)
    except OSError as exc:
        return error_code(COMMAND, exc)
    print()
    print(redact(rehearsal.render(summary)), end="")
    print(f"summary: {terminal_text(paths[1])} and {paths[0].name}")
    return rc
