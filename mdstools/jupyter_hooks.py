"""What ``mdstools jupyter`` plugs into the JupyterLab server it starts.

* :func:`post_save`, JupyterLab's post-save hook: a saved working copy
  (``reports/<ticket>/.work/NN_*.ipynb``) whose run has ended (its phase end in the journal
  and the verdict marker in the notebook) is sealed into the record. A worker thread of the
  server checks that (so that a save returns at once) and runs the seal in a process of its
  own (``python -m mdstools.jupyter_hooks COPY``), so that the HTML export never holds up
  the server; the hook never fails a save (a refusal or an error goes to the server's
  log). The worker is not a daemon: a server stopping meanwhile finishes the seal first.
* :class:`IpcKernelManager`: kernels over Unix sockets in a private directory, reachable by
  this user only, instead of TCP ports on 127.0.0.1.

This module is imported by the JupyterLab server process only.
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from jupyter_server.services.kernels.kernelmanager import ServerKernelManager
from traitlets import default

from mdstools.audit import read_journal
from mdstools.errors import MdstoolsError

WORK_DIR = ".work"
JOURNAL = "journal.jsonl"
SEAL_TIMEOUT_S = 600

_pending: queue.Queue[Path] = queue.Queue()
_worker_lock = threading.Lock()
_worker: threading.Thread | None = None
_log = logging.getLogger("mdstools.jupyter")


def is_working_copy(path: Path) -> bool:
    """A runbook's working copy: ``<reports>/<ticket>/.work/NN_<slug>.ipynb``."""
    return path.suffix == ".ipynb" and path.parent.name == WORK_DIR and path.name[:2].isdigit()


def ready_to_seal(path: Path) -> bool:
    """The working copy ``path`` shows the verdict of its run, whose phase end is in the
    journal and which is not sealed yet (cheap: no inventory, no export)."""
    from mdstools.notebook_record import ended, find_run, read_notebook, sealed_notebook

    try:
        run = find_run(read_notebook(path))
        if run is None or run.verdict is None:
            return False
        events = read_journal(path.parent.parent / JOURNAL)
    except (MdstoolsError, OSError, ValueError):
        return False
    return ended(events, run.run_id) is not None and sealed_notebook(events, run.run_id) is None


def seal_if_ended(path: Path, log: logging.Logger | logging.LoggerAdapter[Any] = _log) -> None:
    """Seal the run of the working copy ``path`` when it has ended and is not sealed yet;
    log what happened (never raise)."""
    from mdstools.notebook_record import NotebookRefused, seal_notebook

    report_dir = path.parent.parent
    try:
        result = seal_notebook(report_dir, path, require_verdict=True)
    except NotebookRefused as exc:  # e.g. a copy saved before its first run
        log.debug("mdstools: %s not sealed: %s", path.name, exc)
        return
    except MdstoolsError as exc:
        log.warning("mdstools: %s not sealed: %s", path.name, exc)
        return
    except Exception:
        log.exception("mdstools: sealing %s failed", path.name)
        return
    if result is not None and not result.already:
        log.info(
            "mdstools: sealed run %s of phase %s (%s) as %s",
            result.run_id,
            result.phase.id,
            result.verdict,
            report_dir / (result.notebook or ""),
        )


def _seal_apart(path: Path, log: logging.Logger | logging.LoggerAdapter[Any]) -> None:
    """:func:`seal_if_ended` in a process of its own, so that the export never holds up
    the server (its kernels' messages, the next save); its log lines go to the server's."""
    if not ready_to_seal(path):
        return
    try:
        subprocess.run(
            [sys.executable, "-m", "mdstools.jupyter_hooks", str(path)],
            stdin=subprocess.DEVNULL,
            timeout=SEAL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("mdstools: sealing %s failed: %s", path.name, exc)


def _work(log: logging.Logger | logging.LoggerAdapter[Any]) -> None:
    global _worker
    while True:
        try:
            path = _pending.get(timeout=0.5)
        except queue.Empty:
            with _worker_lock:
                if _pending.empty():
                    _worker = None
                    return
            continue
        _seal_apart(path, log)


def post_save(model: Any = None, os_path: str = "", contents_manager: Any = None) -> None:
    """JupyterLab's post-save hook: queue a saved working copy for :func:`seal_if_ended`."""
    global _worker
    try:
        path = Path(os_path)
        if not is_working_copy(path):
            return
        log = getattr(contents_manager, "log", None) or _log
        _pending.put(path)
        with _worker_lock:
            if _worker is None:
                _worker = threading.Thread(target=_work, args=(log,), name="mdstools-seal")
                _worker.start()
    except Exception:  # a save must never fail because of the record
        _log.exception("mdstools: post-save hook failed on %s", os_path)


def socket_dir() -> Path:
    """A directory only this user can enter, for the kernels' Unix sockets (short enough
    for the socket path limit, whatever the runtime directory is)."""
    directory = Path(tempfile.gettempdir()) / f"mdstools-kernel-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    st = directory.lstat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PermissionError(f"{directory} is not a private directory of this user")
    return directory


class IpcKernelManager(ServerKernelManager):  # type: ignore[misc]
    """JupyterLab's kernel manager, with the kernel's channels on Unix sockets."""

    @default("transport")
    def _transport_default(self) -> str:
        return "ipc"

    @default("ip")
    def _ip_default(self) -> str:
        return str(socket_dir() / f"jl-{os.getpid()}-{uuid.uuid4().hex[:8]}")


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="[%(levelname).1s %(asctime)s mdstools] %(message)s"
    )
    for arg in sys.argv[1:]:
        seal_if_ended(Path(arg))
