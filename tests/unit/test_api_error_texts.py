"""The texts of the Management API's errors: one period where the API's message ends with
one, a timed-out exec named by its first line only, the lab's options in their units."""

from __future__ import annotations

import argparse

from mdstools.errors import ApiError, CommandTimeout
from mdstools.lab import api_options


def test_an_api_message_ending_with_a_period_is_not_followed_by_another() -> None:
    exc = ApiError(
        "generic_server_initializing", "Server is initializing. Please try again later.", "login"
    )
    assert "later.." not in str(exc)
    assert "Please try again later. the API is starting" in str(exc)
    assert exc.api_message.endswith("later.")


def test_a_timed_out_script_is_named_by_its_first_line() -> None:
    script = "umask 077; " + "x" * 5000 + "\nsecond line"
    exc = CommandTimeout("mds1", script, 30)
    assert len(str(exc)) < 400
    assert "umask 077; xxx" in str(exc) and "...' did not finish within 30 s" in str(exc)
    assert exc.command == script
    assert "'sleep 5' did not finish within 1 s" in str(CommandTimeout("mds1", "sleep 5", 1))


def test_the_rate_limit_option_says_its_unit() -> None:
    args = argparse.Namespace(
        api_latency=None, api_init_after_boot=None, api_rate_limit=-1.0, api_max_sessions=None
    )
    assert api_options.problem(args) == (
        "--api-rate-limit must be a number of calls per product second from 0 to 86400"
    )
    args = argparse.Namespace(
        api_latency=-1.0, api_init_after_boot=None, api_rate_limit=None, api_max_sessions=None
    )
    assert api_options.problem(args) == (
        "--api-latency must be a number of product seconds from 0 to 86400"
    )
