"""Headless execution of the runbooks with papermill: one phase, the campaign, the plan.

* The kernel is this project's own environment (a ``mdstools`` kernelspec pointing at this
  Python), never whatever ``python3`` kernel the machine has.
* Progress streams to stderr (cell starts and the runbook's one-line progress messages), so
  a scheduler's log shows what is happening.
* The executed notebook is written to ``reports/<ticket>/`` even on failure or abort, with
  the verdict and its cause in the first cell; every known secret is redacted from it
  before it is written there (papermill saves into a private temp dir meanwhile).
* Each run is sealed into the manifest (``audit.seal``) with its HTML export.
* SIGTERM/SIGINT: the notebook is written with "aborted", the locks released (the one on
  the primary MDS too, when the kernel could not release it itself).
* A kernel that refuses on the lock (``LockHeld``) ends the phase as "locked" (exit 3),
  with the holder in the cause.
* Papermill is loaded with this module (before any lock is taken), so that a signal never
  lands between taking the lock and the handler that records the abort.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import nbformat
import papermill
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.exceptions import PapermillExecutionError

from mdstools import __version__, audit, fsio, lock
from mdstools.errors import (
    BadInput,
    ExitCode,
    MdstoolsError,
    RecordDamaged,
    TransportError,
    subclass_names,
)
from mdstools.escape import terminal_text
from mdstools.inventory import Inventory, register_secrets
from mdstools.notebook_record import (
    checks_line,
    output_name,
    redact_notebook,
    verdict_cell,
    write_notebook,
)
from mdstools.phases import PHASES, Phase, phase, phase_params
from mdstools.run import ENV_RUN_ID, read_state
from mdstools.secrets import redact

RUNBOOKS = Path(__file__).resolve().parent.parent / "runbooks"
KERNEL = "mdstools"


CONNECT_ERRORS = subclass_names(TransportError)
"""Names of the exceptions of a runbook's kernel that mean a server could not be reached
(exit 4): the subclasses of :class:`~mdstools.errors.TransportError`."""


class Aborted(MdstoolsError):
    """SIGTERM or SIGINT arrived during a run (the message is the signal's name)."""


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """How one phase ended."""

    phase: Phase
    verdict: str  # passed | failed | aborted | locked | dry-run passed | dry-run failed
    cause: str | None
    notebook: Path
    html: Path | None
    run_id: str
    error: str | None = None  # the class name of the exception that stopped the kernel

    @property
    def unreachable(self) -> bool:
        """The phase stopped because a server could not be reached (or stopped answering)."""
        return self.error in CONNECT_ERRORS

    @property
    def exit_code(self) -> ExitCode:
        """0 when passed; a dry run that ran to its end is 0 too (its checks say what would
        fail), unless it stopped on an error. 3 when another run held the lock; 4 when a
        server could not be reached."""
        if self.verdict == "locked":
            return ExitCode.LOCKED
        if self.verdict == "passed" or self.verdict == "dry-run passed":
            return ExitCode.OK
        if self.unreachable:
            return ExitCode.UNREACHABLE
        if self.verdict == "dry-run failed" and self.cause is None:
            return ExitCode.OK
        return ExitCode.FAILED


class _SavedOnceManager(NotebookExecutionManager):  # type: ignore[misc]
    """Papermill's bookkeeping of an execution, writing the output notebook once, when the
    execution ends (passed, failed, timed out or aborted), instead of after every cell: the
    output is a private temporary file that only :func:`execute` reads, after the end, and
    each intermediate save serialized and validated the whole notebook again."""

    final = False

    def save(self, **kwargs: Any) -> None:
        if self.final:
            super().save(**kwargs)
        else:
            self.last_save_time = self.now()

    def notebook_complete(self, **kwargs: Any) -> None:
        self.final = True
        super().notebook_complete(**kwargs)


class _Engine(NBClientEngine):  # type: ignore[misc]
    """Papermill's nbclient engine with :class:`_SavedOnceManager`."""

    @classmethod
    def execute_notebook(
        cls,
        nb: Any,
        kernel_name: str,
        output_path: str | None = None,
        progress_bar: bool = True,
        log_output: bool = False,
        autosave_cell_every: int = 30,
        **kwargs: Any,
    ) -> Any:
        nb_man = _SavedOnceManager(
            nb,
            output_path=output_path,
            progress_bar=progress_bar,
            log_output=log_output,
            autosave_cell_every=autosave_cell_every,
        )
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


ENGINE = "mdstools"
papermill_engines.register(ENGINE, _Engine)


def runbooks_dir() -> Path:
    env = os.environ.get("MDSTOOLS_RUNBOOKS")
    return Path(env) if env else RUNBOOKS


def ensure_kernel() -> str:
    """A kernelspec named ``mdstools`` that runs THIS interpreter; returns its name."""
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "mdstools",
        "language": "python",
        "metadata": {"debugger": True},
    }
    for base in (
        Path(sys.prefix) / "share" / "jupyter" / "kernels",
        Path(tempfile.gettempdir()) / f"mdstools-kernels-{os.getuid()}" / "kernels",
    ):
        target = base / KERNEL
        try:
            current = json.loads((target / "kernel.json").read_text())
            if current.get("argv", [None])[0] == sys.executable:
                _add_jupyter_path(base.parent)
                return KERNEL
        except (OSError, ValueError):
            pass
        try:
            target.mkdir(parents=True, exist_ok=True)
            (target / "kernel.json").write_text(json.dumps(spec, indent=1))
        except OSError:
            continue
        _add_jupyter_path(base.parent)
        return KERNEL
    raise RuntimeError("cannot write a kernelspec for mdstools")


def _add_jupyter_path(data_dir: Path) -> None:
    if data_dir == Path(sys.prefix) / "share" / "jupyter":
        return
    current = os.environ.get("JUPYTER_PATH", "")
    if str(data_dir) not in current.split(os.pathsep):
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(data_dir), current) if p)


def _ipc_kernel_manager() -> type:
    """A kernel manager on Unix sockets in a private directory: the kernel is reachable by
    this user only (no TCP ports on 127.0.0.1, and no "running over TCP without
    encryption" warning in every scheduler log)."""
    from jupyter_client.manager import AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):  # type: ignore[misc]
        transport = "ipc"

        def _ip_default(self) -> str:
            directory = Path(tempfile.gettempdir()) / f"mdstools-kernel-{os.getuid()}"
            directory.mkdir(mode=0o700, exist_ok=True)
            return str(directory / f"kernel-{os.getpid()}")

    return IpcKernelManager


@contextlib.contextmanager
def abort_on_signals() -> Iterator[None]:
    """SIGTERM and SIGINT raise :class:`Aborted` while the block runs (in the main thread),
    so that what holds a lock or a record releases it in its ``finally``."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Aborted(signal.Signals(signum).name)

    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for s in old:
            signal.signal(s, handler)
    except ValueError:  # not the main thread: signals stay as they are
        old = {}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


class _Prefixed:
    """stdout/stderr of the kernel, line by line to our stderr with time and phase."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.buf = ""

    def write(self, text: str) -> int:
        self.buf += redact(text)
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            if line.strip():
                print(
                    f"{datetime.now():%H:%M:%S} {self.prefix} {terminal_text(line)}",
                    file=sys.stderr,
                    flush=True,
                )
        return len(text)

    def flush(self) -> None:
        pass


def _progress(line: str) -> None:
    """One line of the run's progress on stderr, after the time of day."""
    print(f"{datetime.now():%H:%M:%S} {line}", file=sys.stderr, flush=True)


def _runbook_source(ph: Phase) -> Path:
    """The stored runbook of ``ph``; BadInput when the runbooks are not beside the package."""
    source = runbooks_dir() / ph.notebook
    if not source.is_file():
        raise BadInput(
            f"no runbook {source}",
            "the runbooks are not beside the package (an install from a wheel): set "
            "MDSTOOLS_RUNBOOKS to the folder that holds them (a copy of the repository's "
            "runbooks/)",
        )
    return source


@contextlib.contextmanager
def _kernel_environment(run_id: str, lock_token: str | None, break_lock: bool) -> Iterator[None]:
    """The run id and the lock's token (and whether to break a lock) in the environment the
    kernel inherits; the environment as it was afterwards."""
    env_backup = {k: os.environ.get(k) for k in (ENV_RUN_ID, lock.ENV_TOKEN, lock.ENV_BREAK)}
    os.environ[ENV_RUN_ID] = run_id
    if lock_token:
        os.environ[lock.ENV_TOKEN] = lock_token
    if break_lock:
        os.environ[lock.ENV_BREAK] = "1"
    else:
        os.environ.pop(lock.ENV_BREAK, None)
    try:
        yield
    finally:
        for k, v in env_backup.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _papermill(
    ph: Phase,
    source: Path,
    output: Path,
    parameters: dict[str, Any],
    report_dir: Path,
    stream: _Prefixed,
) -> tuple[str, str | None, str | None]:
    """Executes the runbook into ``output``: (verdict, cause, the kernel's error name)."""
    verdict, cause, error = "failed", None, None
    try:
        with abort_on_signals():
            papermill.execute_notebook(
                str(source),
                str(output),
                parameters=parameters,
                kernel_name=ensure_kernel(),
                engine_name=ENGINE,
                progress_bar=False,
                log_output=False,
                stdout_file=stream,
                stderr_file=stream,
                cwd=str(report_dir),
                execution_timeout=ph.timeout_s,
                start_timeout=120,
                kernel_manager_class=_ipc_kernel_manager(),
            )
        verdict = "passed"
    except PapermillExecutionError as exc:
        error = str(exc.ename)
        if error == lock.LockHeld.__name__:
            verdict, cause = "locked", str(exc.evalue)
        elif error in CONNECT_ERRORS:
            cause = str(exc.evalue)
        else:
            cause = f"{exc.ename}: {exc.evalue}"
    except Aborted as exc:
        verdict, cause = "aborted", f"aborted by {exc} during the run"
    except Exception as exc:  # kernel died, timeout, missing kernel: the record says so
        cause = f"{type(exc).__name__}: {exc}"
    return verdict, cause, error


@dataclass(frozen=True, kw_only=True)
class _RunContext:
    """What the steps of one headless run share."""

    ph: Phase
    inv: Inventory
    ticket: str
    operator: str
    dry_run: bool
    report_dir: Path
    name: str
    run_id: str
    journal: audit.Journal


def _prepare_record(
    ph: Phase, inv: Inventory, ticket: str, operator: str, dry_run: bool, reports: Path
) -> _RunContext:
    """The run's context, once the ticket's record verifies and its folder exists."""
    report_dir = reports / audit.validate_ticket(ticket)
    audit.check_before_write(report_dir)
    fsio.ensure_dir(report_dir)
    run_id = uuid.uuid4().hex[:12]
    return _RunContext(
        ph=ph,
        inv=inv,
        ticket=ticket,
        operator=operator,
        dry_run=dry_run,
        report_dir=report_dir,
        name=output_name(report_dir, ph, dry_run),
        run_id=run_id,
        journal=audit.Journal(report_dir / audit.JOURNAL, run_id, ph.id),
    )


def _parameters(run: _RunContext, reports: Path, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters papermill injects: the run's context, then the phase's own."""
    return {
        "inventory": str(run.inv.path),
        "ticket": run.ticket,
        "operator": run.operator,
        "interactive": False,
        "dry_run": run.dry_run,
        "reports_dir": str(reports),
        **params,
    }


def _executed_notebook(output: Path, source: Path, work: Path) -> Any:
    """The notebook papermill wrote (the runbook itself when it wrote none); the private
    folder it was written in is removed."""
    try:
        return nbformat.read(str(output if output.exists() else source), as_version=4)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _merge_state(
    run: _RunContext, verdict: str, cause: str | None, lock_token: str | None
) -> tuple[str, str | None, dict[str, Any]]:
    """The verdict and cause with what the kernel wrote to ``state.json`` for this run (a
    failed gate, its cause); the phase's state. A kernel that ended before releasing the
    lock on the primary MDS has it released here."""
    ph = run.ph
    try:
        state = read_state(run.report_dir).get("phases", {}).get(ph.id, {})
    except RecordDamaged:
        state = {}  # the seal below refuses it, naming the file; the notebook is kept
    if state.get("run_id") == run.run_id:
        if state.get("cause"):
            cause = state["cause"]
        if verdict == "passed" and str(state.get("verdict", "")).endswith("failed"):
            verdict = "failed"
    elif (
        lock_token
        and ph.mutating
        and not run.dry_run
        and _holds_remote_lock(run.journal, run.run_id)
    ):
        lock.release_remote_of(run.inv, lock_token)
    if run.dry_run and verdict in ("passed", "failed"):
        verdict = f"dry-run {verdict}"
    return verdict, cause, state


def _write_record(
    run: _RunContext,
    nb: Any,
    verdict: str,
    cause: str | None,
    state: dict[str, Any],
    html: bool,
) -> tuple[Path, Path | None]:
    """The executed notebook (verdict on top, redacted) and its HTML written into the
    report, the run journaled and sealed: (notebook, HTML) as written."""
    ph, ticket = run.ph, run.ticket
    verdict_cell(nb, ph, verdict, cause, run.run_id, ticket, checks_line(state, run.run_id))
    redact_notebook(nb)
    target, html_path = write_notebook(
        nb, run.report_dir / run.name, run.journal, html, f"[{ticket} {ph.id}]"
    )
    run.journal.write(
        "run",
        verdict=verdict,
        cause=cause,
        notebook=run.name,
        operator=run.operator,
        dry_run=run.dry_run,
    )
    audit.seal(
        run.report_dir,
        {
            "run_id": run.run_id,
            "phase": ph.id,
            "verdict": verdict,
            "notebook": run.name,
            "operator": run.operator,
            "toolkit": __version__,
        },
        run.journal,
    )
    return target, html_path


def execute(
    ph: Phase,
    inv: Inventory,
    *,
    ticket: str,
    operator: str,
    params: dict[str, Any],
    dry_run: bool,
    reports: Path,
    lock_token: str | None = None,
    html: bool = True,
    break_lock: bool = False,
    lock_broken: dict[str, Any] | None = None,
) -> Outcome:
    """Run one phase headless; the executed notebook always lands in reports/<ticket>/.

    Refuses (:class:`~mdstools.errors.RecordDamaged`) before anything runs when the
    ticket's record does not verify; a file of the record that cannot be written raises
    :class:`~mdstools.errors.RecordWriteError` and leaves the record as it was.

    ``lock_token`` is the token of the host-wide lock the caller holds (the kernel uses it
    for the lock on the primary MDS); ``break_lock`` lets the kernel break a lock there
    held by another token; ``lock_broken`` is the holder of a stale host-wide lock the
    caller broke (journaled here).
    """
    register_secrets(inv)
    source = _runbook_source(ph)
    run = _prepare_record(ph, inv, ticket, operator, dry_run, reports)
    report_dir, name, run_id = run.report_dir, run.name, run.run_id
    work = Path(tempfile.mkdtemp(prefix="mdstools-run-"))
    os.chmod(work, 0o700)
    tmp_out = work / name
    parameters = _parameters(run, reports, params)
    if lock_broken is not None:
        run.journal.write(
            "lock", event="broken", where=str(lock.lock_path(inv.environment)), holder=lock_broken
        )
    _progress(f"[{ticket} {ph.id}] {ph.title}: running {source.name} -> {report_dir / name}")
    with _kernel_environment(run_id, lock_token, break_lock):
        verdict, cause, error = _papermill(
            ph, source, tmp_out, parameters, report_dir, _Prefixed(f"[{ticket} {ph.id}]")
        )
    verdict, cause, state = _merge_state(run, verdict, cause, lock_token)
    nb = _executed_notebook(tmp_out, source, work)
    target, html_path = _write_record(run, nb, verdict, cause, state, html)
    _progress(
        f"[{ticket} {ph.id}] {verdict.upper()}"
        + (f": {terminal_text(cause)}" if cause else "")
        + f" -> {target}"
    )
    return Outcome(
        phase=ph,
        verdict=verdict,
        cause=cause,
        notebook=target,
        html=html_path,
        run_id=run_id,
        error=error,
    )


def _holds_remote_lock(journal: audit.Journal, run_id: str) -> bool:
    """The kernel of ``run_id`` took the lock on the primary MDS and did not release it."""
    held = False
    try:
        events = journal.events()
    except (OSError, ValueError):
        return True  # cannot tell: try to release (only our token is ever removed)
    for e in events:
        if e.get("run_id") == run_id and e.get("kind") == "lock":
            if e.get("event") == "held":
                held = True
            elif e.get("event") in ("released", "not released"):
                held = False
    return held


def campaign(
    phases: list[Phase],
    inv: Inventory,
    ticket: str,
    operator: str,
    params: dict[str, Any],
    dry_run: bool,
    reports: Path,
    held: lock.Lock | None,
    break_lock: bool = False,
) -> list[Outcome]:
    """Run ``phases`` in order under ``held`` (None for a dry run, which takes no lock);
    stop at the first that does not pass. ``break_lock`` applies to the locks met first: the
    host-wide one (already taken by the caller) and the one on the primary MDS, which the
    first mutating phase takes."""
    outcomes: list[Outcome] = []
    first_mutating = next((i for i, p in enumerate(phases) if p.mutating), 0)
    for i, ph in enumerate(phases):
        if held is not None:
            lock.update(held, phase=ph.id)
        outcome = execute(
            ph,
            inv,
            ticket=ticket,
            operator=operator,
            params=params_for(ph, params),
            dry_run=dry_run,
            reports=reports,
            lock_token=held.token if held else None,
            break_lock=break_lock and i <= first_mutating,
            lock_broken=held.broken if held is not None and i == 0 else None,
        )
        outcomes.append(outcome)
        if outcome.exit_code != ExitCode.OK:
            break
    return outcomes


def next_phases(report_dir: Path, first: str, last: str, resume: bool) -> list[Phase]:
    """The phases to run: from..to, or (resume) from the first one that has not passed.

    Raises KeyError for an unknown phase, MdstoolsError when ``first`` comes after ``last``
    and RecordDamaged when ``state.json`` cannot be trusted (with ``resume``).
    """
    ids = [p.id for p in PHASES]
    lo, hi = ids.index(phase(first).id), ids.index(phase(last).id)
    if lo > hi:
        raise MdstoolsError(
            f"phase {ids[lo]} (from) comes after phase {ids[hi]} (to)",
            f"give the first phase before the last, e.g. --from {ids[hi]} --to {ids[lo]}",
        )
    chosen = list(PHASES[lo : hi + 1])
    if resume:
        done = read_state(report_dir).get("phases", {})
        while chosen and done.get(chosen[0].id, {}).get("verdict") == "passed":
            chosen.pop(0)
    return chosen


def params_for(ph: Phase, params: dict[str, Any]) -> dict[str, Any]:
    """The campaign's parameters that this phase has (a decision of another phase is not
    passed to it: papermill would warn about an unknown parameter)."""
    own = {p.name for p in phase_params(ph)}
    return {k: v for k, v in params.items() if k in own}
