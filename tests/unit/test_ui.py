"""Decisions (R3, R15): the widget path (buttons) and the parameter path, both journaled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mdstools import ui


def recorder() -> tuple[list[tuple[str, Any, str]], ui.Recorder]:
    seen: list[tuple[str, Any, str]] = []
    return seen, lambda name, value, how: seen.append((name, value, how))


def button(decision: ui.Decision, label: str) -> Any:
    widgets = list(decision.widget.children)
    for w in list(widgets):
        widgets.extend(getattr(w, "children", ()))
    return next(w for w in widgets if getattr(w, "description", "") == label)


def test_acknowledge_reads_ticked_boxes_after_the_button() -> None:
    seen, rec = recorder()
    d = ui.acknowledge(
        "warnings",
        [("mds1:a", "A"), ("mds2:b", "B")],
        "acknowledge_warnings",
        None,
        True,
        rec,
        timeout_s=0.1,
    )
    with pytest.raises(ui.DecisionMissing, match=r"was not made\. click Acknowledge above"):
        d.value()
    asyncio.run(d.wait())
    with pytest.raises(ui.DecisionMissing, match=r"not made within 0\.1 s"):
        d.value()
    d.widget.children[1].value = True
    button(d, "Acknowledge").click()
    assert d.value() == ["mds1:a"] and seen == [("warnings", ["mds1:a"], "widget")]


def test_confirm_and_decline() -> None:
    _, rec = recorder()
    ok = ui.confirm("confirm", "go?", "confirm", None, True, rec, timeout_s=0.1)
    button(ok, "Confirm").click()
    assert ok.value() is True
    no = ui.confirm("confirm", "go?", "confirm", None, True, rec, timeout_s=0.1)
    button(no, "Decline").click()
    with pytest.raises(ui.DecisionMissing, match=r"declined \(Decline\); nothing after it ran"):
        no.value()


def test_headless_missing_parameter_names_it() -> None:
    _, rec = recorder()
    d = ui.confirm("confirm", "go?", "confirm", None, False, rec)
    with pytest.raises(ui.DecisionMissing) as exc:
        d.value()
    assert "-p confirm=" in str(exc.value)
    seen, rec2 = recorder()
    assert ui.confirm("confirm", "go?", "confirm", True, False, rec2).value() is True
    assert seen == [("confirm", True, "parameter")]


def test_choose_each_domain_preset_to_the_recommendation() -> None:
    seen, rec = recorder()
    d = ui.choose_each(
        "retain_database_on",
        "which?",
        ["dom1", "dom3"],
        ["mds1", "mds2"],
        "retain_database_on",
        None,
        True,
        rec,
        {"dom1": "mds1", "dom3": "mds2"},
        timeout_s=0.1,
    )
    d.widget.children[1].children[1].value = "mds2"
    button(d, "Decide").click()
    assert d.value() == {"dom1": "mds2", "dom3": "mds2"}
    assert seen[-1][2] == "widget"
    h = ui.choose_each(
        "retain_database_on",
        "which?",
        ["dom1"],
        ["mds1", "mds2"],
        "retain_database_on",
        "dom1=mds2",
        False,
        rec,
    )
    assert h.value() == "dom1=mds2"


def test_links_to_the_runbook_that_fixes_it() -> None:
    assert 'href="02_prepare_ha.ipynb"' in ui.link_phases("make it active (phase 02)")


def test_the_await_returns_when_the_button_is_clicked_and_counts_down_meanwhile() -> None:
    """Run All: the awaiting cell sees a click made while it waits (here by another task of
    the same loop, as ipykernel 7.4 delivers the widget's message); the line counted down."""
    seen, rec = recorder()
    d = ui.confirm("confirm", "go?", "confirm", None, True, rec, timeout_s=30)
    lines: list[str] = []
    d.line.observe(lambda change: lines.append(change["new"]), names="value")

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        loop.call_later(1.2, button(d, "Confirm").click)
        await d
        return loop.time() - t0

    took = asyncio.run(scenario())
    assert 1.1 < took < 2.0, took
    assert d.value() is True and seen == [("confirm", True, "widget")]
    countdown = [x for x in lines if "waiting for your decision" in x]
    assert "click Confirm above (30 s left)" in countdown[0]
    assert "(29 s left)" in countdown[-1], countdown
    assert "Confirm at" in lines[-1] and "UTC" in lines[-1]


def test_a_timed_out_decision_names_itself_and_the_parameter_to_raise() -> None:
    seen, rec = recorder()
    d = ui.choose("db", "which?", ["mds1", "mds2"], "p", None, True, rec, "mds1", timeout_s=0.3)
    asyncio.run(d.wait(tick_s=0.05))
    assert d.timed_out and "no decision within 0.3 s" in d.line.value
    with pytest.raises(ui.DecisionMissing) as exc:
        d.value()
    assert "decision 'db' was not made within 0.3 s" in str(exc.value)
    assert "click Decide in time, or raise decision_timeout_s" in str(exc.value)
    assert seen == []


def test_a_declined_decision_is_recorded_then_stops() -> None:
    seen, rec = recorder()
    d = ui.confirm("confirm", "go?", "confirm", None, True, rec, timeout_s=5)
    button(d, "Decline").click()
    assert asyncio.run(d.wait()) is d
    with pytest.raises(ui.DecisionMissing, match="declined"):
        d.value()
    assert seen == [("confirm", False, "widget")]
    assert "Decline at" in d.line.value


def test_headless_the_await_returns_at_once_with_the_parameter() -> None:
    seen, rec = recorder()
    d = ui.confirm("confirm", "go?", "confirm", True, False, rec, timeout_s=60)

    async def read() -> Any:
        return (await d).value()

    assert asyncio.run(asyncio.wait_for(read(), 1)) is True
    assert seen == [("confirm", True, "parameter")]


@pytest.mark.parametrize(
    ("version", "receives"),
    [
        ("7.4.0", True),
        ("7.10.1", True),
        ("8.0.0", True),
        ("7.3.9", False),
        ("6.29.5", False),
        ("", False),
        ("unknown", False),
    ],
)
def test_which_kernels_deliver_a_click_during_a_cell(version: str, receives: bool) -> None:
    assert ui.kernel_receives_clicks(version) is receives


def test_an_old_kernel_fails_at_once_instead_of_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    _, rec = recorder()
    d = ui.confirm("confirm", "go?", "confirm", None, True, rec, timeout_s=60)
    monkeypatch.setattr(ui, "in_kernel", lambda: True)
    monkeypatch.setattr(ui, "ipykernel_version", lambda: "6.29.5")
    with pytest.raises(ui.DecisionMissing) as exc:
        asyncio.run(asyncio.wait_for(d.wait(), 1))
    assert "cannot receive a click while a cell runs" in str(exc.value)
    assert "click Confirm above, then run this cell again" in str(exc.value)


def test_a_click_after_the_timeout_says_it_came_too_late() -> None:
    _, rec = recorder()
    d = ui.confirm("confirm", "go?", "confirm", None, True, rec, timeout_s=0.2)
    asyncio.run(d.wait(tick_s=0.05))
    button(d, "Confirm").click()
    assert "too late, the phase stopped after 0.2 s" in d.line.value


def test_a_choice_without_a_value_stays_pending_in_the_control() -> None:
    """Decide clicked with nothing chosen: the cell can be run again after choosing."""
    seen, rec = recorder()
    d = ui.choose("db", "which?", ["mds1", "mds2"], "p", None, True, rec, None, timeout_s=5)
    button(d, "Decide").click()
    with pytest.raises(ui.DecisionPending, match="no value in the control"):
        d.value()
    d.widget.children[1].value = "mds2"
    assert d.value() == "mds2" and seen == [("db", "mds2", "widget")]
