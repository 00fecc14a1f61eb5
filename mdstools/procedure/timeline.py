"""The campaign timeline (phase 08 and the HTML report): which server was upgraded when, how
long each server's domains were down, and when each decision was made. Drawn as inline SVG
from the journal, so it needs no plotting library and reads the same in the HTML export.

Only the runs that count are phase time: for each phase, the run whose verdict
``state.json`` records (the one the later phases' gates read), or, when that is a dry run or
missing, the last run of the phase that ended. A run that started and never ended (a kernel
stopped, a notebook left half way), a run superseded by a later run of the same phase, and a
dry run (nothing was changed) are left out, and so are their decisions. The current run
(08 drawing its own timeline) counts. Upgrades are drawn from every run: a server that
rebooted was down, whichever run upgraded it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from mdstools import audit
from mdstools.errors import RecordDamaged
from mdstools.escape import html_text
from mdstools.words import decision_text, how_text

ROW = 26
LEFT = 150
WIDTH = 900


def _t(ts: str) -> float:
    return datetime.fromisoformat(ts).timestamp()


def counted_runs(
    events: list[dict[str, Any]], state: dict[str, Any], current: str | None = None
) -> dict[str, str]:
    """Phase id -> the id of the run that counts for it (see the module docstring)."""
    started: dict[str, str] = {}
    ended: list[str] = []
    dry: set[str] = set()
    for e in events:
        if e.get("kind") != "phase":
            continue
        run_id = str(e.get("run_id"))
        if e.get("event") == "start":
            started[run_id] = str(e.get("phase"))
            if e.get("dry_run"):
                dry.add(run_id)
        elif e.get("event") == "end":
            ended.append(run_id)
            if e.get("dry_run"):
                dry.add(run_id)
    out: dict[str, str] = {}
    for run_id in ended:
        if run_id in started and run_id not in dry:
            out[started[run_id]] = run_id
    for pid, rec in state.get("phases", {}).items():
        run_id = str(rec.get("run_id"))
        if run_id in started and run_id in ended and run_id not in dry:
            out[pid] = run_id
    if current and current in started:
        out[started[current]] = current
    return out


def spans(events: list[dict[str, Any]], counted: Iterable[str] | None = None) -> dict[str, Any]:
    """Phases (start..end of the runs that count), upgrades per server (start..end) and
    the decisions of the runs that count (all runs when ``counted`` is None)."""
    keep = None if counted is None else set(counted)
    phases: dict[str, list[float]] = {}
    upgrades: dict[str, list[float]] = {}
    decisions: list[dict[str, Any]] = []
    for e in events:
        t = _t(e["ts"])
        counts = keep is None or e.get("run_id") in keep
        if e["kind"] == "phase" and e.get("event") in ("start", "end") and counts:
            span = phases.setdefault(e["phase"], [t, t])
            span[0], span[1] = min(span[0], t), max(span[1], t)
        elif e["kind"] == "step" and e.get("event") == "upgrade-start":
            upgrades[e["server"]] = [t, t]
        elif e["kind"] == "step" and e.get("event") == "upgrade-end" and e["server"] in upgrades:
            upgrades[e["server"]][1] = t
        elif e["kind"] == "decision" and counts:
            name = str(e.get("name", ""))
            decisions.append(
                {
                    "t": t,
                    "phase": str(e.get("phase", "")),
                    "decision": name,
                    "value": decision_text(name, e.get("value")),
                    "by": str(e.get("operator") or "unknown"),
                    "how": how_text(e.get("how")),
                }
            )
    return {"phases": phases, "upgrades": upgrades, "decisions": decisions}


def _load(report_dir: Path, current: str | None) -> dict[str, Any]:
    events = audit.read_journal(report_dir / audit.JOURNAL)
    try:
        state = audit.load_state(report_dir / audit.STATE)
    except RecordDamaged:
        state = {"phases": {}}
    return spans(events, counted_runs(events, state, current).values())


def _label(d: dict[str, Any]) -> str:
    return (
        f"phase {d['phase']}: {d['decision']} = {d['value']}; by {d['by']}; {d['how']}; "
        f"at {datetime.fromtimestamp(d['t']):%H:%M:%S}"
    )


def svg(report_dir: Path, current: str | None = None) -> str:
    """The timeline of the ticket's campaign so far as an SVG element; ``current`` is the
    id of the run drawing it (it counts although it has not ended)."""
    data = _load(report_dir, current)
    spans_ = list(data["phases"].values()) + list(data["upgrades"].values())
    times: list[float] = [float(t) for span in spans_ for t in span]
    times += [float(d["t"]) for d in data["decisions"]]
    if not times:
        return "<p>No events in the journal yet.</p>"
    t0, t1 = min(times), max(times)
    scale = (WIDTH - LEFT - 20) / max(t1 - t0, 1.0)

    def x(t: float) -> float:
        return LEFT + (t - t0) * scale

    rows: list[str] = []
    y = 20
    for pid, (a, b) in sorted(data["phases"].items()):
        rows.append(
            f'<text x="5" y="{y + 14}" font-size="12">phase {html_text(pid)}</text>'
            f'<rect x="{x(a):.1f}" y="{y}" width="{max(x(b) - x(a), 2):.1f}" '
            f'height="16" fill="#4a78b5"><title>phase {html_text(pid)}: '
            f"{(b - a):.0f} s</title></rect>"
        )
        y += ROW
    for server, (a, b) in sorted(data["upgrades"].items(), key=lambda kv: kv[1][0]):
        rows.append(
            f'<text x="5" y="{y + 14}" font-size="12">{html_text(server)} down</text>'
            f'<rect x="{x(a):.1f}" y="{y}" width="{max(x(b) - x(a), 2):.1f}" '
            f'height="16" fill="#c0392b"><title>{html_text(server)} upgraded: its '
            f"domains down {(b - a):.0f} s</title></rect>"
        )
        y += ROW
    for i, d in enumerate(data["decisions"], 1):
        rows.append(
            f'<line x1="{x(d["t"]):.1f}" y1="10" x2="{x(d["t"]):.1f}" y2="{y}" '
            f'stroke="#e67e22" stroke-dasharray="3,2"><title>{html_text(_label(d))}</title>'
            f'</line><text x="{x(d["t"]) + 2:.1f}" y="{8 + 10 * (i % 2)}" font-size="9" '
            f'fill="#e67e22">D{i}</text>'
        )
    total = f"{(t1 - t0) / 60:.1f} min" if t1 - t0 >= 120 else f"{t1 - t0:.0f} s"
    rows.append(
        f'<text x="{LEFT}" y="{y + 14}" font-size="11" fill="#555">'
        f"{datetime.fromtimestamp(t0):%Y-%m-%d %H:%M:%S} .. "
        f"{datetime.fromtimestamp(t1):%H:%M:%S} ({total}); red: a server being "
        "upgraded (its DMSs are down); orange D1, D2, ...: the decisions below</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y + 24}" '
        f'style="font-family:sans-serif">{"".join(rows)}</svg>'
    )


def decisions(report_dir: Path, current: str | None = None) -> list[dict[str, Any]]:
    """The decisions of the runs that count, labelled as in the timeline (D1, D2, ...):
    when, in which phase, what was decided, by whom and how."""
    return [
        {
            "label": f"D{i}",
            "time": datetime.fromtimestamp(d["t"]).isoformat(timespec="seconds"),
            "phase": d["phase"],
            "decision": d["decision"],
            "value": d["value"],
            "by": d["by"],
            "how": d["how"],
        }
        for i, d in enumerate(_load(report_dir, current)["decisions"], 1)
    ]


def downtime(report_dir: Path) -> list[dict[str, Any]]:
    """Per server: how long it (and the DMSs it hosts) was down for its upgrade."""
    data = _load(report_dir, None)
    return [
        {
            "server": s,
            "down from": datetime.fromtimestamp(a).isoformat(timespec="seconds"),
            "seconds": round(b - a, 1),
        }
        for s, (a, b) in data["upgrades"].items()
    ]
