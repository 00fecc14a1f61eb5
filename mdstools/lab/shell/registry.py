"""The programs and builtins the shell can run, registered by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mdstools.lab.shell.streams import IO

if TYPE_CHECKING:
    from mdstools.lab.shell.core import Shell

Program = Callable[["Shell", list[str], IO], int]
PROGRAMS: dict[str, Program] = {}


def program(*names: str) -> Callable[[Program], Program]:
    """Register a simulated program under one or more handler names."""

    def deco(fn: Program) -> Program:
        for n in names:
            PROGRAMS[n] = fn
        return fn

    return deco


BUILTINS: dict[str, Program] = {}


def builtin(*names: str) -> Callable[[Program], Program]:
    """Register a builtin (run inside the shell, found before ``PATH``) under its names."""

    def deco(fn: Program) -> Program:
        for n in names:
            BUILTINS[n] = fn
        return fn

    return deco
