"""Adversarial domain names through the Management API reads, the script run in a real bash
with a stand-in ``mgmt_cli``: names with leading or trailing blanks or a newline keep their
answers (the item markers carry them escaped); quotes, ``$()``, backticks, unicode and long
names are read as they are, and nothing they hold is run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mdstools import mgmt_api
from mdstools.commands import ha
from mdstools.session import Session
from tests.unit.local_bash import session_with_path

ANSWER = {"uid": "u1", "publish-time": {"posix": 5, "iso-8601": "2026-11-26T14:56+0000"}}


def stand_in(tmp: Path) -> Path:
    """A ``mgmt_cli`` that logs in, logs out and answers every other command with
    :data:`ANSWER`; each call is appended to ``tmp/calls``."""
    script = tmp / "mgmt_cli"
    script.write_text(
        "#!/bin/bash\n"
        f'printf "%s\\n" "$1" >> {tmp / "calls"}\n'
        'case "$1" in\n'
        '  login) printf \'{"sid": "s"}\' ;;\n'
        '  logout) printf \'{"message": "OK"}\' ;;\n'
        f"  *) printf '%s' {json.dumps(json.dumps(ANSWER))} ;;\n"
        "esac\n"
    )
    script.chmod(0o755)
    return script


def bash_session(tmp: Path) -> Session:
    """A session whose execs run in a local bash, the stand-in first on the PATH."""
    stand_in(tmp)
    return session_with_path(f"{tmp}:{os.environ['PATH']}")


def read(tmp: Path, domains: list[str]) -> dict[str, list[str]]:
    return mgmt_api.read_domains(
        bash_session(tmp),
        domains,
        lambda d, s: [ha.mgmt("show-last-published-session", session=s)],
        time_scale=0.001,
    )


def test_quotes_substitutions_unicode_and_long_names_are_read_and_never_run(
    tmp_path: Path,
) -> None:
    canary = tmp_path / "ran"
    names = [
        'it\'s "q"',
        f"$(touch {canary})",
        f"`touch {canary}`",
        "semi;colon&amp|pipe>gt",
        "Ünïcödé-域名",
        "L" * 300,
    ]
    got = read(tmp_path, names)
    assert not canary.exists()
    assert sorted(got) == sorted(names)
    for name in names:
        assert ha.parse_last_published_session(got[name][0]).publish_posix == 5, name
    calls = (tmp_path / "calls").read_text().split()
    assert calls.count("login") == calls.count("logout") == len(names)


@pytest.mark.parametrize("name", [" lead", "trail ", "line1\nline2"])
def test_a_name_with_outer_blanks_or_a_newline_keeps_its_answer(tmp_path: Path, name: str) -> None:
    got = read(tmp_path, [name, "dom1"])
    assert ha.parse_last_published_session(got["dom1"][0]).publish_posix == 5
    assert ha.parse_last_published_session(got[name][0]).publish_posix == 5
