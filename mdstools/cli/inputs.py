"""What every command checks of its input: ``-p`` parameters, the inventory, the ticket id,
the reports folder; and who runs it. Each check prints its refusal on stderr."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mdstools.errors import MdstoolsError, ParameterError, shown


def parse_params(values: list[str]) -> dict[str, Any]:
    """``-p KEY=VALUE`` pairs; true/false/numbers/JSON lists are typed, the rest are strings.

    Raises ValueError (naming the pair) for a pair without ``=`` or a name given twice.
    """
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"-p {shown(item)}: use KEY=VALUE, e.g. -p confirm=true")
        if key in out:
            raise ValueError(f"-p {shown(key)} is given twice; give each parameter once")
        low = raw.strip().lower()
        if low in ("true", "yes", "on"):
            value: Any = True
        elif low in ("false", "no", "off"):
            value = False
        else:
            try:
                value = json.loads(raw)
            except (ValueError, RecursionError):
                value = raw
        out[key] = value
    return out


def check_params(
    params: dict[str, Any], phases: list[Any], command: str, operator: str = ""
) -> dict[str, Any] | None:
    """``params`` (and ``--operator``) checked against the parameter table for ``phases``
    (None after printing the error: the caller exits 2)."""
    from mdstools.phases import BY_NAME
    from mdstools.phases import check_params as check

    try:
        if operator:
            BY_NAME["operator"].validate(operator)
        return check(params, phases)
    except ParameterError as exc:
        print(f"mdstools {command}: {exc}", file=sys.stderr)
        return None


def load_inventory(path: str, command: str, phase_ids: Sequence[str] = ()) -> Any:
    """The inventory at ``path``, or None after printing why it was refused (also when it
    lacks what one of ``phase_ids`` needs, such as the upgrade package)."""
    from mdstools import inventory
    from mdstools.procedure import steps

    try:
        inv = inventory.load(path)
        for phase_id in phase_ids:
            steps.require_inputs(phase_id, inv)
        return inv
    except MdstoolsError as exc:
        print(f"mdstools {command}: {exc}", file=sys.stderr)
        return None


def reports_folder(args: argparse.Namespace) -> Path:
    """``--reports`` as an absolute path."""
    return Path(args.reports).expanduser().resolve()


def check_ticket(command: str, ticket: str) -> bool:
    """Whether ``ticket`` is a usable ticket id (when not, the message is printed)."""
    from mdstools import audit

    try:
        audit.validate_ticket(ticket)
    except MdstoolsError as exc:
        print(f"mdstools {command}: {exc}", file=sys.stderr)
        return False
    return True


def check_report(reports: Path, ticket: str) -> None:
    """The reports folder (or the folder it will be created in) takes new files and the
    ticket's record verifies; nothing is created here, so a refused run leaves no trace."""
    from mdstools import audit, fsio

    folder = reports / ticket
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    fsio.check_writable(folder)
    audit.check_before_write(reports / ticket)


def login_name() -> str:
    """Who runs the command when ``--operator`` does not say."""
    import getpass

    return getpass.getuser()
