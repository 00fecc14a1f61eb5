"""``show-task``."""

from __future__ import annotations

from mdstools.lab.mgmt.context import Ctx
from mdstools.lab.mgmt.errors import MgmtCliError, not_found
from mdstools.lab.mgmt.registry import command
from mdstools.lab.mgmt.render import JsonObj
from mdstools.lab.mgmt.tasks import task_obj, task_of


@command("show-task")
def _show_task(ctx: Ctx) -> JsonObj:
    """``show-task task-id X [details-level full]`` (``task-id.1 X task-id.2 Y`` for several).

    ``status``: ``in progress`` then ``succeeded`` or ``failed``; ``progress-percentage``
    from the elapsed share of the task's duration. ``task-details`` are shown at every
    details level (a real server may want ``full``); ``full`` adds ``uid``, ``type``,
    ``domain``, ``start-time``, ``last-update-time`` as the official full example.
    """
    raw = ctx.params.get("task-id")
    if raw is None or raw == "":
        raise MgmtCliError(
            "generic_err_missing_required_parameters", "Missing parameter: [task-id]"
        )
    ids = raw if isinstance(raw, list) else [raw]
    tasks: list[JsonObj] = []
    for tid in ids:
        task = task_of(ctx.dep.tasks.get(str(tid)))
        if task is None:
            raise not_found(str(tid))
        tasks.append(task_obj(ctx, task))
    return {"tasks": tasks}
