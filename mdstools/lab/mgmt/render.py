"""The two output formats of ``mgmt_cli``: Jackson's pretty JSON and the YAML-like text."""

from __future__ import annotations

import json
from typing import Any

JsonObj = dict[str, Any]


def to_json(value: Any, nesting: int = 0) -> str:
    """Pretty JSON as the management server prints it (Jackson's default pretty printer).

    ``"key" : value``, two spaces per object level, arrays inline (``[ {`` ... ``}, {`` ...
    ``} ]``, ``[ "a", "b" ]``), empty ones as ``[ ]`` and ``{ }``.
    """
    if isinstance(value, dict):
        if not value:
            return "{ }"
        pad = "  " * (nesting + 1)
        items = [f"{pad}{json.dumps(str(k))} : {to_json(v, nesting + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * nesting + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[ ]"
        return "[ " + ", ".join(to_json(v, nesting) for v in value) + " ]"
    return json.dumps(value, ensure_ascii=False)


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value)


def to_text(value: Any, indent: int = 0) -> str:
    """The default (``--format text``) YAML-like layout of ``mgmt_cli``.

    ``key: "string"`` / ``key: 600`` lines; a nested object under ``key:`` indented by two
    spaces; list items as ``- `` lines at the key's indentation (``objects:`` then
    ``- uid: "..."`` and ``  name: "..."``); empty ones as ``[]`` and ``{}``.
    """
    return "\n".join(_text_lines(value, indent))


def _text_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        lines: list[str] = []
        for k, v in value.items():
            if isinstance(v, dict) and v:
                lines.append(f"{pad}{k}:")
                lines.extend(_text_lines(v, indent + 2))
            elif isinstance(v, (list, tuple)) and v:
                lines.append(f"{pad}{k}:")
                lines.extend(_text_lines(list(v), indent))
            elif isinstance(v, dict):
                lines.append(f"{pad}{k}: {{}}")
            elif isinstance(v, (list, tuple)):
                lines.append(f"{pad}{k}: []")
            else:
                lines.append(f"{pad}{k}: {_scalar_text(v)}")
        return lines
    if isinstance(value, (list, tuple)):
        lines = []
        for item in value:
            if isinstance(item, dict) and item:
                sub = _text_lines(item, indent + 2)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines.extend(sub[1:])
            elif isinstance(item, (list, tuple)) and item:
                lines.append(f"{pad}-")
                lines.extend(_text_lines(list(item), indent + 2))
            elif isinstance(item, dict):
                lines.append(f"{pad}- {{}}")
            elif isinstance(item, (list, tuple)):
                lines.append(f"{pad}- []")
            else:
                lines.append(f"{pad}- {_scalar_text(item)}")
        return lines
    return [f"{pad}{_scalar_text(value)}"]


def render(body: JsonObj, fmt: str) -> str:
    """``body`` in the format asked for (``json`` or ``text``)."""
    return to_json(body) if fmt == "json" else to_text(body)


def response_end(fmt: str) -> str:
    """What follows a response: nothing after JSON (as the real mgmt_cli prints it)."""
    return "" if fmt == "json" else "\n"
