"""The shape of the client's code: short functions, records built by name.

* No function or method of the client (``mdstools`` outside ``mdstools/lab/``, a separate
  program) is longer than :data:`LIMIT` lines, signature, docstring and body together,
  except the few of :data:`ALLOWED`, each with its reason. A long function is split into
  named steps (``tools/code_sizes.py`` lists the longest).
* The records, results and runs that carry more than three values are built by keyword
  only, so that a call site says which value is which.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import pytest

import mdstools
from mdstools import (
    audit,
    checks,
    inventory,
    jobs,
    jupyter,
    lock,
    notebook_record,
    phases,
    records,
    runbook,
    session,
    status,
    ui,
)
from mdstools import run as run_module
from mdstools.procedure import freeze, snapshots, sync, upgrade
from mdstools.transport.base import ExecOutput

PACKAGE = Path(mdstools.__file__).resolve().parent
LIMIT = 60

ALLOWED: dict[str, str] = {}
"""``module:qualified.name`` (relative to ``mdstools/``) -> why it may be longer for now."""


def client_functions() -> dict[str, int]:
    """Every function and method of the client (nested ones too) -> its length in lines."""
    out: dict[str, int] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("lab/"):
            continue

        def visit(node: ast.AST, prefix: str, rel: str = rel) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    name = f"{prefix}{child.name}"
                    out[f"{rel}:{name}"] = (child.end_lineno or child.lineno) - child.lineno + 1
                    visit(child, name + ".")
                elif isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}{child.name}.")

        visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return out


def test_no_client_function_is_longer_than_the_limit() -> None:
    too_long = {
        name: n for name, n in client_functions().items() if n > LIMIT and name not in ALLOWED
    }
    assert not too_long, (
        f"functions over {LIMIT} lines (split them into named steps): "
        + ", ".join(f"{name} ({n})" for name, n in sorted(too_long.items()))
    )


def test_the_allow_list_names_only_functions_that_still_need_it() -> None:
    sizes = client_functions()
    fits = [name for name in ALLOWED if name in sizes and sizes[name] <= LIMIT]
    assert not fits, f"these fit in {LIMIT} lines now; remove them from ALLOWED: {fits}"
    assert all(reason.strip() for reason in ALLOWED.values())


KEYWORD_ONLY: list[type] = [
    session.Result,
    checks.CheckResult,
    jobs.JobResult,
    jobs.JobHandle,
    jobs.JobState,
    jobs.Outage,
    runbook.Outcome,
    lock.Lock,
    audit.UnsealedRun,
    audit.Verification,
    notebook_record.NotebookRun,
    notebook_record.Sealed,
    inventory.Connection,
    inventory.Server,
    inventory.Inventory,
    status.ServerStatus,
    status.DomainServerStatus,
    status.DomainStatus,
    status.Snapshot,
    phases.Phase,
    phases.Param,
    jupyter.LabTarget,
    ExecOutput,
    upgrade.UpgradeOutcome,
    upgrade.ServerState,
    freeze.Forensics,
    sync.Action,
    snapshots.Taken,
    *[
        cls
        for cls in vars(records).values()
        if inspect.isclass(cls)
        and dataclasses.is_dataclass(cls)
        and cls.__module__ == records.__name__
        and len(dataclasses.fields(cls)) > 3
    ],
]


@pytest.mark.parametrize("cls", KEYWORD_ONLY, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_records_results_and_runs_are_built_by_keyword(cls: type) -> None:
    positional = [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    assert not positional, f"{cls.__qualname__} takes {positional} by position"


@pytest.mark.parametrize("cls", [run_module.Run, ui.Decision], ids=lambda c: c.__qualname__)
def test_run_and_decision_constructors_are_keyword_only(cls: type) -> None:
    params = list(inspect.signature(cls).parameters.values())
    assert params and all(p.kind is p.KEYWORD_ONLY for p in params)
