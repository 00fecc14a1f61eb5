"""Gaia snapshot commands and parsers (B1): the contract's samples, variants and garbage;
the snapshot's name."""

from __future__ import annotations

import pytest

from mdstools.commands import snapshot
from mdstools.commands.base import Mode
from mdstools.errors import ParseError
from mdstools.procedure.snapshots import snapshot_name
from mdstools.records import SnapshotDetail, SnapshotList

G = 1024**3
LISTING = """\
Restore points:
---------------
mdstools_CHG1_mds1
before_r81_20
Snapshot mdstools_CHG2_mds1 is being created (40% done)
Creation of an additional snapshot on the backup volume can take up to 7.8G. \
Available space for snapshots: 52.5G
"""
DETAIL = """\
name: mdstools_CHG1_mds1
description: mdstools CHG1 before upgrade
date: 2026-12-07T04:00:00Z
size: 7.8G
version: R81.10
status: complete
"""


def test_show_snapshots_by_structure() -> None:
    got = snapshot.parse_snapshots(LISTING)
    assert got == SnapshotList(
        complete=("mdstools_CHG1_mds1", "before_r81_20"),
        creating={"mdstools_CHG2_mds1": 40},
        needed_bytes=round(7.8 * G),
        available_bytes=round(52.5 * G),
        space_line=LISTING.splitlines()[-1],
    )


def test_show_snapshots_empty_list_megabytes_crlf_and_unknown_lines() -> None:
    text = (
        "Restore points:\r\n---------------\r\n\r\nSome banner the parser does not know\r\n"
        "Creation of an additional snapshot on the backup volume can take up to 900M. "
        "Available space for snapshots: 1.5G\r\n"
    )
    got = snapshot.parse_snapshots(text)
    assert got.complete == () and got.creating == {}
    assert (got.needed_bytes, got.available_bytes) == (900 * 1024**2, round(1.5 * G))


def test_show_snapshots_without_space_line_is_none_not_a_guess() -> None:
    got = snapshot.parse_snapshots("Restore points:\n---------------\ns1\n")
    assert got.complete == ("s1",)
    assert got.needed_bytes is None and got.available_bytes is None and got.space_line == ""


def test_show_snapshots_unreadable_figure_and_unknown_percentage() -> None:
    text = (
        "Restore points:\n---\nSnapshot s2 is being created\n"
        "Creation of an additional snapshot can take up to lots. "
        "Available space for snapshots: 3G\n"
    )
    got = snapshot.parse_snapshots(text)
    assert got.creating == {"s2": None}
    assert got.needed_bytes is None and got.available_bytes == 3 * G


@pytest.mark.parametrize(
    "text", ["", "CLINFR0329  Invalid command:'show snapshots'.\n", "\x00\x01 garbage\n" * 3]
)
def test_show_snapshots_garbage_is_a_parse_error_that_keeps_the_text(text: str) -> None:
    with pytest.raises(ParseError) as err:
        snapshot.show_snapshots().parse(text)
    assert err.value.raw == text


def test_show_snapshot_all() -> None:
    assert snapshot.parse_detail(DETAIL) == SnapshotDetail(
        name="mdstools_CHG1_mds1",
        description="mdstools CHG1 before upgrade",
        date="2026-12-07T04:00:00Z",
        size="7.8G",
        size_bytes=round(7.8 * G),
        version="R81.10",
        status="complete",
    )


def test_show_snapshot_all_missing_keys_and_garbage() -> None:
    got = snapshot.parse_detail("Name: s1\nStatus: In Progress\nsomething else\n")
    assert got == SnapshotDetail(name="s1", status="in progress")
    with pytest.raises(ParseError):
        snapshot.show_snapshot("s1").parse("Snapshot s1 does not exist\n")


@pytest.mark.parametrize(
    ("text", "size"),
    [("7.8G", round(7.8 * G)), ("512M", 512 * 1024**2), ("2 GB", 2 * G), ("1T", 1024**4)],
)
def test_sizes(text: str, size: int) -> None:
    assert snapshot.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "-1G", "7.8", "lots"])
def test_not_sizes(text: str) -> None:
    assert snapshot.parse_size(text) is None


def test_commands_are_clish_and_quote_the_description() -> None:
    add = snapshot.add_snapshot("mdstools_CHG1_mds1", "mdstools CHG1 before upgrade")
    assert add.line == 'add snapshot mdstools_CHG1_mds1 desc "mdstools CHG1 before upgrade"'
    assert add.mode is Mode.CLISH and add.mutating and add.ok_codes == (0, 1)
    assert snapshot.delete_snapshot("s1").mutating
    assert not snapshot.show_snapshots().mutating
    assert snapshot.show_snapshot("s1").line == "show snapshot s1 all"


@pytest.mark.parametrize("name", ["a b", 'a"b', "a'b", "a\\b", "x" * 65, ""])
def test_names_that_clish_cannot_take_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        snapshot.add_snapshot(name, "d")


@pytest.mark.parametrize("desc", ['say "hi"', "a\nb", "back\\slash", "x" * 101])
def test_descriptions_that_break_the_quoting_are_refused(desc: str) -> None:
    with pytest.raises(ValueError):
        snapshot.add_snapshot("s1", desc)


def test_snapshot_name() -> None:
    assert snapshot_name("CHG1", "mds1") == "mdstools_CHG1_mds1"
    odd = snapshot_name("CHG.1", "mds 1/x")
    assert odd.startswith("mdstools_CHG_1_mds_1_x_") and snapshot.NAME.fullmatch(odd)


def test_long_snapshot_names_are_cut_with_a_hash_and_stay_unique() -> None:
    ticket = "T" * 60
    a, b = snapshot_name(ticket, "mds1"), snapshot_name(ticket, "mds2")
    assert len(a) == len(b) == 64 and a != b
    assert a.startswith("mdstools_TTT") and snapshot.NAME.fullmatch(a)
    assert snapshot_name(ticket, "mds1") == a
