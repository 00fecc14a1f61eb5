"""The plan is what the procedures do: every command a scripted case sends is a step that
``mdstools plan`` lists for that phase and server, and every planned step is sent by some
case (``mdstools/procedure/steps.py`` is what both read)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from mdstools import jobs, mgmt_api
from mdstools.inventory import Inventory
from mdstools.phases import ALL_PHASES
from mdstools.procedure.steps import PHASE_STEPS, Step, phase_steps
from tests.procedure.conftest import never_blocking
from tests.procedure.data import (
    backout,
    common,
    discover,
    freeze,
    objects,
    prepare,
    snapshots,
    sync,
    timeline,
    upgrade,
    verification,
)
from tests.procedure.harness import TICKET, Case, play

MODULES: tuple[ModuleType, ...] = (
    backout,
    common,
    discover,
    freeze,
    objects,
    prepare,
    snapshots,
    sync,
    timeline,
    upgrade,
    verification,
)
WATCHED = ("03", "04", "05", "06", "07", "08")
_ITEM = re.compile(r"printf '\\n%s\\n' '### mdstools item [^']*'; ")
_CONTEXT = re.compile(r"^mdsenv \S+ >/dev/null && ")
_SESSIONS = f"mktemp -d {mgmt_api.SESSION_DIR}"
_API_CALL = re.compile(r"mgmt_cli (?:[^;>']|'[^']*')*?--format json")
_JOB = re.compile(re.escape(jobs.JOB_ROOT) + r"/[^/\s]+/([A-Za-z0-9_.-]+)")


def cases() -> Iterator[tuple[str, Case]]:
    """Every scripted case of ``tests/procedure/data`` that the procedure gets right."""
    for module in MODULES:
        for case in getattr(module, "CASES", []):
            if not case.known_failure:
                yield module.__name__.rsplit(".", 1)[-1], case


def phases_of(module: str, case: Case) -> tuple[str, ...]:
    """The phases whose plan must hold the case's commands: the helpers of ``common`` serve
    every phase, the change freeze's watch (a case left on the default phase) 03-08."""
    if module == "common":
        return ALL_PHASES
    if module == "freeze" and case.phase_id == "02":
        return WATCHED
    return (case.phase_id,)


def items(line: str) -> list[str]:
    """The command lines a sent line carries: the items of a batch, without the domain
    context or the ``clish -c`` around them; of a Management API session script, each
    ``mgmt_cli`` call (login, the reads, logout, the trap's logout)."""
    if _SESSIONS in line:
        return _API_CALL.findall(line)
    parts = (
        [p.strip().removesuffix(";").strip() for p in _ITEM.split(line)]
        if _ITEM.search(line)
        else [line]
    )
    out = []
    for part in parts:
        if not part:
            continue
        part = _CONTEXT.sub("", part)
        if part.startswith("clish -c "):
            part = shlex.split(part)[2]
        out.append(part)
    return out


def pattern(step: Step, inv: Inventory) -> re.Pattern[str]:
    """A sent line of ``step``: its line with any value in place of each ``<arg>``."""
    rx = re.escape(step.shown(inv).line)
    for arg in step.args:
        rx = rx.replace(re.escape(f"'<{arg}>'"), "(?:'[^']*'|\\S+)")
        rx = rx.replace(re.escape(f"<{arg}>"), "\\S+")
    return re.compile(rx)


def matching(line: str, steps: list[Step], inv: Inventory) -> list[Step]:
    """The steps ``line`` is one of: a job's lines by the job's directory, else by line (a
    dry run may show a job's command one part at a time: ``mdsstop``, ``mdsstart``); a
    Management API session script is the steps of its calls, each call a planned step."""
    job = _JOB.search(line)
    if job is not None:
        return [
            s
            for s in steps
            if s.job and jobs.job_directory(TICKET, s.job).endswith("/" + job.group(1))
        ]
    if _SESSIONS in line:
        calls = items(line)
        found = [s for s in steps if any(pattern(s, inv).fullmatch(c) for c in calls)]
        every = all(any(pattern(s, inv).fullmatch(c) for s in found) for c in calls)
        return found if every else []
    return [
        s
        for s in steps
        if all(pattern(s, inv).fullmatch(i) for i in items(line))
        or (s.job and line in s.shown(inv).line.split("; "))
    ]


def key(step: Step, inv: Inventory) -> tuple[str, str]:
    """What a step is wherever it is planned: its command line and its job."""
    return step.shown(inv).line, step.job


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Case, dict[str, Any]]]:
    """Each case played once: (module, case, what it sent, or showed in a dry run, and the
    run's inventory)."""
    out = []
    with pytest.MonkeyPatch.context() as mp:
        never_blocking(mp)
        for i, (module, case) in enumerate(cases()):
            out.append(_played(module, case, Path(tmp_path_factory.mktemp(f"case{i}"))))
    return out


def _played(module: str, case: Case, reports: Path) -> tuple[str, Case, dict[str, Any]]:
    """``case`` played into ``reports``: what it sent or showed, and its inventory."""
    s = play(case, reports)
    commands = {name: list(lines) for name, lines in s.commands().items()}
    for e in s.events(["dry-run"]):
        commands.setdefault(e["server"], []).append(e["command"])
    return module, case, {"commands": commands, "inventory": s.run.inventory}


def test_every_command_sent_is_a_planned_step(
    sent: list[tuple[str, Case, dict[str, Any]]],
) -> None:
    """A command a procedure sends that its phase's plan does not list for that server
    fails here, with the case, the server and the line."""
    unplanned = []
    for module, case, got in sent:
        inv = got["inventory"]
        for server, lines in got["commands"].items():
            steps = [
                s
                for ph in phases_of(module, case)
                for s in phase_steps(ph, inv)
                if server in s.servers.names(inv)
            ]
            unplanned += [
                f"{case.id}: {server}: {line}" for line in lines if not matching(line, steps, inv)
            ]
    assert not unplanned, "\n".join(unplanned)


def test_every_planned_step_is_sent_by_some_case(
    sent: list[tuple[str, Case, dict[str, Any]]],
) -> None:
    """Each step of the plan (the same command in several phases counts once) is sent by
    at least one scripted case."""
    covered = set()
    for module, case, got in sent:
        inv = got["inventory"]
        steps = [s for ph in phases_of(module, case) for s in phase_steps(ph, inv)]
        for lines in got["commands"].values():
            for line in lines:
                covered.update(key(s, inv) for s in matching(line, steps, inv))
    never = sorted(
        {
            f"{ph}: {s.servers.value}: {s.shown(inv).line}"
            for ph, steps in PHASE_STEPS.items()
            for s in steps
            if key(s, inv := _any_inventory(sent, s)) not in covered
        }
    )
    assert not never, "\n".join(never)


def _any_inventory(sent: list[tuple[str, Case, dict[str, Any]]], step: Step) -> Inventory:
    """An inventory of the cases with ``step``'s upgrade method."""
    return next(got["inventory"] for _, _, got in sent if step.applies(got["inventory"]))
