"""The failure of a call: the error body ``mgmt_cli`` prints and the exit status it uses."""

from __future__ import annotations

from typing import Any

from mdstools.lab.mgmt.render import JsonObj
from mdstools.lab.model import LabError

ERROR_EXIT_STATUS = 1
"""Exit status of a failed call (believed to be 1 on a real ``mgmt_cli``)."""
ERRORS_ON_STDOUT = True
"""Whether the error body goes to stdout (True) or stderr."""


class MgmtCliError(LabError):
    """A failure body with optional extra keys (``errors``, ``warnings`` ...)."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(code, message)
        self.extra = extra


def body_of(exc: LabError) -> JsonObj:
    """The failure body of ``exc``: ``code``, ``message`` and any extra keys."""
    body: JsonObj = {"code": exc.code, "message": exc.message}
    if isinstance(exc, MgmtCliError):
        body.update(exc.extra)
    return body


def not_found(what: str) -> MgmtCliError:
    """``generic_err_object_not_found`` for the object ``what``."""
    return MgmtCliError("generic_err_object_not_found", f"Requested object [{what}] not found")


def login_failed() -> MgmtCliError:
    """``err_login_failed`` with the verbatim ``Authentication to server failed.``"""
    return MgmtCliError("err_login_failed", "Authentication to server failed.")
