"""Fixtures for testing the lab without SSH: a deployment and a way to run commands on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from mdstools.lab import scenarios
from mdstools.lab.model import Deployment
from mdstools.lab.shell import BufferSink, TextSource
from mdstools.lab.terminal import run_exec

PROFILE = "source /etc/profile.d/CP.sh; "


@dataclass
class Ran:
    rc: int
    out: str
    err: str


Runner = Callable[..., Ran]


def make_lab(scenario: str = "default", **kw: object) -> Deployment:
    opts = scenarios.LabOptions(scenario=scenario, **kw)  # type: ignore[arg-type]
    if opts.time_scale is None:
        opts.time_scale = 0.001
    dep = scenarios.create(opts)
    dep.scheduler.start()
    return dep


@pytest.fixture
def lab() -> Iterator[Deployment]:
    dep = make_lab()
    yield dep
    dep.scheduler.stop()


def run_on(
    dep: Deployment,
    server: str,
    command: str,
    stdin: str = "",
    profile: bool = True,
    user: str = "admin",
) -> Ran:
    """Run ``command`` as an SSH exec would, optionally after sourcing CP.sh."""
    out, err = BufferSink(), BufferSink()
    s = dep.server(server)
    rc = run_exec(dep, s, user, (PROFILE if profile else "") + command, TextSource(stdin), out, err)
    return Ran(rc, out.getvalue(), err.getvalue())


@pytest.fixture
def run(lab: Deployment) -> Runner:
    """``run("mds1", "mdsstat")`` on the default lab (CP environment loaded)."""

    def _run(server: str, command: str, stdin: str = "", profile: bool = True) -> Ran:
        return run_on(lab, server, command, stdin, profile)

    return _run


LabFactory = Callable[..., Deployment]


@pytest.fixture
def labs() -> Iterator[LabFactory]:
    """Make labs of any scenario for one test; their schedulers stop afterwards."""
    made: list[Deployment] = []

    def factory(scenario: str = "default", **kw: object) -> Deployment:
        dep = make_lab(scenario, **kw)
        made.append(dep)
        return dep

    yield factory
    for dep in made:
        dep.scheduler.stop()
