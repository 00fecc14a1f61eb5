"""Sizes of the code: longest functions, largest modules, lines in the lab and the client."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path


def functions(path: Path, root: Path) -> list[tuple[int, str]]:
    """Every function and method of ``path`` as (lines, ``module:qualified.name``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[int, str]] = []
    rel = path.relative_to(root).as_posix()

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                out.append((child.end_lineno - child.lineno + 1, f"{rel}:{name}"))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    return out


def main() -> None:
    """Prints the sizes of the package under ROOT (default: the current folder)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("root", nargs="?", default=".")
    ap.add_argument("-n", type=int, default=12)
    a = ap.parse_args()
    root = Path(a.root).resolve()
    files = sorted((root / "mdstools").rglob("*.py"))
    funcs = [f for p in files for f in functions(p, root)]
    sizes = [
        (len(p.read_text(encoding="utf-8").splitlines()), p.relative_to(root).as_posix())
        for p in files
    ]
    lab = sum(n for n, p in sizes if p.startswith("mdstools/lab/"))
    total = sum(n for n, _ in sizes)
    print("longest functions:")
    for n, name in sorted(funcs, reverse=True)[: a.n]:
        print(f"  {n:5d}  {name}")
    print(f"functions over 60 lines: {sum(1 for n, _ in funcs if n > 60)} of {len(funcs)}")
    print("largest modules:")
    for n, p in sorted(sizes, reverse=True)[: a.n]:
        print(f"  {n:5d}  {p}")
    print(f"lines: client {total - lab}, lab {lab}, total {total} in {len(files)} modules")


if __name__ == "__main__":
    main()
