"""The one place the command line turns an expected failure into an exit code."""

from __future__ import annotations

import sys
from pathlib import Path

from mdstools.errors import ExitCode, MdstoolsError, RecordWriteError


def error_code(command: str, exc: Exception, where: Path | None = None) -> int:
    """One line on stderr for an expected failure; its exit code: the error's own
    (``MdstoolsError.exit_code``), and 2 for a plain ``MdstoolsError``, which here refused
    the command's input (a ticket id, a report folder). ``where`` names the file of an
    OSError that does not say which. The one place the command line turns an error into
    an exit code."""
    if isinstance(exc, OSError):
        exc = RecordWriteError(str(exc.filename or where or "the reports folder"), exc)
    print(f"mdstools {command}: {exc}", file=sys.stderr)
    if not isinstance(exc, MdstoolsError) or type(exc) is MdstoolsError:
        return ExitCode.USAGE
    return exc.exit_code
