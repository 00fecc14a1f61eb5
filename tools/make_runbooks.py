"""Writes runbooks/*.ipynb (stored without outputs) from their sources in runbooks/src/.

Each runbook's cells live in ``runbooks/src/<notebook>.py``, in jupytext's percent format:
``# %%`` starts a code cell, ``# %% [markdown]`` a Markdown cell whose lines are comments
(``# `` then the text; a line indented by two more spaces continues the line above, so that
long lines fit the linters and stay one line in the notebook). A cell may be named
(``# %% when [markdown]``). Above the first ``# %%`` stands what the notebook defines before
its steps: ``from header import run`` (``runbooks/src/header.py``, the typed names, not
copied) and the imports of the header cell. ruff and mypy check the sources (``make lint``).

The parts every runbook shares are written once: the parameters cell comes from the table
``mdstools.phases.PARAMS`` (the same table the CLI and ``mdstools.start`` check values
against), the intro and the header cell (``run = mdstools.start(...)``) from the phase table
here, and the header's title, the change-freeze watch (Step 0 of phases 03 to 07) and the
verdict from ``runbooks/src/shared.py``.

Edit a source, run ``.venv/bin/python tools/make_runbooks.py``, commit both;
``tests/unit/test_runbook_sources.py`` checks that the notebooks match their sources.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "runbooks" / "src"
SHARED = SOURCES / "shared.py"
sys.path.insert(0, str(ROOT))

from mdstools.phases import BY_ID, CLI_OPTIONS, PHASES, phase_params  # noqa: E402

MARKER = re.compile(r"# %%(?: (?P<name>[a-z_]+))?(?: \[(?P<kind>markdown)\])?")
CONTINUED = "  "
TYPING_MODULE = "header"


@dataclass(frozen=True)
class Cell:
    """One cell of a source: ``kind`` is "code" or "markdown"; ``name`` is empty for a step."""

    kind: str
    name: str
    text: str


@dataclass(frozen=True)
class Source:
    """A parsed source: the imports of the header cell and the cells in their order."""

    imports: str
    cells: list[Cell]

    def named(self, name: str, kind: str) -> Cell:
        """The cell called ``name`` of that kind."""
        found = [c for c in self.cells if c.name == name and c.kind == kind]
        if len(found) != 1:
            raise ValueError(f"expected one {kind} cell named {name!r}, found {len(found)}")
        return found[0]

    def steps(self) -> list[Cell]:
        """The cells without a name, in their order: the steps of the runbook."""
        return [c for c in self.cells if not c.name]


def source_path(pid: str) -> Path:
    """The source of phase ``pid``: its notebook's name with ``.py``."""
    return SOURCES / Path(BY_ID[pid].notebook).with_suffix(".py").name


def markdown(lines: list[str], where: str) -> str:
    """The Markdown text of a cell's comment lines (continuation lines joined)."""
    out: list[str] = []
    for line in lines:
        if line == "#":
            out.append("")
        elif not line.startswith("# "):
            raise ValueError(f"{where}: a Markdown line must start with '# ': {line!r}")
        elif line.startswith("# " + CONTINUED) and out and out[-1]:
            out[-1] += " " + line[2 + len(CONTINUED) :]
        else:
            out.append(line[2:])
    return "\n".join(out).strip("\n")


def header_imports(preamble: str) -> str:
    """The import statements above the first cell, except the typed names of ``header``."""
    tree = ast.parse(preamble)
    lines = preamble.splitlines()
    imports = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == TYPING_MODULE:
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            end = node.end_lineno or node.lineno
            imports.append("\n".join(lines[node.lineno - 1 : end]))
    return "\n".join(imports)


def parse(path: Path) -> Source:
    """The cells of a source file in the percent format."""
    lines = path.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("# %%")]
    if not starts:
        raise ValueError(f"{path.name}: no '# %%' cell")
    cells = []
    for n, start in enumerate(starts):
        match = MARKER.fullmatch(lines[start])
        if not match:
            raise ValueError(f"{path.name}:{start + 1}: not a cell marker: {lines[start]!r}")
        body = lines[start + 1 : starts[n + 1] if n + 1 < len(starts) else len(lines)]
        where = f"{path.name}:{start + 1}"
        if match["kind"]:
            text = markdown([line for line in body if line], where)
        else:
            text = "\n".join(body).strip("\n")
        cells.append(Cell("markdown" if match["kind"] else "code", match["name"] or "", text))
    return Source(header_imports("\n".join(lines[: starts[0]])), cells)


def parameters(pid: str) -> str:
    """The parameters cell of phase ``pid``, one annotated line per parameter of the table."""
    return "".join(p.line(pid) + "\n" for p in phase_params(BY_ID[pid]))


def params_dict(pid: str) -> str:
    """The ``params=`` argument of ``mdstools.start``: the phase's parameters by name."""
    names = [p.name for p in phase_params(BY_ID[pid]) if p.name not in CLI_OPTIONS]
    return "dict(" + ", ".join(f"{n}={n}" for n in names) + ")"


def header(pid: str, imports: str) -> str:
    """The header cell: the imports and ``run = mdstools.start(...)``."""
    breaks = "break_lock=break_lock,\n                     " if BY_ID[pid].mutating else ""
    return (
        f"import mdstools\n{imports}\n\n"
        f'run = mdstools.start(inventory, ticket=ticket, operator=operator, phase="{pid}",\n'
        f"                     interactive=interactive, dry_run=dry_run, "
        f"reports_dir=reports_dir,\n"
        f"                     {breaks}params={params_dict(pid)})"
    )


def intro(pid: str, when: str) -> str:
    """The first cell: title, requirements, summary, when to run it, how to run it headless."""
    ph = BY_ID[pid]
    return (
        f"# {ph.id} {ph.title}  ({', '.join(ph.requirements)})\n\n{ph.summary[0].upper()}"
        f"{ph.summary[1:]}.\n\n**When:** {when}\n\n"
        "Set the parameters below (or run headless: "
        f"`mdstools run {ph.id} -i INVENTORY --ticket T`). Every command, decision and "
        "check goes to `reports/<ticket>/journal.jsonl`."
    )


def watches(pid: str) -> bool:
    """Whether phase ``pid`` begins with the change-freeze watch: every phase from the
    first upgrade (03) to the validation (08); the back-out (09) reads the changes itself,
    as what its reverts lose."""
    return "03" <= pid <= "08"


def watch_code(shared: Source, pid: str) -> str:
    """The watch cell of phase ``pid``: it stops the phase on a collision risk up to 06,
    and only reports it in 07 and 08."""
    blocking = "True" if pid <= "06" else "False"
    return shared.named("watch", "code").text.replace("blocking=BLOCKING", f"blocking={blocking}")


def new_cell(kind: str, text: str) -> nbformat.NotebookNode:
    """An nbformat cell of that kind."""
    if kind == "markdown":
        return nbformat.v4.new_markdown_cell(text)
    return nbformat.v4.new_code_cell(text)


def build(pid: str) -> nbformat.NotebookNode:
    """The notebook of phase ``pid`` from its source and the shared cells."""
    src = parse(source_path(pid))
    shared = parse(SHARED)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "mdstools",
        "display_name": "mdstools",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    cells = [nbformat.v4.new_markdown_cell(intro(pid, src.named("when", "markdown").text))]
    p = nbformat.v4.new_code_cell(parameters(pid))
    p.metadata["tags"] = ["parameters"]
    cells.append(p)
    cells.append(new_cell("markdown", shared.named("header", "markdown").text))
    cells.append(new_cell("code", header(pid, src.imports)))
    if watches(pid):
        cells.append(new_cell("markdown", shared.named("watch", "markdown").text))
        cells.append(new_cell("code", watch_code(shared, pid)))
    cells += [new_cell(c.kind, c.text) for c in src.steps()]
    cells.append(new_cell("markdown", shared.named("footer", "markdown").text))
    cells.append(new_cell("code", shared.named("footer", "code").text))
    nb.cells = cells
    for i, c in enumerate(nb.cells):
        c["id"] = f"{pid}-{i:02d}"
    return nb


def main() -> None:
    """Writes every phase's notebook into ``runbooks/``."""
    out = ROOT / "runbooks"
    out.mkdir(exist_ok=True)
    for ph in PHASES:
        nbformat.write(build(ph.id), str(out / ph.notebook))


if __name__ == "__main__":
    main()
