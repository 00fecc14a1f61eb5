"""Run > Run All Cells in JupyterLab with decisions clicked while the next cell waits.

Under Run All, JupyterLab queues every cell at once; the cell after a decision awaits the
button. Each test clicks about a second after the widget appears and checks that the click
registered (the cells after it ran, the journal says ``how="widget"``), that a failure is a
banner with the verdict and no traceback, that a stale lock is broken from the notebook
with ``break_lock = True``, and that a page opened while a decision waits can make it.

* 02 on ``default``: a gate failure (01 has not passed), then (01 run headless) a stale
  lock, broken with ``break_lock``; Decline (the phase stops, nothing changed on the lab);
  Confirm (the phase passes).
* 01 on ``verifier-warnings``: the warnings ticked and acknowledged while the gate cell
  waits; then again in a second page, the notebook reopened while it waits.
* 07 on ``collision``: 00..06 headless with the CLI into the same record, then Run All;
  Decide (the database to retain) and Confirm.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mdstools import lock
from mdstools.inventory import load
from tests.browser.conftest import Session, Shots
from tests.browser.test_jupyterlab import (
    CELLS,
    PANEL,
    cells,
    executed,
    journal,
    open_notebook,
    run_menu,
    wait_settled,
)

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(400)]

NB01 = "01_pre_upgrade_verification.ipynb"
NB02 = "02_prepare_ha.ipynb"
NB07 = "07_synchronize_ha.ipynb"
NB09 = "09_backout.ipynb"
CLICK_AFTER_S = 1.0


def page_text(page: Any) -> str:
    """Everything the open notebook shows (sources and outputs, rendered or not)."""
    text: str = page.evaluate("(sel) => document.querySelector(sel).textContent", PANEL)
    return text


def assert_no_traceback(page: Any) -> None:
    text = page_text(page)
    assert "Traceback" not in text and 'File "' not in text, text[-3000:]


def show(page: Any, text: str) -> None:
    """Scroll the last output containing ``text`` into view (for the screenshot)."""
    page.locator(f"{PANEL} .jp-OutputArea-output", has_text=text).last.scroll_into_view_if_needed()


def run_all(page: Any) -> None:
    """Run > Run All Cells, from the notebook (not from an editor)."""
    page.keyboard.press("Escape")
    run_menu(page, "Run All Cells")


def click_when_waiting(
    page: Any,
    label: str,
    shots: Shots | None = None,
    before: Callable[[], None] | None = None,
) -> float:
    """Wait for the decision's button and its countdown line, click ``label`` about a
    second later (after ``before``: ticking boxes); the seconds from the widget appearing
    to the click."""
    button = page.locator(PANEL).get_by_role("button", name=label, exact=True).last
    button.wait_for(timeout=90_000)
    seen = time.monotonic()
    line = page.locator(f"{PANEL} .widget-html-content", has_text="waiting for your decision")
    line.first.wait_for()
    assert re.search(r"click \w+ above \(\d+ s left\)", line.first.inner_text())
    if before is not None:
        before()
    if shots is not None:
        button.scroll_into_view_if_needed()
        shots.take(page, f"waiting-{label.lower()}")
    time.sleep(max(0.0, CLICK_AFTER_S - (time.monotonic() - seen)))
    assert any("*" in c["prompt"] for c in cells(page)), "the next cell still waits"
    button.click()
    return time.monotonic() - seen


def append_to_parameters(page: Any, line: str) -> None:
    """Type ``line`` at the end of the parameters cell (the engineer's way to set one)."""
    editor = page.locator(CELLS).nth(1).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("End")
    page.keyboard.type("\n" + line)
    page.keyboard.press("Escape")


def cli(session: Session, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI on the session's lab, ticket, reports folder and lock directory."""
    inventory = session.lab_dir / "inventory.yml"
    env = dict(session.server.env)
    argv = [sys.executable, "-m", "mdstools", *args, "-i", str(inventory)]
    argv += ["--ticket", session.ticket, "--reports", str(session.reports)]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)


def this_run(session: Session, phase: str) -> list[dict[str, Any]]:
    """The journal events of the last run of ``phase``."""
    events = journal(session)
    starts = [e for e in events if e.get("phase") == phase and e.get("event") == "start"]
    run_id = starts[-1]["run_id"]
    return [e for e in events if e.get("run_id") == run_id]


def phase_state(session: Session, phase: str) -> dict[str, Any]:
    state = json.loads((session.reports / session.ticket / "state.json").read_text())
    record: dict[str, Any] = state["phases"][phase]
    return record


def stale_lock(session: Session) -> dict[str, Any]:
    """A host-wide lock of the lab's environment left by a process that is gone."""
    p = subprocess.Popen(["true"])
    p.wait()
    env = load(session.lab_dir / "inventory.yml").environment
    info = lock.new_info(env, "CHG-OLD", "03", "bob", p.pid)
    info["host"] = socket.gethostname()
    path = Path(session.server.env[lock.ENV_DIR]) / f"{env}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info))
    return info


def test_02_gate_failure_stale_lock_decline_and_confirm_under_run_all(
    page: Any, jupyterlab: Callable[[str], Session], shots: Shots
) -> None:
    """02 with Run All, four times in one page: a failed gate shows its banner and the
    verdict (no traceback; the Verdict cell run later shows it again and writes nothing);
    a stale lock is LOCKED with the instruction, then broken with ``break_lock = True``
    (journaled); Decline stops the phase naming the decision with nothing changed on the
    lab; Confirm lets it pass."""
    t0 = time.monotonic()
    session = jupyterlab("default")
    open_notebook(page, session, NB02)
    t_open = time.monotonic()

    # a gate failure: 01 has not passed for this ticket
    run_all(page)
    wait_settled(page)
    text = page_text(page)
    assert "FAIL earlier phases passed" in text and "01 has not passed" in text, text[-2000:]
    assert "Phase 02 stopped" in text and "Phase 02 FAILED" in text, text[-2000:]
    assert_no_traceback(page)
    events = this_run(session, "02")
    failed_at = next(i for i, e in enumerate(events) if e["kind"] == "gate")
    after = [e["command"] for e in events[failed_at:] if e["kind"] == "command"]
    assert all("lock.json" in c for c in after), f"nothing but the lock's release: {after}"
    show(page, "Phase 02 stopped")
    shots.take(page, "gate-failed")
    page.locator(CELLS).last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Enter")
    wait_settled(page)
    assert "Phase 02 FAILED" in cells(page)[-1]["output"]
    ends = [e for e in this_run(session, "02") if e.get("event") == "end"]
    assert len(ends) == 1 and ends[0]["verdict"] == "failed", "one result, not two"

    r = cli(session, "run", "01")
    assert r.returncode == 0, r.stderr[-2000:]

    # a stale lock: LOCKED, then broken from the notebook
    holder = stale_lock(session)
    starts_before = len([e for e in journal(session) if e.get("event") == "start"])
    run_all(page)
    wait_settled(page)
    text = page_text(page)
    assert "Phase 02 LOCKED: nothing was changed" in text and "STALE" in text, text[-2000:]
    assert "set break_lock = True in the parameters cell" in text
    assert "--break-lock" not in text.split("## Step 1")[0], "no CLI flag in the notebook"
    assert_no_traceback(page)
    assert len([e for e in journal(session) if e.get("event") == "start"]) == starts_before
    show(page, "Phase 02 LOCKED")
    shots.take(page, "locked")

    append_to_parameters(page, "break_lock = True")
    run_all(page)
    click_when_waiting(page, "Decline", shots)
    wait_settled(page)
    text = page_text(page)
    assert "decision 'confirm' was declined (Decline)" in text, text[-2000:]
    assert "Phase 02 FAILED" in text
    assert_no_traceback(page)
    show(page, "Phase 02 stopped")
    shots.take(page, "declined")
    events = this_run(session, "02")
    broken = [e for e in events if e["kind"] == "lock" and e.get("event") == "broken"]
    assert broken and broken[0]["holder"]["pid"] == holder["pid"], events[:3]
    assert broken[0]["operator"] and broken[0]["age"] and broken[0]["ts"]
    decisions = [e for e in events if e["kind"] == "decision"]
    assert [(d["name"], d["value"], d["how"]) for d in decisions] == [("confirm", False, "widget")]
    changes = [
        e["command"]
        for e in events
        if e["kind"] == "command" and e.get("mutating") and "lock.json" not in e["command"]
    ]
    assert not changes, f"nothing changed on the lab but its lock: {changes}"
    record = phase_state(session, "02")
    assert record["verdict"] == "failed" and "'confirm' was declined" in record["cause"]

    # Confirm: the phase passes
    run_all(page)
    took = click_when_waiting(page, "Confirm")
    wait_settled(page, 180_000)
    state = cells(page)
    assert all(executed(c["prompt"]) for c in state), [c["prompt"] for c in state]
    assert "Phase 02 PASSED" in state[-1]["output"], state[-1]["output"][:800]
    assert_no_traceback(page)
    shots.take(page, "confirmed")
    events = this_run(session, "02")
    decisions = [e for e in events if e["kind"] == "decision"]
    assert [(d["name"], d["value"], d["how"]) for d in decisions] == [("confirm", True, "widget")]
    assert phase_state(session, "02")["verdict"] == "passed"
    print(
        f"timings: lab+JupyterLab+open {t_open - t0:.1f} s, click after {took:.1f} s, "
        f"total {time.monotonic() - t0:.1f} s"
    )


def test_01_reopened_page_acknowledges_while_run_all_waits(
    page: Any, jupyterlab: Callable[[str], Session], shots: Shots
) -> None:
    """01 on verifier-warnings, Run All twice. First the warnings are ticked and
    acknowledged while the gate cell waits. Then, while it waits again, the notebook is
    saved and opened in a second page; its widget is restored from the kernel, the
    warnings are ticked and acknowledged there, and the first page's run completes."""
    t0 = time.monotonic()
    session = jupyterlab("verifier-warnings")
    open_notebook(page, session, NB01)
    run_all(page)
    ticks = page.locator(f"{PANEL} .jp-OutputArea-output input[type=checkbox]")
    click_when_waiting(
        page, "Acknowledge", None, lambda: [ticks.nth(i).check() for i in range(ticks.count())]
    )
    wait_settled(page, 120_000)
    assert "Phase 01 PASSED" in cells(page)[-1]["output"]
    decisions = [e for e in this_run(session, "01") if e["kind"] == "decision"]
    assert [(d["how"], len(d["value"])) for d in decisions] == [("widget", ticks.count())]

    run_all(page)
    page.locator(PANEL).get_by_role("button", name="Acknowledge", exact=True).wait_for()
    page.locator(PANEL).get_by_text("waiting for your decision").first.wait_for()
    page.keyboard.press("Control+s")
    time.sleep(1.0)

    second = page.context.new_page()
    second.goto(session.url(NB01))
    second.wait_for_selector(CELLS)
    button = second.locator(PANEL).get_by_role("button", name="Acknowledge", exact=True)
    button.wait_for(timeout=30_000)
    boxes = second.locator(f"{PANEL} .jp-OutputArea-output input[type=checkbox]")
    assert boxes.count() >= 2
    second.get_by_text("waiting for your decision").first.wait_for()
    for i in range(boxes.count()):
        boxes.nth(i).check()
    shots.take(second, "reopened-ticked")
    button.click()

    wait_settled(page, 120_000)
    state = cells(page)
    assert all(executed(c["prompt"]) for c in state), [c["prompt"] for c in state]
    assert "Phase 01 PASSED" in state[-1]["output"], state[-1]["output"][:800]
    assert_no_traceback(page)
    shots.take(page, "first-page-passed")
    decisions = [e for e in this_run(session, "01") if e["kind"] == "decision"]
    assert decisions[-1]["how"] == "widget" and len(decisions[-1]["value"]) == boxes.count()
    assert phase_state(session, "01")["verdict"] == "passed"
    second.close()
    print(f"timings: total {time.monotonic() - t0:.1f} s")


def test_07_decide_and_confirm_under_run_all_after_a_headless_campaign(
    page: Any, jupyterlab: Callable[[str], Session], shots: Shots
) -> None:
    """07 on collision: 00..06 headless into the same record, then Run All; Decide (the
    database to retain, preset to the recommendation) and Confirm clicked as each waits;
    the phase passes and both decisions are journaled as made on the widgets."""
    t0 = time.monotonic()
    session = jupyterlab("collision")
    r = cli(session, "campaign", "--to", "06", "--confirm", "-p", "continuous_management=true")
    assert r.returncode == 0, r.stderr[-3000:]
    t_headless = time.monotonic()
    open_notebook(page, session, NB07)
    run_all(page)
    click_when_waiting(page, "Decide", shots)
    click_when_waiting(page, "Confirm")
    wait_settled(page, 180_000)
    state = cells(page)
    assert all(executed(c["prompt"]) for c in state), [c["prompt"] for c in state]
    assert "Phase 07 PASSED" in state[-1]["output"], state[-1]["output"][:800]
    assert_no_traceback(page)
    shots.take(page, "passed")
    decisions = [e for e in this_run(session, "07") if e["kind"] == "decision"]
    clicked = [(d["name"], d["value"]) for d in decisions if d["how"] == "widget"]
    assert clicked == [("retain_database_on", {"dom1": "mds1"}), ("confirm", True)], decisions
    assert phase_state(session, "07")["verdict"] == "passed"
    print(f"timings: headless 00..06 {t_headless - t0:.1f} s, total {time.monotonic() - t0:.1f} s")


def test_09_choose_and_confirm_under_run_all_after_the_primary_was_upgraded(
    page: Any, jupyterlab: Callable[[str], Session], shots: Shots
) -> None:
    """09 after 00..03 headless (the primary upgraded): Run All; Choose (the servers to
    revert, preset to those the ticket changed) and Confirm clicked as each waits; the
    primary is reverted, the phase passes and both decisions are journaled as made on the
    widgets."""
    session = jupyterlab("default")
    r = cli(session, "campaign", "--to", "03", "--confirm")
    assert r.returncode == 0, r.stderr[-3000:]
    open_notebook(page, session, NB09)
    run_all(page)
    click_when_waiting(page, "Choose", shots)
    click_when_waiting(page, "Confirm")
    wait_settled(page, 180_000)
    state = cells(page)
    assert all(executed(c["prompt"]) for c in state), [c["prompt"] for c in state]
    assert "Phase 09 PASSED" in state[-1]["output"], state[-1]["output"][:800]
    assert_no_traceback(page)
    shots.take(page, "passed")
    decisions = [e for e in this_run(session, "09") if e["kind"] == "decision"]
    clicked = [(d["name"], d["value"]) for d in decisions if d["how"] == "widget"]
    assert clicked == [("backout_servers", ["mds1"]), ("confirm", True)], decisions
    assert phase_state(session, "09")["verdict"] == "passed"
