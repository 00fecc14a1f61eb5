"""Cases of ``mdstools.procedure.freeze``: the watchdog (03-07) and Collision forensics (07)."""

from __future__ import annotations

import json

from mdstools.commands.base import BATCH_MARK
from mdstools.procedure import freeze
from mdstools.procedure.freeze import Forensics
from mdstools.procedure.prepare import FREEZE
from mdstools.records import ChangeRecord
from mdstools.run import GateFailed, Run
from tests.procedure.data.prepare import published
from tests.procedure.harness import Case, in_session, wait_sent

TASK = "dcc3eb03-1ca8-40ab-b5d9-f75b9a95967a"
SINCE = "2026-11-26T14:00:00"
SHOW_CHANGES = (
    f"mgmt_cli -r true -d 'dom1' show-changes from-date '{SINCE}' limit '100' "
    "details-level 'full' --format json"
)
SHOW_TASK = (
    f"mgmt_cli -r true -d 'dom1' show-task task-id '{TASK}' details-level 'full' --format json"
)
WAIT_TASK = wait_sent("dom1", TASK)
BATCH = "~show-last-published-session -s"


def batch_answer(texts: dict[str, str]) -> str:
    """What one batch exec prints: each item's output after its marker line."""
    return "".join(f"\n{BATCH_MARK}{k}\n{v}" for k, v in texts.items())


def changes_task(admin: str, posix: int, name: str) -> str:
    """A finished show-changes task: one host added by ``admin``."""
    change = {
        "session": {
            "session-uid": f"sess-{name}",
            "user-name": admin,
            "publish-time": {"posix": posix, "iso-8601": "2026-11-26T14:30+0000"},
        },
        "operations": {
            "added-objects": [
                {"uid": f"uid-{name}", "name": name, "type": "host", "ipv4-address": "10.9.9.9"}
            ]
        },
    }
    task = {
        "task-id": TASK,
        "task-name": "Show Changes",
        "status": "succeeded",
        "progress-percentage": 100,
        "task-details": [{"changes": [change]}],
    }
    return json.dumps({"tasks": [task]})


def _freeze_at_100(run: Run) -> None:
    """Phase 02 recorded the last publish of dom1 on both MDSs at posix 100."""
    markers = [
        {"domain": "dom1", "server": m, "publish_posix": 100, "session": "s0"}
        for m in ("mds1", "mds2")
    ]
    body = {"started_by": "op", "started_at": f"{SINCE}+00:00", "markers": markers}
    run.write_file(FREEZE, json.dumps(body) + "\n")


def _watch(run: Run) -> list[tuple[str, ...]]:
    df = freeze.watch(run)
    return [tuple(str(v) for v in r) for r in df.itertuples(index=False)]


def _check(run: Run) -> tuple[bool, str, str]:
    c = freeze.watch_check(run, freeze.watch(run))
    return c.passed, c.severity, c.reason


UNMOVED = batch_answer({"dom1": published("s0", 100)})
MOVED = batch_answer({"dom1": published("s1", 200)})


def change(server: str, name: str, kind: str = "host") -> ChangeRecord:
    """``name`` added by alice on ``server``'s DMS (of dom3 for h3, else of dom1)."""
    fields = {"ipv4-address": "10.9.9.9"} if kind == "host" else {}
    return ChangeRecord(
        domain="dom1" if name != "h3" else "dom3",
        session_uid=f"sess-{name}",
        admin="alice",
        publish_time="2026-11-26T14:30+0000",
        publish_posix=200,
        operation="added",
        object_type=kind,
        object_name=name,
        object_uid=f"uid-{name}",
        fields=fields,
        server=server,
    )


BOTH_SIDES = Forensics(
    domain="dom1",
    sides={"mds1": [change("mds1", "h1")], "mds2": [change("mds2", "h2")]},
    recommended="mds1",
    reason="equal",
)
ONE_SIDE = Forensics(
    domain="dom3",
    sides={"mds1": [], "mds2": [change("mds2", "h3")]},
    recommended="mds2",
    reason="smaller",
)


def _retain(run: Run) -> dict[str, str]:
    """Step 3 and 4 of runbook 07, headless: the decision from the parameter, if any."""
    found = [BOTH_SIDES, ONE_SIDE]
    pending = [f.domain for f in found if f.lossless_choice is None]
    choice = run.choose_each(
        "retain_database_on",
        freeze.choice_question(found),
        pending,
        ["mds1", "mds2"],
        "retain_database_on",
        recommended={f.domain: f.recommended for f in found},
    )
    return freeze.retained(run, found, choice, ["mds1", "mds2"])


def _reentry(run: Run) -> tuple[list[tuple[str, str, str]], str]:
    lost = {"dom1": "mds1", "dom3": "mds1"}
    df = freeze.reentry(run, [BOTH_SIDES, ONE_SIDE], lost)
    draft = (run.report_dir / "reentry_draft.mgmt.txt").read_text()
    commands = "\n".join(ln for ln in draft.splitlines() if not ln.startswith("#"))
    return [(str(r.object), str(r.how), str(r._1)) for r in df.itertuples(index=False)], commands


CASES = [
    Case(
        "no freeze recorded: the watchdog warns",
        _check,
        phase_id="03",
        result=(False, "warning", "no freeze markers (phase 02 not run for this ticket)"),
        events=[("freeze-watch", {"changes": 0, "risks": 0})],
    ),
    Case(
        "no DMS published since the freeze: one batch per MDS, no show-changes",
        _check,
        answers={
            "mds1": {"show-last-published": UNMOVED},
            "mds2": {"show-last-published": UNMOVED},
        },
        setup=_freeze_at_100,
        phase_id="03",
        sent={"mds1": [BATCH], "mds2": [BATCH]},
        result=(True, "error", "no change since the freeze"),
    ),
    Case(
        "a change on the secondary's DMS is a collision risk and blocks",
        _check,
        answers={
            "mds1": {"show-last-published": UNMOVED},
            "mds2": {
                "show-last-published": MOVED,
                "show-changes": json.dumps({"task-id": TASK}),
                "read-only true.*show-task": in_session(
                    "dom1", answer=changes_task("bob", 150, "h9")
                ),
                "show-task": changes_task("bob", 150, "h9"),
            },
        },
        setup=_freeze_at_100,
        phase_id="03",
        sent={"mds1": [BATCH], "mds2": [BATCH, SHOW_CHANGES, WAIT_TASK, SHOW_TASK]},
        result=(
            False,
            "error",
            "1 change at risk of being lost: dom1 on mds2 by bob at 2026-11-26T14:30+0000: "
            "added host h9",
        ),
        events=[
            ("file", {"path": FREEZE}),
            ("freeze-watch", {"changes": 1, "risks": 1}),
            ("file", {"path": "freeze_watch_03.csv"}),
        ],
    ),
    Case(
        "continuous management: the same change is carried forward, not blocking",
        _check,
        answers={
            "mds1": {"show-last-published": UNMOVED},
            "mds2": {
                "show-last-published": MOVED,
                "show-changes": json.dumps({"task-id": TASK}),
                "read-only true.*show-task": in_session(
                    "dom1", answer=changes_task("bob", 150, "h9")
                ),
                "show-task": changes_task("bob", 150, "h9"),
            },
        },
        setup=_freeze_at_100,
        params={"continuous_management": True},
        phase_id="04",
        sent={"mds1": [BATCH], "mds2": [BATCH, SHOW_CHANGES, WAIT_TASK, SHOW_TASK]},
        result=(
            False,
            "warning",
            "1 change at risk of being lost: dom1 on mds2 by bob at 2026-11-26T14:30+0000: "
            "added host h9",
        ),
    ),
    Case(
        "an MDS that does not answer is journaled and skipped",
        _watch,
        answers={"mds1": {"show-last-published": UNMOVED}},
        down=["mds2"],
        setup=_freeze_at_100,
        phase_id="05",
        sent={"mds1": [BATCH]},
        result=[],
        events=[
            ("freeze", {"server": "mds2", "error": "mds2: refused the connection (fake)"}),
            ("freeze-watch", {"changes": 0, "risks": 0}),
        ],
    ),
    Case(
        "Collision on both sides without a decision stops the phase",
        _retain,
        phase_id="07",
        raises=(
            GateFailed,
            r"Collision needs a decision: dom1 \(mds1 changed 1: added host h1 by alice; "
            r"mds2 changed 1: added host h2 by alice; recommended: retain mds1\)",
        ),
        events=[("phase", {"event": "end", "verdict": "failed"})],
    ),
    Case(
        "a decided domain and one changed on one side only",
        _retain,
        params={"retain_database_on": "dom1=mds2"},
        phase_id="07",
        result={"dom1": "mds2", "dom3": "mds2"},
        events=[
            ("decision", {"name": "retain dom1", "value": "mds2", "how": "parameter"}),
            (
                "decision",
                {"name": "retain dom3", "value": "mds2", "how": "automatic (no change is lost)"},
            ),
        ],
    ),
    Case(
        "the changes of the discarded side: CSV, draft and checklist",
        _reentry,
        phase_id="07",
        result=(
            [("h2", "draft mgmt_cli", "mds2"), ("h3", "draft mgmt_cli", "mds2")],
            "mgmt_cli -r true -d dom1 add-host name h2 ipv4-address 10.9.9.9 --format json\n"
            "mgmt_cli -r true -d dom3 add-host name h3 ipv4-address 10.9.9.9 --format json",
        ),
        events=[
            ("file", {"path": "reentry.csv"}),
            ("file", {"path": "reentry_draft.mgmt.txt"}),
            ("reentry", {"changes": 2}),
        ],
    ),
]
