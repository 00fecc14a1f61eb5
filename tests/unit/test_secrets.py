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
