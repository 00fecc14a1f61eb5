"""The ``mdstools`` command line.

Exit codes: 0 done, 1 a gate or a step failed (or the record could not be written: disk
full), 2 bad input (inventory, parameters, ticket id, usage, a record that does not verify,
a reports folder that cannot be written, a lock directory that cannot be used), 3 another
run holds the lock of the environment (on this host or on the primary MDS), 4 could not
connect. A message on stderr always says what to do next.

``main`` parses the arguments and calls the command; an expected failure that escapes a
command becomes its exit code in ``exits.error_code``. The modules: ``parser`` (the
arguments of every command), ``inputs`` (checks of parameters, inventory, ticket, reports
folder), ``status_plan`` (status, plan), ``runs`` (run, campaign), ``record`` (verify, seal,
bundle), ``demo``, ``jupyterlab`` and ``lab`` (the lab's commands).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

# jsonschema checks the IRI format with rfc3987_syntax when it is installed, which compiles a
# grammar at import (over a second on every command that reads a notebook); no schema that
# nbformat or papermill validates uses that format, so the command line goes without it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from mdstools.cli.exits import error_code  # noqa: E402
from mdstools.cli.inputs import parse_params  # noqa: E402
from mdstools.cli.parser import build_parser  # noqa: E402
from mdstools.errors import BadInput, ExitCode, RecordDamaged, RecordWriteError  # noqa: E402

__all__ = ["build_parser", "main", "parse_params"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mdstools`` console script."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and ExitCode.USAGE
    try:
        rc: int = args.func(args)
    except (BadInput, RecordDamaged, RecordWriteError) as exc:
        return error_code(args.command, exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()
        return rc if "rc" in locals() else ExitCode.OK
    except OSError as exc:
        if exc.filename is None:
            raise
        return error_code(args.command, exc)
    return rc
