"""The repository stands on its own: every path and anchor its documents and code cite exists.

Citations are repository-relative paths (``mdstools/session.py``, ``docs/formats.md#mdsstat``,
``README.md#the-inventory``) in the Markdown documents and anywhere in the package's source
(docstrings and comments), and Markdown links relative to the document that holds them.
An anchor must be the GitHub anchor of a heading of the cited document.
"""

from __future__ import annotations

import ast
import builtins
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {"node_modules", "build", "dist", "__pycache__"}

CITED = re.compile(
    r"(?<![\w./$~{}<>-])"
    r"((?:mdstools|tests|docs|tools|runbooks|benchmarks)/[\w./-]*[\w/]"
    r"|README\.md|pyproject\.toml|Makefile|environment\.yml)"
    r"(?:#([\w-]+))?"
)
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
MD_NAME = re.compile(r"(?<![\w.-])([\w.-]+\.md)\b")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
FORBIDDEN = ("../" + "shared", "reference" + "/")


def tree(suffixes: tuple[str, ...]) -> Iterator[Path]:
    """Files of the repository with one of ``suffixes`` (no hidden folders such as the
    virtualenv and caches, no run output)."""
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIP_DIRS
            and not d.startswith(".")
            and not d.endswith(".egg-info")
            and Path(folder, d) != ROOT / "reports"
        )
        for name in sorted(files):
            path = Path(folder) / name
            output = path.parent == ROOT / "reports" and name != "README.md"
            if (path.suffix in suffixes or name in suffixes) and not output:
                yield path


def markdown_files() -> list[Path]:
    return list(tree((".md",)))


def package_sources() -> list[Path]:
    return sorted((ROOT / "mdstools").rglob("*.py")) + sorted((ROOT / "tools").rglob("*.py"))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of every heading of the Markdown file ``path`` (fenced code excluded)."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        m = None if fenced else HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def citations(path: Path) -> Iterator[tuple[Path, str | None, str]]:
    """(cited file, anchor or None, the text as written) for every citation in ``path``."""
    text = path.read_text(encoding="utf-8")
    for m in CITED.finditer(text):
        yield ROOT / m.group(1), m.group(2), m.group(0)
    if path.suffix != ".md":
        return
    for m in LINK.finditer(text):
        target = m.group(1)
        if re.match(r"^[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        cited = (path.parent / file_part).resolve() if file_part else path
        yield cited, anchor or None, target


def broken(path: Path) -> list[str]:
    problems = []
    for cited, anchor, written in citations(path):
        if not cited.exists():
            problems.append(f"{written}: no such file")
        elif anchor is not None and (cited.suffix != ".md" or anchor not in anchors(cited)):
            problems.append(f"{written}: no heading with anchor #{anchor} in {cited.name}")
    return problems


@pytest.mark.parametrize(
    "path", markdown_files() + package_sources(), ids=lambda p: str(p.relative_to(ROOT))
)
def test_every_cited_path_and_anchor_exists(path: Path) -> None:
    assert broken(path) == []


def test_the_anchor_rule_follows_github() -> None:
    assert slug("`mds_fix_cmas_clms_version`") == "mds_fix_cmas_clms_version"
    assert slug("The record (`reports/<ticket>/`)") == "the-record-reportsticket"
    assert slug("MDSVERUTIL AllCMAs") == "mdsverutil-allcmas"


def test_a_missing_file_or_anchor_is_found(tmp_path: Path) -> None:
    doc = ROOT / "docs" / "formats.md"
    assert "mdsstat" in anchors(doc) and "show-ha-status" in anchors(doc)
    note = tmp_path / "note.md"
    note.write_text(
        "See `docs/formats.md#mdsstat`, `docs/formats.md#no-such-heading`, "
        "`mdstools/no_such_module.py` and [the lab](#the-lab).\n\n## The lab\n",
        encoding="utf-8",
    )
    assert broken(note) == [
        "docs/formats.md#no-such-heading: no heading with anchor #no-such-heading in formats.md",
        "mdstools/no_such_module.py: no such file",
    ]


def test_every_markdown_file_named_exists() -> None:
    names = {p.name for p in markdown_files()}
    for path in markdown_files() + package_sources():
        text = path.read_text(encoding="utf-8")
        missing = {n for n in MD_NAME.findall(text) if n not in names}
        assert not missing, f"{path.relative_to(ROOT)} names {sorted(missing)}"


def test_nothing_refers_outside_the_repository() -> None:
    suffixes = (".py", ".md", ".toml", ".yml", ".yaml", ".ipynb", ".txt", ".cfg", "Makefile")
    for path in tree(suffixes):
        if path == Path(__file__).resolve():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for word in FORBIDDEN:
            assert word not in text, f"{path.relative_to(ROOT)} mentions {word}"


def test_every_command_family_cites_its_format() -> None:
    for path in sorted((ROOT / "mdstools" / "commands").glob("*.py")):
        if path.stem in ("__init__", "base", "_text", "lock"):
            continue
        assert "docs/formats.md#" in path.read_text(encoding="utf-8"), path.name


def module_name(path: Path) -> str:
    """The dotted name of a module of the repository (``mdstools.lab.mgmt`` for its
    ``__init__.py``)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, source: str | None = None) -> set[str]:
    """Every module ``path`` imports, relative imports resolved, and the names it imports
    from them (``mdstools.lab.runtime`` for ``from mdstools.lab import runtime``), with the
    modules named in ``importlib.import_module("...")`` and ``__import__("...")``. ``source``
    stands for the file's text when given."""
    tree_ = ast.parse(path.read_text(encoding="utf-8") if source is None else source)
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    names: set[str] = set()
    for node in ast.walk(tree_):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Name, ast.Attribute))
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def test_imported_modules_resolves_relative_and_dynamic_imports() -> None:
    sample = ROOT / "mdstools" / "lab" / "mgmt" / "__init__.py"
    assert module_name(sample) == "mdstools.lab.mgmt"
    assert module_name(ROOT / "mdstools" / "lab" / "model.py") == "mdstools.lab.model"
    source = (
        "import importlib\n"
        "from . import shapes\n"
        "from ..model import Deployment\n"
        "from ...errors import ApiError\n"
        "importlib.import_module('mdstools.session')\n"
    )
    found = imported_modules(ROOT / "mdstools" / "lab" / "mgmt" / "probe.py", source)
    assert {
        "mdstools.lab.mgmt",
        "mdstools.lab.mgmt.shapes",
        "mdstools.lab.model.Deployment",
        "mdstools.errors.ApiError",
        "mdstools.session",
    } <= found


LAB_ENTRY_POINTS = ("mdstools.lab.runtime", "mdstools.lab.scenarios", "mdstools.lab.versions")
"""What the launchers (``cli/lab.py``, ``cli/demo.py``, ``cli/rehearse.py``, ``jupyter.py``) may
import from the lab: start and stop it, name its scenarios and releases."""


def test_the_lab_and_the_client_never_import_each_other() -> None:
    launchers = {"cli/lab.py", "cli/demo.py", "cli/rehearse.py", "jupyter.py"}
    for path in sorted((ROOT / "mdstools").rglob("*.py")):
        rel = path.relative_to(ROOT / "mdstools")
        modules = imported_modules(path)
        mdstools = {m for m in modules if m == "mdstools" or m.startswith("mdstools.")}
        if rel.parts[0] == "lab":
            client = {m for m in mdstools if not m.startswith("mdstools.lab")}
            assert not client, f"the lab module {rel} imports {sorted(client)}"
        elif rel.as_posix() not in launchers:
            lab = {m for m in mdstools if m.startswith("mdstools.lab")}
            assert not lab, f"the client module {rel} imports {sorted(lab)}"
        else:
            inner = {
                m
                for m in mdstools
                if m.startswith("mdstools.lab.")
                and not any(m == e or m.startswith(e + ".") for e in LAB_ENTRY_POINTS)
            }
            assert not inner, f"the launcher {rel} reaches into the lab: {sorted(inner)}"
        if rel.parts[0] not in ("transport", "lab"):
            ssh = {m for m in modules if m.split(".")[0] == "paramiko"}
            assert not ssh, f"{rel} imports paramiko outside mdstools/transport/"


def exception_classes(paths: list[Path]) -> set[str]:
    """Names of the exception classes defined in ``paths``: subclasses, direct or not, of a
    built-in exception or of another exception class defined there."""
    bases: dict[str, set[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                names = {
                    b.id if isinstance(b, ast.Name) else b.attr
                    for b in node.bases
                    if isinstance(b, (ast.Name, ast.Attribute))
                }
                bases.setdefault(node.name, set()).update(names)
    builtin = {
        name
        for name, value in vars(builtins).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    found: set[str] = set()
    while True:
        more = {c for c, b in bases.items() if c not in found and b & (builtin | found)}
        if not more:
            return found
        found |= more


def test_no_exception_name_means_two_things() -> None:
    sources = sorted((ROOT / "mdstools").rglob("*.py"))
    lab_dir = ROOT / "mdstools" / "lab"
    lab = exception_classes([p for p in sources if lab_dir in p.parents])
    client = exception_classes([p for p in sources if lab_dir not in p.parents])
    assert "LabError" in lab and "ProgramUsageError" in lab and "MgmtCliError" in lab
    assert "ApiError" in client and "UsageError" in client
    assert not lab & client, f"defined both in the lab and in the client: {sorted(lab & client)}"


def test_commands_are_data_and_pure_parsers() -> None:
    allowed = ("mdstools.commands", "mdstools.records", "mdstools.errors")
    for path in sorted((ROOT / "mdstools" / "commands").glob("*.py")):
        modules = {m for m in imported_modules(path) if m.startswith("mdstools")}
        other = {m for m in modules if not m.startswith(allowed)}
        assert not other, f"mdstools/commands/{path.name} imports {sorted(other)}"
