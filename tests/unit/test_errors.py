"""The exception tree of ``mdstools.errors`` and the exit codes.

* every exception class of the client package derives from ``MdstoolsError`` and is drawn
  in ``errors.py``'s docstring, under its real parent and with the module that defines it;
* ``runbook.CONNECT_ERRORS`` is the set of names a kernel's error is matched against for
  exit 4, derived from ``TransportError``;
* exit codes are defined once (``ExitCode``): no other module of the client assigns an
  ``EXIT_`` name, defines an ``IntEnum`` or returns a literal exit code.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest

import mdstools
from mdstools import errors
from mdstools.errors import (
    ConnectError,
    ConnectionLostError,
    ExitCode,
    MdstoolsError,
    TransportError,
    subclass_names,
)

PACKAGE = Path(mdstools.__file__).resolve().parent
TREE_ROW = re.compile(
    r"^    (?P<lead>[│├└─ ]*)(?P<name>\w+)\s+(?P<where>\w+)\s+.*?\s(?P<exit>\d+(/\d+)?)$"
)
RETURNS_EXIT_CODES = {"exit_code", "serve"}


def client_modules() -> list[ModuleType]:
    """Every module of ``mdstools`` except the lab (a separate program) and ``__main__``."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[1:2] == ("lab",) or parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return [importlib.import_module(n) for n in names]


def exception_classes() -> dict[str, type[BaseException]]:
    """The exception classes defined in the client's modules (nested ones too), by name."""
    found: dict[str, type[BaseException]] = {}
    seen: set[type] = set()
    for module in client_modules():
        todo = [c for _, c in inspect.getmembers(module, inspect.isclass)]
        while todo:
            cls = todo.pop()
            if cls in seen or cls.__module__ != module.__name__:
                continue
            seen.add(cls)
            todo.extend(c for c in vars(cls).values() if inspect.isclass(c))
            if issubclass(cls, BaseException):
                assert cls.__name__ not in found, f"two exception classes {cls.__name__}"
                found[cls.__name__] = cls
    return found


def drawn_tree() -> list[tuple[int, str, str, str]]:
    """(depth, class name, defining module, exit code) of each row of the drawn tree."""
    doc = errors.__doc__ or ""
    rows = []
    for line in doc.split("::", 1)[1].splitlines():
        m = TREE_ROW.match(line)
        if m:
            rows.append((len(m["lead"]) // 4, m["name"], m["where"], m["exit"]))
    return rows


def test_every_client_exception_is_an_mdstools_error() -> None:
    classes = exception_classes()
    assert len(classes) >= 30
    outside = sorted(n for n, c in classes.items() if not issubclass(c, MdstoolsError))
    assert outside == []


def test_the_tree_draws_every_class_where_it_is_defined() -> None:
    classes = exception_classes()
    rows = drawn_tree()
    drawn = {name: where for _, name, where, _ in rows}
    assert len(drawn) == len(rows), "a class is drawn twice"
    assert sorted(drawn) == sorted(classes)
    for name, cls in classes.items():
        assert f"mdstools.{drawn[name]}" == cls.__module__, name


def test_the_tree_draws_each_class_under_its_parent() -> None:
    classes = exception_classes()
    parents: list[str] = []
    for depth, name, _, _ in drawn_tree():
        del parents[depth:]
        cls = classes[name]
        if depth == 0:
            assert cls is MdstoolsError
        else:
            bases = [b.__name__ for b in cls.__bases__ if issubclass(b, MdstoolsError)]
            assert bases == [parents[-1]], name
        parents.append(name)


def test_the_drawn_exit_codes_are_exit_codes() -> None:
    codes = {str(int(c)) for c in ExitCode}
    rows = drawn_tree()
    for _, name, _, exit_code in rows:
        assert set(exit_code.split("/")) <= codes, name
    by_name = {name: exit_code for _, name, _, exit_code in rows}
    assert by_name["LockHeld"] == str(ExitCode.LOCKED)
    assert by_name["BadInput"] == str(ExitCode.USAGE)
    assert all(by_name[n] == str(ExitCode.UNREACHABLE) for n in subclass_names(TransportError))


def test_each_class_has_the_drawn_exit_code() -> None:
    classes = exception_classes()
    for _, name, _, drawn in drawn_tree():
        codes = drawn.split("/")
        own = str(int(classes[name].exit))
        assert own in codes if len(codes) > 1 else own == drawn, name


def test_the_command_line_turns_errors_into_exit_codes_in_one_place() -> None:
    from mdstools.cli.exits import error_code
    from mdstools.errors import BadInput, RecordDamaged
    from mdstools.jupyter import JupyterError, UsageError
    from mdstools.lock import LockDirError, LockHeld

    held = LockHeld("here", {"pid": 1}, stale=False)
    assert error_code("run", held) == ExitCode.LOCKED
    assert error_code("run", LockDirError(PACKAGE, "no")) == ExitCode.USAGE
    assert error_code("run", BadInput("no")) == ExitCode.USAGE
    assert error_code("run", RecordDamaged("x", "no")) == ExitCode.USAGE
    assert error_code("run", MdstoolsError("bad ticket id")) == ExitCode.USAGE
    assert error_code("run", PermissionError(13, "denied", "/r")) == ExitCode.USAGE
    assert error_code("run", OSError(28, "full", "/r")) == ExitCode.FAILED
    assert JupyterError("no").exit_code == ExitCode.FAILED
    assert UsageError("no").exit_code == ExitCode.USAGE
    source = "".join(p.read_text(encoding="utf-8") for p in (PACKAGE / "cli").glob("*.py"))
    assert "def error_code(" in source and "ExitCode.LOCKED" not in source


def test_the_exit_codes() -> None:
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0,
        "FAILED": 1,
        "USAGE": 2,
        "LOCKED": 3,
        "UNREACHABLE": 4,
        "INTERRUPTED": 130,
    }
    assert str(ExitCode.UNREACHABLE) == "4" and f"{ExitCode.USAGE}" == "2"


def test_connect_errors_are_the_transport_errors() -> None:
    from mdstools.runbook import CONNECT_ERRORS

    today = {
        "ConnectError",
        "HostKeyError",
        "AuthenticationError",
        "UnreachableError",
        "ServerDown",
        "ConnectionLostError",
    }
    assert today == CONNECT_ERRORS
    assert subclass_names(TransportError) == CONNECT_ERRORS
    assert issubclass(ConnectError, TransportError)
    assert issubclass(ConnectionLostError, TransportError)


def exit_code_literals(source: str, filename: str) -> list[str]:
    """Where ``source`` defines exit codes of its own: an ``EXIT_`` name assigned, an
    ``IntEnum``, or a function that returns exit codes (every function of the command line,
    ``mdstools/cli/``, and ``exit_code``/``serve`` anywhere) returning an integer literal."""
    tree = ast.parse(source, filename)
    found: list[str] = []

    def literal(node: ast.expr | None) -> bool:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, int) and not isinstance(node.value, bool)
        if isinstance(node, ast.IfExp):
            return literal(node.body) or literal(node.orelse)
        if isinstance(node, ast.Tuple) and node.elts:
            return literal(node.elts[0])
        if isinstance(node, ast.BoolOp):
            return any(literal(v) for v in node.values)
        return False

    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name) and name.id.startswith("EXIT_"):
                        found.append(f"{filename}:{node.lineno}: assigns {name.id}")
        elif isinstance(node, ast.ClassDef):
            bases = [ast.unparse(b) for b in node.bases]
            if any(b.split(".")[-1] == "IntEnum" for b in bases):
                found.append(f"{filename}:{node.lineno}: IntEnum {node.name}")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
            filename.startswith("mdstools/cli/") or node.name in RETURNS_EXIT_CODES
        ):
            for ret in ast.walk(node):
                if isinstance(ret, ast.Return) and literal(ret.value):
                    found.append(f"{filename}:{ret.lineno}: {node.name} returns a literal")
    return found


def test_the_scan_finds_exit_codes_defined_elsewhere() -> None:
    source = (
        "EXIT_OK, EXIT_BAD = 0, 2\n"
        "class Codes(enum.IntEnum):\n    A = 1\n"
        "def exit_code(x):\n    return 4 if x else ExitCode.OK\n"
        "def serve():\n    return ExitCode.OK, None\n"
        "def count():\n    return 0\n"
    )
    assert exit_code_literals(source, "mdstools/x.py") == [
        "mdstools/x.py:1: assigns EXIT_OK",
        "mdstools/x.py:1: assigns EXIT_BAD",
        "mdstools/x.py:2: IntEnum Codes",
        "mdstools/x.py:5: exit_code returns a literal",
    ]
    assert exit_code_literals("def main():\n    return 130\n", "mdstools/cli/__init__.py") == [
        "mdstools/cli/__init__.py:2: main returns a literal"
    ]


def test_exit_codes_are_defined_in_errors_only() -> None:
    found: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).as_posix()
        if rel.startswith("mdstools/lab/") or rel == "mdstools/errors.py":
            continue
        found += exit_code_literals(path.read_text(encoding="utf-8"), rel)
    assert found == []


@pytest.mark.parametrize(
    ("verdict", "cause", "error", "code"),
    [
        ("passed", None, None, 0),
        ("dry-run passed", None, None, 0),
        ("dry-run failed", None, None, 0),
        ("dry-run failed", "GateFailed: x", "GateFailed", 1),
        ("failed", "GateFailed: x", "GateFailed", 1),
        ("aborted", "aborted by SIGTERM during the run", None, 1),
        ("locked", "another run holds the lock", "LockHeld", 3),
        ("failed", "mds2 unreachable", "ServerDown", 4),
        ("failed", "mds1: the connection dropped", "ConnectionLostError", 4),
        ("failed", "mds1: host key", "HostKeyError", 4),
        ("failed", "CommandTimeout: x", "CommandTimeout", 1),
    ],
)
def test_outcome_exit_codes(verdict: str, cause: str | None, error: str | None, code: int) -> None:
    from mdstools.phases import PHASES
    from mdstools.runbook import Outcome

    outcome = Outcome(
        phase=PHASES[0],
        verdict=verdict,
        cause=cause,
        notebook=Path("00.ipynb"),
        html=None,
        run_id="r1",
        error=error,
    )
    assert outcome.exit_code == code
    assert type(outcome.exit_code) is ExitCode


def test_signals_and_jupyter_errors_keep_their_messages() -> None:
    from mdstools.jupyter import JupyterError, UsageError
    from mdstools.runbook import Aborted

    assert str(Aborted("SIGTERM")) == "SIGTERM"
    assert str(JupyterError("no notebook directory /x")) == "no notebook directory /x"
    assert isinstance(UsageError("unknown scenario"), JupyterError)


def test_jupyter_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mdstools.jupyter import serve

    inventory = tmp_path / "inventory.yml"
    inventory.write_text("environment: x\n", encoding="utf-8")
    assert serve(inventory=inventory, scenario="default") == ExitCode.USAGE
    assert "--scenario is for the lab; not with -i" in capsys.readouterr().err
    assert serve(inventory=tmp_path / "missing.yml", lab_dir=tmp_path) == ExitCode.USAGE
    assert f"no inventory file {tmp_path / 'missing.yml'}" in capsys.readouterr().err
    assert serve(inventory=inventory, ticket="T-1", port=70000) == ExitCode.USAGE
    assert "--port 70000: use 1..65535" in capsys.readouterr().err


def test_a_parameter_check_names_the_parameter() -> None:
    from mdstools.errors import ParameterError
    from mdstools.phases import BY_NAME

    with pytest.raises(ParameterError) as caught:
        BY_NAME["time_scale"].validate("fast")
    assert str(caught.value).startswith("parameter time_scale: 'fast' is not a number. allowed: ")
