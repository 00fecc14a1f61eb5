"""Adversarial cases of the change-freeze watch: an MDS answers one domain's
``show-last-published-session`` with something that is not a session (truncated JSON, an
HTML error page, an empty body, an error code the client does not know), or a login
refused on an MDS where phase 02 read that domain's marker (its DMS is there, so it is not
"a domain the server does not host": after a reboot the DMS may still be starting). The watch cannot
tell whether that domain changed since the freeze, so it must say so; today it treats the
domain as unchanged and records nothing (the defects are marked xfail, strict)."""

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


@pytest.mark.xfail(
    strict=True,
    reason="freeze._last_published maps any unparseable or unknown-error answer, and any "
    "failed login, to None, and collect() skips a None marker as 'unchanged' without a note "
    "or journal line",
)
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


@pytest.mark.xfail(
    strict=True,
    reason="collect() prints and journals an MDS it could not read, then watch_check passes "
    "R6 with 'no change since the freeze' as if that MDS had been read",
)
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
