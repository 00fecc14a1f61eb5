"""The lab's rate limit below one call per second: ``--api-rate-limit 0.5`` admits one call
in any two seconds (the meter's window is ``1 / rate`` seconds), not one a second."""

from __future__ import annotations

from mdstools.lab.api_costs import ApiCosts, ApiMeter


def test_half_a_call_per_second_refuses_a_call_one_second_after_the_last() -> None:
    meter = ApiMeter(ApiCosts(rate_limit=0.5))
    admitted = [meter.admit("mds1", float(t), 1.0) is None for t in range(10)]
    assert sum(admitted) <= 5, admitted


def test_a_call_two_seconds_after_the_last_is_admitted_at_half_a_call_per_second() -> None:
    meter = ApiMeter(ApiCosts(rate_limit=0.5))
    assert meter.admit("mds1", 0.0, 1.0) is None
    assert meter.admit("mds1", 1.5, 1.0) is not None
    assert meter.admit("mds1", 2.0, 1.0) is None


def test_two_calls_per_second_keep_a_one_second_window() -> None:
    meter = ApiMeter(ApiCosts(rate_limit=2))
    admitted = [meter.admit("mds1", t / 4, 1.0) is None for t in range(8)]
    assert sum(admitted) == 4, admitted
