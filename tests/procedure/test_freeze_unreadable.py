"""The change-freeze watch and what it could not read: an MDS answers one domain's
``show-last-published-session`` with something that is not a session (truncated JSON, an
HTML error page, an empty body, an error code the client does not know), or a login
refused on an MDS where phase 02 read that domain's marker (its DMS is there, so it is not
"a domain the server does not host": after a reboot the DMS may still be starting). The watch
cannot tell whether that domain changed since the freeze: it says so (printed, journaled),
and the R6 gate does not pass what it could not read (an error in 03-06, a warning in 07)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mdstools.procedure import freeze
from mdstools.run import Run
from tests.procedure.data.freeze import batch_answer
from tests.procedure.data.prepare import published
from tests.procedure.harness import scripted

DOMAINS = ["dom1", "dom2"]
GARBAGE = {
    "truncated-json": '{"uid": "s1", "user-name": "eve", "publish-time": {"posix": 2',
    "html": "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    "empty": "",
    "unknown-error-code": json.dumps({"code": "generic_err_internal", "message": "boom"}),
}
LOGIN_FAILED = json.dumps(
    {"code": "err_login_failed", "message": "Authentication to server failed."}
)
"""What a DMS still starting after its MDS rebooted answers a login (the lab, over SSH)."""


def freeze_at_100(run: Run) -> None:
    """Phase 02 recorded the last publish of dom1 and dom2 on both MDSs at posix 100."""
    markers = [
        {"domain": d, "server": m, "publish_posix": 100, "session": "s0"}
        for m in ("mds1", "mds2")
        for d in DOMAINS
    ]
    body = {"started_by": "op", "started_at": "2026-11-26T14:00:00+00:00", "markers": markers}
    run.write_file("freeze.json", json.dumps(body) + "\n")


@pytest.mark.parametrize("kind", [*sorted(GARBAGE), "login-failed-where-a-marker-was-read"])
def test_a_domain_whose_marker_cannot_be_read_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    unmoved = batch_answer({"dom1": published("s0", 100), "dom2": published("s0", 100)})
    dom1 = {"login dom1": LOGIN_FAILED} if kind not in GARBAGE else {"dom1": GARBAGE[kind]}
    garbled = batch_answer({**dom1, "dom2": published("s0", 100)})
    answers = {
        "mds1": {"show-last-published": unmoved},
        "mds2": {"show-last-published": garbled},
    }
    s = scripted(tmp_path, answers, phase_id="03", params={"time_scale": 0.0001})
    freeze_at_100(s.run)
    capsys.readouterr()
    found = freeze.collect(s.run)
    out, err = capsys.readouterr()
    events = s.events(["freeze"])
    assert found == []
    said = out + err + json.dumps(events)
    assert "dom1" in said and "mds2" in said, (out, err, events)


def test_the_gate_does_not_pass_unseen_an_mds_it_could_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_now = json.dumps({"code": "generic_server_initializing", "message": "initializing"})
    answers = {
        "mds1": {
            "show-last-published": batch_answer(
                {"dom1": published("s0", 100), "dom2": published("s0", 100)}
            )
        },
        "mds2": {"show-last-published": batch_answer({"dom1": not_now, "dom2": not_now})},
    }
    s = scripted(tmp_path, answers, phase_id="03", params={"time_scale": 0.0001})
    freeze_at_100(s.run)
    check = freeze.watch_check(s.run, freeze.watch(s.run))
    assert "changes on mds2 not read" in capsys.readouterr().out
    assert not check.passed or "mds2" in check.reason, check.reason
    assert not check.passed and check.severity == "error" and "mds2" in check.reason
    assert "run phase 03 again" in check.next_step


def test_an_unread_domain_fails_the_blocking_gate_and_warns_in_07(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unmoved = batch_answer({"dom1": published("s0", 100), "dom2": published("s0", 100)})
    garbled = batch_answer({"dom1": GARBAGE["html"], "dom2": published("s0", 100)})
    answers = {
        "mds1": {"show-last-published": unmoved},
        "mds2": {"show-last-published": garbled},
    }
    s = scripted(tmp_path, answers, phase_id="03", params={"time_scale": 0.0001})
    freeze_at_100(s.run)
    changes = freeze.watch(s.run)
    blocking = freeze.watch_check(s.run, changes)
    carried = freeze.watch_check(s.run, changes, blocking=False)
    assert not blocking.passed and blocking.severity == "error"
    assert "dom1 on mds2" in blocking.reason
    assert not carried.passed and carried.severity == "warning"
    assert "changes on dom1 on mds2 not read" in capsys.readouterr().out


def test_a_domain_02_did_not_find_on_an_mds_is_not_hosted_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A login refused where phase 02's marker row holds an error (the DMS is not there)
    is "not hosted", as before: the gate passes."""
    unmoved = batch_answer({"dom1": published("s0", 100), "dom2": published("s0", 100)})
    refused = batch_answer({"login dom1": LOGIN_FAILED, "dom2": published("s0", 100)})
    answers = {"mds1": {"show-last-published": unmoved}, "mds2": {"show-last-published": refused}}
    s = scripted(tmp_path, answers, phase_id="03", params={"time_scale": 0.0001})
    markers = [
        {"domain": d, "server": m, "publish_posix": 100, "session": "s0"}
        for m in ("mds1", "mds2")
        for d in DOMAINS
        if (d, m) != ("dom1", "mds2")
    ] + [{"domain": "dom1", "server": "mds2", "publish_posix": None, "error": "err_login_failed"}]
    body = {"started_by": "op", "started_at": "2026-11-26T14:00:00+00:00", "markers": markers}
    s.run.write_file("freeze.json", json.dumps(body) + "\n")
    check = freeze.watch_check(s.run, freeze.watch(s.run))
    assert check.passed, check.reason


def test_a_dms_that_refuses_the_login_where_02_read_it_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A DMS that does not run (its login refused where phase 02 read its marker) is named,
    but does not stop the phase: nobody can publish on it, and 06 says why it is down."""
    unmoved = batch_answer({"dom1": published("s0", 100), "dom2": published("s0", 100)})
    stopped = batch_answer({"login dom1": LOGIN_FAILED, "dom2": published("s0", 100)})
    answers = {
        "mds1": {"show-last-published": unmoved},
        "mds2": {"show-last-published": stopped},
    }
    s = scripted(tmp_path, answers, phase_id="05", params={"time_scale": 0.0001})
    freeze_at_100(s.run)
    check = freeze.watch_check(s.run, freeze.watch(s.run))
    assert not check.passed and check.severity == "warning", check
    assert "dom1 on mds2" in check.reason and freeze.DMS_SILENT in check.reason
    assert "changes on dom1 on mds2 not read" in capsys.readouterr().out
