"""What changed in a DMS database since a moment: the change freeze (R6) and Collision (R14).

Management API, per domain (``mgmt_cli -r true -d <domain>`` acts on the LOCAL DMS of the
server it runs on), as ``docs/formats.md#show-changes`` describes:

* ``show-last-published-session`` (v1.1, R80.10+): the newest published session; its
  ``publish-time`` {posix, iso-8601} is the freeze marker (``ha.show_last_published_session``);
* ``show-changes from-date <ISO 8601> [to-date ...] limit N details-level full`` (v1.1):
  asynchronous, answers ``{"task-id": ...}``; the diff is in ``show-task`` as
  ``tasks[0].task-details[0].changes[]``, one entry per published session (newest first),
  each with ``session`` {session-uid, user-name, publish-time} and ``operations``
  {added-objects, modified-objects (old-object/new-object), deleted-objects}.
"""

from __future__ import annotations

from typing import Any

from mdstools.commands._text import fail, json_int
from mdstools.commands.base import Command
from mdstools.commands.ha import _command, _dict, _dicts, _obj, _str, mgmt
from mdstools.records import ChangeRecord


def show_changes(domain: str, from_date: str, limit: int = 100) -> Command[str]:
    """``-d <domain> show-changes from-date <ISO> limit N details-level full``: a task id.

    Example record: ``"dcc3eb03-1ca8-40ab-b5d9-f75b9a95967a"`` (read the diff with
    :func:`changes_of_task`).
    """
    line = mgmt(
        "show-changes",
        {"from-date": from_date, "limit": str(limit), "details-level": "full"},
        domain=domain,
    )
    return _command(line, parse_task_id, "show_changes")


def parse_task_id(text: str) -> str:
    """The ``task-id`` of an asynchronous answer.

    Example record: ``{"task-id" : "dcc3eb03-..."}`` -> ``"dcc3eb03-..."``.
    """
    data = _obj(text, "show-changes")
    task_id = data.get("task-id")
    if not isinstance(task_id, str) or not task_id:
        raise fail("mgmt_cli show-changes", "no 'task-id' in the answer", text)
    return task_id


def changes_of_task(domain: str, task_id: str) -> Command[tuple[str, list[ChangeRecord]]]:
    """``show-task task-id <id> details-level full`` of a show-changes task.

    Returns (task status, changes). Example record: ``("succeeded", [ChangeRecord(domain=
    "dom1", session_uid="92365b59-...", admin="admin", publish_time="2026-11-26T15:12+0000",
    publish_posix=1795705957141, operation="added", object_type="host", object_name="h9",
    object_uid="7b8c2f5e-...", fields={"ipv4-address": "1.2.3.4"})])``.
    """
    line = mgmt("show-task", {"task-id": task_id, "details-level": "full"}, domain=domain)
    return _command(line, lambda t: parse_changes_task(t, domain), "show_changes_task")


_SKIP = {
    "uid",
    "name",
    "type",
    "domain",
    "meta-info",
    "tags",
    "read-only",
    "icon",
    "color",
    "comments",
    "available-actions",
}


def _fields(obj: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in obj.items():
        if k in _SKIP:
            continue
        if isinstance(v, list):
            names = [x.get("name") if isinstance(x, dict) else x for x in v]
            out[k] = ",".join(str(n) for n in names if n is not None)
        elif isinstance(v, (str, int, float, bool)):
            out[k] = str(v)
    return out


def parse_changes_task(text: str, domain: str = "") -> tuple[str, list[ChangeRecord]]:
    """Parse the ``show-task`` of a show-changes task (the official example's shape).

    Example record: see :func:`changes_of_task`.
    """
    data = _obj(text, "show-task")
    tasks = data.get("tasks")
    if not isinstance(tasks, list) or not tasks or not isinstance(tasks[0], dict):
        raise fail("mgmt_cli show-task", "no 'tasks' list with a task in the answer", text)
    task = tasks[0]
    status = str(task.get("status", ""))
    out: list[ChangeRecord] = []
    for detail in _dicts(task.get("task-details")):
        for change in _dicts(detail.get("changes")):
            session = _dict(change.get("session"))
            publish = _dict(session.get("publish-time"))
            ops = _dict(change.get("operations"))
            posix = publish.get("posix")
            base: dict[str, Any] = {
                "domain": domain or str(_dict(session.get("domain-info")).get("name", "")),
                "session_uid": str(session.get("session-uid", "")),
                "admin": _str(session.get("user-name")),
                "publish_time": _str(publish.get("iso-8601")),
                "publish_posix": json_int(posix),
            }
            for op, key in (("added", "added-objects"), ("deleted", "deleted-objects")):
                for obj in _dicts(ops.get(key)):
                    out.append(
                        ChangeRecord(
                            **base,
                            operation=op,
                            object_type=str(obj.get("type", "")),
                            object_name=str(obj.get("name", "")),
                            object_uid=str(obj.get("uid", "")),
                            fields=_fields(obj),
                        )
                    )
            for pair in _dicts(ops.get("modified-objects")):
                new = _dict(pair.get("new-object"))
                out.append(
                    ChangeRecord(
                        **base,
                        operation="modified",
                        object_type=str(new.get("type", "")),
                        object_name=str(new.get("name", "")),
                        object_uid=str(new.get("uid", "")),
                        fields=_fields(new),
                    )
                )
    return status, out
