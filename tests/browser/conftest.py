"""The browser tests: JupyterLab, started by mdstools' own launcher, driven in Chromium.

* Debian's Chromium (``/usr/bin/chromium``, installed by ``make sysdeps``) through Playwright
  for Python; Playwright's own browsers are never downloaded. Missing Chromium fails the
  test as root or when ``CI`` is set (``make test`` installs it then), and skips otherwise.
* Each test gets its own lab (time scale 0.002) and JupyterLab on a free 127.0.0.1 port,
  started with :class:`mdstools.jupyter.JupyterLab` and :func:`mdstools.jupyter.environment`
  (the ``MDSTOOLS_*`` variables the runbooks read), on a temporary copy of ``runbooks/``:
  the executed notebooks, checkpoints and reports stay in the test's temporary directory and
  the repository is not modified. JupyterLab's settings, workspaces and runtime files are
  temporary too.
* Screenshots go to ``$MDSTOOLS_SCREENSHOTS`` when set, else to the test's ``tmp_path``; the
  paths are printed (``pytest -s`` or the captured output of a failure). A failing test
  leaves a ``FAILED-<test>.png`` there too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mdstools import jupyter
from mdstools.lab import runtime, scenarios

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
SCALE = 0.002
SCREENSHOTS_ENV = "MDSTOOLS_SCREENSHOTS"

# JupyterLab user settings for the tests: no news/update pop-up over the notebook; every cell
# rendered (JupyterLab's default windowing leaves cells outside the viewport out of the page,
# so their outputs could not be read).
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def chromium_or_skip() -> str:
    """The Chromium executable; a clear skip (not root, not CI) or failure when missing."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return str(CHROMIUM)
    reason = (
        f"Debian's Chromium is not installed ({CHROMIUM}): `make sysdeps` (as root, or with "
        "sudo) installs it; Playwright's own browsers are not used"
    )
    if os.environ.get("CI") or os.geteuid() == 0:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module: Playwright's sync API marks an event loop as
    running in this thread while it is open, which would break later tests of the process
    that use asyncio or Playwright themselves."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so that fixtures know whether the test failed."""
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


def screenshot_dir(tmp_path: Path) -> Path:
    """``$MDSTOOLS_SCREENSHOTS`` or ``tmp_path/screenshots``."""
    env = os.environ.get(SCREENSHOTS_ENV)
    target = Path(env) if env else tmp_path / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    return target


@dataclass
class Shots:
    """Screenshots of one test, named ``<test>-<NN>-<what>.png``."""

    dir: Path
    prefix: str
    taken: list[Path]

    def take(self, page: Any, what: str, element: Any = None) -> Path:
        """A screenshot of the page (or of ``element``); prints and returns its path."""
        path = self.dir / f"{self.prefix}-{len(self.taken) + 1:02d}-{what}.png"
        if element is not None:
            element.screenshot(path=str(path))
        else:
            page.screenshot(path=str(path))
        self.taken.append(path)
        print(f"screenshot: {path}")
        return path


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh browser context and page, 1400x1000; a FAILED-<test>.png when the test fails."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            name = re.sub(r"[^\w.-]", "_", request.node.name)
            path = screenshot_dir(tmp_path) / f"FAILED-{name}.png"
            try:
                pg.screenshot(path=str(path))
                print(f"screenshot of the failure: {path}")
            except Exception as exc:  # the page may be gone; the failure says more
                print(f"no screenshot of the failure: {exc}")
        context.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest, tmp_path: Path) -> Shots:
    """Where this test's screenshots go."""
    name = re.sub(r"[^\w.-]", "_", request.node.name.removeprefix("test_"))
    return Shots(screenshot_dir(tmp_path), name, [])


@dataclass
class Session:
    """A lab and the JupyterLab serving a copy of the runbooks with its inventory."""

    lab_dir: Path
    notebooks: Path
    reports: Path
    ticket: str
    server: jupyter.JupyterLab

    def url(self, notebook: str) -> str:
        return self.server.notebook_url(notebook)


def _settings_dir(base: Path) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    for name, value in SETTINGS.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    return base


@pytest.fixture
def jupyterlab(tmp_path: Path) -> Iterator[Callable[[str], Session]]:
    """Start the lab with a scenario and JupyterLab on it; both stop at the end."""
    started: list[Session] = []

    def start(scenario: str) -> Session:
        base = tmp_path / scenario
        lab_dir = base / "lab"
        runtime.up(lab_dir, scenarios.LabOptions(scenario=scenario, time_scale=SCALE))
        work = base / "work"
        notebooks = work / "runbooks"
        shutil.copytree(jupyter.runbooks_dir(), notebooks)
        ticket = f"BROWSER-{scenario}"
        env = jupyter.environment(lab_dir / "inventory.yml", ticket, SCALE)
        env.update(
            JUPYTERLAB_SETTINGS_DIR=str(_settings_dir(base / "jupyter" / "settings")),
            JUPYTERLAB_WORKSPACES_DIR=str(base / "jupyter" / "workspaces"),
            JUPYTER_RUNTIME_DIR=str(base / "jupyter" / "runtime"),
            MDSTOOLS_LOCK_DIR=str(base / "locks"),
        )
        server = jupyter.JupyterLab(notebooks, env=env, log=base / "jupyter.log")
        session = Session(lab_dir, notebooks, work / "reports", ticket, server)
        started.append(session)
        try:
            server.start()
        except jupyter.JupyterError as exc:
            log = (base / "jupyter.log").read_text(errors="replace")[-3000:]
            pytest.fail(f"{exc}\n{log}", pytrace=False)
        return session

    try:
        yield start
    finally:
        for s in started:
            s.server.stop()
            runtime.down(s.lab_dir)
