"""The ``mgmt_cli`` command line: its options, the command and its ``key value`` parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mdstools.lab.mgmt.errors import MgmtCliError
from mdstools.lab.mgmt.registry import COMMANDS
from mdstools.lab.mgmt.render import JsonObj

FLAGS: dict[str, str] = {
    "-r": "root",
    "--root": "root",
    "-d": "domain",
    "--domain": "domain",
    "-f": "format",
    "--format": "format",
    "-s": "session-file",
    "--session-file": "session-file",
    "--session-id": "session-id",
    "-v": "version",
    "--version": "version",
    "-u": "user",
    "--user": "user",
    "-p": "password",
    "--password": "password",
    "--api-key": "api-key",
    "-m": "management",
    "--management": "management",
    "--port": "port",
    "-c": "context",
    "--context": "context",
    "--sync": "sync",
    "--wait": "sync",
    "--unsafe": "unsafe",
    "--unsafe-auto-accept": "unsafe",
    "--debug": "debug",
    "--conn-timeout": "conn-timeout",
}
"""Every ``mgmt_cli`` option takes a value (``--unsafe true``)."""

USAGE = """\
Usage: mgmt_cli <command> [<parameter> <value>]... [options]
  -r, --root true            log in as root on this server (the only login the lab has)
  -d, --domain NAME|UID|IP   domain to log in to (default: System Data)
  -f, --format json|text     output format (default: text)
  -s, --session-file FILE    use the session that 'mgmt_cli login' printed into FILE
  --session-id SID           use session SID
  --version V                API version to call
"""


@dataclass
class Invocation:
    """One parsed ``mgmt_cli`` command line."""

    command: str
    params: JsonObj
    options: dict[str, str]

    @property
    def fmt(self) -> str:
        return self.options.get("format", "text")


def split_options(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """Options (by canonical name) and the remaining words, in order."""
    opts: dict[str, str] = {}
    words: list[str] = []
    i = 0
    while i < len(args):
        tok = args[i]
        name, eq, inline = tok.partition("=")
        if tok.startswith("--") and eq and name in FLAGS:
            opts[FLAGS[name]] = inline
            i += 1
            continue
        if tok in FLAGS:
            if i + 1 >= len(args):
                raise MgmtCliError(
                    "generic_err_invalid_syntax", f"Missing value for option [{tok}]"
                )
            opts[FLAGS[tok]] = args[i + 1]
            i += 2
            continue
        words.append(tok)
        i += 1
    fmt = opts.get("format", "text").lower()
    if fmt not in ("json", "text"):
        opts["format"] = "text"
        raise MgmtCliError(
            "generic_err_invalid_syntax",
            f"Invalid value [{fmt}] for option [--format]: use json or text",
        )
    opts["format"] = fmt
    return opts, words


def parse_words(words: list[str]) -> tuple[str, JsonObj]:
    """The command (both spellings) and its parameters from the non-option words."""
    if not words:
        raise MgmtCliError(
            "generic_err_invalid_syntax", "Missing command. " + USAGE.splitlines()[0]
        )
    first = words[0]
    if first in COMMANDS or "-" in first or len(words) == 1:
        command, rest = first, words[1:]
    else:
        command, rest = f"{first}-{words[1]}", words[2:]
    if len(rest) % 2:
        raise MgmtCliError(
            "generic_err_invalid_syntax", f"Missing value for parameter [{rest[-1]}]"
        )
    nested: JsonObj = {}
    for key, value in zip(rest[::2], rest[1::2], strict=True):
        if key.startswith("-"):
            raise MgmtCliError("generic_err_invalid_syntax", f"Unknown option [{key}]")
        _put(nested, key.split("."), value)
    params = _listify(nested)
    assert isinstance(params, dict)
    return command, params


def _put(target: JsonObj, path: list[str], value: str) -> None:
    for part in path[:-1]:
        nxt = target.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            target[part] = nxt
        target = nxt
    target[path[-1]] = value


def _listify(value: Any) -> Any:
    """Objects whose keys are all numbers (``members.1``, ``members.2``) become lists."""
    if not isinstance(value, dict):
        return value
    if value and all(k.isdigit() for k in value):
        return [_listify(value[k]) for k in sorted(value, key=int)]
    return {k: _listify(v) for k, v in value.items()}


def api_tuple(text: str) -> tuple[int, ...]:
    """An API version (``1.9.1``) as a tuple to compare; an unknown one is the call's error."""
    try:
        return tuple(int(p) for p in text.strip().lstrip("v").split("."))
    except ValueError:
        raise MgmtCliError("err_unknown_api_version", f"Unknown API version: {text}") from None
