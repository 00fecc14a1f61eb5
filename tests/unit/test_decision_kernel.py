"""Decisions and failures in a real kernel, driven over the Jupyter protocol (no browser).

What JupyterLab does under "Run All": it sends every cell's execute_request at once, then,
when the engineer clicks a button, a ``comm_msg`` of the button's widget. The cell that
awaits the decision must receive that click while the cells behind it stay queued; a
failure must show as a banner, and the queued cells must not run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from mdstools.runbook import ensure_kernel

pytestmark = pytest.mark.timeout(120)

SHOW_CONFIRM = """\
from mdstools import ui
seen = []
d = ui.confirm("confirm", "go?", "confirm", None, True,
               lambda name, value, how: seen.append((name, value, how)), timeout_s={timeout})
buttons = {{b.description: b.model_id for b in d.widget.children[1].children}}
print(buttons["{label}"])
"""


@pytest.fixture
def manager() -> Iterator[KernelManager]:
    """A fresh kernel of the runbooks' kernelspec."""
    km = KernelManager(kernel_name=ensure_kernel())
    km.start_kernel()
    try:
        yield km
    finally:
        km.shutdown_kernel(now=True)


@pytest.fixture
def kernel(manager: KernelManager) -> Iterator[BlockingKernelClient]:
    """A client on the fresh kernel."""
    kc = manager.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        yield kc
    finally:
        kc.stop_channels()


def collect(kc: BlockingKernelClient, msg_id: str, timeout: float = 30) -> list[dict[str, Any]]:
    """The iopub messages of request ``msg_id`` up to its idle status."""
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=deadline - time.monotonic())
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        out.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return out
    raise AssertionError(f"request {msg_id} did not finish within {timeout} s")


def text(msgs: list[dict[str, Any]]) -> str:
    """Everything the messages show: streams, rich outputs, error tracebacks."""
    parts = []
    for m in msgs:
        c = m["content"]
        parts.append(c.get("text", ""))
        parts.extend(str(v) for v in c.get("data", {}).values())
        parts.extend(c.get("traceback", []))
    return "\n".join(parts)


def click(kc: BlockingKernelClient, model_id: str) -> None:
    """What the browser sends when a Button widget is clicked."""
    msg = kc.session.msg(
        "comm_msg",
        {"comm_id": model_id, "data": {"method": "custom", "content": {"event": "click"}}},
    )
    kc.shell_channel.send(msg)


def show_confirm(kc: BlockingKernelClient, label: str, timeout: float = 30) -> str:
    first = kc.execute(SHOW_CONFIRM.format(timeout=timeout, label=label))
    shown = collect(kc, first)
    model = [m["content"]["text"] for m in shown if m["msg_type"] == "stream"]
    assert model, text(shown)
    return str(model[0].strip())


def test_run_all_a_click_reaches_the_awaiting_cell_and_the_next_cell_runs_after(
    kernel: BlockingKernelClient,
) -> None:
    """Cell B awaits the decision, cell C is queued behind it; the click sent 1 s later
    ends B at once, then C runs: in order, nothing raced past the decision."""
    model = show_confirm(kernel, "Confirm")
    t0 = time.monotonic()
    waiting = kernel.execute("import time\nawait d\nb_done = time.monotonic()\nd.value()")
    queued = kernel.execute("c_started = time.monotonic()\nprint(c_started >= b_done, seen)")
    time.sleep(1.0)
    click(kernel, model)
    b = collect(kernel, waiting)
    b_took = time.monotonic() - t0
    c = collect(kernel, queued)
    assert "waiting for your decision" in text(b), "the countdown showed in the waiting cell"
    assert "True" in text(b), text(b)
    assert 0.9 < b_took < 5, f"the click ended the wait ({b_took:.1f} s)"
    assert "True [('confirm', True, 'widget')]" in text(c), text(c)


def test_declined_in_run_all_stops_there_with_a_banner_and_the_queued_cell_never_runs(
    kernel: BlockingKernelClient,
) -> None:
    """Decline: the awaiting cell raises DecisionMissing, shown as a banner (no Python
    frames); the kernel aborts the queued cell."""
    install = kernel.execute(
        "from mdstools import ui\nui.install_error_banners("
        "lambda exc: ui.banner('Stopped', [exc.message, 'next: ' + exc.hint], False) or exc.hint)"
    )
    collect(kernel, install)
    model = show_confirm(kernel, "Decline")
    waiting = kernel.execute("await d\nd.value()")
    queued = kernel.execute("print('queued cell ran')")
    time.sleep(0.5)
    click(kernel, model)
    b = collect(kernel, waiting)
    reply = kernel.get_shell_msg(timeout=10)
    while reply["parent_header"].get("msg_id") != waiting:
        reply = kernel.get_shell_msg(timeout=10)
    assert reply["content"]["status"] == "error", "the cell still ends in error"
    shown = text(b)
    assert "decision &#x27;confirm&#x27; was declined" in shown or "was declined" in shown
    assert "Traceback" not in shown and 'File "' not in shown, shown
    errors = [m["content"] for m in b if m["msg_type"] == "error"]
    assert [e["traceback"] for e in errors] == [
        [
            "DecisionMissing: decision 'confirm' was declined (Decline); nothing after it ran. "
            "run the runbook again when the change is approved"
        ]
    ], "one line, no frames"
    c = collect(kernel, queued)
    assert "queued cell ran" not in text(c)
    reply = kernel.get_shell_msg(timeout=10)
    assert reply["content"]["status"] == "aborted", reply["content"]


def test_an_unclicked_decision_times_out_without_blocking_the_kernel(
    kernel: BlockingKernelClient,
) -> None:
    """No click: after decision_timeout_s the await returns and value() names the decision
    and the parameter to raise."""
    show_confirm(kernel, "Confirm", timeout=1.5)
    t0 = time.monotonic()
    waiting = kernel.execute("await d\nprint(d.timed_out)\nd.value()")
    b = collect(kernel, waiting)
    assert 1.4 < time.monotonic() - t0 < 6
    shown = text(b)
    assert "True" in shown and "was not made within 1.5 s" in shown, shown


def test_an_interrupted_wait_leaves_the_decision_open(
    manager: KernelManager, kernel: BlockingKernelClient
) -> None:
    """Kernel > Interrupt while a cell awaits the decision: one line saying to click and
    run the cell again (no frames); after the click the same cell returns at once."""
    install = kernel.execute(
        "from mdstools import ui\nui.install_error_banners(lambda exc: exc.hint)"
    )
    collect(kernel, install)
    model = show_confirm(kernel, "Confirm")
    waiting = kernel.execute("await d\nd.value()")
    time.sleep(1.0)
    manager.interrupt_kernel()
    errors = [m["content"] for m in collect(kernel, waiting) if m["msg_type"] == "error"]
    assert [e["traceback"] for e in errors] == [
        [
            "DecisionPending: the wait for decision 'confirm' was interrupted. click Confirm "
            "above (or run the cell that shows it again), then run this cell again"
        ]
    ]
    click(kernel, model)
    time.sleep(0.5)
    again = kernel.execute("await d\nprint(d.value(), seen)")
    assert "True [('confirm', True, 'widget')]" in text(collect(kernel, again))
