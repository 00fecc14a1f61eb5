"""The ticket's report for people and auditors: HTML of each notebook, the bundle.

The HTML export (nbconvert) is readable without Jupyter: the verdict on top, every cell
with its output (check tables, decisions, command outputs). ``bundle`` zips the whole
``reports/<ticket>/`` folder (notebooks, HTML, journal, manifest, state) for the ticket,
with the manifest's head hash in the archive's name and comment.
"""

from __future__ import annotations

import functools
import io
import json
import threading
import zipfile
from pathlib import Path
from typing import Any

from mdstools import audit, fsio

_EXPORT_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _html_exporter() -> Any:
    """One HTML exporter per process: its templates are compiled once, not per notebook
    (used under ``_EXPORT_LOCK``: an exporter keeps state while it converts)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab")


def render_html(notebook: Path) -> str:
    """The HTML page of an executed notebook."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    with _EXPORT_LOCK:
        body, _ = _html_exporter().from_notebook_node(nb)
    return str(body)


def bundle(report_dir: Path, target: Path | None = None) -> Path:
    """Zip the report of a ticket (written whole or not at all); refuses when the manifest
    does not verify or a run is not sealed yet."""
    result = audit.verify(report_dir)
    if not result.ok:
        raise ValueError("the report does not verify: " + "; ".join(result.problems[:3]))
    if result.unsealed:
        raise ValueError("runs not sealed yet: " + "; ".join(u.describe() for u in result.unsealed))
    head = (result.head or "")[:12]
    target = target or report_dir.parent / f"{report_dir.name}-{head}.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for rel in [*sorted(audit.report_files(report_dir)), audit.MANIFEST]:
            z.write(report_dir / rel, f"{report_dir.name}/{rel}")
        z.comment = json.dumps(
            {"ticket": report_dir.name, "manifest_head": result.head, "runs": result.runs}
        ).encode()
    fsio.atomic_write_bytes(target, buf.getvalue())
    return target
