"""The change-freeze watch reads its MDSs at once and records what reading them one after
another recorded: the same changes, table, CSV, journal lines and printed lines, in the same
order; an MDS that cannot be read is skipped without losing the others' changes."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mdstools.errors import MdstoolsError
from mdstools.escape import terminal_text
from mdstools.procedure import freeze
from mdstools.procedure.prepare import FREEZE
from mdstools.records import ChangeRecord
from mdstools.run import Run
from tests.procedure import harness
from tests.procedure.data.freeze import SINCE, TASK, batch_answer, changes_task
from tests.procedure.data.prepare import published
from tests.procedure.harness import Scripted, in_session, mgmt_error, scripted

MDSS = ["mds1", "mds2", "mds3", "mds4"]
DOMAINS = ["dom1", "dom2"]
NOT_NOW = mgmt_error("generic_server_initializing", "the server is initializing")[0]


_TWO_MDSS = harness.inventory_data


def four_mdss(method: str = "cpuse") -> dict[str, Any]:
    """The harness's inventory with four MDSs (mds1 the primary) and its MLM."""
    data = _TWO_MDSS(method)
    servers = [
        {"name": m, "host": f"192.0.2.{11 + i}", "role": "primary" if i == 0 else "secondary"}
        for i, m in enumerate(MDSS)
    ]
    data["servers"] = [*servers, {"name": "mlm1", "host": "192.0.2.20", "role": "log-server"}]
    return data


@pytest.fixture(autouse=True)
def inventory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run of this module has four MDSs."""
    monkeypatch.setattr(harness, "inventory_data", four_mdss)


def moved(admin: str, name: str) -> dict[str, Any]:
    """An MDS whose dom1 was published since the freeze (``name`` added by ``admin``)."""
    return {
        "show-last-published": batch_answer(
            {"dom1": published("s1", 200), "dom2": published("s0", 100)}
        ),
        "show-changes": json.dumps({"task-id": TASK}),
        "read-only true.*show-task": in_session("dom1", answer=changes_task(admin, 150, name)),
        "show-task": changes_task(admin, 150, name),
    }


UNMOVED = {
    "show-last-published": batch_answer(
        {"dom1": published("s0", 100), "dom2": published("s0", 100)}
    )
}
ANSWERS = {
    "mds1": moved("alice", "h1"),  # safe: the primary's DMS
    "mds2": UNMOVED,
    "mds3": moved("bob", "h3"),  # a collision risk
    "mds4": {"show-last-published": batch_answer({"dom1": NOT_NOW, "dom2": NOT_NOW})},
}


def freeze_at_100(run: Run) -> None:
    """Phase 02 recorded the last publish of dom1 and dom2 on every MDS at posix 100."""
    markers = [
        {"domain": d, "server": m, "publish_posix": 100, "session": "s0"}
        for m in MDSS
        for d in DOMAINS
    ]
    body = {"started_by": "op", "started_at": f"{SINCE}+00:00", "markers": markers}
    run.write_file(FREEZE, json.dumps(body) + "\n")


def sequential_collect(run: Run, unread: dict[str, str] | None = None) -> list[ChangeRecord]:
    """``collect`` as it was when it read the MDSs one after another: the reference (an MDS
    not read is also kept in ``unread``, for the watch's gate)."""
    fz = freeze.load_freeze(run)
    if fz is None:
        return []
    markers = freeze._markers(fz)
    since = freeze.freeze_start_iso(fz)
    domains = sorted({d for d, _ in markers})
    found: list[ChangeRecord] = []
    for m in run.inventory.mdss:
        try:
            now = freeze._last_published(run, m.name, domains)
        except MdstoolsError as exc:
            run.journal.write("freeze", server=m.name, error=str(exc))
            print(terminal_text(f"changes on {m.name} not read: {exc}"), flush=True)
            if unread is not None:
                unread[m.name] = str(exc)
            continue
        for note in now.notes:
            run.journal.write("freeze", server=m.name, note=note)
        for dom in domains:
            ps = now.published.get(dom)
            before = markers.get((dom, m.name))
            if ps is None or ps.publish_posix is None or ps.publish_posix == before:
                continue
            found.extend(
                r
                for r in freeze.changes_since(run, m.name, dom, since)
                if before is None or (r.publish_posix or 0) > before
            )
    return freeze._dedupe(run, found)


@dataclass
class Watched:
    """What one watch left: its table, the record, the lines printed, the commands sent."""

    table: pd.DataFrame
    changes: list[ChangeRecord]
    events: list[dict[str, Any]]
    csv: str
    out: str
    err: str
    sent: dict[str, list[str]]


def watch(s: Scripted, capsys: pytest.CaptureFixture[str]) -> Watched:
    """The watch of ``s``'s run, the changes ``collect`` found, and what was recorded."""
    capsys.readouterr()
    changes: list[ChangeRecord] = []
    collect = freeze.collect

    def keep(run: Run, unread: dict[str, str] | None = None) -> list[ChangeRecord]:
        changes.extend(collect(run, unread))
        return changes

    with pytest.MonkeyPatch.context() as m:
        m.setattr(freeze, "collect", keep)
        table = freeze.watch(s.run)
    out, err = capsys.readouterr()
    events = [
        {k: v for k, v in e.items() if k not in ("ts", "run_id")}
        for e in s.events(["freeze", "freeze-watch", "file"])
    ]
    csv = (s.run.report_dir / "freeze_watch_03.csv").read_text()
    return Watched(table, changes, events, csv, out, err, s.commands())


def play(tmp: Path, capsys: pytest.CaptureFixture[str]) -> Watched:
    """The scenario's watch on a fresh run: mds2 down, mds4's API initializing throughout."""
    s = scripted(tmp, ANSWERS, down=["mds2"], phase_id="03", params={"time_scale": 0.0001})
    freeze_at_100(s.run)
    return watch(s, capsys)


def test_parallel_watch_records_what_the_sequential_one_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The MDSs are read at once, finishing in reverse inventory order (each waits for the
    next one's read: read one after another they would never end); the watch still gives
    what reading them in order gave: changes, table, CSV, journal, printed lines, commands."""
    with monkeypatch.context() as m:
        m.setattr(freeze, "collect", sequential_collect)
        reference = play(tmp_path / "sequential", capsys)

    done = {m: threading.Event() for m in MDSS}
    done["mds5"] = threading.Event()
    done["mds5"].set()
    read = freeze._last_published

    def last_finishes_first(run: Run, server: str, domains: list[str]) -> freeze._Markers:
        after = MDSS[MDSS.index(server) + 1] if server != MDSS[-1] else "mds5"
        assert done[after].wait(timeout=30), f"{server} read before {after} was read"
        try:
            return read(run, server, domains)
        finally:
            done[server].set()

    monkeypatch.setattr(freeze, "_last_published", last_finishes_first)
    parallel = play(tmp_path / "parallel", capsys)

    assert parallel.changes == reference.changes
    assert [(c.server, c.object_name) for c in parallel.changes] == [("mds1", "h1"), ("mds3", "h3")]
    pd.testing.assert_frame_equal(parallel.table, reference.table)
    assert parallel.csv == reference.csv
    assert parallel.events == reference.events
    assert [e.get("server") for e in parallel.events if e["kind"] == "freeze"] == ["mds2", "mds4"]
    assert parallel.out == reference.out
    assert "changes on mds2 not read" in parallel.out
    assert "changes on mds4 not read" in parallel.out
    assert parallel.err == reference.err
    assert "waiting for the Management API on mds4 (initializing after a reboot)" in parallel.err
    assert parallel.sent == reference.sent


def test_an_unexpected_failure_of_a_read_is_raised_and_a_later_one_journaled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in one MDS's read (not a server's failure) is raised as reading in order would
    have raised it, after the MDSs before it are recorded; a later MDS's is journaled."""
    read = freeze._last_published

    def broken(run: Run, server: str, domains: list[str]) -> freeze._Markers:
        if server in ("mds3", "mds4"):
            raise RuntimeError(f"bug on {server}")
        return read(run, server, domains)

    monkeypatch.setattr(freeze, "_last_published", broken)
    s = scripted(tmp_path, ANSWERS, down=["mds2"], phase_id="03", params={"time_scale": 0.0001})
    freeze_at_100(s.run)
    with pytest.raises(RuntimeError, match="bug on mds3"):
        freeze.collect(s.run)
    got = [(e["server"], e["error"]) for e in s.events(["freeze"])]
    assert got == [
        ("mds2", "mds2: refused the connection (fake)"),
        ("mds4", "RuntimeError: bug on mds4"),
    ]
