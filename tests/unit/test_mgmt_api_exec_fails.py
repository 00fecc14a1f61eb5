"""Adversarial: a read exec that fails as a whole (``mktemp -d`` fails: exit 70; no
``mgmt_cli`` on the PATH: the login fails with 127 and prints nothing) is an error naming
the server, the exit status and the first line of stderr, never empty answers (which
status would call "not JSON" and the change-freeze watch "unchanged")."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from mdstools import mgmt_api
from mdstools.commands import ha
from mdstools.errors import MdstoolsError
from tests.unit.local_bash import session_with_path


def failing_mktemp(tmp: Path) -> str:
    (tmp / "mktemp").write_text("#!/bin/bash\nexit 1\n")
    (tmp / "mktemp").chmod(0o755)
    return f"{tmp}:{os.environ['PATH']}"


def no_mgmt_cli(tmp: Path) -> str:
    return "/usr/bin:/bin"


@pytest.mark.parametrize("path", [failing_mktemp, no_mgmt_cli], ids=["mktemp-fails", "no-mgmt_cli"])
def test_an_exec_that_fails_as_a_whole_is_an_error_not_empty_answers(
    tmp_path: Path, path: Callable[[Path], str]
) -> None:
    sess = session_with_path(path(tmp_path))
    with pytest.raises(MdstoolsError) as info:
        got = mgmt_api.read_domains(
            sess,
            ["dom1", "dom2"],
            lambda d, s: [ha.mgmt("show-last-published-session", session=s)],
            time_scale=0.001,
        )
        print(got)
    assert "mds1" in str(info.value) and "no answer for dom" in str(info.value)
    assert "exit status" in str(info.value)


def test_the_error_names_the_missing_command() -> None:
    with pytest.raises(mgmt_api.ExecFailed, match="mgmt_cli: command not found"):
        mgmt_api.read_domains(
            session_with_path("/usr/bin:/bin"),
            ["dom1"],
            lambda d, s: [ha.mgmt("show-last-published-session", session=s)],
            time_scale=0.001,
        )


def test_a_change_or_a_task_wait_without_mgmt_cli_is_an_error_not_an_empty_answer() -> None:
    sess = session_with_path("/usr/bin:/bin")
    with pytest.raises(mgmt_api.ExecFailed, match="no answer for dom1"):
        mgmt_api.change(sess, "dom1", lambda s: ha.set_ha_state("dom1", "active", s))
    with pytest.raises(mgmt_api.ExecFailed, match="mgmt_cli: command not found"):
        mgmt_api.wait_task(sess, "dom1", "t1", timeout_s=1, interval_s=0.1)
