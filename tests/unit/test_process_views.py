"""``show-servers-and-processes`` against ``mdsstat``: the notes of ``status --cross-check``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mdstools import process_views
from mdstools.commands import ha, mdsstat
from mdstools.records import ProcessState

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def read(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode("utf-8")


API = ha.parse_servers_and_processes(read("show_servers_and_processes/lab_r81.10.txt"))


def test_views_of_the_same_server_agree() -> None:
    table = mdsstat.parse_mdsstat(read("mdsstat/lab_r81.10_all_up.txt"))
    assert process_views.differences(table, API) == []
    assert process_views.note("mds1", table, API) == (
        "mds1: show-servers-and-processes agrees with mdsstat"
    )


def test_a_process_down_in_one_view_is_named() -> None:
    table = mdsstat.parse_mdsstat(read("mdsstat/lab_r81.10_all_up.txt"))
    row = table.rows[1]
    down = replace(row, processes={**row.processes, "FWM": ProcessState("down")})
    table = replace(table, rows=(table.rows[0], down, *table.rows[2:]))
    assert process_views.differences(table, API) == [
        f"{row.name} FWM: down in mdsstat, up in the API"
    ]
    assert process_views.note("mds1", table, API).startswith(
        "mds1: show-servers-and-processes differs from mdsstat: "
    )


def test_a_row_only_one_view_lists_is_named() -> None:
    table = mdsstat.parse_mdsstat(read("mdsstat/lab_r81.10_all_up.txt"))
    assert process_views.differences(table, API[:-1]) == [f"{API[-1].name}: only in mdsstat"]
    assert process_views.differences(replace(table, rows=table.rows[:-1]), API) == [
        f"{API[-1].name}: only in the API"
    ]


def test_a_process_only_the_api_lists_is_no_difference() -> None:
    table = mdsstat.parse_mdsstat(read("mdsstat/lab_r81.10_all_up.txt"))
    extra = [replace(r, processes={**r.processes, "FWMHA": ProcessState("up", 1)}) for r in API]
    assert process_views.differences(table, extra) == []


@pytest.mark.parametrize(
    ("version", "has"),
    [
        ("R80.40", False),
        ("R81", False),
        ("R81.10", True),
        ("R81.20", True),
        ("R82", True),
        (None, False),
    ],
)
def test_the_releases_with_the_api_view(version: str | None, has: bool) -> None:
    assert process_views.has_api_view(version) is has
