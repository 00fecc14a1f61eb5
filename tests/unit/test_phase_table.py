"""The phase table says what the runbooks do: the gates, decisions and entry gate of each
notebook's code (read with ``ast``) are its ``Phase`` entry, and its parameters cell (read
by papermill) is ``phase_params(phase)``."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

import papermill
import pytest

from mdstools.phases import PHASES, Phase, phase_params

RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"
DECISION_PARAMS = {"confirm": "confirm", "acknowledge": "acknowledge_warnings"}


@dataclass
class Seen:
    """What a runbook's code asks of ``run``."""

    gates: set[str] = field(default_factory=set)
    decisions: set[str] = field(default_factory=set)
    requires_phases: bool = False


def dotted(node: ast.expr) -> str:
    """``discover.reachable`` for the expression ``discover.reachable``."""
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ast.dump(node)


def code(ph: Phase) -> ast.Module:
    """The notebook's code cells as one module (top-level ``await`` allowed)."""
    nb = json.loads((RUNBOOKS / ph.notebook).read_text())
    source = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    tree = compile(source, ph.notebook, "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    assert isinstance(tree, ast.Module)
    return tree


def made_by(tree: ast.Module) -> dict[str, str]:
    """The function whose result each name holds: ``x = f(...)``, ``for r in x``."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = dotted(node.value.func)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.For)
            and isinstance(node.target, ast.Name)
            and isinstance(node.iter, ast.Name)
            and node.iter.id in out
        ):
            out[node.target.id] = out[node.iter.id]
    return out


def param_of(call: ast.Call, position: int, default: str) -> str:
    """The ``param`` argument of a decision (keyword or ``position``), else ``default``."""
    for kw in call.keywords:
        if kw.arg == "param" and isinstance(kw.value, ast.Constant):
            return str(kw.value.value)
    arg = call.args[position] if len(call.args) > position else None
    return str(arg.value) if isinstance(arg, ast.Constant) else default


def seen(ph: Phase) -> Seen:
    """The gates, decisions and entry gate in ``ph``'s notebook."""
    tree = code(ph)
    names = made_by(tree)
    out = Seen()
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "run"
        ):
            continue
        method = node.func.attr
        if method == "gate":
            arg = node.args[0]
            out.gates.add(dotted(arg.func) if isinstance(arg, ast.Call) else names[dotted(arg)])
        elif method in DECISION_PARAMS:
            out.decisions.add(
                param_of(node, 1 if method == "confirm" else 2, DECISION_PARAMS[method])
            )
        elif method == "choose_each" or method == "select":
            out.decisions.add(param_of(node, 4, ""))
        elif method == "require_phases":
            out.requires_phases = True
    return out


@pytest.mark.parametrize("ph", PHASES, ids=[p.id for p in PHASES])
def test_gates_and_decisions_of_each_runbook_are_its_table_entry(ph: Phase) -> None:
    """Every ``run.gate(...)`` of the notebook is one of ``ph.gates`` and the reverse; its
    decisions are ``ph.decisions``; it calls ``run.require_phases()`` exactly when the
    phase needs earlier phases."""
    got = seen(ph)
    assert got.gates == {g.check for g in ph.gates}
    assert got.decisions == set(ph.decisions)
    assert got.requires_phases == bool(ph.needs)


@pytest.mark.parametrize("ph", PHASES, ids=[p.id for p in PHASES])
def test_runbook_parameters_are_the_phase_params(ph: Phase) -> None:
    """papermill reads the notebook's parameters cell: names in order and defaults are
    exactly ``phase_params(ph)``."""
    found = papermill.inspect_notebook(str(RUNBOOKS / ph.notebook))
    expected = phase_params(ph)
    assert list(found) == [p.name for p in expected]
    for p in expected:
        assert ast.literal_eval(found[p.name]["default"]) == p.default, p.name
