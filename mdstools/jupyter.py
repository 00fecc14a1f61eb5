"""JupyterLab on a ticket's working copies of the runbooks (``mdstools jupyter``, ``make jupyter``).

``mdstools jupyter`` starts the embedded lab when no inventory is given (or reuses the one
already running from ``--lab-dir``), copies the runbooks for the ticket into
``<reports>/<ticket>/.work/`` (once: reopening the ticket keeps them; the repository's
``runbooks/`` is never opened, so it is never saved over), fills their parameters cells with
this ticket's values (inventory, ticket, reports folder, the lab's time scale), signs them as
trusted, and runs JupyterLab there, bound to 127.0.0.1 and protected by a random token. The
kernels also inherit the values as environment variables, which ``mdstools.start()`` reads
when a parameter is left empty:

* ``MDSTOOLS_INVENTORY``: the absolute path of the inventory;
* ``MDSTOOLS_TICKET``: the change ticket (``LAB-<date>`` on the lab);
* ``MDSTOOLS_TIME_SCALE``: the lab's time scale (only for a lab deployment).

JupyterLab is started with :mod:`mdstools.jupyter_hooks`: a saved working copy whose run has
ended is sealed into the record (the executed notebook, its HTML, a manifest entry), kernels
talk over Unix sockets, and its settings (on top of the environment's own overrides; the
user's settings still win) turn off the news and update pop-ups and autosave every
:data:`AUTOSAVE_S` seconds, so that an ended run reaches the record soon.

Ctrl-C (or SIGTERM) stops JupyterLab, seals the ended runs of the saved working copies that
are not sealed yet, and stops the lab when this command started it.

The pieces (:func:`command`, :func:`environment`, :func:`working_copies`,
:func:`app_settings_dir`, :func:`server_args`, :class:`JupyterLab`) are public so that the
browser tests drive the same launcher a user runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from mdstools.errors import ExitCode, MdstoolsError

ENV_INVENTORY = "MDSTOOLS_INVENTORY"
ENV_TICKET = "MDSTOOLS_TICKET"
ENV_TIME_SCALE = "MDSTOOLS_TIME_SCALE"

WORK_DIR = ".work"
AUTOSAVE_S = 5
SETTINGS_OVERRIDES: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension:plugin": {"autosaveInterval": AUTOSAVE_S},
}
"""JupyterLab settings of ``mdstools jupyter``: no news or update pop-up, autosave often."""

HOST = "127.0.0.1"
DEFAULT_PORT = 8888
FIRST_RUNBOOK = "00_discover.ipynb"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


class JupyterError(MdstoolsError):
    """JupyterLab (or the lab it needs) could not start; the message says what to do."""


class UsageError(JupyterError):
    """Bad input: an unknown scenario, or one other than the running lab's (exit code 2)."""

    exit = ExitCode.USAGE


def free_port(host: str = HOST) -> int:
    """A TCP port on ``host`` that nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_free(port: int, host: str = HOST) -> bool:
    """True when nobody listens on ``port`` of ``host`` (connections of a server that just
    stopped, in TIME_WAIT, do not count: JupyterLab binds with SO_REUSEADDR too)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def new_token() -> str:
    """A random token for JupyterLab's ``IdentityProvider.token`` (48 hex digits)."""
    return secrets.token_hex(24)


def default_ticket() -> str:
    """The ticket of a lab session: ``LAB-<YYYYMMDD>``."""
    return f"LAB-{time.strftime('%Y%m%d')}"


def runbooks_dir() -> Path:
    """The runbooks the working copies are made from (``MDSTOOLS_RUNBOOKS`` or ``runbooks/``)."""
    from mdstools.runbook import runbooks_dir as configured

    return configured().resolve()


def command(
    notebook_dir: Path,
    port: int,
    token: str,
    python: str = sys.executable,
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``jupyter lab`` command line: bound to 127.0.0.1, token-protected, no browser.

    ``--allow-root`` is added when running as root (JupyterLab refuses to start otherwise).
    """
    argv = [
        python,
        "-m",
        "jupyterlab",
        f"--notebook-dir={notebook_dir}",
        f"--ip={HOST}",
        f"--port={port}",
        "--port-retries=0",
        "--no-browser",
        f"--IdentityProvider.token={token}",
    ]
    if hasattr(os, "getuid") and os.getuid() == 0:
        argv.append("--allow-root")
    return [*argv, *extra]


def environment(
    inventory: Path | None,
    ticket: str | None,
    time_scale: float | None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """JupyterLab's environment: ``base`` (default ``os.environ``) plus the ``MDSTOOLS_*``
    variables the runbooks read when their parameters are empty. An unset value removes the
    variable, so that a stale one from the caller's shell is not inherited."""
    env = dict(os.environ if base is None else base)
    values = {
        ENV_INVENTORY: str(inventory.resolve()) if inventory is not None else None,
        ENV_TICKET: ticket or None,
        ENV_TIME_SCALE: repr(float(time_scale)) if time_scale is not None else None,
    }
    for key, value in values.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _set_parameters(nb: Any, phase_id: str, values: Mapping[str, Any]) -> None:
    """The lines of ``values`` in the parameters cell, written as the PARAMS table writes them."""
    from mdstools.phases import BY_NAME

    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        return
    lines = []
    for line in cell.source.splitlines():
        name = line.split(":", 1)[0].strip()
        if name in values and name in BY_NAME:
            line = replace(BY_NAME[name], default=values[name]).line(phase_id)
        lines.append(line)
    cell.source = "\n".join(lines) + ("\n" if cell.source.endswith("\n") else "")


def _trust(path: Path) -> None:
    """Sign ``path`` with the user's notebook notary (the toolkit's own notebooks are
    trusted); a notary that cannot be written only costs the trust."""
    import nbformat
    from nbformat.sign import NotebookNotary

    try:
        NotebookNotary().sign(nbformat.read(str(path), as_version=4))
    except Exception as exc:
        print(f"mdstools jupyter: cannot mark {path.name} as trusted: {exc}", file=sys.stderr)


def runbook_digest(nb: Any) -> str:
    """SHA-256 of what a runbook does: the type and source of every cell but the parameters
    cell (whose values are the ticket's in a working copy)."""
    import hashlib

    h = hashlib.sha256()
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            continue
        h.update(f"{cell.cell_type}\0{cell.source}\0".encode())
    return h.hexdigest()


def working_copies(
    report_dir: Path,
    values: Mapping[str, Any],
    source: Path | None = None,
    stale: list[str] | None = None,
) -> Path:
    """``report_dir/.work/`` with a working copy of every runbook of ``source`` (default
    :func:`runbooks_dir`): copied once, then kept (outputs and edits included); the
    parameters cell of each holds ``values`` (inventory, ticket, reports_dir, time_scale).
    Every copy is signed as trusted and remembers the digest of the runbook it was made
    from; the names of kept copies made from another version of their runbook (a toolkit
    upgraded since) are appended to ``stale``. Returns the directory.

    Raises MdstoolsError when ``.work`` is a symbolic link (the copies stay inside the
    ticket's folder)."""
    import nbformat

    from mdstools import fsio

    link = report_dir / WORK_DIR
    if link.is_symlink():
        raise MdstoolsError(
            f"{link} is a symbolic link; the working copies stay inside the ticket's folder",
            f"remove the link (rm {link}) and start again",
        )
    work = fsio.ensure_dir(link)
    for src in sorted((source or runbooks_dir()).glob("[0-9][0-9]_*.ipynb")):
        target = work / src.name
        before = target.read_text() if target.exists() else None
        current = nbformat.read(str(src), 4)
        nb = nbformat.reads(before, as_version=4) if before else current
        digest = runbook_digest(current)
        meta = nb.metadata.setdefault("mdstools", {})
        made_from = meta.get("runbook_sha256") if before else digest
        if before and made_from is None:
            made_from = runbook_digest(nb)
        if made_from != digest and stale is not None:
            stale.append(src.name)
        meta["runbook_sha256"] = made_from
        _set_parameters(nb, src.name[:2], values)
        text = nbformat.writes(nb) + "\n"
        if text != before:
            fsio.atomic_write_text(target, text)
        _trust(target)
    return work


def app_settings_dir(target: Path) -> Path:
    """JupyterLab's application settings for ``mdstools jupyter`` in ``target``: those of
    this environment (overrides, page config) with :data:`SETTINGS_OVERRIDES` on top."""
    import shutil

    target.mkdir(parents=True, exist_ok=True)
    overrides: dict[str, Any] = {}
    try:
        from jupyterlab.commands import get_app_dir

        base: Path | None = Path(get_app_dir()) / "settings"
    except Exception:
        base = None
    if base is not None and base.is_dir():
        for name in ("page_config.json", "page_config.json5"):
            if (base / name).is_file():
                shutil.copy2(base / name, target / name)
        if (base / "overrides.d").is_dir():
            shutil.copytree(base / "overrides.d", target / "overrides.d", dirs_exist_ok=True)
        try:
            loaded = json.loads((base / "overrides.json").read_text())
            overrides = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            overrides = {}
    for plugin, values in SETTINGS_OVERRIDES.items():
        current = overrides.get(plugin)
        overrides[plugin] = {**(current if isinstance(current, dict) else {}), **values}
    (target / "overrides.json").write_text(json.dumps(overrides, indent=2) + "\n")
    return target


def server_args(settings_dir: Path) -> list[str]:
    """JupyterLab options of ``mdstools jupyter``: its settings, no update check, the
    post-save hook that seals ended runs, kernels over Unix sockets."""
    return [
        f"--LabApp.app_settings_dir={settings_dir}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--FileContentsManager.post_save_hook=mdstools.jupyter_hooks.post_save",
        "--MappingKernelManager.kernel_manager_class=mdstools.jupyter_hooks.IpcKernelManager",
    ]


def seal_working_copies(report_dir: Path) -> list[Any]:
    """Seal the ended runs of the saved working copies of ``report_dir`` that are not
    sealed yet (what Ctrl-C does); returns what was sealed."""
    from mdstools.notebook_record import seal_ended

    work = report_dir / WORK_DIR
    if not (report_dir / "journal.jsonl").exists() or not work.is_dir():
        return []
    return seal_ended(report_dir, sorted(work.glob("[0-9][0-9]_*.ipynb")))


def url(port: int, token: str, path: str = "lab", host: str = HOST) -> str:
    """``http://127.0.0.1:PORT/<path>?token=TOKEN``; ``path`` is quoted (``lab/tree/x.ipynb``)."""
    quoted = urllib.parse.quote(path.lstrip("/"))
    return f"http://{host}:{port}/{quoted}?token={urllib.parse.quote(token)}"


def status(port: int, token: str, host: str = HOST, timeout: float = 2.0) -> dict[str, Any] | None:
    """JupyterLab's ``/api/status`` (JSON), or None while it does not answer."""
    try:
        with urllib.request.urlopen(url(port, token, "api/status", host), timeout=timeout) as r:
            data = json.loads(r.read().decode())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class JupyterLab:
    """One JupyterLab server process: :meth:`start` returns once it answers; :meth:`stop`."""

    notebook_dir: Path
    port: int = 0
    token: str = field(default_factory=new_token)
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    log: Path | None = None
    extra_args: Sequence[str] = ()
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The JupyterLab URL with the token."""
        return url(self.port, self.token)

    def notebook_url(self, name: str) -> str:
        """The URL that opens ``name`` (relative to the notebook directory) in JupyterLab."""
        return url(self.port, self.token, f"lab/tree/{name}")

    def start(self, timeout: float = READY_TIMEOUT_S) -> JupyterLab:
        """Start ``jupyter lab`` in its own session; wait until ``/api/status`` answers.

        Its output goes to ``log`` when set, else to this process's stdout/stderr. With
        ``port`` 0 a free port is chosen (and another one if it was taken meanwhile).
        """
        if not self.notebook_dir.is_dir():
            raise JupyterError(f"no notebook directory {self.notebook_dir}")
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
        auto = self.port == 0
        if not auto and not port_free(self.port):
            raise JupyterError(
                f"port {self.port} on {HOST} is in use; choose another with --port N"
            )
        for attempt in range(3 if auto else 1):
            if auto:
                self.port = free_port()
            self._spawn()
            try:
                self.wait_ready(timeout)
                return self
            except JupyterError:
                if attempt == 2 or not auto or port_free(self.port):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _spawn(self) -> None:
        argv = command(self.notebook_dir.resolve(), self.port, self.token, extra=self.extra_args)
        out = self.log.open("ab") if self.log is not None else None
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
                env=self.env,
                cwd=self.notebook_dir,
                start_new_session=True,  # Ctrl-C reaches mdstools, which stops it cleanly
            )
        finally:
            if out is not None:
                out.close()

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> dict[str, Any]:
        """Block until ``/api/status`` answers; raise JupyterError if it exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                where = f"; see {self.log}" if self.log else ""
                raise JupyterError(
                    f"JupyterLab exited at start (code {self.proc.returncode}){where}"
                )
            answer = status(self.port, self.token)
            if answer is not None:
                return answer
            time.sleep(0.2)
        self.stop()
        raise JupyterError(f"JupyterLab did not answer on {HOST}:{self.port} within {timeout:g} s")

    def running(self) -> bool:
        """True while the server process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def wait(self) -> int:
        """Wait until the server exits; its exit code."""
        if self.proc is None:
            return 0
        return self.proc.wait()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM (JupyterLab shuts its kernels down), then SIGKILL after ``timeout``."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@dataclass(frozen=True, kw_only=True)
class LabTarget:
    """The deployment the runbooks work on: an inventory, and the lab when there is one."""

    inventory: Path
    time_scale: float | None
    lab_dir: Path | None
    started: bool
    scenario: str | None


def running_lab(lab_dir: Path) -> dict[str, Any] | None:
    """The state (``lab.json``) of the lab running from ``lab_dir``, or None."""
    from mdstools.lab import runtime

    state = runtime.read_state(lab_dir)
    if not state:
        return None
    try:
        os.kill(int(state["pid"]), 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    except (KeyError, ValueError, TypeError):
        return None
    return state


def lab_time_scale(state: Mapping[str, Any]) -> float:
    """The time scale of a running lab (its option, else its scenario's default)."""
    from mdstools.lab.scenarios import DEFAULT_SCALE, SCENARIOS

    options = state.get("options") or {}
    value = options.get("time_scale")
    if value is not None:
        return float(value)
    scenario = SCENARIOS.get(str(state.get("scenario") or options.get("scenario")))
    return scenario.time_scale if scenario is not None else DEFAULT_SCALE


def ensure_lab(lab_dir: Path, scenario: str | None) -> LabTarget:
    """Reuse the lab running from ``lab_dir`` or start one (``scenario``, default 'default').

    Raises UsageError for an unknown scenario or when the running lab has another one,
    JupyterError when the lab does not start.
    """
    from mdstools.lab import runtime
    from mdstools.lab.scenarios import SCENARIOS, LabOptions

    lab_dir = lab_dir.resolve()
    if scenario is not None and scenario not in SCENARIOS:
        raise UsageError(f"unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}")
    state = running_lab(lab_dir)
    if state is not None:
        if scenario is not None and state.get("scenario") != scenario:
            raise UsageError(
                f"the lab running from {lab_dir} has scenario {state.get('scenario')!r}, not "
                f"{scenario!r}; stop it first: mdstools lab down --dir {lab_dir}"
            )
        return LabTarget(
            inventory=lab_dir / "inventory.yml",
            time_scale=lab_time_scale(state),
            lab_dir=lab_dir,
            started=False,
            scenario=str(state.get("scenario")),
        )
    try:
        state = runtime.up(lab_dir, LabOptions(scenario=scenario or "default"))
    except runtime.LabRuntimeError as exc:
        raise JupyterError(str(exc)) from exc
    return LabTarget(
        inventory=lab_dir / "inventory.yml",
        time_scale=lab_time_scale(state),
        lab_dir=lab_dir,
        started=True,
        scenario=scenario or "default",
    )


def _can_open_browser() -> bool:
    """A graphical browser can be opened (never a console browser taking the terminal)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt (so ``finally`` cleans up), in the main thread."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM meanwhile (a second Ctrl-C must not stop the clean-up)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def launcher(
    inventory: Path,
    ticket: str,
    time_scale: float | None,
    reports: Path,
    config_dir: Path,
    port: int = 0,
    base_env: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> JupyterLab:
    """The JupyterLab of ``mdstools jupyter`` for ``ticket`` (not started yet): the ticket's
    working copies (made, or kept from an earlier session), the settings in
    ``config_dir``, the environment and the options. Raises MdstoolsError for a bad ticket."""
    from mdstools import audit

    reports = reports.expanduser().resolve()
    report_dir = reports / audit.validate_ticket(ticket)
    values: dict[str, Any] = {
        "inventory": str(inventory.resolve()),
        "ticket": ticket,
        "reports_dir": str(reports),
    }
    if time_scale is not None:
        values["time_scale"] = float(time_scale)
    stale: list[str] = []
    work = working_copies(report_dir, values, stale=stale)
    for name in stale:
        print(
            f"mdstools jupyter: WARNING: {work / name} was made from another version of the "
            f"runbook {name} (the toolkit changed since); it runs the cells it holds. To start "
            "this phase from the current runbook, delete that copy and start mdstools "
            "jupyter again",
            file=sys.stderr,
        )
    return JupyterLab(
        work,
        port=port,
        env=environment(inventory, ticket, time_scale, base_env),
        log=log,
        extra_args=server_args(app_settings_dir(config_dir / "settings")),
    )


def _refused(
    inventory: Path | None, scenario: str | None, ticket: str | None, port: int
) -> int | None:
    """The exit code when ``serve``'s arguments are refused (the message is printed)."""
    if inventory is not None and scenario is not None:
        print("mdstools jupyter: --scenario is for the lab; not with -i", file=sys.stderr)
        return ExitCode.USAGE
    if inventory is not None and not inventory.is_file():
        print(f"mdstools jupyter: no inventory file {inventory}", file=sys.stderr)
        return ExitCode.USAGE
    if inventory is not None and not ticket:
        print(
            "mdstools jupyter: no ticket: give the change ticket with --ticket (the working "
            "copies and the record are per ticket: reports/<ticket>/)",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    if not 0 < port < 65536:
        print(f"mdstools jupyter: --port {port}: use 1..65535", file=sys.stderr)
        return ExitCode.USAGE
    if not port_free(port):
        print(
            f"mdstools jupyter: port {port} on {HOST} is in use (another JupyterLab?); "
            "choose another with --port N",
            file=sys.stderr,
        )
        return ExitCode.FAILED
    return None


def _say_running(
    say: Callable[[str], None],
    lab: JupyterLab,
    ticket: str,
    inv_path: Path,
    time_scale: float | None,
    lab_started: bool,
) -> None:
    """The banner once JupyterLab is up: where to open it, where the copies and the record
    are, and what Ctrl-C stops."""
    say("")
    say(f"JupyterLab is running on the working copies of ticket {ticket}")
    say(f"  open:       {lab.url}")
    say(f"  first:      {lab.notebook_url(FIRST_RUNBOOK)}")
    say("              (00 discover; then 01..08 in order, cell by cell)")
    say(f"  copies:     {lab.notebook_dir} (the repository's runbooks/ stay clean)")
    record = lab.notebook_dir.parent
    say(f"  record:     {record} (each ended run is sealed when its notebook is saved)")
    say(f"  inventory:  {inv_path}")
    say(f"  ticket:     {ticket}")
    if time_scale is not None:
        say(f"  time scale: {time_scale:g} (the lab's)")
    stop_what = "JupyterLab and the lab" if lab_started else "JupyterLab"
    say(f"Ctrl-C stops {stop_what}.")


def _lab_target(lab_dir: Path, scenario: str | None, say: Callable[[str], None]) -> LabTarget:
    """The embedded lab in ``lab_dir``, started or the one running there (said which)."""
    target = ensure_lab(lab_dir, scenario)
    how = "started" if target.started else "reusing the running"
    say(f"lab: {how} lab ({target.scenario}) in {target.lab_dir}")
    return target


def _open_and_wait(lab: JupyterLab, open_browser: bool, say: Callable[[str], None]) -> int:
    """Opens the first runbook in a browser (when asked and one can be opened) and waits for
    JupyterLab to end: 0 when it was stopped, 1 when it failed."""
    if open_browser and _can_open_browser():
        import webbrowser

        webbrowser.open(lab.notebook_url(FIRST_RUNBOOK))
    rc = lab.wait()
    say(f"JupyterLab exited (code {rc})")
    stopped = rc in (0, -signal.SIGTERM, -signal.SIGINT)
    return ExitCode.OK if stopped else ExitCode.FAILED


def _clean_up(
    lab: JupyterLab | None,
    config_dir: Path,
    lab_dir: Path,
    lab_started: bool,
    say: Callable[[str], None],
) -> None:
    """With signals ignored: JupyterLab stopped and its ended runs sealed, its settings
    removed, and the embedded lab stopped when this command started it and it runs."""
    import shutil

    with _signals_ignored():
        if lab is not None:
            lab.stop()
            say("JupyterLab stopped")
            _seal_on_exit(lab.notebook_dir.parent, say)
        shutil.rmtree(config_dir, ignore_errors=True)
        if lab_started and running_lab(lab_dir) is not None:
            from mdstools.lab import runtime

            runtime.down(lab_dir)
            say(f"lab down ({lab_dir})")


def serve(
    inventory: Path | None = None,
    lab_dir: Path = Path("lab-data"),
    scenario: str | None = None,
    port: int = DEFAULT_PORT,
    ticket: str | None = None,
    open_browser: bool = True,
    reports: Path = Path("reports"),
    out: TextIO | None = None,
) -> int:
    """``mdstools jupyter``: the lab (unless ``inventory``), JupyterLab on the ticket's
    working copies, until Ctrl-C; then the ended runs not sealed yet are sealed.

    Returns the exit code: 0 after Ctrl-C, 1 when something could not start, 2 bad input.
    """
    import tempfile

    from mdstools.runbook import ensure_kernel

    def say(text: str = "") -> None:
        print(text, file=out or sys.stdout, flush=True)

    refused = _refused(inventory, scenario, ticket, port)
    if refused is not None:
        return refused
    target: LabTarget | None = None
    lab: JupyterLab | None = None
    config_dir = Path(tempfile.mkdtemp(prefix="mdstools-jupyter-"))
    lab_was_running = inventory is None and running_lab(lab_dir.resolve()) is not None
    with _sigterm_as_interrupt():
        try:
            if inventory is None:
                target = _lab_target(lab_dir, scenario, say)
                inv_path, time_scale = target.inventory, target.time_scale
                ticket = ticket or default_ticket()
            else:
                inv_path, time_scale = inventory.resolve(), None
            kernel = ensure_kernel()  # may extend JUPYTER_PATH in os.environ: read env after
            try:
                lab = launcher(inv_path, str(ticket), time_scale, reports, config_dir, port)
            except (MdstoolsError, OSError) as exc:
                print(f"mdstools jupyter: {exc}", file=sys.stderr)
                return ExitCode.USAGE
            say(f"JupyterLab: starting on {HOST}:{port} ({lab.notebook_dir}, kernel {kernel}) ...")
            lab.start()
            _say_running(
                say, lab, str(ticket), inv_path, time_scale, bool(target and target.started)
            )
            return _open_and_wait(lab, open_browser, say)
        except KeyboardInterrupt:
            say("\nstopping ...")
            return ExitCode.OK
        except JupyterError as exc:
            print(f"mdstools jupyter: {exc}", file=sys.stderr)
            return exc.exit_code
        finally:
            started = target.started if target is not None else not lab_was_running
            _clean_up(lab, config_dir, lab_dir.resolve(), inventory is None and started, say)


def _seal_on_exit(report_dir: Path, say: Any) -> None:
    """Seal what the session left unsealed; a record that refuses is reported, not raised."""
    try:
        sealed = seal_working_copies(report_dir)
    except (MdstoolsError, OSError) as exc:
        print(f"mdstools jupyter: not sealed: {exc}", file=sys.stderr)
        return
    for s in sealed:
        say(
            f"sealed: run {s.run_id} of phase {s.phase.id} ({s.verdict}) -> "
            f"{report_dir / (s.notebook or '')}"
        )
