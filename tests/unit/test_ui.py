"""Decisions (R3, R15): the widget path (buttons) and the parameter path, both journaled."""

from __future__ import annotations

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
    with pytest.raises(ui.DecisionMissing, match="not made within"):
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
    with pytest.raises(ui.DecisionMissing, match="declined"):
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
