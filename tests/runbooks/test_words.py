"""One label per check across banner, verdict table, log line and journal; texts in words;
tables without the index; the 08 timeline; continuous management carried forward. Real
campaigns of papermill-executed runbooks against the lab."""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest

from mdstools import audit, ui
from mdstools.checks import label_summary
from tests.runbooks.conftest import SCALE, Factory, Lab, assert_no_secrets, top_cell
from tests.runbooks.test_freeze import change_during_03

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(600)]

BANNER = re.compile(
    r'<b style="color:(#[0-9a-f]+)">(PASS|FAIL|WARNING|INFO) (.*?) \(([RXB]\d+)\)</b>'
)
CELL = re.compile(r'class="data row(\d+) col(\d+)" >(.*?)</td>', re.S)
LOG = re.compile(r"\[(\S+) (\d\d)\] gate (PASS|FAIL|WARNING|INFO) (.*?) \(([RXB]\d+)\): ")


def outputs(nb: nbformat.NotebookNode, mime: str) -> list[str]:
    return [
        str(o.get("data", {}).get(mime, ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if mime in o.get("data", {})
    ]


def shown_text(nb: nbformat.NotebookNode) -> str:
    """Everything a reader sees: markdown cells, streams, and rich outputs as text."""
    parts = [str(c.source) for c in nb.cells if c.cell_type == "markdown"]
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        for o in c.outputs:
            if o.get("output_type") == "stream":
                parts.append(str(o["text"]))
            for mime in ("text/html", "text/markdown", "text/plain"):
                if mime in o.get("data", {}):
                    parts.append(html.unescape(re.sub(r"<[^>]+>", " ", o["data"][mime])))
    return "\n".join(parts)


def audit_time(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["ts"]).timestamp()


def run_id(nb: nbformat.NotebookNode) -> str:
    m = re.search(r"run ([0-9a-f]{6,}),", top_cell(nb))
    assert m, top_cell(nb)
    return m.group(1)


def banners(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    found = []
    for text in outputs(nb, "text/html"):
        for colour, label, name, _ in BANNER.findall(text):
            assert colour == ui.LABEL_COLOURS[label], (label, name, colour)
            found.append((label, html.unescape(name)))
    return found


def verdict_table(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    last = next(c for c in reversed(nb.cells) if c.cell_type == "code")
    assert last.source.strip() == "run.finish()"
    text = next(
        str(o["data"]["text/html"])
        for o in last.outputs
        if o.output_type in ("execute_result", "display_data")
        and "verdict" in o.get("metadata", {}).get("mdstools", {})
    )
    cells: dict[tuple[int, int], str] = {
        (int(r), int(c)): html.unescape(v.strip()) for r, c, v in CELL.findall(text)
    }
    rows = sorted({r for r, _ in cells})
    return [(cells[(r, 0)], cells[(r, 1)]) for r in rows]


def tbody_without_th(text: str) -> bool:
    return all("<th" not in body for body in re.findall(r"<tbody>(.*?)</tbody>", text, re.S))


def test_every_check_has_one_label_everywhere_and_texts_are_words(lab_factory: Factory) -> None:
    """The collision scenario (warnings and infos): banner, verdict table, log line and
    journal agree for every check of every run; the summaries count the labels; the
    confirmations are words; frames have no index; 08 labels the decisions of record."""
    lab = lab_factory("collision")
    cm = ("-p", "continuous_management=true")
    first = lab.campaign("CHG-W", *cm)
    assert first.returncode == 1 and "stopped at phase 07" in first.stderr, first.stderr[-2000:]
    second = lab.campaign("CHG-W", "--resume", "-p", "retain_database_on=dom1=mds1")
    assert second.returncode == 0, second.stderr[-3000:]
    report = lab.reports / "CHG-W"
    events = audit.read_journal(report / audit.JOURNAL)
    logs: dict[str, list[tuple[str, str]]] = {}
    for proc in (first, second):
        runs = []  # the gate lines of each phase run, in order
        for ticket, pid, label, name, _ in LOG.findall(proc.stderr):
            assert ticket == "CHG-W"
            if not runs or runs[-1][0] != pid:
                runs.append((pid, []))
            runs[-1][1].append((label, name))
        for pid, lines in runs:
            logs.setdefault(pid, []).append(lines)  # type: ignore[arg-type]
    seen: Counter[str] = Counter()
    notebooks = sorted(report.glob("0*.ipynb"))
    assert [n.name for n in notebooks][-3:] == [
        "07_synchronize_ha.ipynb",
        "07_synchronize_ha.r2.ipynb",
        "08_validate.ipynb",
    ]
    for path in notebooks:
        nb = nbformat.read(str(path), as_version=4)
        pid = path.name[:2]
        rid = run_id(nb)
        shown = banners(nb)
        journal = [
            (e["label"], e["name"]) for e in events if e["kind"] == "gate" and e["run_id"] == rid
        ]
        log = logs[pid].pop(0)
        assert shown == journal == log, path.name
        if "FAILED" not in top_cell(nb):
            table = verdict_table(nb)
            assert Counter(table) == Counter(shown), path.name
            assert len({name for _, name in table}) == len(table), f"a duplicate in {path.name}"
        summary = label_summary(label for label, _ in shown)
        assert summary in top_cell(nb), (path.name, summary)
        assert f"Phase {pid} " in shown_text(nb) and summary in shown_text(nb)
        seen.update(label for label, _ in shown)
        text = shown_text(nb)
        for bad in ("))", "{'", "['", "Index: []", "Empty DataFrame", "(s)"):
            assert bad not in text, (path.name, bad)
        for rich in outputs(nb, "text/html"):
            assert tbody_without_th(rich), f"a table with its index in {path.name}"
        assert tbody_without_th(path.with_suffix(".html").read_text()), path.with_suffix(".html")
    assert seen["WARNING"] and seen["INFO"] and seen["PASS"], seen
    nb02 = shown_text(lab.notebook("CHG-W", "02_prepare_ha.ipynb"))
    assert (
        "every DMS is already active on mds1: nothing to switch; back up every MDS, "
        "start the change freeze"
    ) in nb02
    nb07 = lab.notebook("CHG-W", "07_synchronize_ha.r2.ipynb")
    text07 = shown_text(nb07)
    assert (
        "retain mds1's database for dom1; dom3 keeps mds2's (changed on one side only, "
        "nothing lost)"
    ) in text07
    assert "### dom1: recommended mds1 \u2014 retaining mds1 loses 1 change" in "\n".join(
        outputs(nb07, "text/markdown")
    )
    assert "WARNING no collision before resolution" in text07
    assert "PASS no collision (R14)" in text07
    failed_07 = run_id(lab.notebook("CHG-W", "07_synchronize_ha.ipynb"))
    assert f"True, carried forward from phase 07 (run {failed_07}," in text07, "not repeated"
    # 08: the decisions of the runs of record, labelled; none of the failed 07 run
    failed07 = run_id(lab.notebook("CHG-W", "07_synchronize_ha.ipynb"))
    kept07 = run_id(nb07)
    nb08 = lab.notebook("CHG-W", "08_validate.ipynb")
    table = next(t for t in outputs(nb08, "text/html") if "<th>decision</th>" in t)
    rows = [
        [html.unescape(v) for v in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    ]
    assert [r[0] for r in rows] == [f"D{i}" for i in range(1, len(rows) + 1)]
    journaled07 = [e for e in events if e["kind"] == "decision" and e["phase"] == "07"]
    assert sum(r[2] == "07" for r in rows) == sum(e["run_id"] == kept07 for e in journaled07)
    bounds = {
        rid: [audit_time(e) for e in events if e["run_id"] == rid and e["kind"] == "phase"]
        for rid in (failed07, kept07)
    }
    svg = next(t for t in outputs(nb08, "text/html") if "<svg" in t)
    kept = f"phase 07: {max(bounds[kept07]) - min(bounds[kept07]):.0f} s"
    both = f"phase 07: {max(bounds[kept07]) - min(bounds[failed07]):.0f} s"
    assert f"<title>{kept}</title>" in svg, "phase time is the run of record"
    assert kept != both or min(bounds[failed07]) == min(bounds[kept07])
    assert any(
        r[2:5] == ["07", "retain dom3", "mds2"] and r[6] == "automatic: no change is lost"
        for r in rows
    ), rows
    assert any(
        r[2:5] == ["07", "retain dom1", "mds1"] and r[6] == "runbook parameter" for r in rows
    ), rows
    assert any(r[3] == "confirm" and r[4] == "confirmed" for r in rows)
    assert [r[2] for r in rows if r[3] == "continuous_management"] == ["00"], "set once"
    assert "D1" in "".join(outputs(nb08, "text/html"))
    v = lab.cli("verify", str(report))
    assert v.returncode == 0, v.stdout + v.stderr
    assert_no_secrets(lab)


def run_phase(lab: Lab, ticket: str, pid: str, *extra: str) -> Any:
    return lab.cli(
        *("run", pid, "-i", str(lab.inventory), "--ticket", ticket),
        *("--reports", str(lab.reports), "-p", "confirm=true", "-p", f"time_scale={SCALE}"),
        *extra,
    )


def header_value(nb: nbformat.NotebookNode, key: str) -> str:
    cell = next(c for c in nb.cells if c.cell_type == "code" and "mdstools.start(" in c.source)
    text = "".join(outputs(nbformat.from_dict({"cells": [cell]}), "text/html"))
    m = re.search(rf"<td>{re.escape(key)}</td>\s*<td>(.*?)</td>", text, re.S)
    assert m, text[:2000]
    return html.unescape(m.group(1))


def test_continuous_management_set_in_03_carries_to_04_and_05_until_06_sets_false(
    lab_factory: Factory,
) -> None:
    """R13: a change lands on mds2 during 03 (run with continuous_management=True); 04 and
    05 leave it unset and do not stop on the freeze gate, saying where the value came from;
    06 sets False explicitly and stops there, naming where to set it."""
    lab = lab_factory("default")
    first = change_during_03(lab, "CHG-C", "-p", "continuous_management=true")
    assert first.returncode == 0, first.stderr[-2000:]
    report = lab.reports / "CHG-C"
    state = json.loads((report / "state.json").read_text())
    origin = state["carried"]["continuous_management"]
    assert origin["value"] is True and origin["phase"] == "03"
    assert origin["run_id"] == state["phases"]["03"]["run_id"]
    for pid, name in (("04", "04_upgrade_secondaries"), ("05", "05_upgrade_log_servers")):
        p = run_phase(lab, "CHG-C", pid)
        assert p.returncode == 0, p.stderr[-3000:]
        assert re.search(rf"\[CHG-C {pid}\] gate WARNING change freeze \(R6\)", p.stderr)
        nb = lab.notebook("CHG-C", f"{name}.ipynb")
        assert header_value(nb, "continuous management") == (
            f"True, carried forward from phase 03 (run {origin['run_id']}, "
            f"{origin['operator']}, {origin['at']})"
        )
        assert "urgent_host" in (report / f"freeze_watch_{pid}.csv").read_text()
        rid = run_id(nb)
        events = audit.read_journal(report / audit.JOURNAL)
        carried = [e for e in events if e["kind"] == "carried" and e["run_id"] == rid]
        assert carried == [
            {
                **carried[0],
                "name": "continuous_management",
                "value": True,
                "from_phase": "03",
                "from_run": origin["run_id"],
            }
        ]
        start = next(
            e
            for e in events
            if e["run_id"] == rid and e["kind"] == "phase" and e["event"] == "start"
        )
        assert start["params"]["continuous_management"] is True
    p = run_phase(lab, "CHG-C", "06", "-p", "continuous_management=false")
    assert p.returncode == 1 and "stopped" not in p.stdout
    nb = lab.notebook("CHG-C", "06_update_object_versions.ipynb")
    top = top_cell(nb)
    assert "change freeze (R6)" in top and "urgent_host" in top
    assert "the parameters cell of phase 06" in top and "continuous_management=true" in top
    assert header_value(nb, "continuous management").startswith("False, set in this phase")
    state = json.loads((report / "state.json").read_text())
    assert state["carried"]["continuous_management"]["value"] is False
    assert state["carried"]["continuous_management"]["phase"] == "06"
    v = lab.cli("verify", str(report))
    assert v.returncode == 0, v.stdout + v.stderr
    assert_no_secrets(lab)


def test_papermill_help_shows_the_optional_parameter(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            "--help-notebook",
            "runbooks/04_upgrade_secondaries.ipynb",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout
    assert "continuous_management: Optional[bool] (default None)" in out
