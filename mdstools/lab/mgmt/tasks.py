"""Asynchronous tasks (publish, set-ha-state, ha-full-sync ...) and their ``show-task`` shape."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from mdstools.lab.mgmt.context import Ctx
from mdstools.lab.mgmt.render import JsonObj
from mdstools.lab.mgmt.shapes import domain_ref, object_meta, stamp
from mdstools.lab.model import Domain, LabError


@dataclass
class Task:
    """An asynchronous task (``Deployment.tasks[task_id]["task"]``), read by ``show-task``."""

    task_id: str
    name: str
    domain: Domain | None
    server: str
    start_wall: float
    start_lab: float
    duration: float  # lab seconds
    status: str = "in progress"
    details: list[JsonObj] = field(default_factory=list)
    comments: str = ""
    last_update: float = 0.0


def task_of(entry: dict[str, object] | None) -> Task | None:
    """The task kept in a ``Deployment.tasks`` entry, if there is one."""
    obj = entry.get("task") if entry else None
    return obj if isinstance(obj, Task) else None


def start_task(
    ctx: Ctx,
    name: str,
    realistic_seconds: float,
    describe: str = "Operation completed successfully",
    effect: Callable[[], None] | None = None,
) -> Task:
    """A task that finishes after ``realistic_seconds`` (scaled), running ``effect`` then.

    With no duration it is already finished (``effect`` runs now).
    """
    dep = ctx.dep
    task = Task(
        str(uuid.uuid4()),
        name,
        ctx.domain,
        ctx.server.name,
        dep.clock.wall(),
        dep.clock.now(),
        dep.clock.dur(realistic_seconds),
    )
    task.last_update = task.start_wall
    dep.tasks[task.task_id] = {"task": task}

    def finish() -> None:
        with dep.lock:
            try:
                if effect is not None:
                    effect()
            except LabError as exc:
                task.status, task.comments = "failed", exc.message
                task.details = [{"statusCode": "failed", "statusDescription": exc.message}]
            else:
                task.status = "succeeded"
                if not task.details:
                    task.details = [{"statusCode": "succeeded", "statusDescription": describe}]
            task.last_update = dep.clock.wall()

    if task.duration <= 0:
        finish()
    else:
        dep.scheduler.after(task.duration, finish)
    return task


def task_obj(ctx: Ctx, task: Task) -> JsonObj:
    """A task as ``show-task`` prints it (``full`` adds its uid, domain and times)."""
    if task.status == "in progress":
        elapsed = ctx.dep.clock.now() - task.start_lab
        pct = max(0, min(99, int(100 * elapsed / task.duration))) if task.duration else 0
        desc = "In progress"
    else:
        pct = 100
        desc = "Operation Complete" if task.status == "succeeded" else "Operation Failed"
    obj: JsonObj = {}
    if ctx.full:
        obj.update({"uid": task.task_id, "type": "task", "domain": domain_ref(task.domain)})
        obj.update(object_meta())
        obj["comments"] = task.comments
        obj["icon"] = "General/globalsNa"
    obj.update(
        {
            "task-name": task.name,
            "task-id": task.task_id,
            "status": task.status,
            "progress-percentage": pct,
            "progress-description": desc,
        }
    )
    if ctx.full:
        obj["start-time"] = stamp(task.start_wall)
        obj["last-update-time"] = stamp(task.last_update)
    obj["suppressed"] = False
    obj["task-details"] = list(task.details)
    return obj
