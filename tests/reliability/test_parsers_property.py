"""Every parser of ``mdstools.commands`` is total: any text gives a record or a ParseError.

The parsers are found, not listed: every module of the package is imported, every public
function that builds a :class:`Command` is called with sample arguments and its ``parser``
collected, and every module-level function whose first parameter is ``text`` is added. A new
command family is covered the day it is written.

Three kinds of input per parser, with Hypothesis:

* text: arbitrary Unicode, and lines made of the words the parsers key on (pipes, ``Title:``,
  ``Filesystem``, brackets, ``Take:``, ...), so that the structure is half right;
* the real outputs in ``tests/fixtures/`` mutated: lines dropped, duplicated, swapped or cut
  mid-line, columns removed or added, widths changed, CRLF, tabs, ANSI escapes, NUL, huge and
  non-ASCII numbers, non-ASCII text, very long lines;
* JSON: arbitrary values, and the real answers with keys removed, values of the wrong type
  (string for number, list for object, null), extra keys.

The only exceptions allowed out are :class:`ParseError`, which keeps the whole raw text and
says why, and :class:`ApiError` for a body that ``mgmt_cli`` really answers with an error.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import mdstools.commands
from mdstools.commands.base import Command, clean
from mdstools.errors import ApiError, ParseError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

Parser = Callable[[str], Any]

SAMPLE_ARGS: dict[str, object] = {
    "str": "dom1",
    "int": 1,
    "float": 1.0,
    "bool": False,
    "dict": {"item": "true"},
}

SAMPLE_BY_NAME: dict[str, object] = {
    "new_state": "active",
    "name": "batch",
    "lines": {"item": "true"},
    "token": "0123456789abcdef0123456789abcdef",
    "info": {"environment": "lab", "ticket": "T1", "token": "0123456789abcdef"},
}


def _modules() -> list[Any]:
    return [
        importlib.import_module(f"{mdstools.commands.__name__}.{info.name}")
        for info in pkgutil.iter_modules(mdstools.commands.__path__)
    ]


def _sample(param: inspect.Parameter) -> object:
    if param.name in SAMPLE_BY_NAME:
        return SAMPLE_BY_NAME[param.name]
    annotation = str(param.annotation)
    for word, value in SAMPLE_ARGS.items():
        if annotation.startswith(word):
            return value
    raise AssertionError(f"no sample argument for {param.name}: {annotation}")


def _parser_name(parser: Parser, factory: str) -> str:
    fn = parser.func if isinstance(parser, partial) else parser
    name = getattr(fn, "__name__", repr(fn))
    if name.startswith("<") or "." in getattr(fn, "__qualname__", ""):
        return f"{fn.__module__}.{factory}:{name}"
    return f"{fn.__module__}.{name}"


def discover() -> tuple[dict[str, Parser], dict[str, str]]:
    """name -> parser for every parser in the package; command name -> parser name."""
    parsers: dict[str, Parser] = {}
    by_command: dict[str, str] = {}
    for module in _modules():
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_"):
                continue
            params = list(inspect.signature(fn).parameters.values())
            if params and params[0].name == "text" and name.startswith(("parse", "load")):
                parsers[_parser_name(fn, name)] = fn
                continue
            if "Command" not in str(inspect.signature(fn).return_annotation):
                continue
            args = [_sample(p) for p in params if p.default is inspect.Parameter.empty]
            cmd = fn(*args)
            assert isinstance(cmd, Command), name
            key = _parser_name(cmd.parser, name)
            parsers.setdefault(key, cmd.parser)
            by_command[cmd.name.split(" (")[0]] = key
    return parsers, by_command


PARSERS, BY_COMMAND = discover()
ALL_TEXTS = [p.read_bytes().decode("utf-8") for p in sorted(FIXTURES.glob("*/*.txt"))]


def _seeds(name: str) -> list[str]:
    folders = [f for f, parser in BY_COMMAND.items() if parser == name]
    own = [
        p.read_bytes().decode("utf-8")
        for f in folders
        for p in sorted((FIXTURES / f).glob("*.txt"))
    ]
    return own or ALL_TEXTS


def _json_body(text: str) -> Any:
    try:
        return json.loads(clean(text))
    except ValueError:
        return None


ALL_JSON = [d for d in (_json_body(t) for t in ALL_TEXTS) if isinstance(d, (dict, list))]


def _json_seeds(name: str) -> list[Any]:
    own = [d for d in (_json_body(t) for t in _seeds(name)) if isinstance(d, (dict, list))]
    return own or ALL_JSON


def check_total(parser: Parser, text: str) -> None:
    """``parser(text)`` returns, or raises ParseError (raw text kept, reason given) or ApiError."""
    try:
        parser(text)
    except ParseError as exc:
        assert exc.raw == text, "the ParseError does not keep the whole raw text"
        assert exc.reason.strip(), "the ParseError gives no reason"
    except ApiError as exc:
        assert exc.code and isinstance(exc.api_message, str)


# -- strategies -----------------------------------------------------------------------------
# fmt: off
WORDS = (
    "|", "+", "-", "=", ":", "*", "[", "]", "{", "}", '"', "'", ",", ".", "...", "%", "\\",
    " ", "  ", "   ", "\t", "\n", "\r\n", "\x00", "\x1b[0m", "\u00e9", "\u2026", "\u0663", "\u00b2",
    "0", "1", "42", "99999999999999999999", "9" * 5000, "-1", "1.5", "1e400", "up", "down",
    "N/R", "pnd", "init", "Type", "Name", "IP address", "FWM", "CPD", "MDS", "CMA",
    "Total Domain Management Servers checked:", "Title:", "Description:", "Summary:",
    "Errors:", "Warnings:", "report", "/var/log/x.txt", "is allowed", "is not allowed",
    "Result: Verification failed", "Result: Verification ended successfully",
    "Filesystem", "1024-blocks", "Used", "Available", "Capacity", "Mounted on",
    "Num", "Display name", "Type", "Status", "** Hotfixes **", "Major Version", "Installed",
    "There are no packages", "Display name:", "Status:", "Installing 45%", "Contains:",
    "CLINFR0771", "Product version", "OS build", "OS kernel version", "OS edition",
    "Check Point Gaia R81.20", "This is Check Point's software version ", "R81.20", "- Build",
    "[FW1]", "[CPUpdates]", "Take:", "No hotfixes..", "Name IP", "Error:", "Illegal command",
    "Updating", "(CMA)", "to version", "Done", "Failed", "### mdstools item ",
    "/var/log/mds_backups/a.mdsbk.tar", "[Expert@mds1:0]#", "mds2>",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    '"task-id"', '"tasks"', '"objects"', '"domains"', '"servers"', '"code"', '"message"', "null",
)
# fmt: on

token_soup = st.lists(st.sampled_from(WORDS), max_size=80).map("".join)
any_text = st.one_of(st.text(max_size=2000), token_soup)

json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**40),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(["", "up", "active", "standby", "true", "1234", "R81.20", "Ok"]),
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=20), inner, max_size=5)
    ),
    max_leaves=30,
)

_HUGE = ("9" * 5000, "99999999999999999999999", "\u0663\u0663", "\u00b2", "-7", "1e400")
MAX_REPEATED_LINE = 200_000
"""A repeated line is cut there: repeated again by a later mutation it would grow to
gigabytes (one example of 973 million characters took a worker's memory)."""

_ODD = ("\x00", "\x1b[31m", "\x1b[0m", "\t", "\r", "\u00e9\u00e8", "\u2026", "\ufeff", "|", "  ")


@st.composite
def mutated_text(draw: st.DrawFn, seeds: list[str]) -> str:
    """A fixture text with one to five structural mutations."""
    text = draw(st.sampled_from(seeds))
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 5))):
        if not lines:
            lines = [""]
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.integers(0, 13))
        line = lines[i]
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, line)
        elif op == 2:
            lines[i] = line[: draw(st.integers(0, max(len(line), 0)))]
        elif op == 3:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], line
        elif op in (4, 5):
            sep = "|" if "|" in line else "  "
            cells = line.split(sep)
            k = draw(st.integers(0, len(cells)))
            if op == 4 and len(cells) > 1:
                del cells[min(k, len(cells) - 1)]
            else:
                cells.insert(k, draw(st.sampled_from(["", " x ", " up 1 ", " 12 ", " N/A "])))
            lines[i] = sep.join(cells)
        elif op == 6:
            width = draw(st.sampled_from([" ", "   ", " " * 40, "\t"]))
            lines[i] = width.join(line.split())
        elif op == 7:
            return "\r\n".join(lines) if draw(st.booleans()) else "\n".join(lines).rstrip("\n")
        elif op == 8:
            pos = draw(st.integers(0, len(line)))
            lines[i] = line[:pos] + draw(st.sampled_from(_ODD)) + line[pos:]
        elif op == 9:
            runs = list(re.finditer(r"[0-9]+", line))
            if runs:
                run = draw(st.sampled_from(runs))
                lines[i] = line[: run.start()] + draw(st.sampled_from(_HUGE)) + line[run.end() :]
        elif op == 10:
            lines[i] = (line * draw(st.integers(50, 400)))[:MAX_REPEATED_LINE]
        elif op == 11:
            lines[i] = line + draw(st.sampled_from(["x", ".", " ", "|", ":"])) * 20000
        elif op == 12:
            lines[i] = draw(st.text(max_size=40)) + line
        else:
            lines = lines[: i + 1]
    return "\n".join(lines)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for n, v in enumerate(node):
            out += _paths(v, (*prefix, n))
    return out


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


@st.composite
def mutated_json(draw: st.DrawFn, seeds: list[Any]) -> str:
    """A real JSON answer with keys removed, values of the wrong type and extra keys."""
    data = json.loads(json.dumps(draw(st.sampled_from(seeds))))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(data)))
        if not path:
            continue
        parent = _at(data, path[:-1])
        key = path[-1]
        op = draw(st.integers(0, 3))
        if op == 0:
            del parent[key]
        elif op == 1:
            parent[key] = draw(
                st.sampled_from([None, "12", 12, [], [1], {}, {"name": 1}, True, "", 10**30])
            )
        elif op == 2:
            parent[key] = draw(json_value)
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(json_value)
        else:
            parent.append(draw(json_value))
    indent = draw(st.sampled_from([None, 1, 4]))
    body = json.dumps(data, indent=indent)
    prefix = draw(st.sampled_from(["", "Warning: something\n", "[Expert@mds1:0]# \n"]))
    return prefix + body


NAMES = sorted(PARSERS)
FAST = settings(
    deadline=None,
    max_examples=100,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- the catalogue --------------------------------------------------------------------------
def test_the_parsers_are_found() -> None:
    """Every family is there, by factory and by parse function, with its fixture folders."""
    modules = {name.split(".")[2].split(":")[0] for name in NAMES}
    assert {
        "backup",
        "base",
        "changes",
        "ha",
        "mdsstat",
        "objects",
        "upgrade",
        "verifier",
        "versions",
    } <= modules
    assert "mdstools.commands.mdsstat.parse_mdsstat" in PARSERS
    assert "mdstools.commands.ha.load_json" in PARSERS
    assert "mdstools.commands.changes.parse_changes_task" in PARSERS
    assert any(":" in name for name in NAMES), "closures built by factories are collected"
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    assert len(set(BY_COMMAND) & folders) >= 25, "fixture folders are matched to their commands"


# -- the properties -------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@FAST
@given(text=any_text)
@example(text="")
@example(text="\x00")
@example(text="[" * 100_000)
@example(text="{" * 100_000)
@example(text="1" * 5000)
def test_any_text(name: str, text: str) -> None:
    check_total(PARSERS[name], text)


@pytest.mark.parametrize("name", NAMES)
@FAST
@given(data=st.data())
def test_mutated_fixtures(name: str, data: st.DataObject) -> None:
    check_total(PARSERS[name], data.draw(mutated_text(_seeds(name))))


@pytest.mark.parametrize("name", NAMES)
@FAST
@given(data=st.data())
def test_json_values_and_mutated_answers(name: str, data: st.DataObject) -> None:
    if data.draw(st.booleans()):
        text = json.dumps(data.draw(json_value))
    else:
        text = data.draw(mutated_json(_json_seeds(name)))
    check_total(PARSERS[name], text)


LONG_PREFIXES = (
    "",
    "Updating x",
    "Title: x",
    "Display name",
    "| a ",
    "Total Domain Management Servers checked: ",
    "This is Check Point's software version R",
    "{\n",
)
LONG_FILLERS = (" ", ".", "|", "(", "9", "\n", "a ", "Done ", "Title: x * ", "[{")


@pytest.mark.parametrize("name", NAMES)
def test_long_lines_do_not_hang(name: str) -> None:
    """50 kB of one filler after each prefix the parsers key on: parsed in well under a second
    (no regular expression that backtracks quadratically)."""
    parser = PARSERS[name]
    for prefix in LONG_PREFIXES:
        for filler in LONG_FILLERS:
            text = prefix + filler * (50_000 // len(filler)) + "z .. Done\n"
            started = time.perf_counter()
            check_total(parser, text)
            took = time.perf_counter() - started
            assert took < 1.0, f"{prefix!r} + {filler!r} x 50 kB took {took:.1f} s"


# -- inputs that once broke a parser --------------------------------------------------------
HEADER = "| Type | Name | IP address | FWM |\n"
FOUND: list[tuple[str, str, Callable[[Any], bool] | None]] = [
    ("upgrade.parse_installer_packages", "Num  Display name   Type\n1\n", None),
    ("backup.parse_backup_files", "/var/log/a.mdsbk.tar|\u00b2|1\n", None),
    ("backup.parse_backup_files", f"/var/log/a.mdsbk.tar|{'9' * 5000}|1\n", None),
    (
        "backup.parse_free_space",
        "Filesystem 1K Used Avail Cap Mounted\n/dev/x 1 \u00b2 1 1% /\n",
        None,
    ),
    ("mdsstat.parse_mdsstat", HEADER + "| MDS | - | 10.0.0.1 | up \u00b2 |\n", None),
    ("versions.parse_cpinfo_hotfixes", f"[FW1]\nHOTFIX_X Take: {'9' * 5000}\n", None),
    ("ha.load_json", "[" * 100_000, None),
    ("ha.load_json", "x\n" + "[" * 100_000, None),
    ("ha.load_json", "1" * 5000, None),
    ("ha.parse_task_ref", '{"code": "", "message": "no code"}', None),
    ("ha.parse_task_ref", '{"task-id": {"name": "t"}}', None),
    (
        "mdsstat.parse_mdsstat",
        HEADER + f"Total Domain Management Servers checked: {'1' * 5000} up\n",
        lambda r: r.rows == () and r.up is None,
    ),
    (
        "ha.parse_task",
        '{"tasks": [{"task-id": "t", "progress-percentage": Infinity, "task-details": 5}]}',
        lambda r: r.progress is None and r.details == (),
    ),
    (
        "ha.parse_domains",
        '{"objects": [{"name": "dom1", "servers": "dom1_Server"}]}',
        lambda r: r == [],
    ),
    (
        "ha.parse_servers_and_processes",
        '{"servers": [{"type": "mds", "processes": 5}, {"processes": [{"pid": NaN}]}]}',
        lambda r: r[0].processes == {} and r[1].processes[""].pid is None,
    ),
    (
        "changes.parse_changes_task",
        '{"tasks": [{"status": "succeeded", "task-details": '
        '[{"changes": ["x", {"session": []}]}]}]}',
        lambda r: r == ("succeeded", []),
    ),
    (
        "changes.parse_changes_task",
        '{"tasks": [{"task-details": [{"changes": [{"session": {"publish-time": '
        '{"posix": 1e400}}, "operations": {"added-objects": [{"name": "h"}, 1]}}]}]}]}',
        lambda r: [c.object_name for c in r[1]] == ["h"] and r[1][0].publish_posix is None,
    ),
    ("changes.parse_task_id", '{"task-id": 12}', None),
]


@pytest.mark.parametrize(
    ("name", "text", "check"), FOUND, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(FOUND)]
)
def test_inputs_that_once_broke_a_parser(
    name: str, text: str, check: Callable[[Any], bool] | None
) -> None:
    """Each gives its record (checked) or, where ``check`` is None, a ParseError."""
    parser = PARSERS[f"mdstools.commands.{name}"]
    if check is None:
        with pytest.raises(ParseError) as info:
            parser(text)
        assert info.value.raw == text and info.value.reason
    else:
        assert check(parser(text))


def _slip(kind: str) -> Parser:
    def parser(text: str) -> Any:
        if kind == "attribute":
            return json.loads(text).get("x")
        if kind == "overflow":
            return int(float(text))
        if kind == "zero":
            return 1 // len(text.strip())
        return _slip("recursion")(text)

    return parser


@pytest.mark.parametrize(
    ("kind", "text"),
    [("attribute", "[1]"), ("overflow", "1e400"), ("zero", " "), ("recursion", "x")],
)
def test_a_command_turns_a_parser_slip_into_a_parse_error(kind: str, text: str) -> None:
    """The last line of defence: ``Command.parse`` gives a ParseError, raw text kept, for a
    parser that slips (a parser of a new command family that is not total yet)."""
    cmd: Command[Any] = Command("echo x", _slip(kind))
    with pytest.raises(ParseError) as info:
        cmd.parse(text)
    assert info.value.raw == text and info.value.command == "echo x"
    assert info.value.reason.split(":")[0] in {
        "AttributeError",
        "OverflowError",
        "ZeroDivisionError",
        "RecursionError",
    }
