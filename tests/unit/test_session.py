"""Session behaviour with the fake transport: prologue, context, clish -> expert, Result."""

from __future__ import annotations

from pathlib import Path

import pytest

from mdstools.commands.base import Command, Mode
from mdstools.errors import CommandFailed, ConnectionLostError, ModeError, ParseError
from mdstools.inventory import Connection, Role, Server
from mdstools.secrets import MASK, Secret
from mdstools.session import PROLOGUE, Result, Session
from mdstools.transport.fake import FakeShell, FakeTransport, table


def server(shell: str = "bash", expert: str | None = None) -> Server:
    return Server(
        name="mds1",
        host="192.0.2.11",
        port=22,
        role=Role.PRIMARY,
        shell=shell,
        connection=Connection(expert_password=expert),
    )


def number(text: str) -> int:
    if not text.strip().isdigit():
        raise ParseError("count", "not a number", text)
    return int(text)


def test_exec_has_prologue_and_domain_context() -> None:
    fake = FakeTransport("mds1", table({r"mdsstat$": "table\n"}))
    s = Session(server(), fake)
    r = s.run("mdsstat")
    assert fake.calls[-1].startswith(PROLOGUE) and fake.calls[-1].endswith("mdsstat")
    assert r.ok and r.domain is None and r.command == "mdsstat" and r.mode == "expert"
    s.run(Command("mdsstat", lambda t: t), domain="dom1_Server")
    assert "mdsenv dom1_Server >/dev/null && mdsstat" in fake.calls[-1]
    assert s.run("x", domain="my dom").domain == "my dom"
    assert "mdsenv 'my dom'" in fake.calls[-1]


def test_clish_command_from_bash_uses_clish_c() -> None:
    fake = FakeTransport("mds1", table({r"^clish -c": "Product version Check Point Gaia R81.20\n"}))
    s = Session(server(), fake)
    r = s.run(Command("show version all", lambda t: t, mode=Mode.CLISH))
    assert fake.calls[-1] == "clish -c 'show version all'" and r.ok


def test_result_ok_parse_error_and_raise() -> None:
    fake = FakeTransport(
        "mds1", table({"good": "42\n", "bad": "forty-two\n", "fails": ("", "boom\n", 3)})
    )
    s = Session(server(), fake)
    assert s.run(Command("good", number)).value() == 42
    bad = s.run(Command("bad", number))
    assert not bad.ok and bad.error == "parse error: not a number" and bad.data is None
    with pytest.raises(ParseError) as exc:
        bad.raise_for_status()
    assert exc.value.raw == "forty-two\n"
    fails = s.run(Command("fails", number))
    assert fails.exit_status == 3 and fails.error == "exit status 3"
    with pytest.raises(CommandFailed, match="boom"):
        fails.raise_for_status()
    with pytest.raises(CommandFailed):
        s.run(Command("fails", number), check=True)
    assert not hasattr(Result, "__bool__") or Result.__bool__ is object.__bool__  # type: ignore[comparison-overlap]


def test_secrets_are_redacted_from_results_and_hooks_see_them() -> None:
    Secret("token-abc-987")
    seen: list[Result[object]] = []
    fake = FakeTransport("mds1", table({"echo": "the token is token-abc-987\n"}))
    s = Session(server(), fake, hooks=[seen.append])
    r = s.run("echo token-abc-987")
    assert "token-abc-987" not in r.stdout + r.command and MASK in r.stdout
    assert seen == [r]


def test_read_only_command_retries_once_after_a_drop_mutating_does_not() -> None:
    fake = FakeTransport("mds1", table({"x": "ok\n"}), drop_next=1)
    s = Session(server(), fake)
    assert s.run("x").stdout == "ok\n" and fake.reconnects == 1
    fake.drop_next = 1
    with pytest.raises(ConnectionLostError):
        s.run(Command("x", lambda t: t, mutating=True))


def expert_responder(script: str) -> tuple[str, int]:
    """Plays bash for the script a framed command staged: its output and status."""
    return ("hello from expert\n", 0) if script.endswith("echo hi") else ("again\n", 0)


def test_clish_login_escalates_to_expert_once(tmp_path: Path) -> None:
    pw = tmp_path / "expert"
    pw.write_text("exp-pass-555\n")
    shells: list[FakeShell] = []

    def factory() -> FakeShell:
        sh = FakeShell("mds2", "exp-pass-555", expert_responder)
        shells.append(sh)
        return sh

    fake = FakeTransport(
        "mds2", table({"^show version all$": "Product version ...\n"}), shell_factory=factory
    )
    s = Session(server("clish", f"file:{pw}"), fake)
    r = s.run("echo hi")
    assert r.ok and r.stdout == "hello from expert\n" and r.exit_status == 0
    assert s.run("echo again").ok and len(shells) == 1, "one expert shell is reused"
    assert shells[0].sent[:2] == ["expert", "exp-pass-555"]
    assert shells[0].scripts[0].endswith("echo hi") and "mdsenv" in shells[0].scripts[0]
    clish = s.run(Command("show version all", lambda t: t, mode=Mode.CLISH))
    assert clish.ok and fake.calls == ["show version all"], "clish commands go straight to exec"


def test_wrong_expert_password_is_a_mode_error(tmp_path: Path) -> None:
    pw = tmp_path / "expert"
    pw.write_text("not-it\n")
    fake = FakeTransport(
        "mds2", table({}), shell_factory=lambda: FakeShell("mds2", "the-real-one", expert_responder)
    )
    s = Session(server("clish", f"file:{pw}"), fake)
    with pytest.raises(ModeError, match="Wrong password"):
        s.run("echo hi")


def test_clish_login_without_expert_password() -> None:
    fake = FakeTransport(
        "mds2", table({}), shell_factory=lambda: FakeShell("mds2", "x", expert_responder)
    )
    with pytest.raises(ModeError, match="expert_password"):
        Session(server("clish", None), fake).run("echo hi")


def test_prompts_are_found_through_terminal_control_sequences() -> None:
    from mdstools.session import ANY_PROMPT, CLISH_PROMPT, EXPERT_PROMPT, PASSWORD_PROMPT

    assert CLISH_PROMPT.search("banner\r\ngw-r81:0> ")
    assert CLISH_PROMPT.search("\r\n\x1b]0;mds2\x07mds2> ")
    assert EXPERT_PROMPT.search("x\r\n\x1b[?2004h[Expert@mds2:0]# ")
    assert EXPERT_PROMPT.search("\x1b[?2004l\r\x1b[?2004h[Expert@mds-2.lab:0]# ")
    assert PASSWORD_PROMPT.search("expert\r\nEnter expert password:\x1b[?2004l")
    assert not ANY_PROMPT.search("echo '[Expert@mds2:0]# ' && echo mds2>")
    assert not EXPERT_PROMPT.search("[Expert@mds2:0]# echo hi\r\n")
