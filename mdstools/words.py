"""Values in words for the record and the log: counts with their noun, decisions as text
(never a Python repr of a list or a dict)."""

from __future__ import annotations

from typing import Any


def plural(n: int, noun: str) -> str:
    """``"1 change"``, ``"3 changes"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def decision_text(name: str, value: Any) -> str:
    """A decision's value in words: "confirmed", "dom1: mds1, dom3: mds2", "none"."""
    if isinstance(value, bool):
        return ("confirmed" if value else "declined") if name == "confirm" else str(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "none"
    return "none" if value in (None, "") else str(value)


def how_text(how: object) -> str:
    """How a decision was made, for a reader: "runbook parameter", "button in the notebook",
    "automatic: no change is lost"."""
    text = str(how or "unknown")
    if text.endswith(")") and " (" in text:
        head, _, inner = text[:-1].partition(" (")
        text = f"{head}: {inner}"
    return {"parameter": "runbook parameter", "widget": "button in the notebook"}.get(text, text)
