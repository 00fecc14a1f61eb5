"""Adversarial inputs of the change-window estimate and the rehearsal's summary. Each defect
is a strict xfail: the test states the behaviour the documentation promises (bad input is
exit 2 naming the file; a summary says what would stop the real campaign), and passes once
the product does.

- ``mdstools plan --baseline FILE``: a deeply nested JSON array ends in a RecursionError
  traceback (exit 1) instead of the "not JSON" refusal ``lab up --like`` gives.
- ``plan --baseline /dev/zero`` and an inventory's ``timings: /dev/zero``: the file is read
  whole before its size is checked, so the command eats memory until a MemoryError.
- ``timings:`` naming a FIFO (or ``/dev/stdin`` on a terminal): every command that loads
  the inventory blocks forever on the read.
- a rehearsal interrupted by Ctrl-C says under "what would have stopped the real campaign"
  that the operator's interrupt would; a discovery aborted on the real servers is listed
  under "phases on the twin".
- a real ticket whose id is another ticket's rehearsal id (``CHG-1-rehearsal``) holds the
  folder ``rehearse --ticket CHG-1`` writes; the refusal calls that record an earlier
  rehearsal."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mdstools import durations, estimate, rehearsal
from mdstools.errors import BadInput, InventoryError, MdstoolsError
from mdstools.phases import phase

MEMORY_LIMIT = 1 << 30


def _limited(code: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    """``code`` run by this Python with at most :data:`MEMORY_LIMIT` bytes of address space."""
    prelude = (
        "import resource\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


@pytest.mark.xfail(strict=True, reason="estimate.read_document lets RecursionError through")
def test_a_deeply_nested_baseline_is_refused_as_bad_input(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BadInput, match="not JSON"):
        estimate.read_document(deep)


@pytest.mark.xfail(strict=True, reason="estimate.read_document reads the whole file first")
def test_a_baseline_without_end_is_refused_by_its_size() -> None:
    done = _limited(
        """
        from pathlib import Path
        from mdstools import estimate
        from mdstools.errors import BadInput
        try:
            estimate.read_document(Path("/dev/zero"))
        except BadInput as exc:
            print("refused:", exc)
        """,
        timeout_s=120,
    )
    assert done.returncode == 0 and "refused:" in done.stdout, done.stderr[-500:]


@pytest.mark.xfail(strict=True, reason="durations.read_file reads the whole file first")
def test_a_timings_file_without_end_is_refused_by_its_size() -> None:
    done = _limited(
        """
        from pathlib import Path
        from mdstools import durations
        from mdstools.errors import InventoryError
        try:
            durations.read_file(Path("/dev/zero"))
        except InventoryError as exc:
            print("refused:", exc)
        """,
        timeout_s=120,
    )
    assert done.returncode == 0 and "refused:" in done.stdout, done.stderr[-500:]


@pytest.mark.xfail(strict=True, reason="durations.read_file blocks on a FIFO")
def test_a_timings_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "timings.yml"
    os.mkfifo(fifo)
    try:
        done = _limited(
            f"""
            from pathlib import Path
            from mdstools import durations
            from mdstools.errors import InventoryError
            try:
                durations.read_file(Path({str(fifo)!r}))
            except InventoryError as exc:
                print("refused:", exc)
            """,
            timeout_s=20,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("reading the timings FIFO blocked")
    assert "refused:" in done.stdout, done.stderr[-500:]


def test_a_regular_oversized_timings_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "timings.yml"
    big.write_text("reboot: 1\n" * 100_000)
    with pytest.raises(InventoryError, match="at most"):
        durations.read_file(big)


class _Aborted:
    def __init__(self, phase_id: str) -> None:
        self.phase = phase(phase_id)
        self.verdict = "aborted"
        self.cause = "aborted by SIGINT during the run"
        self.notebook = Path(f"/r/{self.phase.notebook}")
        self.run_id = "r-" + phase_id
        self.unreachable = False


@pytest.mark.xfail(strict=True, reason="an interrupt is reported as what would stop the campaign")
def test_an_interrupted_rehearsal_does_not_blame_the_campaign(tmp_path: Path) -> None:
    summary = rehearsal.Summary(
        ticket="CHG-1",
        name="CHG-1-rehearsal",
        environment="prod",
        folder=tmp_path / "CHG-1-rehearsal",
        scenario="default",
    )
    summary.add_outcome(_Aborted("03"), tmp_path)
    summary.verdict = "aborted"
    text = rehearsal.render(summary)
    assert "ABORTED" in text
    assert "what would have stopped the real campaign" not in text


@pytest.mark.xfail(strict=True, reason="a real ticket's record is called an earlier rehearsal")
def test_a_real_ticket_named_like_the_rehearsal_is_not_called_a_rehearsal(
    tmp_path: Path,
) -> None:
    layout = rehearsal.Layout(reports=tmp_path, ticket="CHG-1")
    layout.folder.mkdir(parents=True)
    (layout.folder / "manifest.json").write_text("{}")
    (layout.folder / "journal.jsonl").write_text("")
    with pytest.raises(MdstoolsError) as refused:
        rehearsal.check_new(layout)
    assert "holds a rehearsal" not in str(refused.value)
