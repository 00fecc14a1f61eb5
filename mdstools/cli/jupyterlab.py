"""``mdstools jupyter``: JupyterLab on the ticket's working copies of the runbooks."""

from __future__ import annotations

import argparse
from pathlib import Path

from mdstools.cli.inputs import check_ticket
from mdstools.errors import ExitCode


def cmd_jupyter(args: argparse.Namespace) -> int:
    """JupyterLab on the ticket's working copies of the runbooks, bound to 127.0.0.1.

    The runbooks are copied once into <reports>/<ticket>/.work/ with this ticket's parameters
    (inventory, ticket, reports folder, the lab's time scale); the repository's runbooks/
    are never opened. A saved working copy whose run has ended is sealed into the record
    (notebook, HTML, manifest); Ctrl-C seals the ended runs not sealed yet. Without -i it
    starts the embedded lab in --lab-dir (or reuses the one running there) and stops it
    again on Ctrl-C; with -i, --ticket is needed. Prints the URL (with its token).
    """
    from mdstools import jupyter

    if args.ticket and not check_ticket("jupyter", args.ticket):
        return ExitCode.USAGE
    return jupyter.serve(
        inventory=Path(args.inventory) if args.inventory else None,
        lab_dir=Path(args.lab_dir),
        scenario=args.scenario,
        port=args.port,
        ticket=args.ticket or None,
        open_browser=not args.no_browser,
        reports=Path(args.reports),
    )
