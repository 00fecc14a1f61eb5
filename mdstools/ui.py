"""Decisions and display for the runbooks: widgets interactively, parameters headless.

One call per decision. Interactively it shows an ipywidgets control and returns a
:class:`Decision`; the NEXT cell reads ``decision.value()``, which takes the widget's state
at that moment. Headless (``interactive=False``) the value comes from the runbook
parameter; when it is missing the gate fails and names the parameter to set. Either way
the decision, who made it, when and how (widget or parameter) go to the journal.

This is the only module that imports ipywidgets (lazily, interactive runs only).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from mdstools.errors import MdstoolsError


class DecisionMissing(MdstoolsError):
    """A decision the runbook needs was not given (parameter unset or box not ticked)."""


def display(obj: Any) -> None:
    """Show ``obj`` in the notebook (rich), or print it outside Jupyter."""
    try:
        from IPython.display import display as ipy_display
    except ImportError:  # pragma: no cover - IPython ships with the kernel
        print(obj)
        return
    ipy_display(obj)  # type: ignore[no-untyped-call]


def markdown(text: str) -> None:
    try:
        from IPython.display import Markdown
    except ImportError:  # pragma: no cover
        print(text)
        return
    display(Markdown(text))  # type: ignore[no-untyped-call]


def html_block(content: str) -> None:
    try:
        from IPython.display import HTML
    except ImportError:  # pragma: no cover
        print(content)
        return
    display(HTML(content))  # type: ignore[no-untyped-call]


def banner(title: str, lines: Sequence[str], ok: bool | None = None) -> None:
    """A coloured box: green (ok), red (not ok) or grey (neutral)."""
    colour = {True: "#1b7f3b", False: "#b00020", None: "#555"}[ok]
    body = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    html_block(
        f'<div style="border-left:6px solid {colour};padding:6px 12px;margin:6px 0">'
        f'<b style="color:{colour}">{html.escape(title)}</b><ul>{body}</ul></div>'
    )


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
        self._recorded: Any = object()

    def value(self) -> Any:
        """The decision now: the widget's state interactively, else the parameter.

        Raises DecisionMissing (naming the parameter or the widget) when nothing was decided.
        """
        if self.interactive and self.widget is not None:
            value, how = self._read(self.widget), "widget"
        else:
            value, how = self._param_value, "parameter"
        if self._missing(value):
            where = (
                "use the control above, then run this cell again"
                if how == "widget"
                else f"set the runbook parameter {self.param} (mdstools run ... -p "
                f"{self.param}=...)"
            )
            raise DecisionMissing(f"decision '{self.name}' was not made", where)
        if value != self._recorded:
            self._record(self.name, value, how)
            self._recorded = value
        return value


def _widgets() -> Any:
    import ipywidgets

    return ipywidgets


def acknowledge(
    name: str,
    items: Sequence[tuple[str, str]],
    param: str,
    param_value: Sequence[str] | None,
    interactive: bool,
    record: Recorder,
) -> Decision:
    """Acknowledge each item (id, label) by name; the value is the list of acknowledged ids."""
    ids = [i for i, _ in items]
    widget = None
    if interactive and items:
        w = _widgets()
        boxes = [
            w.Checkbox(value=False, description=label, indent=False, layout=w.Layout(width="auto"))
            for _, label in items
        ]
        for box, item_id in zip(boxes, ids, strict=True):
            box.item_id = item_id
        widget = w.VBox(
            [w.HTML(f"<b>{html.escape(name)}</b>: tick each item you have reviewed"), *boxes]
        )
        display(widget)

    def read(wd: Any) -> list[str]:
        return [b.item_id for b in wd.children[1:] if b.value]

    def missing(value: Any) -> bool:
        return False  # an empty list is a valid answer; the gate checks completeness

    given = list(param_value or [])
    return Decision(name, "acknowledge", param, given, interactive, widget, read, record, missing)


def confirm(
    name: str,
    question: str,
    param: str,
    param_value: bool | None,
    interactive: bool,
    record: Recorder,
) -> Decision:
    """A yes/no confirmation of a mutating step; the value is True only when confirmed."""
    widget = None
    if interactive:
        w = _widgets()
        widget = w.Checkbox(
            value=False, description=question, indent=False, layout=w.Layout(width="auto")
        )
        display(widget)
    else:
        banner(f"Confirmation '{name}'", [question, f"parameter {param} = {param_value!r}"], None)

    def read(wd: Any) -> bool:
        return bool(wd.value)

    return Decision(
        name,
        "confirm",
        param,
        bool(param_value),
        interactive,
        widget,
        read,
        record,
        lambda v: v is not True,
    )


def choose(
    name: str,
    question: str,
    options: Sequence[str],
    param: str,
    param_value: Any,
    interactive: bool,
    record: Recorder,
    recommended: str | None = None,
) -> Decision:
    """Choose one of ``options`` (e.g. the server whose database to retain)."""
    widget = None
    if interactive:
        w = _widgets()
        widget = w.RadioButtons(
            options=list(options), value=None, description="", layout=w.Layout(width="auto")
        )
        display(
            w.VBox(
                [
                    w.HTML(
                        f"<b>{html.escape(question)}</b>"
                        + (f" (recommended: {html.escape(recommended)})" if recommended else "")
                    ),
                    widget,
                ]
            )
        )

    def read(wd: Any) -> Any:
        return wd.value

    def missing(value: Any) -> bool:
        if isinstance(value, dict):
            return not value
        return value in (None, "") or (isinstance(value, str) and value not in options)

    return Decision(name, "choose", param, param_value, interactive, widget, read, record, missing)


def stamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
