"""The runbooks' sources in runbooks/src/: the notebooks are built from them; steps stay small."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

from mdstools.phases import PHASES, Phase

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "runbooks"
SOURCES = RUNBOOKS / "src"

# A step cell makes one to three calls (top-level statements that call something); besides
# its imports it may name what it shows or keep a value under a short name. A step that needs
# more belongs in mdstools.procedure, or is two steps.
MAX_CALLS = 3
MAX_STATEMENTS = 4
# Logic that would hide in a notebook: a cell defines nothing and handles no error itself.
NOT_IN_A_CELL = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.While,
    ast.Try,
    ast.With,
    ast.AsyncWith,
)


def generator() -> ModuleType:
    """``tools/make_runbooks.py`` as a module."""
    name = "make_runbooks"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "make_runbooks.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_one_source_per_runbook_and_the_shared_ones() -> None:
    expected = {Path(ph.notebook).with_suffix(".py").name for ph in PHASES}
    assert {p.name for p in SOURCES.glob("*.py")} == expected | {"header.py", "shared.py"}


@pytest.mark.parametrize("phase", PHASES, ids=lambda ph: ph.id)
def test_notebook_matches_its_source(phase: Phase) -> None:
    """Cell by cell: type, id, metadata and text; and the notebook's own metadata."""
    built = generator().build(phase.id)
    stored = nbformat.read(str(RUNBOOKS / phase.notebook), as_version=4)
    assert built.metadata == stored.metadata
    assert [(c.cell_type, c.id, c.metadata, c.source) for c in built.cells] == [
        (c.cell_type, c.id, c.metadata, c.source) for c in stored.cells
    ]


def code_cells() -> list[tuple[str, str]]:
    """Every code cell written in a source: (where, code)."""
    gen = generator()
    cells = []
    for ph in PHASES:
        steps = [c.text for c in gen.parse(gen.source_path(ph.id)).steps() if c.kind == "code"]
        cells += [(f"{ph.id}-code{n}", text) for n, text in enumerate(steps, start=1)]
    shared = gen.parse(gen.SHARED)
    return cells + [(f"shared-{c.name}", c.text) for c in shared.cells if c.kind == "code"]


CODE_CELLS = code_cells()


@pytest.mark.parametrize(("where", "code"), CODE_CELLS, ids=[where for where, _ in CODE_CELLS])
def test_every_code_cell_stays_small(where: str, code: str) -> None:
    """One to three calls, nothing defined, no error handled in the cell."""
    body = ast.parse(code).body
    statements = [s for s in body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    assert 1 <= len(statements) <= MAX_STATEMENTS, f"{where}: {len(statements)} statements"
    calls = [s for s in statements if any(isinstance(n, ast.Call) for n in ast.walk(s))]
    assert len(calls) <= MAX_CALLS, f"{where}: {len(calls)} statements that call something"
    nested = [
        type(n).__name__
        for n in ast.walk(ast.Module(body=body, type_ignores=[]))
        if isinstance(n, NOT_IN_A_CELL)
    ]
    assert not nested, f"{where}: {nested}"


def test_markdown_continuation_lines_join(tmp_path: Path) -> None:
    src = tmp_path / "99_x.py"
    src.write_text(
        "from header import run\nimport os\n\n# %% when [markdown]\n# a long\n#   line\n\n"
        "# %% [markdown]\n# ## Title\n#\n# text\n#   more\n# - item\n\n# %%\nrun.finish()\n",
        encoding="utf-8",
    )
    parsed = generator().parse(src)
    assert parsed.imports == "import os"
    assert [(c.kind, c.name, c.text) for c in parsed.cells] == [
        ("markdown", "when", "a long line"),
        ("markdown", "", "## Title\n\ntext more\n- item"),
        ("code", "", "run.finish()"),
    ]


@pytest.mark.parametrize(
    "text",
    ["x = 1\n", "# %%\nx = 1\n# %% [markdown]\nnot a comment\n", "# %% [raw]\nx\n"],
    ids=["no cell", "markdown not commented", "unknown kind"],
)
def test_a_malformed_source_is_refused(tmp_path: Path, text: str) -> None:
    src = tmp_path / "99_x.py"
    src.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"99_x\.py"):
        generator().parse(src)
