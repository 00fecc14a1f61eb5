"""The HTML export of executed notebooks: one exporter per process, the same page as a new one."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from mdstools import report


def _notebook(path: Path, title: str, output_html: str, text: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "mdstools", "display_name": "mdstools"}
    code = nbformat.v4.new_code_cell("run.gate(check)", execution_count=1)
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=text),
        nbformat.v4.new_output("display_data", data={"text/html": output_html}),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}"), code]
    nbformat.write(nb, str(path))
    return path


def _fresh(path: Path) -> str:
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(
        nbformat.read(str(path), as_version=4)
    )
    return str(body)


def test_the_shared_exporter_gives_the_page_a_new_exporter_gives(tmp_path: Path) -> None:
    """Several notebooks in turn, and the first again: each page equals a new exporter's."""
    first = _notebook(tmp_path / "00.ipynb", "Phase 00", "<b>PASS</b> mds1", "mds1 R81.10\n")
    second = _notebook(
        tmp_path / "07.ipynb", "Phase 07", "<table><tr><td>dom1</td></tr></table>", "synced\n"
    )
    pages = [report.render_html(p) for p in (first, second, first)]
    assert pages[0] == _fresh(first) and pages[1] == _fresh(second)
    assert pages[2] == pages[0]
    assert "Phase 00" in pages[0] and "mds1 R81.10" in pages[0]
    assert "dom1" in pages[1] and "mds1 R81.10" not in pages[1]
