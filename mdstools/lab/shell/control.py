"""Exceptions that end a program, a loop, a function or the shell itself."""

from __future__ import annotations


class ProgramUsageError(Exception):
    """Bad usage of a program: the shell prints ``prog: message`` (and GNU's ``Try 'prog
    --help' for more information.`` when ``hint``) and the program exits with ``rc``."""

    def __init__(self, message: str, rc: int = 1, hint: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.rc = rc
        self.hint = hint


class ShellExit(Exception):
    """``exit N`` (or a fatal error): the shell ends with status ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Killed(Exception):
    """The job was killed (``kill PID``) or timed out (``timeout``)."""


class BreakLoop(Exception):
    """``break N`` (or ``continue N`` when ``cont``): unwinds ``levels`` enclosing loops."""

    def __init__(self, levels: int, cont: bool) -> None:
        super().__init__(levels)
        self.levels = levels
        self.cont = cont


class FunctionReturn(Exception):
    """``return N``: leaves the function or sourced file with status ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class RedirectionError(Exception):
    """A redirection failed (a bad descriptor, a file that cannot be opened); the command
    does not run."""


class ExpansionError(Exception):
    """A word or an expression could not be evaluated (``${VAR:?msg}``, bad arithmetic, a
    malformed condition)."""

    def __init__(self, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal  # ${VAR:?msg}: a non-interactive shell exits
