"""Decisions, progress and display for the runbooks: widgets interactively, text headless.

Decisions: one call per decision. Interactively it shows an ipywidgets control with a
button (``Acknowledge``, ``Confirm``/``Decline``, ``Decide``) and returns a
:class:`Decision`; the NEXT cell awaits it: ``run.decided(await ok)``. Stepping cell by
cell, the button was clicked before and the await returns at once; with "Run All" that
cell waits for the click, showing "waiting for your decision: click Confirm (N s left)",
up to ``decision_timeout_s``, then the phase stops naming the decision: a run never races
past a decision. The wait is an ``await``: while it lasts, the kernel (ipykernel 7.4 or
later) delivers the widgets' messages, so the click arrives while the cells queued behind
it keep waiting their turn. An older kernel cannot deliver a click during a cell: the wait
then fails at once, saying to click first and run the cell again. Headless
(``interactive=False``) the value is the runbook parameter, the await returns at once, and
a missing value fails the gate naming the parameter. Every decision goes to the journal:
who, when, how (widget or parameter); a declined one too.

Failures: in an interactive kernel, :func:`install_error_banners` makes an
:class:`~mdstools.errors.MdstoolsError` raised by a cell show as a red banner (the cause
and the next step, no Python frames); the cell still ends in error, so "Run All" stops
there.

Progress: interactively one live line per long step (current state and elapsed time);
headless one log line per state change. Never a redrawing progress bar.

This is the only module that imports ipywidgets (lazily, interactive runs only).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable, Generator, Sequence
from datetime import datetime, timezone
from typing import Any

from mdstools.errors import MdstoolsError
from mdstools.escape import html_text
from mdstools.phases import BY_ID

DEFAULT_DECISION_TIMEOUT_S = 900.0
_UNREAD = object()
#: The first ipykernel that delivers widget messages while an async cell runs.
MIN_IPYKERNEL = (7, 4)


class DecisionMissing(MdstoolsError):
    """A decision the runbook needs was not given (parameter unset, button not clicked)."""


class DecisionPending(DecisionMissing):
    """The button was not clicked yet and this cell cannot wait for it: the phase goes on
    once it is clicked and the cell is run again."""


def display(obj: Any, metadata: dict[str, Any] | None = None) -> None:
    """Show ``obj`` in the notebook (rich), or print it outside Jupyter; ``metadata`` goes
    into the output's metadata (where the record finds the run's markers)."""
    try:
        from IPython.display import display as ipy_display
    except ImportError:  # pragma: no cover - IPython ships with the kernel
        print(obj)
        return
    ipy_display(obj, metadata=metadata)


def _rich(kind: str, text: str) -> None:
    """Show ``text`` as IPython's ``Markdown`` or ``HTML`` object, or print it outside Jupyter."""
    try:
        from IPython import display as ipd
    except ImportError:  # pragma: no cover - IPython ships with the kernel
        print(text)
        return
    display(getattr(ipd, kind)(text))


def markdown(text: str) -> None:
    """Show Markdown source; data inside it must come through ``escape.markdown_text``."""
    _rich("Markdown", text)


def html_block(content: str) -> None:
    """Show HTML source; data inside it must come through ``escape.html_text``."""
    _rich("HTML", content)


COLOURS = {True: "#1b7f3b", False: "#b00020", None: "#555"}
LABEL_COLOURS = {"PASS": "#1b7f3b", "FAIL": "#b00020", "WARNING": "#b26a00", "INFO": "#555"}


def banner(
    title: str, lines: Sequence[str], ok: bool | None = None, label: str | None = None
) -> None:
    """A coloured box: green (ok), red (not ok) or grey (neutral); title and lines are text.

    With ``label`` (PASS, FAIL, WARNING, INFO) the colour is the label's: green, red, amber
    or grey, as in the verdict table.
    """
    colour = LABEL_COLOURS[label] if label else COLOURS[ok]
    body = "".join(f"<li>{line}</li>" for line in (link_phases(html_text(x)) for x in lines))
    html_block(
        f'<div style="border-left:6px solid {colour};padding:6px 12px;margin:6px 0">'
        f'<b style="color:{colour}">{html_text(title)}</b><ul>{body}</ul></div>'
    )


def link_phases(text: str) -> str:
    """Turn "phase 02" into a link to the runbook that fixes it (already escaped text)."""

    def sub(m: re.Match[str]) -> str:
        ph = BY_ID.get(m.group(2))
        return (
            f'<a href="{html_text(ph.notebook)}" title="{html_text(ph.title)}">{m.group(0)}</a>'
            if ph
            else m.group(0)
        )

    return re.sub(r"(phases? )(0\d)\b", sub, text)


# -- tables ---------------------------------------------------------------------------------
def checks_table(results: Sequence[Any]) -> Any:
    """Check results coloured pass/fail, failing rows first, next steps linked to runbooks.

    Every cell is text (a reason quotes names from the servers): escaped, then the next
    step gets its links to the runbooks.
    """
    from mdstools import frames

    df = frames.checks(results)
    colours = {"FAIL": "#fde0e3", "WARNING": "#fff1cc", "INFO": "#eef2f7", "PASS": "#e3f4e8"}

    def row_style(row: Any) -> list[str]:
        return [f"background-color: {colours.get(row['result'], '')}"] * len(row)

    def cell(v: object) -> str:
        return html_text("" if v is None else v)

    formatters: dict[Any, Callable[[object], str] | str | None] = {c: cell for c in df.columns}
    formatters["next step"] = lambda v: link_phases(cell(v))
    return df.style.apply(row_style, axis=1).format(formatters, escape=None).hide(axis="index")


def frame_html(df: Any) -> str:
    """A frame as an HTML table without the index (row numbers mean nothing to a reader);
    every cell escaped and whole (a SHA-256 or a reason is not cut); long frames cut as
    pandas cuts them (``display.max_rows``)."""
    import pandas as pd

    with pd.option_context("display.max_colwidth", None):
        html: str = df.to_html(
            index=False,
            escape=True,
            notebook=True,
            max_rows=pd.get_option("display.max_rows"),
            max_cols=pd.get_option("display.max_columns"),
            show_dimensions="truncate",
        )
    return html


def frame_text(df: Any) -> str:
    """A frame as plain text without the index."""
    import pandas as pd

    if df.empty:
        return f"no rows (columns: {', '.join(str(c) for c in df.columns)})"
    with pd.option_context("display.max_colwidth", None):
        text: str = df.to_string(index=False, max_rows=pd.get_option("display.max_rows"))
    return text


def plain_tables() -> None:
    """Every frame a cell shows in this kernel (a cell's value, ``display(df)``) renders
    without the index, in the notebook and in its HTML export."""
    try:
        import pandas as pd
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - both ship with the kernel
        return
    shell = get_ipython()
    if shell is None:
        return
    formatters = shell.display_formatter.formatters
    formatters["text/html"].for_type(pd.DataFrame, frame_html)
    formatters["text/plain"].for_type(
        pd.DataFrame, lambda df, printer, cycle: printer.text(frame_text(df))
    )


def table(df: Any, title: str, limit: int = 40) -> Any:
    """A frame as it is when small; summarized (first rows) with the whole table collapsible
    when large (250 domains make 1000+ rows)."""
    if len(df) <= limit:
        return df
    head = df.head(limit).to_html(index=False, escape=True)
    full = df.to_html(index=False, escape=True)
    html_block(
        f"<p><b>{html_text(title)}</b>: {len(df)} rows; the first {limit} "
        f"(the ones needing attention come first):</p>{head}"
        f"<details><summary>show all {len(df)} rows</summary>{full}</details>"
    )
    return None


# -- decisions -------------------------------------------------------------------------------
Recorder = Callable[[str, Any, str], None]


class Decision:
    """A decision whose value is read later: ``run.decided(await decision)`` in the next
    cell waits (interactively) for its button."""

    def __init__(
        self,
        *,
        name: str,
        kind: str,
        param: str,
        param_value: Any,
        interactive: bool,
        widget: Any,
        read: Callable[[Any], Any],
        record: Recorder,
        missing: Callable[[Any], bool],
        button: str = "",
        timeout_s: float = DEFAULT_DECISION_TIMEOUT_S,
    ) -> None:
        self.name = name
        self.kind = kind
        self.param = param
        self._param_value = param_value
        self.interactive = interactive
        self.widget = widget
        self._read = read
        self._record = record
        self._missing = missing
        self.button = button
        self.timeout_s = timeout_s
        self.clicked = False
        self.declined = False
        self.label = ""
        self.timed_out = False
        self.line: Any = None
        self._recorded: Any = _UNREAD

    def click(self, declined: bool = False, label: str = "") -> None:
        """What the button does (tests call it from the kernel side). Until the decision is
        read the last click counts; once read, a click (another tab, a late second thought)
        changes nothing and says so."""
        if self.read:
            if self.line is not None:
                self.line.value = (
                    f"<i>{html_text(label or self.button)} at "
                    f"{datetime.now(timezone.utc):%H:%M:%S} UTC changes nothing: the decision "
                    f"was already read ({html_text(self.label)})</i>"
                )
            return
        self.clicked = True
        self.declined = declined
        self.label = label or self.button
        at = f"{html_text(self.label)} at {datetime.now(timezone.utc):%H:%M:%S} UTC"
        if self.line is not None:
            self.line.value = (
                f"<i>{at}: too late, the phase stopped after {self.timeout_s:g} s; run the "
                "runbook again</i>"
                if self.timed_out
                else f"<i>{at}; the next cell reads it</i>"
            )

    @property
    def read(self) -> bool:
        """True once the decision's value was read (and journaled)."""
        return self._recorded is not _UNREAD

    @property
    def waits(self) -> bool:
        """True when the value comes from a widget that has not been clicked yet."""
        return self.interactive and self.widget is not None and not self.clicked

    def __await__(self) -> Generator[Any, None, Decision]:
        return self.wait().__await__()

    async def wait(self, tick_s: float = 0.1) -> Decision:
        """Until the button is clicked or ``timeout_s`` has passed; returns the decision.

        Headless, or once clicked, it returns at once. The waiting line counts down in the
        decision's control and in the waiting cell. A kernel that cannot deliver a click
        while a cell runs raises DecisionPending at once instead of waiting in vain; so does
        an interrupted wait (Kernel > Interrupt): the decision can still be made.
        """
        if not self.waits:
            return self
        if in_kernel() and not kernel_receives_clicks():
            raise DecisionPending(
                f"decision '{self.name}' cannot be awaited: this kernel (ipykernel "
                f"{ipykernel_version()}) cannot receive a click while a cell runs",
                f"click {self.button} above, then run this cell again (or use "
                "ipykernel 7.4 or later)",
            )
        if self.line is not None:
            display(self.line)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        shown_left = -1
        while not self.clicked:
            left = deadline - loop.time()
            if left <= 0:
                break
            if self.line is not None and math.ceil(left) != shown_left:
                shown_left = math.ceil(left)
                self.line.value = (
                    f"<b>waiting for your decision</b>: click {html_text(self.button)} "
                    f"above ({shown_left} s left)"
                )
            try:
                await asyncio.sleep(min(tick_s, left))
            except asyncio.CancelledError:
                if self.line is not None:
                    self.line.value = "<b>the wait was interrupted</b>"
                raise DecisionPending(
                    f"the wait for decision '{self.name}' was interrupted",
                    f"click {self.button} above (or run the cell that shows it again), "
                    "then run this cell again",
                ) from None
        if not self.clicked:
            self.timed_out = True
            if self.line is not None:
                self.line.value = (
                    f"<b>no decision within {self.timeout_s:g} s</b>: the phase stops here"
                )
        return self

    def value(self) -> Any:
        """The decision now: the widget's state interactively, else the parameter.

        Raises DecisionMissing (naming the parameter, or the button) when nothing was
        decided in time or the decision was declined (a declined decision is recorded
        first); DecisionPending when the control can still be used and the cell run again.
        """
        if self.interactive and self.widget is not None:
            if not self.clicked:
                if self.timed_out:
                    raise DecisionMissing(
                        f"decision '{self.name}' was not made within {self.timeout_s:g} s "
                        "(decision_timeout_s); nothing after it ran",
                        f"run the runbook again and click {self.button} in time, or raise "
                        "decision_timeout_s in the parameters cell; without a browser "
                        "(papermill, a scheduler) pass interactive=False and the parameter "
                        f"{self.param} instead",
                    )
                raise DecisionPending(
                    f"decision '{self.name}' was not made",
                    f"click {self.button} above, then run this cell again "
                    "(it reads the decision with: run.decided(await ...))",
                )
            value, how = (False if self.declined else self._read(self.widget)), "widget"
        else:
            value, how = self._param_value, "parameter"
        if self.declined:
            self._remember(value, how)
            raise DecisionMissing(
                f"decision '{self.name}' was declined ({self.label}); nothing after it ran",
                "run the runbook again when the change is approved",
            )
        if self._missing(value) and how == "widget":
            raise DecisionPending(
                f"decision '{self.name}' has no value in the control",
                f"choose in the control above, click {self.button}, then run this cell again",
            )
        if self._missing(value):
            raise DecisionMissing(
                f"decision '{self.name}' was not made",
                f"set the runbook parameter {self.param} (mdstools run ... -p {self.param}=...)",
            )
        self._remember(value, how)
        return value

    def _remember(self, value: Any, how: str) -> None:
        if value != self._recorded:
            self._record(self.name, value, how)
            self._recorded = value


def in_kernel() -> bool:
    """True inside an IPython kernel (where a widget can be clicked)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the kernel
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def ipykernel_version() -> str:
    """The running ipykernel's version ("unknown" when it cannot be told)."""
    try:
        import ipykernel
    except ImportError:  # pragma: no cover - the kernel of the runbooks
        return "unknown"
    return str(getattr(ipykernel, "__version__", "unknown"))


def kernel_receives_clicks(version: str | None = None) -> bool:
    """True when ipykernel ``version`` (default: the running one) delivers widget
    messages while an async cell runs (7.4 and later)."""
    m = re.match(r"(\d+)\.(\d+)", ipykernel_version() if version is None else version)
    return m is not None and (int(m.group(1)), int(m.group(2))) >= MIN_IPYKERNEL


def _widgets() -> Any:
    import ipywidgets

    return ipywidgets


def _buttons(decision: Decision, labels: Sequence[tuple[str, bool]]) -> list[Any]:
    w = _widgets()
    out = []
    for label, declines in labels:
        b = w.Button(
            description=label,
            button_style="danger" if declines else "success",
            layout=w.Layout(width="auto"),
        )

        def on_click(_: Any, declines: bool = declines, label: str = label) -> None:
            decision.click(declined=declines, label=label)

        b.on_click(on_click)
        out.append(b)
    return out


def _line(decision: Decision) -> Any:
    """The decision's status line: the countdown while a cell waits, then the click."""
    decision.line = _widgets().HTML("")
    return decision.line


def _checklist(
    d: Decision, heading: str, items: Sequence[tuple[str, str, bool]], button: str
) -> Decision:
    """Show ``d`` as a checkbox per item (id, label, ticked), under ``heading`` (HTML), with
    its button; the decision's value is the ids of the ticked boxes (:func:`_ticked`)."""
    if d.interactive and items:
        w = _widgets()
        boxes = []
        for item_id, label, ticked in items:
            box = w.Checkbox(
                value=ticked, description=label, indent=False, layout=w.Layout(width="auto")
            )
            box.item_id = item_id
            boxes.append(box)
        d.widget = w.VBox([w.HTML(heading), *boxes, *_buttons(d, [(button, False)]), _line(d)])
        display(d.widget)
    return d


def _ticked(wd: Any) -> list[str]:
    """The ids of the ticked boxes of a :func:`_checklist` widget, in their order."""
    return [b.item_id for b in wd.children if getattr(b, "item_id", None) and b.value]


def acknowledge(
    name: str,
    items: Sequence[tuple[str, str]],
    param: str,
    param_value: Sequence[str] | None,
    interactive: bool,
    record: Recorder,
    timeout_s: float = DEFAULT_DECISION_TIMEOUT_S,
) -> Decision:
    """Acknowledge each item (id, label) by name; the value is the list of acknowledged ids."""
    d = Decision(
        name=name,
        kind="acknowledge",
        param=param,
        param_value=list(param_value or []),
        interactive=interactive,
        widget=None,
        read=_ticked,
        record=record,
        missing=lambda v: False,
        button="Acknowledge",
        timeout_s=timeout_s,
    )
    heading = (
        f"<b>{html_text(name)}</b>: tick each item you have reviewed, then click <b>Acknowledge</b>"
    )
    return _checklist(d, heading, [(i, label, False) for i, label in items], "Acknowledge")


def confirm(
    name: str,
    question: str,
    param: str,
    param_value: bool | None,
    interactive: bool,
    record: Recorder,
    timeout_s: float = DEFAULT_DECISION_TIMEOUT_S,
) -> Decision:
    """A yes/no confirmation of a mutating step; the value is True only when confirmed."""
    d = Decision(
        name=name,
        kind="confirm",
        param=param,
        param_value=bool(param_value),
        interactive=interactive,
        widget=None,
        read=lambda wd: True,
        record=record,
        missing=lambda v: v is not True,
        button="Confirm",
        timeout_s=timeout_s,
    )
    if interactive:
        w = _widgets()
        d.widget = w.VBox(
            [
                w.HTML(f"<b>{html_text(question)}</b>"),
                w.HBox(_buttons(d, [("Confirm", False), ("Decline", True)])),
                _line(d),
            ]
        )
        display(d.widget)
    else:
        banner(f"Confirmation '{name}'", [question, f"parameter {param} = {param_value!r}"], None)
    return d


def choose(
    name: str,
    question: str,
    options: Sequence[str],
    param: str,
    param_value: Any,
    interactive: bool,
    record: Recorder,
    recommended: str | None = None,
    timeout_s: float = DEFAULT_DECISION_TIMEOUT_S,
) -> Decision:
    """Choose one of ``options`` (e.g. the server whose database to retain)."""

    def missing(value: Any) -> bool:
        if isinstance(value, dict):
            return not value
        if isinstance(value, str) and "=" in value:
            return False
        return value in (None, "") or (isinstance(value, str) and value not in options)

    d = Decision(
        name=name,
        kind="choose",
        param=param,
        param_value=param_value,
        interactive=interactive,
        widget=None,
        read=lambda wd: wd.children[1].value,
        record=record,
        missing=missing,
        button="Decide",
        timeout_s=timeout_s,
    )
    if interactive:
        w = _widgets()
        radio = w.RadioButtons(
            options=list(options), value=recommended, description="", layout=w.Layout(width="auto")
        )
        d.widget = w.VBox(
            [
                w.HTML(
                    f"<b>{html_text(question)}</b>"
                    + (f" (recommended: {html_text(recommended)})" if recommended else "")
                ),
                radio,
                *_buttons(d, [("Decide", False)]),
                _line(d),
            ]
        )
        display(d.widget)
    return d


def choose_each(
    name: str,
    question: str,
    keys: Sequence[str],
    options: Sequence[str],
    param: str,
    param_value: Any,
    interactive: bool,
    record: Recorder,
    recommended: dict[str, str] | None = None,
    timeout_s: float = DEFAULT_DECISION_TIMEOUT_S,
) -> Decision:
    """One choice per key (e.g. the server to retain for each collided domain).

    Interactively a drop-down per key, preset to the recommendation, and a ``Decide``
    button; the value is ``{key: option}``. Headless the parameter (a dict, ``k=v,k=v``, or
    one option for every key).
    """
    rec = dict(recommended or {})

    def missing(value: Any) -> bool:
        if isinstance(value, dict):
            return not value
        return value in (None, "")

    def read(wd: Any) -> dict[str, str]:
        return {
            row.children[0].value: row.children[1].value
            for row in wd.children
            if getattr(row, "is_choice", False)
        }

    d = Decision(
        name=name,
        kind="choose",
        param=param,
        param_value=param_value,
        interactive=interactive,
        widget=None,
        read=read,
        record=record,
        missing=missing,
        button="Decide",
        timeout_s=timeout_s,
    )
    if interactive and keys:
        d.widget = _each_widget(d, question, keys, options, rec)
        display(d.widget)
    return d


def select(
    name: str,
    question: str,
    options: Sequence[str],
    param: str,
    param_value: Sequence[str],
    interactive: bool,
    record: Recorder,
    timeout_s: float = DEFAULT_DECISION_TIMEOUT_S,
) -> Decision:
    """Pick some of ``options`` (e.g. the servers to revert). Interactively a checkbox per
    option, the ones of ``param_value`` ticked, and a ``Choose`` button; the value is the
    list of ticked options in their order. Headless the value is ``param_value``."""
    d = Decision(
        name=name,
        kind="select",
        param=param,
        param_value=list(param_value),
        interactive=interactive,
        widget=None,
        read=_ticked,
        record=record,
        missing=lambda v: False,
        button="Choose",
        timeout_s=timeout_s,
    )
    heading = f"<b>{html_text(question)}</b> (preset: the default)"
    return _checklist(d, heading, [(o, o, o in param_value) for o in options], "Choose")


def _each_widget(
    d: Decision, question: str, keys: Sequence[str], options: Sequence[str], rec: dict[str, str]
) -> Any:
    """The widget of :func:`choose_each`: the question, a drop-down per key preset to the
    recommendation, the ``Decide`` button and the decision's line."""
    w = _widgets()
    rows = []
    for key in keys:
        row = w.HBox(
            [
                w.Label(value=key, layout=w.Layout(width="160px")),
                w.Dropdown(options=list(options), value=rec.get(key, options[0])),
            ]
        )
        row.is_choice = True
        rows.append(row)
    return w.VBox(
        [
            w.HTML(f"<b>{html_text(question)}</b> (preset: the recommendation)"),
            *rows,
            *_buttons(d, [("Decide", False)]),
            _line(d),
        ]
    )


def stamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- progress -------------------------------------------------------------------------------
class Progress:
    """Live progress lines interactively (one widget per step), log lines headless.

    Headless, a step's line is printed when its text changes, and again at least every
    ``heartbeat_s`` (real seconds) while it does not, so that a scheduler log shows that a
    long wait is alive. ``elapsed`` is the caller's real elapsed time of the step.
    """

    def __init__(
        self,
        interactive: bool,
        heartbeat_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interactive = interactive
        self.heartbeat_s = heartbeat_s
        self.clock = clock
        self._widgets: dict[str, Any] = {}
        self._last: dict[str, tuple[str, float]] = {}

    def update(self, key: str, text: str, elapsed: float) -> None:
        line = f"{text} ({max(0.0, elapsed):.0f} s)"
        if not self.interactive:
            now = self.clock()
            last = self._last.get(key)
            if last is None or last[0] != text or now - last[1] >= self.heartbeat_s:
                print(line, flush=True)
                self._last[key] = (text, now)
            return
        wd = self._widgets.get(key)
        if wd is None:
            wd = _widgets().HTML()
            self._widgets[key] = wd
            display(wd)
        wd.value = (
            f"<code>{html_text(datetime.now(timezone.utc).strftime('%H:%M:%S'))}"
            f"</code> {html_text(line)}"
        )


# -- failures --------------------------------------------------------------------------------
def install_error_banners(show: Callable[[MdstoolsError], str]) -> bool:
    """In an interactive kernel, an :class:`MdstoolsError` raised by a cell calls ``show``
    (which draws the banner: the cause and the next step, and returns that next step)
    instead of printing a traceback; the cell still ends in error, as one line (the
    error's name, message and next step: the record keeps it, and "Run All" stops there).
    False outside a kernel."""
    if not in_kernel():
        return False
    from IPython import get_ipython

    def handler(
        shell: Any, etype: type[BaseException], value: BaseException, tb: Any, tb_offset: Any = None
    ) -> list[str]:
        assert isinstance(value, MdstoolsError)
        try:
            hint = show(value)
            stb = [f"{etype.__name__}: {value.message}" + (f". {hint}" if hint else "")]
        except Exception as exc:  # the failure itself must still be shown
            stb = [f"{etype.__name__}: {value}", f"(no banner: {type(exc).__name__}: {exc})"]
        shell._showtraceback(etype, value, stb)
        return stb

    get_ipython().set_custom_exc((MdstoolsError,), handler)
    return True
