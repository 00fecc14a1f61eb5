"""An executed notebook sealed into the ticket's record, however it was run.

A headless run (``mdstools run``) writes its notebook itself. A notebook run in JupyterLab
(a working copy of ``mdstools jupyter``) or by plain papermill (a scheduler) is sealed
afterwards with :func:`seal_notebook`: by JupyterLab's save hook, by ``mdstools jupyter`` on
Ctrl-C, or by ``mdstools seal reports/T NOTEBOOK``.

The run in a notebook is found by the markers the kernel writes into the output metadata:
the header of :func:`mdstools.start` carries ``{"mdstools": {"run_id", "phase", "ticket",
"inventory"}}``, the verdict of ``run.finish()`` ``{"mdstools": {"run_id", "verdict"}}``.
The verdict and its cause come from the journal and ``state.json``, never from the notebook.
The sealed copy is named like a headless run's (``NN_<slug>.ipynb``, reruns ``.r2``, dry
runs ``.dry-run``), has the verdict cell on top and every secret masked, and gets its HTML,
a ``run`` event in the journal and a manifest entry.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat

from mdstools import __version__, audit
from mdstools.checks import label_summary, outcome_label
from mdstools.errors import BadInput, MdstoolsError, RecordDamaged
from mdstools.escape import html_text
from mdstools.phases import Phase, phase
from mdstools.secrets import redact

MARKER = "mdstools"
VERDICT_TAG = "mdstools-verdict"
INCOMPLETE = "incomplete: no phase end in the journal"
SEAL_LOCK = ".lock-seal"
MAX_NOTEBOOK_BYTES = 256 * 1024 * 1024
_RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class NotebookRefused(BadInput):
    """A notebook that cannot be sealed into this record (no mdstools run in it, a run of
    another ticket, a run the journal does not know): nothing is written."""


def output_name(report_dir: Path, ph: Phase, dry_run: bool) -> str:
    """The record's name of a run's notebook: ``NN_<slug>.ipynb``, then ``.r2``, ``.r3``
    ... for reruns (``.dry-run`` before them for a dry run)."""
    stem = f"{ph.id}_{ph.slug}" + (".dry-run" if dry_run else "")
    name = f"{stem}.ipynb"
    n = 2
    while (report_dir / name).exists():
        name = f"{stem}.r{n}.ipynb"
        n += 1
    return name


def _masked(value: Any) -> Any:
    """``value`` (parsed JSON) with every known secret masked in its strings and its keys."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return {redact(str(k)): _masked(v) for k, v in value.items()}
    return value


def redact_notebook(nb: Any) -> None:
    """Mask every known secret in ``nb`` (in place): sources, outputs, attachments and the
    metadata of the notebook, its cells and their outputs (names of attachments and keys of
    metadata included; the notebook format's own keys are kept)."""
    cells = []
    for cell in nb.cells:
        masked = {k: _masked(v) for k, v in cell.items() if k != "outputs"}
        if "outputs" in cell:
            masked["outputs"] = [{k: _masked(v) for k, v in out.items()} for out in cell.outputs]
        cells.append(nbformat.from_dict(masked))
    nb.cells = cells
    nb.metadata = nbformat.from_dict(_masked(nb.metadata))


def checks_line(entry: Any, run_id: str) -> str:
    """The count of labels of the checks ``entry`` (a phase of ``state.json``) recorded for
    ``run_id`` ("6 checks: 4 PASS, ..."); empty when the entry is of another run."""
    if not isinstance(entry, dict) or entry.get("run_id") != run_id:
        return ""
    checks = entry.get("checks")
    if not isinstance(checks, list):
        return ""
    return label_summary(
        outcome_label(bool(c.get("passed")), str(c.get("severity", "error")))
        for c in checks
        if isinstance(c, dict)
    )


def verdict_cell(
    nb: Any,
    ph: Phase,
    verdict: str,
    cause: str | None,
    run_id: str,
    ticket: str,
    checks: str = "",
) -> None:
    """Put the verdict, the count of its checks' labels and its cause on top of ``nb``
    (replacing an earlier verdict cell)."""
    nb.cells = [c for c in nb.cells if VERDICT_TAG not in c.get("metadata", {}).get("tags", [])]
    colour = "#1b7f3b" if verdict.endswith("passed") else "#b00020"
    title = html_text(f"Phase {ph.id} {ph.title}: {verdict.upper()}")
    lines = [
        f'<div style="border:3px solid {colour};padding:8px">',
        f'<h2 style="color:{colour};margin:0">{title}</h2>',
        "<p>"
        + html_text(
            redact(
                f"ticket {ticket}, run {run_id}, mdstools {__version__}, "
                f"{datetime.now(timezone.utc).isoformat(timespec='seconds')}"
            )
        )
        + "</p>",
    ]
    if checks:
        lines.append(f"<p>{html_text(checks)}</p>")
    if cause:
        lines.append(f"<p><b>Cause:</b> {html_text(redact(cause))}</p>")
    lines.append("</div>")
    cell = nbformat.v4.new_markdown_cell("\n".join(lines))
    cell.metadata["tags"] = [VERDICT_TAG]
    nb.cells.insert(0, cell)


def write_notebook(
    nb: Any, target: Path, journal: audit.Journal, html: bool, prefix: str
) -> tuple[Path, Path | None]:
    """``nb`` into the record (journaled, atomically), and its HTML next to it."""
    text = nbformat.writes(nb)
    journal.write_file(target, text if text.endswith("\n") else text + "\n")
    if not html:
        return target, None
    from mdstools import report

    try:
        body = report.render_html(target)
    except Exception as exc:  # the notebook is the record; HTML is a convenience
        print(f"{prefix} HTML export failed: {exc}", file=sys.stderr)
        return target, None
    html_path = target.with_suffix(".html")
    journal.write_file(html_path, body)
    return target, html_path


# -- the run in a notebook ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NotebookRun:
    """The run whose header a notebook shows, and the verdict it shows for it (if any)."""

    run_id: str
    phase: Phase
    ticket: str
    inventory: str
    verdict: str | None


def _markers(nb: Any) -> Iterator[dict[str, Any]]:
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if isinstance(cell, dict) else []:
            meta = out.get("metadata") if isinstance(out, dict) else None
            marker = meta.get(MARKER) if isinstance(meta, dict) else None
            if isinstance(marker, dict):
                yield marker


def find_run(nb: Any) -> NotebookRun | None:
    """The run of the last header in ``nb``'s outputs; None when it holds no mdstools run."""
    header: dict[str, Any] | None = None
    verdicts: dict[str, str] = {}
    for marker in _markers(nb):
        rid = marker.get("run_id")
        if not isinstance(rid, str) or not _RUN_ID.fullmatch(rid):
            continue
        if "phase" in marker and "ticket" in marker:
            header = marker
        elif isinstance(marker.get("verdict"), str):
            verdicts[rid] = marker["verdict"]
    if header is None:
        return None
    try:
        ph = phase(str(header["phase"]))
        ticket = audit.validate_ticket(str(header["ticket"]))
    except (KeyError, MdstoolsError):
        return None
    rid = str(header["run_id"])
    return NotebookRun(
        run_id=rid,
        phase=ph,
        ticket=ticket,
        inventory=str(header.get("inventory") or ""),
        verdict=verdicts.get(rid),
    )


def read_notebook(path: Path) -> Any:
    """``path`` read as a notebook; NotebookRefused when it is none (also a device, a pipe
    or a file larger than any executed runbook, which would never end or fill the memory)."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise NotebookRefused(
                f"{path} is not a regular file",
                "give the executed notebook (papermill's output file)",
            )
        if size > MAX_NOTEBOOK_BYTES:
            raise NotebookRefused(
                f"{path} is too large for an executed runbook ({size} bytes, at most "
                f"{MAX_NOTEBOOK_BYTES})",
                "give the executed notebook (papermill's output file)",
            )
        return nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        raise NotebookRefused(
            f"no notebook {path}", "give the executed notebook (papermill's output file)"
        ) from None
    except (OSError, ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise NotebookRefused(
            f"{path} is not a readable notebook ({type(exc).__name__})",
            "give the executed notebook (papermill's output file)",
        ) from None


def run_of(report_dir: Path, path: Path, nb: Any) -> NotebookRun:
    """The run in ``nb`` (read from ``path``) when it belongs to the record ``report_dir``;
    NotebookRefused naming what is wrong otherwise."""
    run = find_run(nb)
    if run is None:
        raise NotebookRefused(
            f"{path} holds no mdstools run (no run header in its outputs)",
            "give a runbook executed with mdstools.start(), e.g. papermill's output file",
        )
    if run.ticket != report_dir.name:
        raise NotebookRefused(
            f"{path} holds run {run.run_id} of ticket {run.ticket}, not of {report_dir.name}",
            f"seal it into its own record: mdstools seal <reports>/{run.ticket} {path}",
        )
    return run


# -- sealing -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Sealed:
    """What :func:`seal_notebook` did: ``notebook`` is the record's name of the run's
    notebook; ``already`` when it had been sealed before (nothing written)."""

    run_id: str
    phase: Phase
    verdict: str
    notebook: str | None
    already: bool


@contextlib.contextmanager
def _one_sealer(report_dir: Path) -> Iterator[None]:
    """One notebook seal at a time per record, across processes (the JupyterLab server,
    ``mdstools jupyter`` and the CLI), so that a run is never sealed twice."""
    fd = os.open(report_dir / SEAL_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _journal_of(report_dir: Path) -> list[dict[str, Any]]:
    try:
        return audit.read_journal(report_dir / audit.JOURNAL)
    except (OSError, ValueError) as exc:
        raise RecordDamaged(str(report_dir / audit.JOURNAL), f"cannot be read ({exc})") from None


def sealed_notebook(events: list[dict[str, Any]], run_id: str) -> str | None:
    """The notebook recorded for ``run_id`` by its ``run`` event; "" for a run event
    without one; None when the run has none yet."""
    for e in events:
        if e.get("kind") == "run" and e.get("run_id") == run_id:
            return str(e.get("notebook") or "")
    return None


def ended(events: list[dict[str, Any]], run_id: str) -> dict[str, Any] | None:
    """The ``phase`` end event of ``run_id``, or None."""
    for e in events:
        if e.get("kind") == "phase" and e.get("event") == "end" and e.get("run_id") == run_id:
            return e
    return None


def _register(run: NotebookRun, inventory: Path | None, start: dict[str, Any]) -> None:
    """Resolve the secrets of the inventory the run used (``start``, its phase start, names
    its SHA-256) so that :func:`redact_notebook` masks them; NotebookRefused for another
    inventory, whose secrets would not be the run's."""
    from mdstools.inventory import load, register_secrets

    path = inventory or (Path(run.inventory) if run.inventory else None)
    if path is None:
        raise NotebookRefused(
            f"run {run.run_id} does not name its inventory",
            "pass it with -i so that its secrets are masked in the record",
        )
    try:
        inv = load(path)
    except MdstoolsError as exc:
        raise NotebookRefused(
            f"cannot load the inventory of run {run.run_id} to mask its secrets: {exc.message}",
            "pass the inventory with -i",
        ) from None
    used = start.get("inventory_sha256")
    if used and inv.sha256 != used:
        raise NotebookRefused(
            f"{path} is not the inventory run {run.run_id} used (its SHA-256 differs from "
            "the journal's), so the run's secrets could not be masked",
            "pass the inventory the run used with -i",
        )
    register_secrets(inv)


def _journal_has(report_dir: Path, run: NotebookRun, path: Path) -> list[dict[str, Any]]:
    """The journal; NotebookRefused when it has no start of ``run``, or has it as a run of
    another phase than the notebook's header shows."""
    events = _journal_of(report_dir)
    start = next(
        (
            e
            for e in events
            if e.get("run_id") == run.run_id
            and e.get("kind") == "phase"
            and e.get("event") == "start"
        ),
        None,
    )
    if start is None:
        raise NotebookRefused(
            f"{path} holds run {run.run_id} of phase {run.phase.id}, which the journal "
            f"of {report_dir.name} does not have",
            f"give the notebook of a run of this record (its reports_dir: {report_dir.parent})",
        )
    if start.get("phase") != run.phase.id:
        raise NotebookRefused(
            f"{path} shows run {run.run_id} as phase {run.phase.id}, but the journal of "
            f"{report_dir.name} has it as phase {start.get('phase')}",
            "give the notebook as the run wrote it (its header was edited)",
        )
    return events


def _start_of(events: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    return next(
        e
        for e in events
        if e.get("run_id") == run_id and e.get("kind") == "phase" and e.get("event") == "start"
    )


def inspect(report_dir: Path, path: Path, inventory: Path | None = None) -> NotebookRun:
    """Everything :func:`seal_notebook` checks before it writes: ``path`` holds a run of
    this record, which its journal has, and whose inventory can be loaded to mask its
    secrets. NotebookRefused names what is wrong."""
    run = run_of(report_dir, path, read_notebook(path))
    events = _journal_has(report_dir, run, path)
    _register(run, inventory, _start_of(events, run.run_id))
    return run


def seal_notebook(
    report_dir: Path,
    path: Path,
    *,
    allow_incomplete: bool = False,
    require_verdict: bool = False,
    inventory: Path | None = None,
    html: bool = True,
    operator: str = "",
) -> Sealed | None:
    """Seal the run of the executed notebook ``path`` into the record ``report_dir``.

    Returns what was done; None when the run has not ended: no phase end in the journal
    (unless ``allow_incomplete``), or (``require_verdict``) no verdict marker of this run in
    the notebook yet. A run sealed before is left as it is. Raises
    NotebookRefused for a notebook that holds no run of this record, RecordDamaged for a
    record that does not verify (nothing is written then).
    """
    nb = read_notebook(path)
    run = run_of(report_dir, path, nb)
    if require_verdict and run.verdict is None:
        return None
    with _one_sealer(report_dir):
        events = _journal_has(report_dir, run, path)
        done = sealed_notebook(events, run.run_id)
        end = ended(events, run.run_id)
        start = _start_of(events, run.run_id)
        dry_run = bool(start.get("dry_run"))
        if done is not None:
            verdict = str(end.get("verdict")) if end else "sealed"
            return Sealed(
                run_id=run.run_id,
                phase=run.phase,
                verdict=verdict,
                notebook=done or None,
                already=True,
            )
        if end is None and not allow_incomplete:
            return None
        audit.check_before_write(report_dir)
        verdict, cause = _verdict(report_dir, run, end, dry_run)
        _register(run, inventory, start)
        who = str(start.get("operator") or operator)
        name = _write_and_seal(report_dir, nb, run, verdict, cause, who, dry_run, html, path.name)
    return Sealed(run_id=run.run_id, phase=run.phase, verdict=verdict, notebook=name, already=False)


def _write_and_seal(
    report_dir: Path,
    nb: Any,
    run: NotebookRun,
    verdict: str,
    cause: str | None,
    who: str,
    dry_run: bool,
    html: bool,
    sealed_from: str,
) -> str:
    """The notebook (verdict on top, redacted) and its HTML written into the record, the run
    journaled and sealed; the notebook's name in the record."""
    try:
        entry = audit.load_state(report_dir / audit.STATE).get("phases", {}).get(run.phase.id)
    except RecordDamaged:
        entry = None
    checks = checks_line(entry, run.run_id)
    verdict_cell(nb, run.phase, verdict, cause, run.run_id, run.ticket, checks)
    redact_notebook(nb)
    name = output_name(report_dir, run.phase, dry_run)
    journal = audit.Journal(report_dir / audit.JOURNAL, run.run_id, run.phase.id)
    write_notebook(nb, report_dir / name, journal, html, f"[{run.ticket} {run.phase.id}]")
    journal.write(
        "run",
        verdict=verdict,
        cause=cause,
        notebook=name,
        operator=who,
        dry_run=dry_run,
        sealed_from=sealed_from,
    )
    audit.seal(
        report_dir,
        {
            "run_id": run.run_id,
            "phase": run.phase.id,
            "verdict": verdict,
            "notebook": name,
            "operator": who,
            "toolkit": __version__,
        },
        journal,
    )
    return name


def _verdict(
    report_dir: Path, run: NotebookRun, end: dict[str, Any] | None, dry_run: bool
) -> tuple[str, str | None]:
    """The run's verdict and cause: ``state.json`` when it holds this run, else the journal's
    phase end; a run without one is incomplete."""
    if end is None:
        return "incomplete", INCOMPLETE
    state = audit.load_state(report_dir / audit.STATE).get("phases", {}).get(run.phase.id, {})
    if state.get("run_id") == run.run_id:
        return str(state.get("verdict")), state.get("cause")
    verdict = str(end.get("verdict") or "failed")
    cause = end.get("cause")
    return (f"dry-run {verdict}" if dry_run else verdict), (str(cause) if cause else None)


def seal_ended(report_dir: Path, notebooks: list[Path]) -> list[Sealed]:
    """Seal every notebook of ``notebooks`` whose run has ended and is not sealed yet (the
    working copies of a JupyterLab session); others are skipped silently."""
    done: list[Sealed] = []
    for path in notebooks:
        try:
            result = seal_notebook(report_dir, path)
        except NotebookRefused:
            continue
        if result is not None and not result.already:
            done.append(result)
    return done
