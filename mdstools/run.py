"""A runbook's run: what every notebook cell stands on.

``run = mdstools.start(inventory, ticket=..., operator=..., phase="06")`` loads the
inventory, opens the journal, shows the header (who, what, where, inventory SHA-256, toolkit
version, run id, start time) and gives the cells:

* ``run.session(name)`` / ``run.execute(server, command)``: commands with the journal hook;
  in a dry run, mutating commands are shown and recorded, never sent;
* ``run.gate(check)``: records and shows a check; a blocking failure stops the runbook with
  the reason and the next step (and the reason goes to the top of the executed notebook);
* ``run.acknowledge(...)`` / ``run.confirm(...)`` / ``run.choose(...)``: decisions (ui.py);
* ``run.require_phases()``: the entry gate on earlier phases of the same ticket+inventory;
* ``run.finish()``: the verdict table; writes the phase result to ``state.json``.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from mdstools import __version__, audit, fsio, lock, ui
from mdstools.checks import CheckResult
from mdstools.commands.base import Command
from mdstools.errors import MdstoolsError, ParameterError, shown
from mdstools.escape import terminal_text
from mdstools.fleet import Fleet
from mdstools.inventory import Inventory, load
from mdstools.jobs import JobState
from mdstools.phases import BY_NAME, Phase, check_params, phase, phase_params
from mdstools.secrets import redact
from mdstools.session import Result, Session

T = TypeVar("T")
STATE = audit.STATE
ENV_RUN_ID = "MDSTOOLS_RUN_ID"
ENV_TIME_SCALE = "MDSTOOLS_TIME_SCALE"


class GateFailed(MdstoolsError):
    """A blocking check failed: the runbook stops here."""


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
        inventory: Inventory,
        ticket: str,
        operator: str,
        phase_: Phase,
        reports: Path,
        interactive: bool,
        dry_run: bool,
        params: dict[str, Any],
    ) -> None:
        audit.validate_ticket(ticket)
        self.inventory = inventory
        self.ticket = ticket
        self.operator = operator or getpass.getuser()
        self.phase = phase_
        self.reports = reports
        self.report_dir = fsio.ensure_dir(reports / ticket)
        self.interactive = interactive
        self.dry_run = dry_run
        self.params = params
        self.run_id = os.environ.get(ENV_RUN_ID) or uuid.uuid4().hex[:12]
        self.started = datetime.now(timezone.utc)
        self.journal = audit.Journal(self.report_dir / audit.JOURNAL, self.run_id, phase_.id)
        self.fleet = Fleet(inventory, hooks=[self._record])
        self.checks: list[CheckResult] = []
        self.decisions: dict[str, Any] = {}
        self.cause: str | None = None
        self.finished = False
        self.lock: lock.Lock | None = None
        self.remote_lock: lock.RemoteLock | None = None
        self._progress = ui.Progress(interactive)

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
        }

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
        sess = self.session(server)
        if self.dry_run and command.mutating:
            line = sess.describe(command, domain)
            self.journal.write(
                "dry-run", server=server, command=redact(command.line), domain=domain
            )
            print(f"DRY RUN {server}: would run {line}", flush=True)
            return DryResult(server, line)
        return sess.run(command, domain=domain, timeout=timeout, check=check)

    def progress(self, label: str, state: JobState | None, elapsed: float) -> None:
        """Progress of a long step: a live line interactively, a log line per change headless
        (never a redrawing bar: the executed notebook and the scheduler log stay readable)."""
        key = label.split(":")[0]
        text = label + (f" [{state.state}]" if state else "")
        self._progress.update(key, text, elapsed)

    # -- the lock ---------------------------------------------------------------------
    def take_lock(self, token: str | None, break_remote: bool = False) -> None:
        """Hold both locks of this environment for this phase: the host-wide one (unless
        ``token`` already holds it: a CLI run) and the lock file on the primary MDS.
        LockHeld names the holder; nothing is left held when it is raised."""
        env = self.inventory.environment
        try:
            if token and lock.held_by_token(env, token):
                held_token = token
            else:
                self.lock = lock.acquire(env, self.ticket, self.phase.id, self.operator)
                held_token = self.lock.token
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
                self.session(primary), info, break_remote, self.journal.write
            )
        except BaseException as exc:
            if isinstance(exc, lock.LockHeld):
                self.cause = str(exc)
            self._drop_local_lock()
            self.fleet.close()
            raise
        self.journal.write("lock", event="held", where=self.remote_lock.where, holder=info)

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
            passed=check.passed,
            requirement=check.requirement,
            severity=check.severity,
            reason=check.reason,
            evidence=list(check.evidence)[:50],
        )
        ui.banner(
            f"{'PASS' if check.passed else 'FAIL'} {check.name} ({check.requirement})",
            [check.reason]
            + ([f"next: {check.next_step}"] if not check.passed and check.next_step else []),
            True if check.passed else (False if check.severity == "error" else None),
        )
        if check.blocking and stop and not self.dry_run:
            self.fail(f"{check.name} ({check.requirement}): {check.reason}", check.next_step)

    def fail(self, reason: str, next_step: str = "") -> None:
        """Stop the runbook: record the cause (it goes on top of the notebook) and raise."""
        self.cause = reason + (f" -- next: {next_step}" if next_step else "")
        self._write_result("failed")
        raise GateFailed(reason, next_step)

    def _decided(self, name: str, value: Any, how: str) -> None:
        self.decisions[name] = value
        if not self.interactive:
            print(f"decision {name} = {value!r} by {self.operator} ({how})", flush=True)
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
            name, items, param, given, self.interactive, self._decided, self._decision_timeout()
        )

    def confirm(self, question: str, param: str = "confirm") -> ui.Decision:
        return ui.confirm(
            param,
            question,
            param,
            self.params.get(param),
            self.interactive,
            self._decided,
            self._decision_timeout(),
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
            self._decided,
            recommended,
            self._decision_timeout(),
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
            self._decided,
            recommended,
            self._decision_timeout(),
        )

    def _decision_timeout(self) -> float:
        """The parameter when it was changed, else $MDSTOOLS_DECISION_TIMEOUT_S, else 900 s."""
        param = self.params.get("decision_timeout_s")
        if param and float(param) != ui.DEFAULT_DECISION_TIMEOUT_S:
            return float(param)
        env = os.environ.get("MDSTOOLS_DECISION_TIMEOUT_S")
        return float(env) if env else ui.DEFAULT_DECISION_TIMEOUT_S

    def decided(self, decision: ui.Decision) -> Any:
        """The value of ``decision``; a missing decision stops the runbook, naming it."""
        try:
            return decision.value()
        except ui.DecisionMissing as exc:
            self.fail(exc.message, exc.hint)
            raise  # unreachable: fail raises

    def require_phases(self) -> None:
        """Entry gate: the phases this one needs passed for this ticket and inventory."""
        state = read_state(self.report_dir)
        missing = []
        for pid in self.phase.needs:
            rec = state.get("phases", {}).get(pid)
            accepted = ("passed", "dry-run passed") if self.dry_run else ("passed",)
            if not rec or rec.get("verdict") not in accepted:
                missing.append(f"{pid} has not passed for ticket {self.ticket}")
            elif rec.get("inventory_sha256") != self.inventory.sha256:
                missing.append(f"{pid} passed with another inventory (SHA-256 differs)")
        self.gate(
            CheckResult(
                "earlier phases passed",
                not missing,
                "; ".join(missing)
                if missing
                else f"{', '.join(self.phase.needs) or 'nothing'} passed for this ticket "
                "and inventory",
                "R3" if self.phase.id == "03" else "R5",
                next_step=f"run phase {self.phase.needs[0] if self.phase.needs else ''} first"
                if missing
                else "",
            )
        )

    def write_file(self, name: str, text: str) -> Path:
        """Write ``reports/<ticket>/<name>`` whole (atomically), journaled with its SHA-256
        so that the record accounts for it until the next seal; returns its path."""
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
                    "passed": c.passed,
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
        self.release_lock()
        if not self.interactive and not os.environ.get(ENV_RUN_ID):
            print(seal_hint(self.report_dir), flush=True)

    def finish(self) -> None:
        """The verdict of this phase and its checks (coloured, failing rows first, next
        steps linked); records the result for later phases' gates."""
        verdict = self.verdict
        self._write_result(verdict)
        self.finished = True
        self.fleet.close()
        self.show_verdict(verdict)

    def show_verdict(self, verdict: str | None = None) -> None:
        """The verdict banner (default: this run's verdict) and the checks table; the
        table, the phase's last output, carries the verdict marker that tells the record
        this run has ended (a saved working copy is then sealed)."""
        verdict = verdict or self.verdict
        ui.banner(
            f"Phase {self.phase.id} {verdict.upper()}" + (" (dry run)" if self.dry_run else ""),
            [
                f"{sum(c.passed for c in self.checks)} of {len(self.checks)} checks passed",
                f"requirements: {', '.join(self.phase.requirements)}",
            ],
            verdict == "passed",
        )
        ui.display(
            ui.checks_table(self.checks),
            metadata=self.marker(
                verdict=f"dry-run {verdict}" if self.dry_run else verdict, cause=self.cause
            ),
        )


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


def start(
    inventory: str | Path,
    ticket: str,
    operator: str = "",
    phase_id: str = "",
    interactive: bool = True,
    dry_run: bool = False,
    reports_dir: str | Path = "reports",
    params: dict[str, Any] | None = None,
    **extra: Any,
) -> Run:
    """Open the run of one phase; shows its header. ``phase`` may be passed as ``phase=``."""
    key = phase_id or str(extra.pop("phase", ""))
    ph = phase(key)
    inventory = inventory or os.environ.get("MDSTOOLS_INVENTORY", "")
    if not str(inventory):
        raise MdstoolsError(
            "no inventory given",
            "set the parameter inventory (or start "
            "JupyterLab with make jupyter, which sets MDSTOOLS_INVENTORY)",
        )
    ticket = audit.validate_ticket(ticket or os.environ.get("MDSTOOLS_TICKET", ""))
    given = {"operator": operator, "interactive": interactive, "dry_run": dry_run}
    own = {p.name for p in phase_params(ph)}
    unknown = [n for n in injected_names() if n not in own]
    if unknown:
        check_params({unknown[0]: None}, [ph], from_cli=False)
    params = check_params({**given, **(params or {})}, [ph], from_cli=False)
    operator, interactive, dry_run = (params.pop(k) for k in given)
    inv = load(inventory)
    params["time_scale"] = time_scale(params.get("time_scale"), inv)
    reports = Path(reports_dir).expanduser().resolve()
    audit.check_before_write(reports / ticket)
    run = Run(inv, ticket, operator, ph, reports, interactive, dry_run, dict(params or {}))
    if ph.mutating and not dry_run:
        run.take_lock(os.environ.get(lock.ENV_TOKEN), os.environ.get(lock.ENV_BREAK) == "1")
    run.journal.write(
        "phase",
        event="start",
        operator=run.operator,
        interactive=interactive,
        dry_run=dry_run,
        inventory_sha256=inv.sha256,
        toolkit=__version__,
        params={k: v for k, v in run.params.items()},
    )
    run.show_header()
    return run
