"""``mgmt_cli`` as the lab simulates it: the Management API from the server's own shell.

Installed at ``$CPDIR/bin/mgmt_cli`` (on ``PATH`` once ``/etc/profile.d/CP.sh`` is sourced).
Shapes follow ``docs/formats.md#mgmt_cli``; every shape that no source shows is marked
INFERRED in the docstring of the command that prints it.

Invocation (``docs/formats.md#mgmt_cli``):

* flags anywhere on the line: ``-r``/``--root true``, ``-d``/``--domain X`` (domain name,
  uid, or the IP of one of its domain servers; ``System Data`` or none = System Data),
  ``-f``/``--format json|text``, ``-s``/``--session-file FILE``, ``--session-id SID``,
  ``--version V``; ``-u``/``-p``/``--api-key`` are refused (the lab logs in as root only);
* the command in either spelling (``show domains`` or ``show-domains``), then ``key value``
  pairs; ``members.1 a members.2 b`` builds a list, ``a.b x`` a nested object.

Which database a call reaches: ``-r true`` always logs in on THIS server, so a domain
session acts on the copy hosted here (the local DMS; on a Multi-Domain Log Server the local
Domain Log Server), ``-d Global`` on the local Global copy. Without ``-s`` each call is an
implicit session (login, command, publish, logout); with ``-s`` the session is the one that
``login`` created (kept in ``Deployment.sessions``; a reboot of the server forgets it).

Errors print the failure body (``code``, ``message``) in the requested format on stdout
and exit with :data:`ERROR_EXIT_STATUS`; both are unconfirmed on a real ``mgmt_cli``
(``docs/formats.md#error-bodies``) and kept as module constants. Errors chosen here:

| condition | code |
|---|---|
| unknown command; command this release or ``--version`` lacks | ``generic_err_command_not_found`` |
| ``--version`` newer than the server's API | ``err_unknown_api_version`` |
| System-Data-only command from a domain session | ``err_not_a_system_domain_session`` |
| domain-only command (``set-ha-state`` ...) from System Data | ``err_inappropriate_domain_type`` |
| unknown domain, or no copy of it on this server | ``err_login_failed`` (1) |
| MDS processes or the local DMS ``down`` | ``err_login_failed`` (1) |
| read/write ``login`` by domain name (``name-login-refused``) | ``err_login_failed`` (1) |
| MDS processes or the local DMS starting (``pnd``/``init``) | ``generic_server_initializing`` |
| HA command on a Domain Log Server | ``err_ha_invalid_operation`` |
| no ``-r true`` and no session | ``generic_err_missing_required_parameters`` |
| unknown, logged-out or forgotten session | ``generic_err_wrong_session_id`` |
| session used after its DMS went to standby | ``generic_err_session_expired`` |

(1) with the verbatim message ``Authentication to server failed.``

The package holds one concern per module: ``options`` (the command line), ``render`` (JSON
and text), ``errors`` (the failure body), ``login`` (which domain, which session),
``context`` and ``registry`` (one call, the commands), ``sessions`` and ``tasks``,
``metering`` (what one call costs, whether the server takes it), ``shapes`` (shared
response shapes), ``handlers_*`` (the commands by subject) and ``program`` (``mgmt_cli``
itself). Importing the package registers every command.
"""

from __future__ import annotations

from mdstools.lab.mgmt import (
    handlers_changes,
    handlers_domains,
    handlers_ha,
    handlers_objects,
    handlers_processes,
    handlers_sessions,
    handlers_tasks,
)
from mdstools.lab.mgmt.errors import ERROR_EXIT_STATUS, ERRORS_ON_STDOUT, MgmtCliError
from mdstools.lab.mgmt.options import parse_words, split_options
from mdstools.lab.mgmt.program import mgmt_cli
from mdstools.lab.mgmt.registry import COMMANDS
from mdstools.lab.mgmt.render import render, to_json, to_text
from mdstools.lab.mgmt.shapes import SYSTEM_DATA, SYSTEM_DATA_UID

__all__ = [
    "COMMANDS",
    "ERRORS_ON_STDOUT",
    "ERROR_EXIT_STATUS",
    "SYSTEM_DATA",
    "SYSTEM_DATA_UID",
    "MgmtCliError",
    "handlers_changes",
    "handlers_domains",
    "handlers_ha",
    "handlers_objects",
    "handlers_processes",
    "handlers_sessions",
    "handlers_tasks",
    "mgmt_cli",
    "parse_words",
    "render",
    "split_options",
    "to_json",
    "to_text",
]
