"""The repository stands on its own: every path and anchor its documents and code cite exists.

Citations are repository-relative paths (``mdstools/session.py``, ``docs/formats.md#mdsstat``,
``README.md#the-inventory``) in the Markdown documents and anywhere in the package's source
(docstrings and comments), and Markdown links relative to the document that holds them.
An anchor must be the GitHub anchor of a heading of the cited document.
"""

from __future__ import annotations

import ast
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


def imported_modules(path: Path) -> set[str]:
    tree_ = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree_):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_lab_and_the_client_never_import_each_other() -> None:
    launchers = {"cli.py", "jupyter.py"}
    for path in sorted((ROOT / "mdstools").rglob("*.py")):
        rel = path.relative_to(ROOT / "mdstools")
        modules = imported_modules(path)
        mdstools = {m for m in modules if m == "mdstools" or m.startswith("mdstools.")}
        if rel.parts[0] == "lab":
            client = {m for m in mdstools if not m.startswith("mdstools.lab")}
            assert not client, f"the lab module {rel} imports {sorted(client)}"
        elif str(rel) not in launchers:
            lab = {m for m in mdstools if m.startswith("mdstools.lab")}
            assert not lab, f"the client module {rel} imports {sorted(lab)}"
        if rel.parts[0] not in ("transport", "lab"):
            ssh = {m for m in modules if m.split(".")[0] == "paramiko"}
            assert not ssh, f"{rel} imports paramiko outside mdstools/transport/"


def test_commands_are_data_and_pure_parsers() -> None:
    allowed = ("mdstools.commands", "mdstools.records", "mdstools.errors")
    for path in sorted((ROOT / "mdstools" / "commands").glob("*.py")):
        modules = {m for m in imported_modules(path) if m.startswith("mdstools")}
        other = {m for m in modules if not m.startswith(allowed)}
        assert not other, f"mdstools/commands/{path.name} imports {sorted(other)}"
