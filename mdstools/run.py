"""A runbook's run: what every notebook cell stands on.

``run = mdstools.start(inventory, ticket=..., operator=..., phase="06")`` loads the
inventory, opens the journal, shows the header (who, what, where, inventory SHA-256, toolkit
version, run id, start time) and gives the cells:

* ``run.session(name)`` / ``run.execute(server, command)``: commands with the journal hook;
  in a dry run, mutating commands are shown and recorded, never sent (``run.show_instead``), and
  nothing is waited for (``run.waits``): the dry run's rules live in these two methods;
* ``run.gate(check)``: records and shows a check; a blocking failure stops the runbook with
  the reason and the next step (and the reason goes to the top of the executed notebook);
* ``run.acknowledge(...)`` / ``run.confirm(...)`` / ``run.choose(...)``: decisions (ui.py),
  read by the next cell with ``run.decided(await decision)``: interactively the await waits
  for the button (Run All included), headless it returns the parameter at once; a missing,
  declined or timed-out decision stops the phase naming it;
* ``run.require_phases()``: the entry gate on earlier phases of the same ticket+inventory;
* ``run.finish()``: the verdict table; writes the phase result to ``state.json`` (once: a
  phase that already stopped shows its recorded verdict again).

In an interactive kernel, ``start`` makes every ``MdstoolsError`` of a cell a red banner
(the cause, the next step, then the phase's verdict and checks) instead of a traceback;
the cell still ends in error. A ``LockHeld`` there says how to break a stale lock from the
notebook: ``break_lock = True`` in the parameters cell (journaled like ``--break-lock``).
Headless the errors are raised as they are (the CLI reads their names for its exit code).
"""

from __future__ import annotations

import atexit
import getpass
import json
import os
import re
import shlex
import socket
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from mdstools import __version__, audit, fsio, lock, ui
from mdstools.checks import CheckResult, label_summary
from mdstools.commands.base import Command
from mdstools.errors import MdstoolsError, ParameterError, shown
from mdstools.escape import terminal_text
from mdstools.fleet import Fleet
from mdstools.inventory import Inventory, load
from mdstools.jobs import JobState
from mdstools.phases import BY_NAME, CARRIED, Phase, check_params, phase, phase_params
from mdstools.procedure import steps
from mdstools.secrets import redact
from mdstools.session import Result, Session
from mdstools.words import decision_text

T = TypeVar("T")
STATE = audit.STATE
ENV_RUN_ID = "MDSTOOLS_RUN_ID"
ENV_TIME_SCALE = "MDSTOOLS_TIME_SCALE"


class GateFailed(MdstoolsError):
    """A blocking check failed: the runbook stops here."""


class PhaseEnded(MdstoolsError):
    """A cell used a run that has ended (or never started): nothing more runs in it.

    Under "Run All" a cell queued behind the one that failed may still reach the kernel;
    it stops here, before any command, and the queue behind it is dropped."""


class NotStarted:
    """What ``run`` is in a kernel while ``mdstools.start`` has not returned: every use
    raises :class:`PhaseEnded` (the header cell's banner says why it did not start)."""

    def __init__(self, phase_id: str) -> None:
        self._phase_id = phase_id

    def __getattr__(self, name: str) -> Any:
        raise PhaseEnded(
            f"phase {self._phase_id} did not start (the banner of the header cell says why); "
            "nothing more runs",
            "fix that, then run the runbook again from the top",
        )


def read_state(report_dir: Path) -> dict[str, Any]:
    """The phases' results of this ticket; none yet when ``state.json`` does not exist.

    Read strictly: a file that is not JSON or not of this shape raises
    :class:`~mdstools.errors.RecordDamaged` (a gate never decides on a damaged record).
    """
    return audit.load_state(report_dir / STATE)


@dataclass
class DryResult:
    """What a dry run shows instead of running a mutating command."""

    server: str
    command: str


class Run:
    """The context of one runbook execution (interactive or headless)."""

    def __init__(
        self,
        *,
        inventory: Inventory,
        ticket: str,
        operator: str,
        phase: Phase,
        reports: Path,
        interactive: bool,
        dry_run: bool,
        params: dict[str, Any],
    ) -> None:
        audit.validate_ticket(ticket)
        self.inventory = inventory
        self.ticket = ticket
        self.operator = operator or getpass.getuser()
        self.phase = phase
        self.reports = reports
        self.report_dir = fsio.ensure_dir(reports / ticket)
        self.interactive = interactive
        self.dry_run = dry_run
        self.params = params
        self.run_id = os.environ.get(ENV_RUN_ID) or uuid.uuid4().hex[:12]
        self.started = datetime.now(timezone.utc)
        self.journal = audit.Journal(self.report_dir / audit.JOURNAL, self.run_id, phase.id)
        self._fleet = Fleet(inventory, hooks=[self._record])
        self.checks: list[CheckResult] = []
        self.decisions: dict[str, Any] = {}
        self.cause: str | None = None
        self.finished = False
        self.begun = False
        self.ended = False
        self.lock: lock.Lock | None = None
        self.remote_lock: lock.RemoteLock | None = None
        self._progress = ui.Progress(interactive)
        self.carried: dict[str, dict[str, Any]] = {}
        self.explicit: set[str] = set()

    @property
    def fleet(self) -> Fleet:
        """The connections of this run; refused once the run has ended."""
        self.check_open()
        return self._fleet

    def check_open(self) -> None:
        """Raise PhaseEnded when this run has ended: a cell after the end runs nothing."""
        if self.ended:
            raise PhaseEnded(
                f"phase {self.phase.id} has already ended ({self.verdict}"
                + (f": {self.cause}" if self.cause else "")
                + "); nothing more runs in this run",
                "run the runbook again from the top",
            )

    # -- header ----------------------------------------------------------------------
    def header(self) -> dict[str, str]:
        return {
            "ticket": self.ticket,
            "operator": self.operator,
            "phase": f"{self.phase.id} {self.phase.title}",
            "requirements": ", ".join(self.phase.requirements),
            "environment": self.inventory.environment,
            "target version": self.inventory.target_version,
            "inventory": str(self.inventory.path),
            "inventory SHA-256": self.inventory.sha256,
            "toolkit": f"mdstools {__version__}",
            "run id": self.run_id,
            "started": self.started.isoformat(timespec="seconds"),
            "mode": ("interactive" if self.interactive else "headless")
            + (", DRY RUN (nothing is changed)" if self.dry_run else ""),
            "host": socket.gethostname(),
            **{
                name.replace("_", " "): self.carried_text(name)
                for name in CARRIED
                if name in self.carried
                or name in self.explicit
                or (name == "continuous_management" and "03" <= self.phase.id <= "07")
            },
        }

    def carried_text(self, name: str) -> str:
        """Where the value of campaign decision ``name`` comes from, for the header."""
        value = self.params.get(name, CARRIED[name])
        entry = self.carried.get(name)
        if entry is not None:
            return (
                f"{value}, carried forward from phase {entry.get('phase')} (run "
                f"{entry.get('run_id')}, {entry.get('operator')}, {entry.get('at')})"
            )
        if name in self.explicit:
            return f"{value}, set in this phase (carried forward to the later phases)"
        return f"{value} (not set in this phase nor in an earlier phase of this ticket)"

    def marker(self, **fields: Any) -> dict[str, Any]:
        """Output metadata by which the record finds this run in a saved notebook."""
        return {"mdstools": {"run_id": self.run_id, **fields}}

    def show_header(self) -> None:
        """The header table, marked with this run (run id, phase, ticket, inventory)."""
        import pandas as pd

        ui.display(
            pd.DataFrame(list(self.header().items()), columns=["", "value"]),
            metadata=self.marker(
                phase=self.phase.id, ticket=self.ticket, inventory=str(self.inventory.path)
            ),
        )

    # -- commands --------------------------------------------------------------------
    def _record(self, result: Result[Any]) -> None:
        self.journal.write(
            "command",
            server=result.server,
            command=result.command,
            mode=result.mode,
            domain=result.domain,
            exit_status=result.exit_status,
            duration_s=round(result.duration_s, 3),
            output_sha256=audit.sha256_text(result.stdout + result.stderr),
            ok=result.ok,
            error=result.error,
            mutating=result.mutating,
        )

    def session(self, name: str) -> Session:
        return self.fleet.session(name)

    def execute(
        self,
        server: str,
        command: Command[T],
        domain: str | None = None,
        timeout: float | None = None,
        check: bool = False,
    ) -> Result[T] | DryResult:
        """Run ``command`` on ``server``; in a dry run a mutating command is only shown."""
        dry = self.show_instead(server, command, domain)
        if dry is not None:
            return dry
        return self.session(server).run(command, domain=domain, timeout=timeout, check=check)

    def show_instead(
        self, server: str, command: Command[Any], domain: str | None = None
    ) -> DryResult | None:
        """The dry run's rule for a command: one that changes the server is shown (printed
        and journaled as ``dry-run``) instead of sent, and what was shown is returned; None
        for a command to send (any command outside a dry run, a read in one)."""
        if not (self.dry_run and command.mutating):
            return None
        line = self.session(server).describe(command, domain)
        self.journal.write("dry-run", server=server, command=redact(command.line), domain=domain)
        print(f"DRY RUN {server}: would run {line}", flush=True)
        return DryResult(server, line)

    def waits(self, server: str, what: str) -> bool:
        """The dry run's rule for a wait: outside a dry run, wait (True). A dry run waits
        for nothing: what follows a change it only showed will not happen, and a change in
        progress is not its to wait for; the wait ends at once (False), printed and
        journaled (a ``step`` event ``would-wait``) as what it would have waited for."""
        if not self.dry_run:
            return True
        self.journal.write("step", event="would-wait", server=server, step=what)
        print(f"DRY RUN {server}: would wait for {what}", flush=True)
        return False

    def progress(self, label: str, state: JobState | None, elapsed: float) -> None:
        """Progress of a long step: a live line interactively, a log line per change headless
        (never a redrawing bar: the executed notebook and the scheduler log stay readable)."""
        key = label.split(":")[0]
        text = label + (f" [{state.state}]" if state else "")
        self._progress.update(key, text, elapsed)

    # -- the lock ---------------------------------------------------------------------
    def take_lock(
        self, token: str | None, break_remote: bool = False, break_stale: bool = False
    ) -> None:
        """Hold both locks of this environment for this phase: the host-wide one (unless
        ``token`` already holds it: a CLI run) and the lock file on the primary MDS.
        LockHeld names the holder; nothing is left held when it is raised.

        ``break_stale`` breaks a STALE host-wide lock (its process is gone) and
        ``break_remote`` the lock on the primary MDS unless its process is alive on this
        host: what ``--break-lock`` allows. Each break is journaled with the operator, the
        holder and its age."""
        env = self.inventory.environment
        try:
            if token and lock.held_by_token(env, token):
                held_token = token
            else:
                self.lock = lock.acquire(
                    env, self.ticket, self.phase.id, self.operator, break_stale=break_stale
                )
                held_token = self.lock.token
                if self.lock.broken is not None:
                    self._journal_break(str(self.lock.path), holder=self.lock.broken, stale=True)
                    print(
                        terminal_text(
                            f"lock: broke the stale lock {self.lock.path} of "
                            f"{lock.describe(self.lock.broken)}"
                        ),
                        flush=True,
                    )
            local = lock.holder(env)
            info = lock.new_info(
                env,
                self.ticket,
                self.phase.id,
                self.operator,
                lock.holder_pid(local[0]) if local else None,
            )
            info["token"] = held_token
            primary = self.inventory.primary.name
            self.remote_lock = lock.take_remote(
                self.session(primary), info, break_remote, self._journal_remote_break
            )
        except BaseException as exc:
            if isinstance(exc, lock.LockHeld):
                self.cause = str(exc)
            self._drop_local_lock()
            self._fleet.close()
            raise
        self.journal.write("lock", event="held", where=self.remote_lock.where, holder=info)

    def _journal_break(self, where: str, holder: dict[str, Any], **fields: Any) -> None:
        """Journal a broken lock: where, whose (the holder and its age), by whom."""
        self.journal.write(
            "lock",
            event="broken",
            where=where,
            holder=holder,
            age=lock.age(holder.get("started")),
            operator=self.operator,
            **fields,
        )

    def _journal_remote_break(self, kind: str, **fields: Any) -> None:
        fields.pop("event", None)
        self._journal_break(str(fields.pop("where")), dict(fields.pop("holder")), **fields)

    def _drop_local_lock(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def release_lock(self) -> None:
        """Release what :meth:`take_lock` holds (idempotent)."""
        if self.remote_lock is not None:
            released = self.remote_lock.release()
            self.journal.write(
                "lock",
                event="released" if released else "not released",
                where=self.remote_lock.where,
            )
            self.remote_lock = None
        self._drop_local_lock()

    # -- gates and decisions ---------------------------------------------------------
    def gate(self, check: CheckResult, stop: bool = True, severity: str | None = None) -> None:
        """Record and show ``check``; stop the runbook when it blocks (``stop=True``).

        Returns nothing, so that a notebook cell ending with it shows only the banner.

        ``severity="warning"`` records a failure that must not fail the phase (a finding
        that a later step of the same phase deals with, e.g. a Collision in 07).
        """
        self.check_open()
        if severity is not None and not check.passed:
            check = replace(check, severity=severity)
        self.checks.append(check)
        if not self.interactive:
            print(
                terminal_text(
                    f"gate {check.label} {check.name} ({check.requirement}): {check.reason}"
                ),
                flush=True,
            )
        self.journal.write(
            "gate",
            name=check.name,
            label=check.label,
            passed=check.passed,
            requirement=check.requirement,
            severity=check.severity,
            reason=check.reason,
            evidence=list(check.evidence)[:50],
        )
        ui.banner(
            f"{check.label} {check.name} ({check.requirement})",
            [check.reason]
            + ([f"next: {check.next_step}"] if not check.passed and check.next_step else []),
            check.passed,
            label=check.label,
        )
        if check.blocking and stop and not self.dry_run:
            self.fail(f"{check.name} ({check.requirement}): {check.reason}", check.next_step)

    def fail(self, reason: str, next_step: str = "") -> None:
        """Stop the runbook: record the cause (it goes on top of the notebook) and raise."""
        self.stop(reason, next_step)
        raise GateFailed(reason, next_step)

    def stop(self, reason: str, next_step: str = "") -> None:
        """Record this phase as failed with ``reason`` (once) and release its locks."""
        if self.ended:
            return
        self.cause = reason + (f" -- next: {next_step}" if next_step else "")
        self._write_result("failed")

    def record_decision(self, name: str, value: Any, how: str) -> None:
        """Journal the decision ``name`` = ``value`` made by the operator ``how`` (a widget,
        a parameter); headless, also print it."""
        self.decisions[name] = value
        if not self.interactive:
            print(
                terminal_text(
                    f"decision {name} = {decision_text(name, value)} by {self.operator} ({how})"
                ),
                flush=True,
            )
        self.journal.write(
            "decision", name=name, value=value, operator=self.operator, how=how, at=ui.stamp()
        )

    def acknowledge(
        self, name: str, items: Sequence[tuple[str, str]], param: str = "acknowledge_warnings"
    ) -> ui.Decision:
        given = self.params.get(param)
        if isinstance(given, str):
            given = [x.strip() for x in given.split(",") if x.strip()]
        return ui.acknowledge(
            name,
            items,
            param,
            given,
            self.interactive,
            self.record_decision,
            self.decision_timeout(),
        )

    def confirm(self, question: str, param: str = "confirm") -> ui.Decision:
        return ui.confirm(
            param,
            question,
            param,
            self.params.get(param),
            self.interactive,
            self.record_decision,
            self.decision_timeout(),
        )

    def choose(
        self,
        name: str,
        question: str,
        options: Sequence[str],
        param: str,
        recommended: str | None = None,
    ) -> ui.Decision:
        return ui.choose(
            name,
            question,
            options,
            param,
            self.params.get(param),
            self.interactive,
            self.record_decision,
            recommended,
            self.decision_timeout(),
        )

    def choose_each(
        self,
        name: str,
        question: str,
        keys: Sequence[str],
        options: Sequence[str],
        param: str,
        recommended: dict[str, str] | None = None,
    ) -> ui.Decision:
        """One choice per key (the database to retain for each collided domain)."""
        return ui.choose_each(
            name,
            question,
            keys,
            options,
            param,
            self.params.get(param),
            self.interactive,
            self.record_decision,
            recommended,
            self.decision_timeout(),
        )

    def select(
        self, name: str, question: str, options: Sequence[str], preset: Sequence[str], param: str
    ) -> ui.Decision:
        """Some of ``options`` (the servers to revert): the parameter when it names any,
        else ``preset``; interactively checkboxes with that value ticked."""
        given = self.params.get(param)
        if isinstance(given, str):
            given = [x.strip() for x in given.split(",") if x.strip()]
        return ui.select(
            name,
            question,
            options,
            param,
            list(given or preset),
            self.interactive,
            self.record_decision,
            self.decision_timeout(),
        )

    def decision_timeout(self) -> float:
        """The parameter when it was changed, else $MDSTOOLS_DECISION_TIMEOUT_S, else 900 s."""
        param = self.params.get("decision_timeout_s")
        if param and float(param) != ui.DEFAULT_DECISION_TIMEOUT_S:
            return float(param)
        env = os.environ.get("MDSTOOLS_DECISION_TIMEOUT_S")
        if not env:
            return ui.DEFAULT_DECISION_TIMEOUT_S
        spec = BY_NAME["decision_timeout_s"]
        try:
            return float(spec.validate(float(env)))
        except (ValueError, ParameterError):
            raise ParameterError(
                f"MDSTOOLS_DECISION_TIMEOUT_S={shown(env)} is not a decision timeout",
                f"set it to {spec.allowed}, or unset it",
            ) from None

    async def wait(self, decision: ui.Decision | None) -> ui.Decision | None:
        """``decision`` once made (or timed out); None stays None (no decision was needed).
        Interactively it waits for the button, headless it returns at once."""
        return None if decision is None else await decision

    def decided(self, decision: ui.Decision) -> Any:
        """The value of ``decision`` (awaited first: ``run.decided(await ok)``); a missing,
        declined or timed-out decision stops the runbook, naming it (one that is only
        pending, in a kernel that cannot wait, does not: click, then run the cell again).
        A phase that has already ended goes no further."""
        self.check_open()
        try:
            return decision.value()
        except ui.DecisionPending:
            raise
        except ui.DecisionMissing as exc:
            self.fail(exc.message, exc.hint)
            raise  # unreachable: fail raises

    def require_phases(self) -> None:
        """Entry gate: the phases this one needs passed for this ticket and inventory."""
        self.check_open()
        state = read_state(self.report_dir)
        missing = []
        for pid in self.phase.needs:
            rec = state.get("phases", {}).get(pid)
            accepted = ("passed", "dry-run passed") if self.dry_run else ("passed",)
            if not rec or rec.get("verdict") not in accepted:
                missing.append(f"{pid} has not passed for ticket {self.ticket}")
            elif rec.get("inventory_sha256") != self.inventory.sha256:
                missing.append(f"{pid} passed with another inventory (SHA-256 differs)")
        if missing and self.phase.refusal:
            missing.insert(0, self.phase.refusal)
        self.gate(
            CheckResult(
                name="earlier phases passed",
                passed=not missing,
                reason="; ".join(missing)
                if missing
                else f"{', '.join(self.phase.needs) or 'nothing'} passed for this ticket "
                "and inventory",
                requirement=self.phase.entry_requirement,
                next_step=f"run phase {self.phase.needs[0] if self.phase.needs else ''} first"
                if missing
                else "",
            )
        )

    def write_file(self, name: str, text: str) -> Path:
        """Write ``reports/<ticket>/<name>`` whole (atomically), journaled with its SHA-256
        so that the record accounts for it until the next seal; returns its path."""
        self.check_open()
        path = self.report_dir / name
        self.journal.write_file(path, text)
        return path

    # -- verdict ---------------------------------------------------------------------
    @property
    def verdict(self) -> str:
        return "failed" if any(c.blocking for c in self.checks) or self.cause else "passed"

    def _write_result(self, verdict: str) -> None:
        state = read_state(self.report_dir)
        state.update(
            {
                "ticket": self.ticket,
                "environment": self.inventory.environment,
                "inventory_sha256": self.inventory.sha256,
            }
        )
        if not self.dry_run:
            for name in sorted(self.explicit):
                state.setdefault("carried", {})[name] = {
                    "value": self.params.get(name),
                    "phase": self.phase.id,
                    "run_id": self.run_id,
                    "operator": self.operator,
                    "at": self.started.isoformat(timespec="seconds"),
                    "inventory_sha256": self.inventory.sha256,
                }
        state.setdefault("phases", {})[self.phase.id] = {
            "verdict": verdict if not self.dry_run else f"dry-run {verdict}",
            "run_id": self.run_id,
            "operator": self.operator,
            "started": self.started.isoformat(timespec="seconds"),
            "ended": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "inventory_sha256": self.inventory.sha256,
            "cause": self.cause,
            "checks": [
                {
                    "name": c.name,
                    "label": c.label,
                    "passed": c.passed,
                    "severity": c.severity,
                    "requirement": c.requirement,
                    "reason": c.reason,
                }
                for c in self.checks
            ],
            "decisions": self.decisions,
        }
        self.write_file(STATE, json.dumps(state, indent=2, default=str) + "\n")
        self.journal.write(
            "phase", event="end", verdict=verdict, cause=self.cause, dry_run=self.dry_run
        )
        self.ended = True
        self.release_lock()
        if not self.interactive and not os.environ.get(ENV_RUN_ID):
            print(seal_hint(self.report_dir), flush=True)

    def finish(self) -> None:
        """The verdict of this phase and its checks (coloured, failing rows first, next
        steps linked); records the result for later phases' gates. A phase that already
        stopped (a failed gate, a decision not made) is not recorded twice: its verdict is
        shown again."""
        if not self.ended:
            self._write_result(self.verdict)
        self.finished = True
        self._fleet.close()
        self.show_verdict()

    def show_verdict(self, verdict: str | None = None) -> None:
        """The verdict banner (default: this run's verdict) and the checks table; the
        table, the phase's last output, carries the verdict marker that tells the record
        this run has ended (a saved working copy is then sealed)."""
        verdict = verdict or self.verdict
        ui.banner(
            f"Phase {self.phase.id} {verdict.upper()}" + (" (dry run)" if self.dry_run else ""),
            [
                label_summary(c.label for c in self.checks),
                f"requirements: {', '.join(self.phase.requirements)}",
            ]
            + ([f"cause: {self.cause}"] if self.cause else []),
            verdict == "passed",
        )
        ui.display(
            ui.checks_table(self.checks),
            metadata=self.marker(
                verdict=f"dry-run {verdict}" if self.dry_run else verdict, cause=self.cause
            ),
        )

    def show_error(self, exc: MdstoolsError) -> str:
        """A cell's failure in a kernel: a red banner with the cause and the next step, then
        the phase's verdict (recorded as failed here when the failure did not record it).
        Returns the next step as shown."""
        hint = exc.hint
        if isinstance(exc, lock.LockHeld):
            title = f"Phase {self.phase.id} LOCKED: nothing was changed"
            hint = notebook_lock_hint(exc)
        elif isinstance(exc, ui.DecisionPending):
            title = f"Phase {self.phase.id} waits for a decision"
        else:
            title = f"Phase {self.phase.id} stopped"
            if self.begun and not self.ended:
                self.stop(f"{type(exc).__name__}: {exc.message}", exc.hint)
        pending = isinstance(exc, ui.DecisionPending)
        ui.banner(
            title, [exc.message] + ([f"next: {hint}"] if hint else []), None if pending else False
        )
        if self.ended and not isinstance(exc, PhaseEnded):
            self.show_verdict()
        return hint


def seal_hint(report_dir: Path) -> str:
    """The line a run outside ``mdstools run``/``mdstools jupyter`` (plain papermill, a
    scheduler) prints: the command that puts its executed notebook into the record."""
    return (
        "record: this run is journaled but its notebook is not in the record yet; seal it "
        f"with: mdstools seal {shlex.quote(str(report_dir))} <the executed notebook>"
    )


def injected_names() -> list[str]:
    """The names papermill injected into this kernel (its ``# Parameters`` cell), if any.

    Papermill only warns about a name the notebook does not have; ``start`` refuses it.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    history = shell.user_ns.get("In", []) if shell is not None else []
    for source in reversed(history):
        if isinstance(source, str) and source.startswith("# Parameters\n"):
            return re.findall(r"(?m)^([A-Za-z_]\w*) = ", source)
    return []


def time_scale(given: float | None, inv: Inventory) -> float:
    """The time scale of a run: the parameter when given, else $MDSTOOLS_TIME_SCALE, else
    the inventory's (the lab writes its own there; 1.0 on real servers)."""
    if given is not None:
        return float(given)
    env = os.environ.get(ENV_TIME_SCALE, "").strip()
    if env:
        try:
            return float(BY_NAME["time_scale"].validate(float(env)))
        except (ValueError, ParameterError):
            raise ParameterError(
                f"${ENV_TIME_SCALE} is {shown(env)}, not a time scale",
                f"allowed: {BY_NAME['time_scale'].allowed}; or unset it",
            ) from None
    return inv.time_scale


def carry_forward(
    params: dict[str, Any], ph: Phase, report_dir: Path, inventory_sha256: str
) -> dict[str, dict[str, Any]]:
    """Fill the campaign decisions ``ph`` leaves unset (None) in ``params``: the value the
    latest phase up to ``ph`` of this ticket and inventory set (``state.json`` ``carried``),
    else the default. Returns the entries applied, by name."""
    own = {p.name for p in phase_params(ph)}
    entries = read_state(report_dir).get("carried")
    applied: dict[str, dict[str, Any]] = {}
    for name, default in CARRIED.items():
        if name not in own or params.get(name) is not None:
            continue
        entry = entries.get(name) if isinstance(entries, dict) else None
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("value"), bool)
            and str(entry.get("phase", "99")) <= ph.id
            and entry.get("inventory_sha256") == inventory_sha256
        ):
            params[name] = entry["value"]
            applied[name] = entry
        else:
            params[name] = default
    return applied


def notebook_lock_hint(exc: lock.LockHeld) -> str:
    """What to do about ``exc`` in a notebook: break a stale or foreign lock with the
    ``break_lock`` parameter (what ``--break-lock`` breaks), else wait for its holder."""
    if exc.stale or exc.foreign or not exc.holder:
        return (
            "check that nothing runs (ask its operator), then set break_lock = True in the "
            "parameters cell and run the runbook again (the break is journaled)"
        )
    return exc.hint


_current: Run | None = None
_exit_hook = False


def _end_at_exit() -> None:
    """The run of a kernel that exits before its phase ended (papermill shuts the kernel
    down after a cell failed with an unexpected error; a kernel shut down or restarted in
    JupyterLab) is recorded failed and its locks released, so that no stale lock and no
    phase without an end are left behind."""
    run = _current
    if run is None or not run.begun or run.ended:
        return
    last = getattr(sys, "last_value", None)
    after = f" (its last error: {type(last).__name__}: {last})" if last is not None else ""
    held, run.remote_lock = run.remote_lock, None
    try:
        run.stop(
            f"the kernel exited before the phase ended{after}",
            "see the last executed cell of the notebook, then run the runbook again",
        )
        if held is not None:  # the run's own connection is gone by now
            released = lock.release_remote_of(run.inventory, held.token)
            run.journal.write(
                "lock", event="released" if released else "not released", where=held.where
            )
    except (MdstoolsError, OSError) as exc:
        print(f"[{run.ticket} {run.phase.id}] not recorded at exit: {exc}", flush=True)


def _show_error(exc: MdstoolsError) -> str:
    """The banner of a failure in a kernel, for the run this kernel started last; returns
    the next step shown."""
    if _current is not None:
        return _current.show_error(exc)
    hint = notebook_lock_hint(exc) if isinstance(exc, lock.LockHeld) else exc.hint
    ui.banner("Stopped", [exc.message] + ([f"next: {hint}"] if hint else []), False)
    return hint


def _end_previous_run(key: str, interactive: bool) -> None:
    """In a kernel: failures of the cells show as banners from here on, and a run this
    kernel started before and did not finish is ended (failed, its locks released)."""
    global _current
    if interactive is True and ui.install_error_banners(_show_error):
        from IPython import get_ipython

        get_ipython().user_ns["run"] = NotStarted(key)
    if _current is not None and _current.begun and not _current.ended:
        _current.stop("the runbook was started again in the same kernel before this run ended")
    _current = None


def _inventory_and_ticket(inventory: str | Path, ticket: str) -> tuple[str | Path, str]:
    """The inventory and the ticket given, else those of the environment (JupyterLab's)."""
    inventory = inventory or os.environ.get("MDSTOOLS_INVENTORY", "")
    if not str(inventory):
        raise MdstoolsError(
            "no inventory given",
            "set the parameter inventory (or start "
            "JupyterLab with make jupyter, which sets MDSTOOLS_INVENTORY)",
        )
    return inventory, audit.validate_ticket(ticket or os.environ.get("MDSTOOLS_TICKET", ""))


def _checked_params(ph: Phase, given: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Every parameter of the run checked against the phase's; a parameter papermill
    injected that the phase does not take is refused too."""
    own = {p.name for p in phase_params(ph)}
    unknown = [n for n in injected_names() if n not in own]
    if unknown:
        check_params({unknown[0]: None}, [ph], from_cli=False)
    return check_params({**given, **params}, [ph], from_cli=False)


def _carried_decisions(
    ph: Phase, params: dict[str, Any], report_dir: Path, inv: Inventory
) -> tuple[set[str], list[str], dict[str, Any]]:
    """The decisions given as parameters, those of them that change what an earlier phase
    decided, and the decisions carried into ``params`` from earlier phases."""
    own = {p.name for p in phase_params(ph)}
    explicit = {n for n in CARRIED if n in own and params.get(n) is not None}
    before: dict[str, Any] = {n: None for n in explicit}
    carry_forward(before, ph, report_dir, inv.sha256)
    changed = sorted(n for n in explicit if before[n] != params[n])
    carried = carry_forward(params, ph, report_dir, inv.sha256)
    return explicit, changed, carried


def _register_exit_hook() -> None:
    """In an interactive kernel, a run still open when the kernel exits is ended then."""
    global _exit_hook
    if not _exit_hook and ui.in_kernel() and not os.environ.get(ENV_RUN_ID):
        atexit.register(_end_at_exit)
        _exit_hook = True


def _journal_start(run: Run, break_lock: bool, carried: dict[str, Any], changed: list[str]) -> None:
    """The phase's start in the journal, the decisions carried from earlier phases, and
    those that parameters changed."""
    run.journal.write(
        "phase",
        event="start",
        operator=run.operator,
        interactive=run.interactive,
        dry_run=run.dry_run,
        inventory_sha256=run.inventory.sha256,
        toolkit=__version__,
        params={**run.params, **({"break_lock": True} if break_lock else {})},
    )
    for name, entry in carried.items():
        run.journal.write(
            "carried",
            name=name,
            value=run.params[name],
            from_phase=entry.get("phase"),
            from_run=entry.get("run_id"),
            operator=entry.get("operator"),
            at=entry.get("at"),
        )
    for name in changed:
        run.record_decision(name, run.params[name], "parameter")


def start(
    inventory: str | Path,
    ticket: str,
    operator: str = "",
    phase_id: str = "",
    interactive: bool = True,
    dry_run: bool = False,
    reports_dir: str | Path = "reports",
    params: dict[str, Any] | None = None,
    break_lock: bool = False,
    **extra: Any,
) -> Run:
    """Open the run of one phase; shows its header. ``phase`` may be passed as ``phase=``.

    Interactively (in a kernel) failures of the cells show as banners from here on; a run
    this kernel started before and did not finish is ended first (failed, its locks
    released). ``break_lock`` breaks a stale lock as ``--break-lock`` does.
    """
    global _current
    key = phase_id or str(extra.pop("phase", ""))
    _end_previous_run(key, interactive)
    ph = phase(key)
    inventory, ticket = _inventory_and_ticket(inventory, ticket)
    given = {"operator": operator, "interactive": interactive, "dry_run": dry_run}
    if break_lock is not False:
        given["break_lock"] = break_lock
    params = _checked_params(ph, given, params or {})
    operator, interactive, dry_run = (params.pop(k) for k in ("operator", "interactive", "dry_run"))
    break_lock = bool(params.pop("break_lock", False))
    inv = load(inventory)
    steps.require_inputs(ph.id, inv)
    params["time_scale"] = time_scale(params.get("time_scale"), inv)
    reports = Path(reports_dir).expanduser().resolve()
    audit.check_before_write(reports / ticket)
    explicit, changed, carried = _carried_decisions(ph, params, reports / ticket, inv)
    run = Run(
        inventory=inv,
        ticket=ticket,
        operator=operator,
        phase=ph,
        reports=reports,
        interactive=interactive,
        dry_run=dry_run,
        params=dict(params or {}),
    )
    run.carried, run.explicit = carried, explicit
    run.decision_timeout()
    _current = run
    _register_exit_hook()
    if ph.mutating and not dry_run:
        run.take_lock(
            os.environ.get(lock.ENV_TOKEN),
            break_remote=break_lock or os.environ.get(lock.ENV_BREAK) == "1",
            break_stale=break_lock,
        )
    _journal_start(run, break_lock, carried, changed)
    ui.plain_tables()
    run.begun = True
    run.show_header()
    return run
