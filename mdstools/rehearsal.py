"""The rehearsal's client side: its folder, the discovery on the real deployment, and its
summary (``mdstools rehearse``; the twin itself is started by the command line,
``mdstools/cli/rehearse.py``, the one place where client and lab meet).

The only thing a rehearsal sends to the real servers is phase 00: the commands of its
steps (``procedure.steps.PHASE_STEPS["00"]``: ``fw ver``, ``mdsstat``, ``show-domains``,
``show-ha-state``, a read-only Management API session for ``show-ha-status``) are all
reads; :func:`check_read_only` refuses to start when one of them is not. Phase 00 takes no
lock and starts no job, so nothing changes on the real servers.

The folder, ``reports/<T>-rehearsal/``::

    rehearsal.txt, rehearsal.json     the summary
    discovery/<T>-rehearsal/          phase 00 on the real deployment (its record: baseline.json)
    twin/<T>-rehearsal/               the whole campaign on the twin (its record)

The real ticket's folder ``reports/<T>/`` is never written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mdstools import audit, fsio
from mdstools.errors import MdstoolsError, shown
from mdstools.escape import terminal_text
from mdstools.secrets import redact

SUFFIX = "-rehearsal"
SUMMARY_JSON = "rehearsal.json"
SUMMARY_TEXT = "rehearsal.txt"
DISCOVERY = "discovery"
TWIN = "twin"


def rehearsal_ticket(ticket: str) -> str:
    """The rehearsal's ticket id, ``<ticket>-rehearsal``; MdstoolsError (exit 2) when that is
    not a valid ticket id (``audit.validate_ticket``: at most 64 characters)."""
    audit.validate_ticket(ticket)
    name = ticket + SUFFIX
    try:
        return audit.validate_ticket(name)
    except MdstoolsError as exc:
        raise MdstoolsError(
            f"the rehearsal's ticket id {shown(name)} is not valid: {exc.message}",
            f"use a ticket id of at most {64 - len(SUFFIX)} characters, so that "
            f"'<ticket>{SUFFIX}' stays a ticket id",
        ) from exc


@dataclass(frozen=True)
class Layout:
    """Where a rehearsal writes: its folder under the reports folder, and its two records."""

    reports: Path
    ticket: str

    @property
    def name(self) -> str:
        """The rehearsal's ticket id, which names its folder and both records."""
        return self.ticket + SUFFIX

    @property
    def folder(self) -> Path:
        """``reports/<T>-rehearsal``."""
        return self.reports / self.name

    @property
    def discovery_reports(self) -> Path:
        """The reports folder of the discovery on the real deployment."""
        return self.folder / DISCOVERY

    @property
    def twin_reports(self) -> Path:
        """The reports folder of the campaign on the twin."""
        return self.folder / TWIN

    @property
    def baseline(self) -> Path:
        """The real deployment's baseline that the twin is made from."""
        return self.discovery_reports / self.name / "baseline.json"


def check_new(layout: Layout) -> None:
    """The rehearsal's folder does not hold an earlier rehearsal (each rehearsal runs on a
    twin of its own, so its records start empty) and can be created; MdstoolsError (exit 2)
    otherwise."""
    folder = layout.folder
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        held = (
            f"a rehearsal of ticket {shown(layout.ticket)}"
            if (folder / SUMMARY_JSON).exists() or (folder / "discovery").is_dir()
            else "files that are not a rehearsal (the record of a ticket of that name?)"
        )
        raise MdstoolsError(
            f"{folder} already holds {held}",
            "move that folder away (or delete it) to rehearse again",
        )
    parent = folder
    while not parent.is_dir() and parent != parent.parent:
        parent = parent.parent
    fsio.check_writable(parent)


def check_read_only(inv: Any) -> None:
    """Every command phase 00 sends to ``inv``'s servers is a read; MdstoolsError naming the
    first that would change a server (then the rehearsal does not start)."""
    from mdstools.procedure.steps import PHASE_STEPS

    for step in PHASE_STEPS["00"]:
        cmd = step.shown(inv)
        if cmd.mutating:
            raise MdstoolsError(
                f"phase 00 would change a server ({cmd.line}); a rehearsal sends only reads "
                "to the real deployment",
                "this is a defect of mdstools: report it; do not rehearse with this build",
            )


def discover(
    inv: Any, layout: Layout, operator: str, params: dict[str, Any], *, html: bool = True
) -> Any:
    """Phase 00 headless on the real deployment into the rehearsal's discovery record;
    its ``runbook.Outcome``. Reads only (:func:`check_read_only`), no lock."""
    from mdstools import runbook
    from mdstools.phases import phase

    check_read_only(inv)
    ph = phase("00")
    return runbook.execute(
        ph,
        inv,
        ticket=layout.name,
        operator=operator,
        params=runbook.params_for(ph, params),
        dry_run=False,
        reports=layout.discovery_reports,
        html=html,
    )


def _failed_gate_events(record: Path, run_id: str) -> list[dict[str, Any]]:
    try:
        events = audit.read_journal(record / audit.JOURNAL)
    except (OSError, ValueError):
        return []
    return [
        e
        for e in events
        if e.get("kind") == "gate" and e.get("run_id") == run_id and not e.get("passed", True)
    ]


def failed_gates(record: Path, run_id: str) -> list[str]:
    """The gates that failed in run ``run_id`` of the record ``record``, one line each:
    ``FAIL name (requirement): reason``."""
    return [
        f"{e.get('label', 'FAIL')} {e.get('name', '')} ({e.get('requirement', '')}): "
        f"{e.get('reason', '')}"
        for e in _failed_gate_events(record, run_id)
    ]


def unreachable(outcome: Any, record: Path) -> bool:
    """The discovery did not reach the real servers: its kernel stopped on a connection
    error, or phase 00's gate that every server answered (``discover.reachable``) failed."""
    from mdstools.phases import phase

    if outcome.unreachable:
        return True
    gate = next(g for g in phase("00").gates if g.check == "discover.reachable")
    return any(e.get("name") == gate.text for e in _failed_gate_events(record, outcome.run_id))


def window_estimate(inv: Any, baseline: dict[str, Any] | None) -> dict[str, Any]:
    """The change-window estimate of the real deployment (:func:`mdstools.estimate.estimate`
    of the real inventory and the discovery's baseline; the inventory alone when the
    discovery wrote none): the total, each phase's expected seconds and what dominates
    them, the critical path, and the estimate's text."""
    from mdstools import estimate

    try:
        est = estimate.estimate(inv, baseline)
    except ValueError:
        est = estimate.estimate(inv, None)
    return {
        "total_s": est.total_s,
        "headline": est.headline(),
        "phases": {p.phase: {"seconds": p.seconds, "dominates": p.dominates} for p in est.phases},
        "critical_path": est.critical_path,
        "lines": est.lines(),
    }


@dataclass(kw_only=True)
class Summary:
    """What a rehearsal found: the discovery, each phase on the twin, what stopped it."""

    ticket: str
    name: str
    environment: str
    folder: Path
    scenario: str
    verdict: str = "not run"  # passed | stopped | unreachable | aborted | not run (no twin)
    discovery: dict[str, Any] = field(default_factory=dict)
    twin: dict[str, Any] = field(default_factory=dict)
    phases: list[dict[str, Any]] = field(default_factory=list)
    stopped: dict[str, Any] | None = None
    estimate: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add_outcome(self, outcome: Any, record: Path) -> None:
        """One phase's outcome on the twin; the first that did not pass is what stopped it."""
        self.phases.append(outcome_entry(outcome))
        if outcome.verdict not in ("passed", "aborted") and self.stopped is None:
            self.stopped = stop_entry(outcome, record)

    def to_json(self) -> dict[str, Any]:
        """The summary as ``rehearsal.json`` holds it."""
        return {
            "ticket": self.ticket,
            "rehearsal": self.name,
            "environment": self.environment,
            "scenario": self.scenario,
            "verdict": self.verdict,
            "folder": str(self.folder),
            "discovery": self.discovery,
            "twin": self.twin,
            "phases": self.phases,
            "stopped": self.stopped,
            "estimate": self.estimate,
            "notes": self.notes,
        }


def verdict_of(outcomes: list[Any], phases: int) -> str:
    """The rehearsal's verdict from its phases' outcomes: ``passed`` when all ``phases``
    passed, ``aborted`` when a signal ended one, else ``stopped``."""
    if any(o.verdict == "aborted" for o in outcomes):
        return "aborted"
    if len(outcomes) == phases and all(o.verdict == "passed" for o in outcomes):
        return "passed"
    return "stopped"


def outcome_entry(outcome: Any) -> dict[str, Any]:
    """One phase's line of the summary."""
    return {
        "phase": outcome.phase.id,
        "slug": outcome.phase.slug,
        "title": outcome.phase.title,
        "verdict": outcome.verdict,
        "cause": outcome.cause,
        "notebook": outcome.notebook.name,
    }


def stop_entry(outcome: Any, record: Path) -> dict[str, Any]:
    """What stopped a campaign at ``outcome``: the phase, the cause line the campaign's
    summary prints, the gates that failed."""
    return {
        "phase": outcome.phase.id,
        "title": outcome.phase.title,
        "verdict": outcome.verdict,
        "cause": outcome.cause or f"a check failed (see {outcome.notebook.name})",
        "gates": failed_gates(record, outcome.run_id),
        "notebook": str(outcome.notebook),
    }


_VERDICT_LINE = {
    "passed": "PASSED: the whole campaign passed on the twin",
    "stopped": "STOPPED: the campaign would have stopped",
    "unreachable": "NOT RUN: the real servers could not be reached",
    "aborted": "ABORTED",
    "not run": "NOT RUN: the campaign did not run on a twin (see the notes)",
}


def render(summary: Summary) -> str:
    """The summary as text (``rehearsal.txt``; also what the command prints): every value
    from a server or an operator escaped for a terminal line."""
    t = terminal_text
    out = [
        f"rehearsal of {t(summary.ticket)} ({t(summary.environment)}): "
        + _VERDICT_LINE.get(summary.verdict, summary.verdict.upper())
    ]
    disc = summary.discovery
    if disc:
        out.append(
            "discovery on the real deployment (phase 00, reads only): "
            + str(disc.get("verdict", "")).upper()
            + (f", cause: {t(disc['cause'])}" if disc.get("cause") else "")
            + f"; record {t(disc.get('record', ''))}"
        )
    if summary.twin:
        out.append(
            f"twin: {t(summary.twin.get('environment', ''))}, scenario {t(summary.scenario)}; "
            f"record {t(summary.twin.get('record', ''))}"
        )
    out += _phase_lines(summary) + _stopped_lines(summary)
    out += ["change-window estimate (real deployment):"]
    out += [f"  {t(line)}" for line in summary.estimate.get("lines", [])]
    if summary.notes:
        out += ["notes:"] + [f"  - {t(n)}" for n in summary.notes]
    return "\n".join(out) + "\n"


def _phase_lines(summary: Summary) -> list[str]:
    if not summary.phases:
        return []
    rows = ["phases on the twin:"]
    for p in summary.phases:
        cause = f"  cause: {terminal_text(p['cause'])}" if p["cause"] else ""
        rows.append(f"  {p['phase']} {p['slug']:28} {p['verdict'].upper():16}{cause}".rstrip())
    return rows


def _stopped_lines(summary: Summary) -> list[str]:
    stop = summary.stopped
    if stop is None:
        return []
    t = terminal_text
    out = [
        "what would have stopped the real campaign:",
        f"  phase {stop['phase']} ({t(stop['title'])}): {t(stop['cause'])}",
    ]
    out += [f"  {t(g)}" for g in stop["gates"]]
    return [*out, f"  notebook: {t(stop['notebook'])}"]


def write(summary: Summary) -> tuple[Path, Path]:
    """``rehearsal.json`` and ``rehearsal.txt`` written whole into the rehearsal's folder,
    every secret value known to this process redacted; their paths."""
    fsio.ensure_dir(summary.folder)
    as_json = summary.folder / SUMMARY_JSON
    as_text = summary.folder / SUMMARY_TEXT
    fsio.atomic_write_text(as_json, redact(json.dumps(summary.to_json(), indent=2)) + "\n")
    fsio.atomic_write_text(as_text, redact(render(summary)))
    return as_json, as_text
