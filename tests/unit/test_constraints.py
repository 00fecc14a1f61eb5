"""constraints.txt: exact pins of every dependency pyproject.toml names, within its ranges,
from an index, and nothing of the machine that wrote it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "constraints.txt"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[0-9][0-9A-Za-z.!]*)$")
LOCKED_FOR = re.compile(r"^# Locked for Python (\d+\.\d+)$", re.M)
MACHINE_PACKAGES = re.compile(r"^(torch|torchvision|torchaudio|nvidia-.*|triton)$")


def read_lock(text: str) -> tuple[dict[str, str], list[str]]:
    """The pins of a lock (canonical name -> version) and what is wrong with its lines."""
    pins: dict[str, str] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = PIN.match(line)
        if not m:
            problems.append(f"line {number}: not an exact pin from an index: {line}")
            continue
        name = canonicalize_name(m["name"])
        if name in pins:
            problems.append(f"line {number}: {name} pinned twice")
        elif MACHINE_PACKAGES.match(name) or name == "mdstools":
            problems.append(f"line {number}: {name} is not a dependency of mdstools")
        pins[name] = m["version"]
    return pins, problems


def declared() -> list[Requirement]:
    """The runtime and dev requirements of pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [Requirement(line) for line in lines]


def test_every_line_is_an_exact_pin() -> None:
    pins, problems = read_lock(LOCK.read_text(encoding="utf-8"))
    assert problems == []
    assert len(pins) > len(declared())


def test_every_declared_dependency_is_pinned_inside_its_range() -> None:
    pins, _ = read_lock(LOCK.read_text(encoding="utf-8"))
    for req in declared():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in constraints.txt: run make constraints"
        assert req.specifier.contains(Version(pins[name]), prereleases=True), (
            f"{name}=={pins[name]} is outside {req}: run make constraints"
        )


def test_the_interactive_pins_hold() -> None:
    pins, _ = read_lock(LOCK.read_text(encoding="utf-8"))
    ranges = {canonicalize_name(r.name): r.specifier for r in declared()}
    for name in ("ipykernel", "ipywidgets"):
        assert any(spec.operator == "<" for spec in ranges[name]), f"{name} lost its upper bound"
        assert Version(pins[name]) in ranges[name]


def test_the_lock_names_its_python_and_no_local_path() -> None:
    text = LOCK.read_text(encoding="utf-8")
    locked_for = LOCKED_FOR.findall(text)
    assert len(locked_for) == 1
    assert Version(locked_for[0]) >= Version("3.10")
    for word in ("file:", "/home/", "/tmp/", "/opt/", "/work/", "\\", " @ ", "+"):
        assert word not in text, f"constraints.txt holds {word!r}"


def test_a_bad_lock_is_found() -> None:
    text = "\n".join(
        [
            "# comment",
            "PyYAML==6.0.2",
            "pyyaml==6.0.3",
            "paramiko>=3.4",
            "torch==2.13.0",
            "mdstools==0.1.0",
            "local @ file:///tmp/local-1.0-py3-none-any.whl",
            "numpy==2.4.6+cpu",
        ]
    )
    pins, problems = read_lock(text)
    assert pins["pyyaml"] == "6.0.3"
    assert problems == [
        "line 3: pyyaml pinned twice",
        "line 4: not an exact pin from an index: paramiko>=3.4",
        "line 5: torch is not a dependency of mdstools",
        "line 6: mdstools is not a dependency of mdstools",
        "line 7: not an exact pin from an index: local @ file:///tmp/local-1.0-py3-none-any.whl",
        "line 8: not an exact pin from an index: numpy==2.4.6+cpu",
    ]


def test_make_venv_installs_the_lock_and_the_wheelhouse_is_not_committed() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^LOCK = constraints\.txt$", makefile, re.M)
    assert re.search(r"^\$\(STAMP\): .*\$\(LOCK\)", makefile, re.M)
    assert "install --quiet -e '.[dev]' $$lock" in makefile
    assert 'lock="-c $(LOCK)"' in makefile
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "wheelhouse/" in ignored
