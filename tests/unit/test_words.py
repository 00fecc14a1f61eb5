"""Labels, texts and carried decisions, one layer at a time (no lab, no kernel)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdstools import frames, ui
from mdstools.checks import CheckResult, label_summary, no_collision, outcome_label
from mdstools.errors import ParameterError
from mdstools.phases import BY_ID, BY_NAME, check_params
from mdstools.procedure import freeze, prepare, timeline
from mdstools.records import ChangeRecord
from mdstools.run import carry_forward
from mdstools.words import decision_text, how_text, plural


@pytest.mark.parametrize(
    ("passed", "severity", "label"),
    [
        (True, "error", "PASS"),
        (True, "warning", "PASS"),
        (True, "info", "PASS"),
        (False, "error", "FAIL"),
        (False, "warning", "WARNING"),
        (False, "info", "INFO"),
    ],
)
def test_one_label_per_outcome(passed: bool, severity: str, label: str) -> None:
    check = CheckResult(name="c", passed=passed, reason="why", requirement="R4", severity=severity)
    assert outcome_label(passed, severity) == check.label == label
    assert check.blocking == (label == "FAIL")
    assert frames.checks([check])["result"].tolist() == [label]


@given(st.lists(st.sampled_from(["PASS", "FAIL", "WARNING", "INFO"]), max_size=30))
def test_the_summary_counts_every_label_and_adds_up(labels: list[str]) -> None:
    text = label_summary(labels)
    m = re.fullmatch(r"(\d+) checks?: (\d+) PASS, (\d+) WARNING, (\d+) INFO, (\d+) FAIL", text)
    assert m, text
    total, *counts = (int(x) for x in m.groups())
    assert total == len(labels) == sum(counts)
    assert counts == [labels.count(x) for x in ("PASS", "WARNING", "INFO", "FAIL")]


def test_the_verdict_table_orders_by_label_and_keeps_each_label() -> None:
    results = [
        CheckResult(name="a", passed=True, reason="ok"),
        CheckResult(name="b", passed=False, reason="info", severity="info"),
        CheckResult(name="c", passed=False, reason="bad"),
        CheckResult(name="d", passed=False, reason="warn", severity="warning"),
    ]
    df = frames.checks(results)
    assert df["result"].tolist() == ["FAIL", "WARNING", "INFO", "PASS"]
    assert df["check"].tolist() == ["c", "d", "b", "a"]


def test_a_collision_seen_before_resolution_is_named_apart_from_the_final_gate() -> None:
    sync = {"dom1": {"mds1": "Collision", "mds2": "Collision"}}
    before = no_collision(sync, "no collision before resolution")
    final = no_collision({"dom1": {"mds1": "Synchronized", "mds2": "Synchronized"}})
    assert before.name != final.name and not before.passed and final.passed


def test_words_for_counts_decisions_and_how() -> None:
    assert plural(1, "change") == "1 change" and plural(0, "change") == "0 changes"
    assert decision_text("confirm", True) == "confirmed"
    assert decision_text("confirm", False) == "declined"
    assert decision_text("retain", {"dom1": "mds1", "dom3": "mds2"}) == "dom1: mds1, dom3: mds2"
    assert decision_text("warnings reviewed", []) == "none"
    assert decision_text("warnings reviewed", ["mds1:a", "mds2:b"]) == "mds1:a, mds2:b"
    assert how_text("automatic (no change is lost)") == "automatic: no change is lost"
    assert how_text("parameter") == "runbook parameter"
    assert how_text("widget") == "button in the notebook"


def test_the_02_confirmation_says_what_is_switched_or_that_nothing_is() -> None:
    nothing = prepare.confirm_question([], "mds1")
    assert nothing == (
        "every DMS is already active on mds1: nothing to switch; back up every MDS, "
        "start the change freeze"
    )
    some = prepare.confirm_question(["dom1", "dom2"], "mds1")
    assert some.startswith("make mds1's DMS active for dom1, dom2; back up every MDS")
    assert "[" not in some + nothing and "0 domain" not in nothing


def change(domain: str, server: str, name: str) -> ChangeRecord:
    return ChangeRecord(
        domain=domain,
        session_uid="s-" + name,
        admin="admin",
        publish_time="2026-11-29T10:00+0000",
        publish_posix=1,
        operation="added",
        object_type="host",
        object_name=name,
        object_uid=name,
        server=server,
    )


def collided() -> list[freeze.Forensics]:
    return [
        freeze.Forensics(
            domain="dom1",
            sides={"mds1": [change("dom1", "mds1", "h1")], "mds2": [change("dom1", "mds2", "h2")]},
            recommended="mds1",
            reason="retaining mds1 loses 1 change; changes since the freeze: mds1 1, mds2 1",
        ),
        freeze.Forensics(
            domain="dom3",
            sides={"mds1": [], "mds2": [change("dom3", "mds2", "h3")]},
            recommended="mds2",
            reason="r",
        ),
    ]


def test_the_07_confirmation_and_question_are_words_naming_the_automatic_domains() -> None:
    found = collided()
    retain = {"dom1": "mds1", "dom3": "mds2"}
    assert freeze.retain_words(found, retain) == (
        "retain mds1's database for dom1; dom3 keeps mds2's (changed on one side only, "
        "nothing lost)"
    )
    question = freeze.choice_question(found)
    assert question.startswith("Database to retain for dom1 ")
    assert "dom3 keeps mds2's automatically" in question
    assert freeze.retain_words([], {}) == "no domain is in Collision: nothing to retain"
    df = freeze.retain_frame(found, retain)
    assert df.to_dict("records") == [
        {"domain": "dom1", "retained": "mds1", "how": "decided", "changes lost": 1},
        {
            "domain": "dom3",
            "retained": "mds2",
            "how": "automatic: changed on one side only, nothing lost",
            "changes lost": 0,
        },
    ]


def test_the_collision_heading_has_no_nested_parentheses() -> None:
    f = collided()[0]
    heading = freeze.heading(f)
    assert heading.startswith("### dom1: recommended mds1 ")
    assert "))" not in heading and "((" not in heading


def test_frames_render_without_the_index() -> None:
    df = pd.DataFrame({"server": ["mds1", "<b>x</b>"], "version": ["R81.20", None]})
    html = ui.frame_html(df)
    body = html.split("<tbody>", 1)[1]
    assert "<th" not in body and "&lt;b&gt;x&lt;/b&gt;" in html
    assert ui.frame_text(df).splitlines()[0].split() == ["server", "version"]
    empty = ui.frame_text(df.iloc[0:0])
    assert empty == "no rows (columns: server, version)" and "Index" not in empty


def test_continuous_management_unset_means_carried_or_false() -> None:
    spec = BY_NAME["continuous_management"]
    assert spec.default is None and "Optional[bool]" in spec.line("04")
    assert check_params({"continuous_management": None}, [BY_ID["05"]], from_cli=False) == {
        "continuous_management": None
    }
    assert check_params({"continuous_management": "yes"}, [BY_ID["05"]]) == {
        "continuous_management": True
    }
    with pytest.raises(ParameterError, match="true or false"):
        check_params({"continuous_management": "maybe"}, [BY_ID["05"]])


def state_with(tmp_path: Path, entry: dict[str, Any]) -> Path:
    report = tmp_path / "T1"
    report.mkdir()
    (report / "state.json").write_text(
        json.dumps({"phases": {}, "carried": {"continuous_management": entry}})
    )
    return report


ENTRY = {
    "value": True,
    "phase": "04",
    "run_id": "r4",
    "operator": "alice",
    "at": "2026-11-29T10:00:00+00:00",
    "inventory_sha256": "abc",
}


@pytest.mark.parametrize(
    ("phase_id", "given", "sha", "expected", "applied"),
    [
        ("05", None, "abc", True, True),  # a later phase leaving it unset: carried
        ("04", None, "abc", True, True),  # a rerun of the phase that set it
        ("03", None, "abc", False, False),  # an earlier phase: not carried backwards
        ("05", False, "abc", False, False),  # set explicitly: the later phase decides
        ("05", None, "other", False, False),  # another inventory: not carried
    ],
)
def test_carry_forward(
    tmp_path: Path, phase_id: str, given: bool | None, sha: str, expected: bool, applied: bool
) -> None:
    report = state_with(tmp_path, ENTRY)
    params: dict[str, Any] = {"continuous_management": given}
    out = carry_forward(params, BY_ID[phase_id], report, sha)
    assert params["continuous_management"] is expected
    assert (out == {"continuous_management": ENTRY}) is applied


def test_carry_forward_without_a_record_is_the_default(tmp_path: Path) -> None:
    params: dict[str, Any] = {"continuous_management": None}
    assert carry_forward(params, BY_ID["05"], tmp_path / "none", "abc") == {}
    assert params["continuous_management"] is False


def ev(ts: int, run: str, phase: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "ts": f"2026-11-29T10:00:{ts:02d}+00:00",
        "run_id": run,
        "phase": phase,
        "kind": kind,
        **fields,
    }


def test_the_timeline_counts_only_the_runs_of_record() -> None:
    events = [
        ev(0, "a", "03", "phase", event="start"),  # abandoned: never ended
        ev(1, "a", "03", "decision", name="confirm", value=True, operator="x", how="widget"),
        ev(5, "b", "03", "phase", event="start"),  # failed, then superseded by c
        ev(6, "b", "03", "phase", event="end", verdict="failed"),
        ev(7, "d", "03", "phase", event="start", dry_run=True),  # a dry run
        ev(8, "d", "03", "phase", event="end", dry_run=True),
        ev(10, "c", "03", "phase", event="start"),
        ev(11, "c", "03", "decision", name="confirm", value=True, operator="bo", how="parameter"),
        ev(12, "c", "03", "step", event="upgrade-start", server="mds1"),
        ev(20, "c", "03", "step", event="upgrade-end", server="mds1"),
        ev(21, "c", "03", "phase", event="end", verdict="passed"),
        ev(30, "e", "08", "phase", event="start"),  # the run drawing the timeline
    ]
    state = {"phases": {"03": {"verdict": "passed", "run_id": "c"}}}
    counted = timeline.counted_runs(events, state, current="e")
    assert counted == {"03": "c", "08": "e"}
    data = timeline.spans(events, counted.values())
    start = timeline._t(events[6]["ts"])
    assert data["phases"]["03"] == [start, start + 11]
    assert [(d["decision"], d["value"], d["by"], d["how"]) for d in data["decisions"]] == [
        ("confirm", "confirmed", "bo", "runbook parameter")
    ]
    assert data["upgrades"]["mds1"][1] - data["upgrades"]["mds1"][0] == 8


def test_the_state_run_wins_over_a_later_run_that_did_not_end() -> None:
    events = [
        ev(0, "a", "05", "phase", event="start"),
        ev(5, "a", "05", "phase", event="end", verdict="passed"),
        ev(9, "b", "05", "phase", event="start"),
    ]
    state = {"phases": {"05": {"verdict": "passed", "run_id": "a"}}}
    assert timeline.counted_runs(events, state) == {"05": "a"}


def test_frames_show_whole_values() -> None:
    sha = "ab" * 32
    df = pd.DataFrame([["inventory SHA-256", sha]], columns=["", "value"])
    assert sha in ui.frame_html(df) and sha in ui.frame_text(df)
