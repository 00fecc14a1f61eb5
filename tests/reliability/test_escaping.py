"""Hostile names from a server or an operator stay data in every output that shows or runs them.

The escaping functions (``mdstools/escape.py``) are checked for any text with Hypothesis; the
renderers that use them (check tables, banners, the verdict cell, the re-entry checklist, the
timeline, the DRAFT batch, the CSV files) with the hostile values below; and a lab campaign
whose admins publish hostile names is opened in headless Chromium, where no script may run.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nbformat
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbconvert.filters.markdown import markdown2html

from mdstools import audit, report, status, ui
from mdstools.checks import CheckResult
from mdstools.commands.ha import load_json
from mdstools.escape import (
    csv_cell,
    html_text,
    markdown_text,
    shell_comment,
    shell_word,
    terminal_text,
    visible,
)
from mdstools.lab import runtime
from mdstools.notebook_record import verdict_cell
from mdstools.phases import phase
from mdstools.procedure import freeze, timeline
from mdstools.records import ChangeRecord
from mdstools.runbook import RUNBOOKS
from tests.browser.conftest import CHROMIUM_ARGS, chromium_or_skip
from tests.reliability.conftest import changed, tree_digest
from tests.runbooks.conftest import Lab, assert_no_secrets, start

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(4)>",
    "</script><script>alert(2)</script>",
    '"onmouseover=alert(3) x="',
    "[x](javascript:alert(5))",
    "**bold**",
    "`",
    "$(touch pwned)",
    "; rm -rf ~",
    "a\nb",
    "a\rb",
    "a\u2028b",
    "\x1b[31mred",
    "x\n\n[y](javascript:alert(6))",
    "`touch pwned`",
    "'; touch pwned; '",
    "\ntouch pwned\n",
    '=HYPERLINK("http://x")',
    "    indented",
    "L" * 10_000,
]

names = st.one_of(
    st.text(),
    st.lists(
        st.one_of(st.sampled_from([*HOSTILE, "-m", "--format", ","]), st.text(max_size=8)),
        max_size=5,
    ).map("".join),
)
PROPERTY = settings(max_examples=150, deadline=None)


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML fragment."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def names(self) -> set[str]:
        return {t for t, _ in self.tags}

    @property
    def data(self) -> str:
        return "".join(self.text)


def only(parsed: Tags, allowed: set[str]) -> None:
    """Only ``allowed`` elements, no event handler; links only to anchors or runbooks."""
    assert parsed.names <= allowed, parsed.names - allowed
    for tag, attrs in parsed.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src"):
                assert value is not None and (value.startswith("#") or value.endswith(".ipynb")), (
                    tag,
                    value,
                )


def shown(ch: str) -> bool:
    """A character a terminal or an editor shows as itself (a tab, a space, a glyph)."""
    return ch == "\t" or ch.isprintable() or unicodedata.category(ch) == "Zs"


def words(text: str) -> str:
    return " ".join(text.split())


# -- the escaping functions, for any text ---------------------------------------------------
@PROPERTY
@given(names)
def test_html_text_adds_no_element_or_attribute(s: str) -> None:
    h = html_text(s)
    parsed = Tags(f'<p title="{h}">{h}</p>')
    shown = visible(s, keep="\n\r\t")
    assert parsed.tags == [("p", [("title", shown)])]
    assert parsed.data == shown
    assert "\n" not in h and "\r" not in h
    svg = ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg"><text>{h}</text></svg>')
    assert [e.tag.split("}")[1] for e in svg.iter()] == ["svg", "text"]
    assert (svg[0].text or "") == shown


@PROPERTY
@given(names)
def test_markdown_text_renders_as_its_text_only(s: str) -> None:
    rendered = Tags(markdown2html(markdown_text(s)))
    only(rendered, {"p"})
    assert words(rendered.data) == words(visible(s))
    item = Tags(markdown2html(f"- [ ] **{markdown_text(s)}**: <code>{markdown_text(s)}</code>"))
    only(item, {"ul", "li", "input", "strong", "code", "p"})
    assert "\n" not in markdown_text(s)


@PROPERTY
@given(names)
def test_shell_comment_is_one_comment_line(s: str) -> None:
    line = shell_comment(s)
    assert line.startswith("# ")
    assert len(line.splitlines()) == 1 and "\n" not in line
    assert all(shown(ch) for ch in line)


@PROPERTY
@given(names)
def test_terminal_text_has_no_escape_sequence_or_line_break(s: str) -> None:
    out = terminal_text(s)
    assert "\x1b" not in out and len(out.splitlines()) <= 1
    assert all(shown(ch) for ch in out)


@PROPERTY
@given(st.lists(names, min_size=1, max_size=4))
def test_csv_cells_round_trip_and_never_start_a_formula(cells: list[str]) -> None:
    buf = io.StringIO(newline="")
    csv.writer(buf).writerow([csv_cell(c) for c in cells])
    back = next(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    assert back == [csv_cell(c) for c in cells]
    for original, cell in zip(cells, back, strict=True):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "\n"))
        assert cell == original or (cell.startswith("'") and cell[1:] == original)


# -- the DRAFT batch, run by bash ---------------------------------------------------------
HARNESS = """mgmt_cli() { printf '%s\\0' "$#" "$@" >> calls.bin; }
. ./reentry_draft.mgmt.txt
"""


def calls(data: bytes) -> list[list[str]]:
    """The argv of every recorded mgmt_cli call (count, then the arguments, NUL-separated)."""
    parts = data.decode().split("\0")[:-1] if data else []
    out = []
    while parts:
        n = int(parts.pop(0))
        out.append(parts[:n])
        parts = parts[n:]
    return out


def run_draft(text: str) -> tuple[subprocess.CompletedProcess[str], list[list[str]], set[str]]:
    """``bash -n`` then bash with mgmt_cli recording its argv, in an empty directory."""
    with tempfile.TemporaryDirectory() as d:
        Path(d, "reentry_draft.mgmt.txt").write_text(text, encoding="utf-8")
        Path(d, "harness.sh").write_text(HARNESS)
        env = {"PATH": os.environ["PATH"], "LC_ALL": "C", "HOME": d}
        syntax = subprocess.run(
            ["bash", "-n", "reentry_draft.mgmt.txt"], cwd=d, capture_output=True, text=True
        )
        assert syntax.returncode == 0 and syntax.stderr == "", syntax.stderr
        proc = subprocess.run(
            ["bash", "harness.sh"], cwd=d, capture_output=True, text=True, env=env, timeout=30
        )
        recorded = Path(d, "calls.bin")
        argv = calls(recorded.read_bytes()) if recorded.exists() else []
        files = set(os.listdir(d)) - {"reentry_draft.mgmt.txt", "harness.sh", "calls.bin"}
        return proc, argv, files


def change(domain: str, name: str, admin: str, op: str, kind: str, value: str) -> ChangeRecord:
    fields = {"host": {"ip-address": value}, "group": {"members": value}}.get(kind, {})
    return ChangeRecord(
        domain=domain,
        session_uid="s1",
        admin=admin,
        publish_time="2026-11-26T15:12+0000",
        publish_posix=1,
        operation=op,
        object_type=kind,
        object_name=name,
        object_uid="u1",
        fields=fields,
        server="mds2",
    )


def expected_call(c: ChangeRecord) -> list[str] | None:
    """What the batch must run for ``c`` (None: re-entered by hand)."""
    verb = {"added": "add", "modified": "set", "deleted": "delete"}.get(c.operation)
    if c.object_type not in ("host", "group") or verb is None:
        return None
    value = (
        (c.fields.get("ip-address") or c.fields.get("members") or "") if verb != "delete" else ""
    )
    parts = value.split(",") if c.object_type == "group" else []
    values = [c.domain, c.object_name, value, *parts]
    if any("\0" in v or "\ufffd" in v or v.startswith("-") for v in values):
        return None
    argv = ["-r", "true", "-d", c.domain, f"{verb}-{c.object_type}", "name", c.object_name]
    if verb != "delete":
        if c.object_type == "host" and value:
            argv += ["ip-address", value]
        if c.object_type == "group" and value:
            for i, member in enumerate(value.split(","), 1):
                argv += [f"members.{i}", member]
    return [*argv, "--format", "json"]


changes = st.builds(
    change,
    names,
    names,
    names,
    st.sampled_from(["added", "modified", "deleted", "renamed"]),
    st.sampled_from(["host", "group", "access-rule"]),
    names,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names, st.lists(changes, max_size=4))
def test_draft_batch_runs_exactly_the_expected_mgmt_cli_calls(
    ticket: str, lost: list[ChangeRecord]
) -> None:
    text = freeze.draft(ticket, lost)
    proc, argv, files = run_draft(text)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert files == set(), f"the batch created {files}"
    assert argv == [a for a in (expected_call(c) for c in lost) if a is not None]


def test_draft_of_the_hostile_names_comments_them_and_quotes_them() -> None:
    lost = [change("dom1", n, n, "added", "host", "198.51.100.7") for n in HOSTILE]
    lost.append(change("dom1", "nul\0name", "a", "added", "host", "1.2.3.4"))
    lost.append(change("dom1", "surrogate\ud800", "a", "added", "host", "1.2.3.4"))
    lost.append(change("dom1", "rule\nrm -rf ~", "b\u2028c", "added", "access-rule", ""))
    lost.append(change("dom1", "-m", "a", "added", "host", "192.0.2.66"))
    lost.append(change("dom1", "h", "a", "added", "host", "--format"))
    lost.append(change("dom1", "g", "a", "added", "group", "a,-d,Global"))
    lost.append(change("dom1", "bad\ufffdtext", "a", "added", "host", "192.0.2.67"))
    text = freeze.draft("CHG\nrm -rf ~", lost)
    proc, argv, files = run_draft(text)
    assert proc.returncode == 0 and files == set()
    assert [a[6] for a in argv] == HOSTILE, "every hostile name reaches mgmt_cli unchanged"
    assert text.startswith("# DRAFT re-entry batch for ticket CHG\\nrm -rf ~")
    assert "# MANUAL: re-enter host 'nul\\0name' (added) in SmartConsole" in text
    assert "# MANUAL: re-enter host 'surrogate\\ud800' (added) in SmartConsole" in text
    assert "# MANUAL: re-enter access-rule 'rule\\nrm -rf ~' (added)" in text
    for name in ("-m", "h", "g", "bad\ufffdtext"):
        assert f"MANUAL: re-enter {'group' if name == 'g' else 'host'} '{name}'" in text
    assert "# dom1: added access-rule rule\\nrm -rf ~ by b\\u2028c" in text
    assert text.count("# WARNING: a name below contains line breaks") == sum(
        visible(n) != n for n in HOSTILE
    )
    assert "mgmt_cli -r true -d dom1 add-host name '$(touch pwned)' ip-address" in text


def test_reentry_csv_cells_are_text_in_a_spreadsheet(tmp_path: Path) -> None:
    journal = audit.Journal(tmp_path / audit.JOURNAL)
    run = SimpleNamespace(
        report_dir=tmp_path,
        ticket="T",
        journal=journal,
        write_file=lambda name, text: journal.write_file(tmp_path / name, text),
    )
    lost = [change("dom1", n, "-admin", "added", "host", "1.2.3.4") for n in HOSTILE]
    found = [
        freeze.Forensics(
            domain="dom1", sides={"mds1": [], "mds2": lost}, recommended="mds1", reason="r"
        )
    ]
    df = freeze.reentry(run, found, {"dom1": "mds1"})  # type: ignore[arg-type]
    with (tmp_path / "reentry.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["object"] for r in rows] == [csv_cell(n) for n in HOSTILE]
    assert rows[0]["admin"] == "'-admin"
    assert next(r for r in rows if r["object"].startswith("'="))["object"] == (
        '\'=HYPERLINK("http://x")'
    )
    assert list(df["object"]) == HOSTILE, "the notebook's frame keeps the names as they are"


# -- the renderers ------------------------------------------------------------------------
def test_checks_table_escapes_every_cell_and_links_only_the_next_step() -> None:
    results = [
        CheckResult(
            name=h[:200],
            passed=False,
            reason=f"changed by {h}",
            requirement=h[:20],
            next_step=f"{h} see phase 02",
        )
        for h in HOSTILE
    ]
    html = ui.checks_table(results).to_html()
    parsed = Tags(html)
    only(parsed, {"style", "table", "thead", "tbody", "tr", "th", "td", "a"})
    links = [dict(a) for t, a in parsed.tags if t == "a"]
    assert links and all(a["href"] == "02_prepare_ha.ipynb" for a in links)
    for h in HOSTILE[:5]:
        assert f"changed by {h}" in parsed.data


def test_banner_and_decision_labels_are_text(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[str] = []
    monkeypatch.setattr(ui, "html_block", shown.append)
    for h in HOSTILE:
        ui.banner(h, [h, f"{h} phase 03"], False)
        ui.confirm("confirm", h, "confirm", None, False, lambda *a: None)
    for html in shown:
        only(Tags(html), {"div", "b", "ul", "li", "a"})
    assert "<img src=x onerror=alert(1)>" in Tags(shown[0]).data


@settings(max_examples=60, deadline=None)
@given(names, names)
def test_banner_and_check_table_of_any_text_add_no_element(title: str, line: str) -> None:
    shown: list[str] = []
    original = ui.html_block
    ui.html_block = shown.append  # type: ignore[assignment]
    try:
        ui.banner(title, [line, f"{line} phase 05"], None)
    finally:
        ui.html_block = original  # type: ignore[assignment]
    banner = Tags(shown[0])
    only(banner, {"div", "b", "ul", "li", "a"})
    assert visible(title, keep="\n\r\t") in banner.data
    table = Tags(
        ui.checks_table(
            [CheckResult(name=title, passed=False, reason=line, next_step=line)]
        ).to_html()
    )
    only(table, {"style", "table", "thead", "tbody", "tr", "th", "td", "a"})
    assert visible(line, keep="\n\r\t") in table.data


def test_decision_widgets_show_hostile_labels_as_text() -> None:
    h = HOSTILE[0]
    record: ui.Recorder = lambda *a: None  # noqa: E731
    ack = ui.acknowledge(h, [("mds1:x", h)], "acknowledge_warnings", None, True, record)
    box = ack.widget.children[1]
    assert box.description == h and box.description_allow_html is False
    choice = ui.choose(h, h, ["mds1", h], "retain_database_on", None, True, record, h)
    each = ui.choose_each(h, h, [h], ["mds1", "mds2"], "retain_database_on", None, True, record)
    confirm = ui.confirm(h, h, "confirm", None, True, record)
    label = next(r.children[0] for r in each.widget.children if getattr(r, "is_choice", False))
    assert label.value == h and type(label).__name__ == "Label"
    for d in (ack, choice, each, confirm):
        widgets = list(d.widget.children)
        widgets += [c for w in widgets for c in getattr(w, "children", ())]
        for w in widgets:
            if type(w).__name__ == "HTML":
                only(Tags(w.value), {"b", "i"})
                assert "onerror" not in w.value or "&lt;img" in w.value


def test_verdict_cell_shows_a_hostile_ticket_and_cause_as_text() -> None:
    nb = nbformat.v4.new_notebook()
    for h in HOSTILE:
        verdict_cell(nb, phase("04"), "failed", f"cause {h}", "r1", h)
        rendered = Tags(markdown2html(nb.cells[0].source))
        only(rendered, {"div", "h2", "p", "b"})
        assert f"ticket {visible(h, keep=chr(10) + chr(13))}" in rendered.data
    assert len(nb.cells) == 1, "one verdict cell, replaced by the next"


def test_checklist_and_heading_show_names_as_text() -> None:
    rows = [
        {
            "domain": h,
            "lost on": "mds2",
            "retained": "mds1",
            "admin": h,
            "time": h,
            "operation": "added",
            "type": "host",
            "object": h,
            "fields": f"ip-address={h}",
            "how": "draft mgmt_cli",
        }
        for h in HOSTILE
    ]
    md = freeze.checklist(pd.DataFrame(rows))
    rendered = Tags(markdown2html(md))
    only(rendered, {"h3", "a", "ul", "li", "input", "strong", "code", "p"})
    assert "<img src=x onerror=alert(1)>" in rendered.data
    assert "[x](javascript:alert(5))" in rendered.data
    for h in HOSTILE:
        f = freeze.Forensics(domain=h, sides={"mds1": [], "mds2": []}, recommended="mds1", reason=h)
        heading = Tags(markdown2html(freeze.heading(f)))
        only(heading, {"h3", "a"})
        assert words(visible(h)) in words(heading.data)


def test_timeline_svg_is_well_formed_with_hostile_names(tmp_path: Path) -> None:
    journal = audit.Journal(tmp_path / audit.JOURNAL, "r1", "03")
    for h in HOSTILE:
        journal.write("step", event="upgrade-start", server=h)
        journal.write("step", event="upgrade-end", server=h)
        journal.write("decision", name=h, value=h, how=h)
    journal.write("phase", event="start")
    svg = ET.fromstring(timeline.svg(tmp_path))
    assert {e.tag.split("}")[1] for e in svg.iter()} <= {"svg", "text", "rect", "title", "line"}
    texts = "".join(svg.itertext())
    assert "<img src=x onerror=alert(1)> down" in texts and "a\\u2028b down" in texts


def test_status_table_shows_server_names_without_escape_sequences() -> None:
    names = [h for h in HOSTILE if len(h) < 100]
    snap = status.Snapshot(
        collected_at="2026-11-29T13:00:00+00:00",
        servers=[
            status.ServerStatus(
                name=n,
                role="primary",
                host="h",
                reachable=False,
                error=n,
                version=None,
                build=None,
                processes={},
            )
            for n in names
        ],
        domain_servers=[
            status.DomainServerStatus(
                server="mds1",
                type="CMA",
                name=n,
                domain=n,
                ip="192.0.2.1",
                processes={},
                all_up=False,
            )
            for n in names
        ],
        domains=[
            status.DomainStatus(
                name=n, active_server=None, standby_servers=[], sync_status={"mds1": n}
            )
            for n in names
        ],
        checks=[CheckResult(name=n, passed=False, reason=n, requirement="R1") for n in names],
        notes=names,
    )
    table = status.render_table(snap)
    assert "\x1b" not in table and "\r" not in table and "\u2028" not in table
    lines = table.splitlines()
    assert sum(line.startswith("note: ") for line in lines) == len(names)
    assert "note: \\x1b[31mred" in lines and "note: a\\nb" in lines


def test_a_lone_surrogate_from_the_api_cannot_stop_the_record() -> None:
    data = load_json('{"objects": [{"name": "h\\ud800x", "\\udc00": ["\\ud83d\\ude00"]}]}')
    assert data == {"objects": [{"name": "h\ufffdx", "\ufffd": ["\U0001f600"]}]}
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(markdown_text(data["objects"][0]["name"])))
    assert "h\ufffdx" in nbformat.writes(nb)
    nbformat.writes(nb).encode("utf-8")


def test_shell_word_is_the_remote_quoting() -> None:
    from mdstools.commands.base import quote

    for h in HOSTILE:
        assert shell_word(h) == quote(h)


# -- in a real browser --------------------------------------------------------------------
RECORD_ALERTS = """
window.__alerts = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = (...args) => { window.__alerts.push(name + ":" + args.join(",")); };
}
"""


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium whose pages can reach nothing but local files."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.add_init_script(RECORD_ALERTS)
        context.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith("file:") else route.abort()
            ),
        )
        try:
            yield context
        finally:
            context.close()
            browser.close()


ACTIVE_CONTENT = """() => {
  const found = [];
  for (const el of document.querySelectorAll(".jp-Cell *")) {
    for (const a of el.attributes) {
      const value = a.value.trim().toLowerCase();
      const link = /href|src|action/.test(a.name) && value.startsWith("javascript:");
      if (a.name.startsWith("on") || link)
        found.push(el.tagName + " " + a.name + "=" + a.value);
    }
    if (el.tagName === "SCRIPT" || el.tagName === "IFRAME") found.push(el.tagName);
  }
  return found;
}"""


@dataclass
class Opened:
    """What a report showed in Chromium."""

    text: str
    dialogs: list[str]
    alerts: list[str]
    active: list[str]

    @property
    def inert(self) -> bool:
        return self.dialogs == [] and self.alerts == [] and self.active == []


def open_report(context: Any, path: Path) -> Opened:
    """Open ``path``: its visible text, the dialogs that opened, the alert() calls made and
    any element of a cell that carries an event handler, a javascript: link or a script."""
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_timeout(300)
    opened = Opened(
        page.inner_text("body"),
        dialogs,
        page.evaluate("window.__alerts"),
        page.evaluate(ACTIVE_CONTENT),
    )
    page.close()
    return opened


@pytest.mark.browser
def test_verdict_of_a_hostile_ticket_runs_no_script_in_chromium(
    chromium: Any, tmp_path: Path
) -> None:
    nb = nbformat.read(str(RUNBOOKS / phase("04").notebook), as_version=4)
    ticket = "<img src=x onerror=alert(1)>"
    verdict_cell(
        nb,
        phase("04"),
        "failed",
        "x\n\n[y](javascript:alert(6)) <img src=x onerror=alert(7)>",
        "r1",
        ticket,
    )
    target = tmp_path / "04_upgrade_secondaries.ipynb"
    nbformat.write(nb, str(target))
    page = target.with_suffix(".html")
    page.write_text(report.render_html(target))
    opened = open_report(chromium, page)
    assert opened.inert, opened
    assert f"ticket {ticket}, run r1" in opened.text
    assert "[y](javascript:alert(6)) <img src=x onerror=alert(7)>" in opened.text


# -- a lab campaign whose admins publish hostile names ----------------------------------------
HOSTILE_CHANGES = [
    ("<img src=x onerror=alert(1)>\ntouch pwned-admin #", "<svg/onload=alert(4)>"),
    (
        '"onmouseover=alert(3) x=" [x](javascript:alert(5)) **bold** `tick` \x1b[31m',
        "$(touch pwned)\n; rm -rf ~ #\u2028</script><script>alert(2)</script>",
    ),
    ("-2+3+cmd|' /C calc'!A0", '=HYPERLINK("http://192.0.2.9/","open")'),
    ("L" * 10_000, "<b>" + "L" * 10_000),
]


@pytest.fixture
def collision_lab(tmp_path: Path) -> Iterator[Lab]:
    """The ``collision`` scenario at the tests' time scale; stopped at the end."""
    lab = start(tmp_path, "collision")
    try:
        yield lab
    finally:
        runtime.down(lab.dir / "lab")


@pytest.mark.browser
@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_collision_reports_with_hostile_names_run_no_script_in_chromium(
    collision_lab: Lab, chromium: Any, runbooks_unchanged: None
) -> None:
    lab = collision_lab
    ticket = "CHG-ESC"
    first = lab.campaign(ticket, "--to", "03", "-p", "continuous_management=true")
    assert first.returncode == 0, first.stderr[-3000:]
    for admin, obj in HOSTILE_CHANGES:
        p = lab.cli(
            "lab",
            "change",
            "--dir",
            str(lab.dir / "lab"),
            "--domain",
            "dom1",
            "--on",
            "mds2",
            "--admin",
            admin,
            "--object",
            obj,
        )
        assert p.returncode == 0, p.stderr
        assert "\x1b" not in p.stdout and visible(admin) in p.stdout
    outside = tree_digest(lab.dir, exclude=[lab.reports, lab.dir / "lab"])
    p = lab.campaign(
        ticket, "--resume", "-p", "continuous_management=true", "-p", "retain_database_on=mds1"
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert "\x1b" not in p.stdout + p.stderr, "no escape sequence reaches the terminal"
    assert changed(outside, tree_digest(lab.dir, exclude=[lab.reports, lab.dir / "lab"])) == []
    report = lab.reports / ticket

    pages = {h.name[:2]: open_report(chromium, h) for h in sorted(report.glob("0[4-8]_*.html"))}
    assert sorted(pages) == ["04", "05", "06", "07", "08"]
    for name, opened in pages.items():
        assert opened.inert, (name, opened.dialogs, opened.alerts, opened.active)
    for admin, obj in HOSTILE_CHANGES:
        assert visible(admin.split("\n")[0]) in pages["04"].text
        assert visible(obj.split("\n")[0]) in pages["04"].text
    assert visible(HOSTILE_CHANGES[1][1]) in pages["07"].text, "the checklist shows it escaped"

    lost = sorted(
        (d["name"], name)
        for d in lab.control(action="status")["domains"]  # type: ignore[index]
        for srv, v in d["servers"].items()
        for name in v.get("lost", [])
    )
    assert {obj for _, obj in HOSTILE_CHANGES} <= {name for _, name in lost}
    with (report / "reentry.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["domain"], r["object"]) for r in rows) == sorted(
        (d, csv_cell(n)) for d, n in lost
    )
    for sheet in [report / "reentry.csv", *report.glob("freeze_watch_*.csv")]:
        with sheet.open(newline="", encoding="utf-8") as f:
            cells = [cell for row in csv.reader(f) for cell in row]
        assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))], sheet.name
    proc, argv, files = run_draft((report / "reentry_draft.mgmt.txt").read_text())
    assert proc.returncode == 0 and proc.stderr == "" and files == set()
    address = {r["object"]: r["fields"].split("=", 1) for r in rows}
    assert sorted(argv) == sorted(
        ["-r", "true", "-d", d, "add-host", "name", n, *address[csv_cell(n)], "--format", "json"]
        for d, n in lost
    )
    events = lab.cli("lab", "events", "--dir", str(lab.dir / "lab"), "--last", "500")
    assert events.returncode == 0 and "\x1b" not in events.stdout
    assert visible(HOSTILE_CHANGES[1][0]) in events.stdout
    assert lab.cli("verify", str(report)).returncode == 0
    assert_no_secrets(lab)
