"""Files and folders an operator names, met as an attacker would name them: bad input is
exit 2 naming the file, never a hang, a traceback or memory exhausted; a summary says what
would stop the real campaign and nothing else.

- ``mdstools plan --baseline FILE``: a deeply nested JSON array is refused as not JSON.
- ``plan --baseline /dev/zero`` and an inventory's ``timings: /dev/zero``: refused as not a
  regular file, before anything is read.
- ``timings:`` naming a FIFO (or ``/dev/stdin`` on a terminal): refused without blocking.
- a rehearsal interrupted by Ctrl-C does not list the interrupt under "what would have
  stopped the real campaign".
- a real ticket whose id is another ticket's rehearsal id (``CHG-1-rehearsal``) holds the
  folder ``rehearse --ticket CHG-1`` writes; the refusal does not call that record an
  earlier rehearsal."""

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


def test_a_deeply_nested_baseline_is_refused_as_bad_input(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BadInput, match="not JSON"):
        estimate.read_document(deep)


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
