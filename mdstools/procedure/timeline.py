"""The campaign timeline (phase 08 and the HTML report): which server was upgraded when, how
long each server's domains were down, and when each decision was made. Drawn as inline SVG
from the journal, so it needs no plotting library and reads the same in the HTML export.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from mdstools import audit
from mdstools.escape import html_text

ROW = 26
LEFT = 150
WIDTH = 900


def _t(ts: str) -> float:
    return datetime.fromisoformat(ts).timestamp()


def spans(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Phases (start..end), upgrades per server (start..end) and decisions from the journal."""
    phases: dict[str, list[float]] = {}
    upgrades: dict[str, list[float]] = {}
    decisions: list[tuple[float, str]] = []
    for e in events:
        t = _t(e["ts"])
        if e["kind"] == "phase" and e.get("event") in ("start", "end"):
            span = phases.setdefault(e["phase"], [t, t])
            span[0], span[1] = min(span[0], t), max(span[1], t)
        elif e["kind"] == "step" and e.get("event") == "upgrade-start":
            upgrades[e["server"]] = [t, t]
        elif e["kind"] == "step" and e.get("event") == "upgrade-end" and e["server"] in upgrades:
            upgrades[e["server"]][1] = t
        elif e["kind"] == "decision":
            decisions.append((t, f"{e['name']} = {e['value']} ({e.get('how')})"))
    return {"phases": phases, "upgrades": upgrades, "decisions": decisions}


def svg(report_dir: Path) -> str:
    """The timeline of the ticket's campaign so far as an SVG element."""
    events = audit.read_journal(report_dir / audit.JOURNAL)
    data = spans(events)
    spans_ = list(data["phases"].values()) + list(data["upgrades"].values())
    times: list[float] = [float(t) for span in spans_ for t in span]
    times += [float(t) for t, _ in data["decisions"]]
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
    for t, label in data["decisions"]:
        rows.append(
            f'<line x1="{x(t):.1f}" y1="10" x2="{x(t):.1f}" y2="{y}" stroke="#e67e22" '
            f'stroke-dasharray="3,2"><title>{html_text(label)}</title></line>'
        )
    total = f"{(t1 - t0) / 60:.1f} min" if t1 - t0 >= 120 else f"{t1 - t0:.0f} s"
    rows.append(
        f'<text x="{LEFT}" y="{y + 14}" font-size="11" fill="#555">'
        f"{datetime.fromtimestamp(t0):%Y-%m-%d %H:%M:%S} .. "
        f"{datetime.fromtimestamp(t1):%H:%M:%S} ({total}); red: a server being "
        "upgraded (its DMSs are down); orange: decisions</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y + 24}" '
        f'style="font-family:sans-serif">{"".join(rows)}</svg>'
    )


def downtime(report_dir: Path) -> list[dict[str, Any]]:
    """Per server: how long it (and the DMSs it hosts) was down for its upgrade."""
    data = spans(audit.read_journal(report_dir / audit.JOURNAL))
    return [
        {
            "server": s,
            "down from": datetime.fromtimestamp(a).isoformat(timespec="seconds"),
            "seconds": round(b - a, 1),
        }
        for s, (a, b) in data["upgrades"].items()
    ]
