"""``show-changes``: the published sessions of a domain database and what they changed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from mdstools.lab.mgmt.context import Ctx
from mdstools.lab.mgmt.errors import MgmtCliError
from mdstools.lab.mgmt.handlers_objects import fields_out
from mdstools.lab.mgmt.registry import command
from mdstools.lab.mgmt.render import JsonObj
from mdstools.lab.mgmt.shapes import domain_ref, newest_first, stamp
from mdstools.lab.mgmt.tasks import start_task
from mdstools.lab.model import Change, Domain, Revision


def parse_date(text: str, end_of_day: bool = False) -> float:
    """ISO 8601 (server time zone, UTC, when none is given) -> epoch seconds.

    A date without a time as ``to-date`` means the end of that day.
    """
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise MgmtCliError(
            "generic_err_invalid_parameter", f"Invalid parameter: [{text}] is not an ISO 8601 date"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    if end_of_day and "T" not in text:
        dt += timedelta(days=1)
    return dt.timestamp()


def _object_ref(ch: Change, dom: Domain | None, full: bool) -> JsonObj:
    obj: JsonObj = {"uid": ch.uid, "name": ch.name, "type": ch.type, "domain": domain_ref(dom)}
    if full:
        obj.update(fields_out(ch.type, ch.fields))
    return obj


def _change_entry(rev: Revision, dom: Domain | None, full: bool) -> JsonObj:
    added = [_object_ref(c, dom, full) for c in rev.changes if c.operation == "added"]
    modified = [
        {"old-object": _object_ref(c, dom, False), "new-object": _object_ref(c, dom, full)}
        for c in rev.changes
        if c.operation == "modified"
    ]
    deleted = [_object_ref(c, dom, False) for c in rev.changes if c.operation == "deleted"]
    return {
        "session": {
            "session-uid": rev.uid,
            "user-name": rev.admin,
            "publish-time": stamp(rev.publish_time),
            "domain-info": domain_ref(dom),
        },
        "operations": {
            "added-objects": added,
            "modified-objects": modified,
            "deleted-objects": deleted,
        },
    }


@command("show-changes", scope="domain", since="1.1")
def _show_changes(ctx: Ctx) -> JsonObj:
    """``show-changes [from-date T] [to-date T] [limit 10] [offset 0] [details-level full]``.

    Returns ``task-id``; the diff is the finished task's ``task-details[0]``: ``changes[]``
    (one entry per published session of the local database, newest first: ``session`` and
    ``operations`` with ``added-objects``/``modified-objects``/``deleted-objects``),
    ``limit``, ``offset``. Without dates only the last published session is reported.
    ``details-level full`` adds the object fields (``ipv4-address`` ...).
    """
    local = ctx.need_local()
    revs = newest_first(local)
    start, end = ctx.param("from-date"), ctx.param("to-date")
    if start is None and end is None:
        revs = revs[:1]
    else:
        lo = parse_date(start) if start else float("-inf")
        hi = parse_date(end, end_of_day=True) if end else float("inf")
        revs = [r for r in revs if lo <= r.publish_time <= hi]
    limit, offset = ctx.number("limit", 10), ctx.number("offset", 0)
    revs = revs[offset : offset + limit]
    task = start_task(ctx, "Show Changes", 0.0)
    task.details = [
        {
            "changes": [_change_entry(r, ctx.domain, ctx.full) for r in revs],
            "limit": limit,
            "offset": offset,
        }
    ]
    return {"task-id": task.task_id}
