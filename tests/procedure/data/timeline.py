"""Cases of ``mdstools.procedure.timeline``: which runs count, spans, decisions (08)."""

from __future__ import annotations

from typing import Any

from mdstools import audit
from mdstools.procedure import timeline
from mdstools.run import Run
from tests.procedure.harness import Case


def start(
    run_id: str, phase: str, ts: str = "2026-11-26T14:00:00+00:00", dry: bool = False
) -> dict[str, Any]:
    """The start of run ``run_id`` of ``phase``, as the journal has it."""
    return {
        "ts": ts,
        "run_id": run_id,
        "phase": phase,
        "kind": "phase",
        "event": "start",
        "dry_run": dry,
    }


def end(
    run_id: str, phase: str, ts: str = "2026-11-26T14:05:00+00:00", dry: bool = False
) -> dict[str, Any]:
    """The end of run ``run_id`` of ``phase``, as the journal has it."""
    return {
        "ts": ts,
        "run_id": run_id,
        "phase": phase,
        "kind": "phase",
        "event": "end",
        "dry_run": dry,
    }


def recorded(**runs: str) -> dict[str, Any]:
    """``state.json`` naming the run on record for each phase (``p02="r1"``)."""
    return {"phases": {k[1:]: {"run_id": v} for k, v in runs.items()}}


COUNTED: list[tuple[str, list[dict[str, Any]], dict[str, Any], str | None, dict[str, str]]] = [
    (
        "a run that ended",
        [start("r1", "02"), end("r1", "02")],
        recorded(p02="r1"),
        None,
        {"02": "r1"},
    ),
    (
        "a dry run does not count",
        [start("r1", "02", dry=True), end("r1", "02", dry=True)],
        recorded(p02="r1"),
        None,
        {},
    ),
    (
        "a run left half way does not count",
        [start("r1", "03"), end("r1", "03"), start("r2", "03")],
        recorded(p03="r1"),
        None,
        {"03": "r1"},
    ),
    (
        "the run on record, not a later one",
        [start("r1", "03"), end("r1", "03"), start("r2", "03"), end("r2", "03")],
        recorded(p03="r1"),
        None,
        {"03": "r1"},
    ),
    (
        "without a record the last run that ended",
        [start("r1", "03"), end("r1", "03"), start("r2", "03"), end("r2", "03")],
        {},
        None,
        {"03": "r2"},
    ),
    (
        "the current run counts before it ends",
        [start("r1", "07"), end("r1", "07"), start("r9", "08")],
        recorded(p07="r1"),
        "r9",
        {"07": "r1", "08": "r9"},
    ),
]
"""(case, journal events, state.json, the current run, phase -> the run that counts)."""

UPGRADES: list[dict[str, Any]] = [
    start("r1", "04", "2026-11-26T14:00:00+00:00"),
    {
        "ts": "2026-11-26T14:01:00+00:00",
        "run_id": "r1",
        "phase": "04",
        "kind": "step",
        "event": "upgrade-start",
        "server": "mds2",
    },
    {
        "ts": "2026-11-26T14:02:00+00:00",
        "run_id": "r1",
        "phase": "04",
        "kind": "decision",
        "name": "confirm",
        "value": True,
        "operator": "ann",
        "how": "widget",
    },
    {
        "ts": "2026-11-26T14:11:00+00:00",
        "run_id": "r1",
        "phase": "04",
        "kind": "step",
        "event": "upgrade-end",
        "server": "mds2",
    },
    end("r1", "04", "2026-11-26T14:12:00+00:00"),
    start("r0", "04", "2026-11-26T13:00:00+00:00", dry=True),
    {
        "ts": "2026-11-26T13:01:00+00:00",
        "run_id": "r0",
        "phase": "04",
        "kind": "decision",
        "name": "confirm",
        "value": False,
        "operator": "ann",
        "how": "parameter",
    },
]


def _decisions(run: Run) -> list[dict[str, Any]]:
    run.journal.write("phase", event="start", dry_run=False)
    run.decided(run.confirm("switch and back up"))
    return [
        {k: v for k, v in d.items() if k != "time"}
        for d in timeline.decisions(run.report_dir, current=run.run_id)
    ]


def _damaged_state(run: Run) -> list[dict[str, Any]]:
    (run.report_dir / audit.STATE).write_text("{not json")
    return _decisions(run)


def _empty(run: Run) -> tuple[str, list[dict[str, Any]]]:
    return timeline.svg(run.report_dir), timeline.downtime(run.report_dir)


CONFIRMED = [
    {
        "label": "D1",
        "phase": "02",
        "decision": "confirm",
        "value": "confirmed",
        "by": "proc-tester",
        "how": "runbook parameter",
    }
]

CASES = [
    Case(
        "the decision of the current run, labelled D1",
        _decisions,
        params={"confirm": True},
        result=CONFIRMED,
    ),
    Case(
        "a damaged state.json: the journal still gives the decisions",
        _damaged_state,
        params={"confirm": True},
        result=CONFIRMED,
    ),
    Case(
        "an empty journal draws no timeline",
        _empty,
        result=("<p>No events in the journal yet.</p>", []),
    ),
]
