"""Shared by the runbook tests: a lab per test, the CLI as a user runs it (minimal env)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import nbformat
import pytest

from mdstools.lab import runtime, scenarios

SCALE = "0.002"


class Lab:
    def __init__(self, path: Path, scenario: str) -> None:
        self.dir = path
        self.scenario = scenario
        self.inventory = path / "lab" / "inventory.yml"
        self.reports = path / "reports"
        self.locks = path / "locks"
        self.secrets = [
            (path / "lab" / "secrets" / n).read_text().strip()
            for n in ("mds_password", "expert_password")
        ]

    def env(self, locks: Path | None = None) -> dict[str, str]:
        """The minimal environment of a scheduled run; the host-wide lock directory is this
        test's own (``locks``, default ``<test dir>/locks``), never the user's."""
        return {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/root"),
            "MDSTOOLS_LOCK_DIR": str(locks or self.locks),
        }

    def cli(
        self,
        *args: str,
        timeout: float = 500,
        cwd: Path | None = None,
        locks: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mdstools", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env=self.env(locks),
            cwd=cwd or self.dir,
        )

    def spawn(self, argv: list[str], capture: bool = False) -> subprocess.Popen[bytes]:
        """``argv`` started as a scheduler starts it (no stdin, the minimal environment, in
        its own session so that a test can kill the whole tree); its output is discarded
        unless ``capture`` (then stdout and stderr are pipes of bytes)."""
        out = subprocess.PIPE if capture else subprocess.DEVNULL
        return subprocess.Popen(
            argv,
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            env=self.env(),
            cwd=self.dir,
            start_new_session=True,
        )

    def campaign_args(self, ticket: str, *extra: str, scale: str | None = SCALE) -> list[str]:
        """The arguments of ``mdstools campaign`` on this lab, confirmed, at ``scale`` (none:
        the lab's own time scale reaches the runbooks)."""
        args = ["campaign", "-i", str(self.inventory), "--ticket", ticket]
        args += ["--reports", str(self.reports), "--confirm"]
        if scale is not None:
            args += ["-p", f"time_scale={scale}"]
        return [*args, *extra]

    def campaign_argv(self, ticket: str, *extra: str, scale: str | None = SCALE) -> list[str]:
        """The whole command line of :meth:`campaign_args`, for a spawned process."""
        return [sys.executable, "-m", "mdstools", *self.campaign_args(ticket, *extra, scale=scale)]

    def campaign(self, ticket: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.cli(*self.campaign_args(ticket, *extra))

    def notebook(self, ticket: str, name: str) -> nbformat.NotebookNode:
        return nbformat.read(str(self.reports / ticket / name), as_version=4)

    def control(self, **req: object) -> object:
        return runtime.control(self.dir / "lab", dict(req))


def start(tmp_path: Path, scenario: str, mds: int = 2, mlm: int = 1, domains: int = 5) -> Lab:
    """A lab of ``scenario`` with ``mds`` MDSs, ``mlm`` log servers and ``domains`` domains."""
    opts = scenarios.LabOptions(
        scenario=scenario, mds=mds, mlm=mlm, domains=domains, time_scale=float(SCALE)
    )
    runtime.up(tmp_path / "lab", opts)
    return Lab(tmp_path, scenario)


class Factory(Protocol):
    def __call__(self, scenario: str, mds: int = 2, mlm: int = 1, domains: int = 5) -> Lab: ...


@pytest.fixture(autouse=True)
def _own_lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs in this process and the kernels it starts use this test's lock directory."""
    monkeypatch.setenv("MDSTOOLS_LOCK_DIR", str(tmp_path / "locks"))


@pytest.fixture
def lab_factory(tmp_path: Path) -> Iterator[Factory]:
    started: list[Path] = []

    def make(scenario: str, mds: int = 2, mlm: int = 1, domains: int = 5) -> Lab:
        lab = start(tmp_path / scenario, scenario, mds=mds, mlm=mlm, domains=domains)
        started.append(lab.dir / "lab")
        return lab

    yield make
    for d in started:
        runtime.down(d)


def top_cell(nb: nbformat.NotebookNode) -> str:
    return str(nb.cells[0].source)


def all_text(path: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in path.rglob("*") if p.is_file())


def assert_no_secrets(lab: Lab) -> None:
    text = all_text(lab.reports)
    for secret in lab.secrets:
        assert secret not in text, "a secret value leaked into reports/"
