"""The ``mdstools lab up``/``lab serve`` options of the Management API cost model.

The command line declares ``--api-latency``, ``--api-init-after-boot``, ``--api-rate-limit``
and ``--api-max-sessions`` (``docs/durations.md``) and reaches these through
``mdstools.lab.scenarios``: :func:`options` into ``LabOptions``, :func:`problem` to refuse
bad values, :func:`status_line` for ``lab status``.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from mdstools.lab.api_costs import SESSION_LIMIT

MAX_SESSIONS = 10_000


def options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``LabOptions`` keywords the options give."""
    sessions = args.api_max_sessions
    return {
        "api_latency": args.api_latency,
        "api_init_after_boot": args.api_init_after_boot,
        "api_rate_limit": args.api_rate_limit,
        "max_sessions": SESSION_LIMIT if sessions is None else sessions,
    }


def problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the options, if anything."""
    for flag, value in (
        ("--api-latency", args.api_latency),
        ("--api-init-after-boot", args.api_init_after_boot),
        ("--api-rate-limit", args.api_rate_limit),
    ):
        if value is not None and not (math.isfinite(value) and 0 <= value <= 86400):
            what = "calls per product second" if flag == "--api-rate-limit" else "product seconds"
            return f"{flag} must be a number of {what} from 0 to 86400"
    if args.api_max_sessions is not None and not 1 <= args.api_max_sessions <= MAX_SESSIONS:
        return f"--api-max-sessions must be between 1 and {MAX_SESSIONS}"
    return None


def status_line(api: dict[str, Any]) -> str:
    """One line of ``lab status``: the API's counters since ``lab up``."""
    refused = sum(int(n) for n in dict(api.get("refused") or {}).values())
    limit = dict(api.get("settings") or {}).get("session_limit", SESSION_LIMIT)
    return (
        f"api: {api.get('calls', 0)} calls, {api.get('logins', 0)} logins, "
        f"{api.get('logouts', 0)} logouts, {api.get('open_sessions', 0)} sessions open "
        f"(peak {api.get('max_concurrent_sessions', 0)} on one server, limit {limit}), "
        f"{api.get('expired', 0)} expired, {refused} refused, "
        f"{float(api.get('paid_seconds', 0.0)):g} s paid"
    )
