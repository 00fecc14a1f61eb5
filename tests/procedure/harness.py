"""A real :class:`~mdstools.run.Run` whose fleet talks to scripted fake transports.

A case declares what each server answers, by command pattern (``{server: {regex: answer}}``;
an answer is stdout, ``(stdout, stderr, exit status)``, or a list of those given one per call,
the last one repeated), and which servers do not answer at all. The run keeps every command
each server received (the environment prologue removed), and its journal is the real one in
``reports/<ticket>/journal.jsonl`` under the test's temporary directory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import pytest

from mdstools import audit, mgmt_api
from mdstools.commands import ha
from mdstools.commands.base import BATCH_MARK, Command
from mdstools.errors import ConnectionLostError
from mdstools.fleet import Fleet
from mdstools.inventory import Inventory, Server, parse
from mdstools.phases import phase
from mdstools.run import Run
from mdstools.session import PROLOGUE
from mdstools.transport.fake import FakeTransport

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TICKET = "CHG-PROC-1"
PACKAGE = "Check_Point_R81.20_T631_Fresh_install_and_Upgrade.tgz"

Reply = Union[str, tuple[str, str, int], ConnectionLostError]  # noqa: UP007
Answer = Union[Reply, list[Reply]]  # noqa: UP007
Answers = Mapping[str, Mapping[str, Answer]]


def fixture(name: str) -> str:
    """The bytes-exact text of ``tests/fixtures/<name>`` (``<command>/<case>.txt``)."""
    return (FIXTURES / name).read_bytes().decode("utf-8")


def inventory_data(method: str = "cpuse") -> dict[str, Any]:
    """Two MDSs and one MLM, as the lab's default scenario names them."""
    package = f"/var/log/upload/{PACKAGE}" if method == "cpuse" else "$MDSDIR/scripts/mds_setup"
    return {
        "environment": "proc-fake",
        "target_version": "R81.20",
        "upgrade": {"method": method, "package": package},
        "backup_dir": "/var/log/mds_backups",
        "connection": {"username": "admin", "password": "env:MDSTOOLS_PROC_PASSWORD"},
        "servers": [
            {"name": "mds1", "host": "192.0.2.11", "role": "primary"},
            {"name": "mds2", "host": "192.0.2.12", "role": "secondary"},
            {"name": "mlm1", "host": "192.0.2.13", "role": "log-server"},
        ],
    }


def responder(
    server: str, answers: Mapping[str, Answer], seen: list[str], lost: list[str]
) -> Callable[[str, str | None], tuple[str, str, int]]:
    """Answers one server's commands from its table; records each command without the
    prologue. A command no pattern matches gets bash's ``command not found`` (127); a
    :class:`ConnectionLostError` as the answer drops the connection (a reboot) instead."""
    table = [(re.compile(k), list(v) if isinstance(v, list) else [v]) for k, v in answers.items()]

    def respond(command: str, stdin: str | None) -> tuple[str, str, int]:
        """The first matching pattern's next answer."""
        line = command.removeprefix(PROLOGUE)
        seen.append(line)
        for rx, replies in table:
            if rx.search(line):
                reply = replies.pop(0) if len(replies) > 1 else replies[0]
                if isinstance(reply, ConnectionLostError):
                    lost.append(line)
                    raise reply
                return (reply, "", 0) if isinstance(reply, str) else reply
        return "", f"bash: {line.split()[0] if line.split() else ''}: command not found\n", 127

    return respond


@dataclass
class Scripted:
    """The run, and what its servers were sent."""

    run: Run
    transports: dict[str, FakeTransport]
    sent: dict[str, list[str]] = field(default_factory=dict)
    lost: dict[str, list[str]] = field(default_factory=dict)

    def events(self, kinds: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The journal of the run (only ``kinds`` when given), in order."""
        wanted = None if kinds is None else set(kinds)
        entries = audit.read_journal(self.run.report_dir / audit.JOURNAL)
        return [e for e in entries if wanted is None or e.get("kind") in wanted]

    def commands(self) -> dict[str, list[str]]:
        """The commands each server received, in order (servers that got none left out)."""
        return {name: lines for name, lines in self.sent.items() if lines}


def scripted(
    reports: Path,
    answers: Answers,
    *,
    down: Sequence[str] = (),
    phase_id: str = "02",
    dry_run: bool = False,
    params: Mapping[str, Any] | None = None,
    method: str = "cpuse",
) -> Scripted:
    """A headless run of ``phase_id`` for ticket :data:`TICKET` on the fake fleet."""
    inv: Inventory = parse(inventory_data(method), reports / "inventory.yml", "0" * 64)
    run = Run(
        inventory=inv,
        ticket=TICKET,
        operator="proc-tester",
        phase=phase(phase_id),
        reports=reports,
        interactive=False,
        dry_run=dry_run,
        params={"time_scale": 1.0, **(params or {})},
    )
    sent: dict[str, list[str]] = {s.name: [] for s in inv.servers}
    lost: dict[str, list[str]] = {s.name: [] for s in inv.servers}
    transports = {
        s.name: FakeTransport(
            s.name,
            responder(s.name, answers.get(s.name, {}), sent[s.name], lost[s.name]),
            unreachable=s.name in down,
        )
        for s in inv.servers
    }

    def transport(server: Server) -> FakeTransport:
        """The scripted transport of ``server``, the same for every session."""
        return transports[server.name]

    run._fleet = Fleet(inv, hooks=[run._record], transport=transport)
    return Scripted(run, transports, sent, lost)


def matches(expected: Sequence[str], actual: Sequence[str]) -> bool:
    """Each expected line equals its actual line, or, written ``~regex``, is found in it."""
    return len(expected) == len(actual) and all(
        re.search(e[1:], a) is not None if e.startswith("~") else e == a
        for e, a in zip(expected, actual, strict=True)
    )


def assert_events(s: Scripted, expected: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """The journal's events of the kinds named in ``expected`` are these, in order; each
    has at least the fields given."""
    kinds = {k for k, _ in expected}
    got = s.events(kinds)
    assert len(got) == len(expected), json.dumps(got, indent=1, default=str)
    for (kind, fields), event in zip(expected, got, strict=True):
        assert event["kind"] == kind, event
        for key, value in fields.items():
            assert event.get(key) == value, f"{key}: {event.get(key)!r} != {value!r} in {event}"


def assert_journal_accounts(s: Scripted) -> None:
    """Every command a server answered is journaled (one ``command`` event each; one
    that lost the connection is not), and a dry run journals no mutating command as sent."""
    for name, lines in s.sent.items():
        journaled = [e for e in s.events(["command"]) if e.get("server") == name]
        answered = len(lines) - len(s.lost.get(name, []))
        assert len(journaled) == answered, (
            f"{name}: {len(journaled)} journaled, {answered} answered"
        )
    if s.run.dry_run:
        assert not [e for e in s.events(["command"]) if e.get("mutating")]


def ha_state_json(domains: Mapping[str, Mapping[str, str]]) -> str:
    """A ``show-ha-state`` answer: ``{domain: {mds: "active" | "standby"}}`` (Global's
    servers have no name, a domain's are ``<domain>_Server`` on mds1, ``_Server_2`` else)."""
    out = []
    for dom, states in domains.items():
        servers = []
        for i, (mds, state) in enumerate(states.items()):
            entry = {
                "ip-address": f"192.0.2.{11 + i}",
                "ha-state": state,
                "multi-domain-server": mds,
            }
            if dom != "Global":
                entry["name"] = f"{dom}_Server" if mds == "mds1" else f"{dom}_Server_2"
            servers.append(entry)
        kind = "global domain" if dom == "Global" else "domain"
        out.append({"name": dom, "domain-type": kind, "servers": servers})
    return json.dumps({"domains": out}, indent=2) + "\n"


def mgmt_error(code: str, message: str) -> tuple[str, str, int]:
    """A Management API error answer, as ``mgmt_cli --format json`` prints it (exit 1)."""
    return json.dumps({"code": code, "message": message}) + "\n", "", 1


def in_session(domain: str, login_error: str = "", answer: str | tuple[str, str, int] = "") -> str:
    """What a session script for ``domain`` prints: the login's error, else the answer (an
    error answer of :func:`mgmt_error` as its body: the exec itself ends well)."""
    out = f"\n{BATCH_MARK}login {domain}\n{login_error}"
    body = answer[0] if isinstance(answer, tuple) else answer
    return out if login_error else out + f"\n{BATCH_MARK}{domain}\n{body}"


def change_sent(domain: str, build: Callable[[str], Command[Any]]) -> str:
    """The exec of a change of ``domain`` in one read/write session (``build(session)``)."""
    return mgmt_api.change_command(domain, build).line


def wait_sent(domain: str, task: str) -> str:
    """A :func:`matches` line for the exec that waits for ``task`` in one read-only session
    of ``domain``: the login, then ``show-task`` in that session in a loop."""
    login = f"mgmt_cli login -r true -d '{domain}' read-only true --format json"
    show = ha.show_task(task, session=mgmt_api.SESSION_FILE).line
    return f"~{re.escape(login)}.*while :; do {re.escape(show)}"


@dataclass(frozen=True)
class Case:
    """One procedure call on the fake fleet and everything it must do.

    ``act`` calls the procedure and returns what is compared with ``result`` (the
    records, or the few fields of them that the case is about); ``raises`` instead names
    the error and a pattern of its message. ``sent`` lists the commands per server in
    order (``~regex`` for a line matched by pattern); the servers named in ``any_order``
    run their reads as concurrent channels, so there only the set counts. ``events``
    are the journal events of the kinds named there, in order. ``setup`` prepares the
    record of the ticket before the call (an earlier run's journal, a freeze).
    """

    id: str
    act: Callable[[Run], object]
    answers: Answers = field(default_factory=dict)
    sent: Mapping[str, Sequence[str]] = field(default_factory=dict)
    result: object = None
    raises: tuple[type[BaseException], str] | None = None
    events: Sequence[tuple[str, Mapping[str, Any]]] = ()
    down: Sequence[str] = ()
    dry_run: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)
    phase_id: str = "02"
    method: str = "cpuse"
    any_order: Sequence[str] = ()
    setup: Callable[[Run], None] | None = None
    known_failure: str = ""


def params(cases: Sequence[Case]) -> list[Any]:
    """``cases`` for ``pytest.mark.parametrize``, named by their ids; a case whose
    procedure is known to get it wrong (``known_failure`` says how) is a strict xfail."""
    return [
        pytest.param(
            c,
            id=c.id,
            marks=[pytest.mark.xfail(strict=True, reason=c.known_failure)]
            if c.known_failure
            else [],
        )
        for c in cases
    ]


def play(case: Case, reports: Path) -> Scripted:
    """Run ``case`` and check the result or error, the commands, the journal."""
    s = scripted(
        reports,
        case.answers,
        down=case.down,
        phase_id=case.phase_id,
        dry_run=case.dry_run,
        params=case.params,
        method=case.method,
    )
    if case.setup is not None:
        case.setup(s.run)
    if case.raises is not None:
        kind, pattern = case.raises
        try:
            case.act(s.run)
        except kind as exc:
            assert re.search(pattern, str(exc)), str(exc)
        else:
            raise AssertionError(f"{kind.__name__} not raised")
    else:
        got = case.act(s.run)
        assert got == case.result, got
    got = s.commands()
    assert set(got) == set(case.sent), f"servers that received commands: {sorted(got)}"
    for name, lines in case.sent.items():
        if name in case.any_order:
            assert sorted(got[name]) == sorted(lines), got[name]
        else:
            assert matches(lines, got[name]), f"{name} received:\n" + "\n".join(got[name])
    if case.events:
        assert_events(s, case.events)
    assert_journal_accounts(s)
    return s
