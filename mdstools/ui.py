"""Decisions, progress and display for the runbooks: widgets interactively, text headless.

Decisions: one call per decision. Interactively it shows an ipywidgets control with a
button (``Acknowledge``, ``Confirm``/``Decline``, ``Decide``) and returns a
:class:`Decision`; the NEXT cell reads ``decision.value()``. Stepping cell by cell, the
button was clicked before; with "Run All" the next cell WAITS for the click (the widget stays
live while the cell runs, through jupyter-ui-poll), up to ``decision_timeout_s``, then fails
with a clear message: a run never races past a decision. Headless (``interactive=False``)
the value is the runbook parameter; when it is missing the gate fails naming the parameter.
Every decision goes to the journal: who, when, how (widget or parameter).

Progress: interactively one live line per long step (current state and elapsed time);
headless one log line per state change. Never a redrawing progress bar.

This is the only module that imports ipywidgets (lazily, interactive runs only).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from mdstools.errors import MdstoolsError
from mdstools.escape import html_text

DEFAULT_DECISION_TIMEOUT_S = 900.0


class DecisionMissing(MdstoolsError):
    """A decision the runbook needs was not given (parameter unset, button not clicked)."""


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


def banner(title: str, lines: Sequence[str], ok: bool | None = None) -> None:
    """A coloured box: green (ok), red (not ok) or grey (neutral); title and lines are text."""
    colour = COLOURS[ok]
    body = "".join(f"<li>{line}</li>" for line in (link_phases(html_text(x)) for x in lines))
    html_block(
        f'<div style="border-left:6px solid {colour};padding:6px 12px;margin:6px 0">'
        f'<b style="color:{colour}">{html_text(title)}</b><ul>{body}</ul></div>'
    )


def link_phases(text: str) -> str:
    """Turn "phase 02" into a link to the runbook that fixes it (already escaped text)."""
    import re

    from mdstools.phases import BY_ID

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
    colours = {"FAIL": "#fde0e3", "WARNING": "#fff4d6", "INFO": "#eef2f7", "PASS": "#e3f4e8"}

    def row_style(row: Any) -> list[str]:
        return [f"background-color: {colours.get(row['result'], '')}"] * len(row)

    def cell(v: object) -> str:
        return html_text("" if v is None else v)

    formatters: dict[Any, Callable[[object], str] | str | None] = {c: cell for c in df.columns}
    formatters["next step"] = lambda v: link_phases(cell(v))
    return df.style.apply(row_style, axis=1).format(formatters, escape=None).hide(axis="index")


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
    """A decision whose value is read later (by the next cell)."""

    def __init__(
        self,
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
        self._recorded: Any = object()

    def click(self, declined: bool = False) -> None:
        """What the button does (tests call it from the kernel side)."""
        self.clicked = True
        self.declined = declined

    def _wait_for_click(self) -> None:
        """Block this cell until the button is clicked, keeping the widgets live."""
        deadline = time.monotonic() + self.timeout_s
        try:
            from IPython import get_ipython
            from jupyter_ui_poll import ui_events
        except ImportError:  # pragma: no cover - dependencies of the project
            return
        if get_ipython() is None:  # not in a kernel: no button can be clicked meanwhile
            return
        with ui_events() as poll:
            while not self.clicked and time.monotonic() < deadline:
                poll(20)
                time.sleep(0.1)

    def value(self) -> Any:
        """The decision now: the widget's state interactively, else the parameter.

        Raises DecisionMissing (naming the parameter, or the button) when nothing was decided.
        """
        if self.interactive and self.widget is not None:
            if not self.clicked:
                self._wait_for_click()
            if not self.clicked:
                raise DecisionMissing(
                    f"decision '{self.name}' was not made within {self.timeout_s:g} s",
                    f"use the control above (then click {self.button}) and run this cell again",
                )
            value, how = (False if self.declined else self._read(self.widget)), "widget"
        else:
            value, how = self._param_value, "parameter"
        if self._missing(value):
            where = (
                f"use the control above, click {self.button}, then run this cell again"
                if how == "widget"
                else f"set the runbook parameter {self.param} (mdstools run ... -p "
                f"{self.param}=...)"
            )
            what = "declined" if self.declined else "not made"
            raise DecisionMissing(f"decision '{self.name}' was {what}", where)
        if value != self._recorded:
            self._record(self.name, value, how)
            self._recorded = value
        return value


def _widgets() -> Any:
    import ipywidgets

    return ipywidgets


def _buttons(decision: Decision, labels: Sequence[tuple[str, bool]], status: Any) -> list[Any]:
    w = _widgets()
    out = []
    for label, declines in labels:
        b = w.Button(
            description=label,
            button_style="danger" if declines else "success",
            layout=w.Layout(width="auto"),
        )

        def on_click(_: Any, declines: bool = declines, label: str = label) -> None:
            decision.click(declined=declines)
            status.value = (
                f"<i>{html_text(label)} at "
                f"{datetime.now(timezone.utc):%H:%M:%S} UTC; the next cell "
                "reads it</i>"
            )

        b.on_click(on_click)
        out.append(b)
    return out


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
    ids = [i for i, _ in items]

    def read(wd: Any) -> list[str]:
        return [b.item_id for b in wd.children if getattr(b, "item_id", None) and b.value]

    d = Decision(
        name,
        "acknowledge",
        param,
        list(param_value or []),
        interactive,
        None,
        read,
        record,
        lambda v: False,
        "Acknowledge",
        timeout_s,
    )
    if interactive and items:
        w = _widgets()
        boxes = [
            w.Checkbox(value=False, description=label, indent=False, layout=w.Layout(width="auto"))
            for _, label in items
        ]
        for box, item_id in zip(boxes, ids, strict=True):
            box.item_id = item_id
        status = w.HTML("")
        d.widget = w.VBox(
            [
                w.HTML(
                    f"<b>{html_text(name)}</b>: tick each item you have "
                    "reviewed, then click <b>Acknowledge</b>"
                ),
                *boxes,
                *_buttons(d, [("Acknowledge", False)], status),
                status,
            ]
        )
        display(d.widget)
    return d


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
        name,
        "confirm",
        param,
        bool(param_value),
        interactive,
        None,
        lambda wd: True,
        record,
        lambda v: v is not True,
        "Confirm",
        timeout_s,
    )
    if interactive:
        w = _widgets()
        status = w.HTML("")
        d.widget = w.VBox(
            [
                w.HTML(f"<b>{html_text(question)}</b>"),
                w.HBox(_buttons(d, [("Confirm", False), ("Decline", True)], status)),
                status,
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
        name,
        "choose",
        param,
        param_value,
        interactive,
        None,
        lambda wd: wd.children[1].value,
        record,
        missing,
        "Decide",
        timeout_s,
    )
    if interactive:
        w = _widgets()
        radio = w.RadioButtons(
            options=list(options), value=recommended, description="", layout=w.Layout(width="auto")
        )
        status = w.HTML("")
        d.widget = w.VBox(
            [
                w.HTML(
                    f"<b>{html_text(question)}</b>"
                    + (f" (recommended: {html_text(recommended)})" if recommended else "")
                ),
                radio,
                *_buttons(d, [("Decide", False)], status),
                status,
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
        name,
        "choose",
        param,
        param_value,
        interactive,
        None,
        read,
        record,
        missing,
        "Decide",
        timeout_s,
    )
    if interactive and keys:
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
        status = w.HTML("")
        d.widget = w.VBox(
            [
                w.HTML(f"<b>{html_text(question)}</b> (preset: the recommendation)"),
                *rows,
                *_buttons(d, [("Decide", False)], status),
                status,
            ]
        )
        display(d.widget)
    return d


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
