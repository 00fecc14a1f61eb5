"""Secrets never print; every resolved value is redacted from text."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest

from mdstools.errors import SecretError
from mdstools.secrets import MASK, Secret, redact, resolve


def test_secret_never_shows_its_value(caplog: pytest.LogCaptureFixture) -> None:
    s = Secret("pa55-word-xyz", "env:X")
    assert str(s) == MASK and f"{s}" == MASK and "pa55" not in repr(s)
    logging.getLogger("t").warning("value %s", s)
    assert "pa55" not in caplog.text
    assert s.reveal() == "pa55-word-xyz"
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_resolve_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MDST_TEST_SECRET", "from-env-123")
    assert resolve("env:MDST_TEST_SECRET").reveal() == "from-env-123"
    f = tmp_path / "pw"
    f.write_text("from-file-456\n")
    assert resolve(f"file:{f}").reveal() == "from-file-456"
    assert resolve("file:pw", tmp_path).reveal() == "from-file-456"


def test_resolve_errors_say_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MDST_NOPE", raising=False)
    with pytest.raises(SecretError, match="export MDST_NOPE"):
        resolve("env:MDST_NOPE")
    with pytest.raises(SecretError, match="cannot read secret file"):
        resolve(f"file:{tmp_path / 'missing'}")
    with pytest.raises(SecretError) as exc:
        resolve("plain-password-789")
    assert "plain-password-789" not in str(exc.value)


def test_redact_replaces_every_known_value() -> None:
    Secret("alpha-secret-1")
    Secret("alpha-secret-1-longer")
    text = "login alpha-secret-1-longer then alpha-secret-1 done"
    assert redact(text) == f"login {MASK} then {MASK} done"
    assert redact("") == ""


def test_a_secret_is_masked_in_its_html_and_json_forms_too() -> None:
    """A value escaped after it was written (an HTML report, a JSON string) is still masked."""
    import html
    import json

    from mdstools.secrets import MASK, Secret, redact

    value = 'p<w>&"d\\q'
    Secret(value, "test")
    for form in (html.escape(value), html.escape(value, quote=False), json.dumps(value)[1:-1]):
        assert redact(f"before {form} after") == f"before {MASK} after"


def test_a_job_handle_does_not_show_its_command() -> None:
    """The command of a detached job may carry a value that must not reach a log or repr."""
    from datetime import datetime, timezone

    from mdstools.jobs import JobHandle

    handle = JobHandle(
        server="mds1",
        name="backup",
        job_id="id1",
        pid=42,
        directory="/var/log/x",
        command="secret-cmd",
        started_at=datetime.now(timezone.utc),
    )
    assert "secret-cmd" not in repr(handle)
