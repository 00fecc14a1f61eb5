"""Secrets: resolved from ``env:NAME`` or ``file:PATH`` references, never printed.

A :class:`Secret` prints as ``***`` (``str``, ``repr``, f-strings, logging); the value is
only reachable through :meth:`Secret.reveal`, which the SSH transport calls. Every resolved
value is registered so that :func:`redact` can remove it from any text the toolkit writes
(command output, notebooks, journals, reports).
"""

from __future__ import annotations

import html
import json
import os
import threading
from pathlib import Path

from mdstools.errors import SecretError

MASK = "***"
_known: set[str] = set()
_lock = threading.Lock()


class Secret:
    """A secret value that never shows itself."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str = "") -> None:
        self._value = value
        self.source = source
        register(value)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({self.source or MASK})"

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self.source))

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        raise TypeError("a Secret cannot be pickled or serialized")


def register(value: str) -> None:
    """Remember ``value`` so that :func:`redact` masks it everywhere, also in the forms it
    takes in an HTML page or a JSON string (escaped after the value was written)."""
    if value and len(value) >= 3:
        forms = {value, html.escape(value, quote=True), html.escape(value, quote=False)}
        forms.add(json.dumps(value)[1:-1])
        with _lock:
            _known.update(forms)


def redact(text: str) -> str:
    """``text`` with every known secret value replaced by ``***``."""
    if not text:
        return text
    with _lock:
        values = sorted(_known, key=len, reverse=True)
    for v in values:
        if v in text:
            text = text.replace(v, MASK)
    return text


def is_reference(value: str) -> bool:
    return value.startswith(("env:", "file:"))


def resolve(reference: str, base_dir: Path | None = None) -> Secret:
    """Resolve ``env:NAME`` or ``file:PATH`` (relative to ``base_dir``) into a Secret."""
    if reference.startswith("env:"):
        name = reference[4:]
        value = os.environ.get(name)
        if value is None:
            raise SecretError(
                f"environment variable {name} is not set (from '{reference}')",
                f"export {name}=... before running, or use file:PATH",
            )
        return Secret(value, reference)
    if reference.startswith("file:"):
        raw = reference[5:]
        path = Path(raw).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            value = path.read_text().rstrip("\r\n")
        except OSError as exc:
            raise SecretError(
                f"cannot read secret file {path}: {exc.strerror}",
                "create it (mode 0600) or fix the path in the inventory",
            ) from exc
        if not value:
            raise SecretError(f"secret file {path} is empty", "write the secret into it")
        return Secret(value, reference)
    raise SecretError(
        f"'{_describe(reference)}' is not a secret reference",
        "write env:NAME or file:PATH in the inventory, never the value itself",
    )


def _describe(value: str) -> str:
    return value if is_reference(value) else MASK
