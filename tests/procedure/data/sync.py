"""Cases of ``mdstools.procedure.sync``: one active per domain, Collision, full sync (07)."""

from __future__ import annotations

from typing import Any

from mdstools import status
from mdstools.commands import ha
from mdstools.errors import MdstoolsError
from mdstools.procedure import sync
from mdstools.records import COLLISION, NEVER_SYNCHRONIZED, SYNCHRONIZED, UNKNOWN
from mdstools.run import Run
from tests.procedure.harness import Case, change_sent, fixture, in_session, mgmt_error, wait_sent

DOMAINS = "mgmt_cli -r true show-domains details-level 'full' limit '500' --format json"
SYNC_TASK = "1c68d621-3188-4a9f-92ef-c7298672f26f"
FULL_SYNC = change_sent("dom1", lambda s: ha.ha_full_sync("dom1", "dom1_Server_2", s))
SHOW_SYNC_TASK = wait_sent("dom1", SYNC_TASK)
KEY = (
    "mds1 ha_full_sync: mgmt_cli -r true -d 'dom1' ha-full-sync name 'dom1_Server_2' --format json"
)

RETAIN: list[tuple[Any, dict[str, str]]] = [
    ("mds2", {"dom1": "mds2", "dom3": "mds2"}),
    ("dom1=mds1, dom3=mds2", {"dom1": "mds1", "dom3": "mds2"}),
    ({"dom3": "mds2"}, {"dom3": "mds2"}),
    ("", {}),
    (None, {}),
]
"""(retain_database_on, the database kept per collided domain dom1 and dom3)."""

RETAIN_BAD: list[tuple[Any, str]] = [
    ("mds9", "retain_database_on names unknown servers: dom1=mds9, dom3=mds9"),
    ("dom1=mds1,dom3=mlm1", "retain_database_on names unknown servers: dom3=mlm1"),
]


def snapshot(*domains: status.DomainStatus) -> status.Snapshot:
    """The HA picture of ``domains`` (servers and processes are not used here)."""
    return status.Snapshot(
        collected_at="2026-11-26T15:00:00+00:00",
        servers=[],
        domain_servers=[],
        domains=list(domains),
        checks=[],
        notes=[],
    )


def domain(name: str, states: dict[str, str], actives: list[str]) -> status.DomainStatus:
    """A domain with its sync status per MDS and its active servers."""
    active = actives[0] if len(actives) == 1 else None
    standbys = [m for m in states if m not in actives]
    return status.DomainStatus(
        name=name,
        active_server=active,
        standby_servers=standbys,
        sync_status=states,
        active_servers=actives,
    )


STANDBY_BEHIND = snapshot(
    domain("dom1", {"mds1": SYNCHRONIZED, "mds2": NEVER_SYNCHRONIZED}, ["mds1"]),
    domain("dom2", {"mds1": SYNCHRONIZED, "mds2": SYNCHRONIZED}, ["mds1"]),
)


def rows(df: Any) -> list[tuple[str, ...]]:
    """The rows of an actions frame as tuples of text."""
    return [tuple(str(v) for v in r) for r in df.itertuples(index=False)]


def _standbys(run: Run) -> list[tuple[str, ...]]:
    return rows(sync.synchronize_standbys(run, STANDBY_BEHIND))


def _one_active(run: Run) -> list[tuple[str, ...]]:
    snap = snapshot(
        domain("dom1", {"mds1": SYNCHRONIZED, "mds2": SYNCHRONIZED}, ["mds1", "mds2"]),
        domain("dom2", {"mds1": SYNCHRONIZED, "mds2": SYNCHRONIZED}, []),
        domain("dom3", {"mds1": COLLISION, "mds2": COLLISION}, ["mds1", "mds2"]),
    )
    return rows(sync.one_active(run, snap))


def _resolve(run: Run) -> list[tuple[str, ...]]:
    snap = snapshot(domain("dom1", {"mds1": COLLISION, "mds2": COLLISION}, ["mds1", "mds2"]))
    return rows(sync.resolve(run, snap, {"dom1": "mds1"}))


def _earlier_task(run: Run) -> None:
    """An earlier run started the full sync of dom1 and stopped before it ended."""
    run.journal.write("step", event="task-start", key=KEY, server="mds1", task=SYNC_TASK)


CASES = [
    Case(
        "a standby never synchronized gets a full sync from the active",
        _standbys,
        answers={
            "mds1": {
                "show-domains": fixture("show_domains/lab_r81.10.txt"),
                "ha-full-sync": in_session("dom1", answer=fixture("ha_full_sync/lab_r81.10.txt")),
                "show-task": in_session(
                    "dom1", answer=fixture("show_task/lab_r81.10_full_sync.txt")
                ),
            }
        },
        phase_id="07",
        sent={"mds1": [DOMAINS, FULL_SYNC, SHOW_SYNC_TASK]},
        result=[("dom1", "ha-full-sync mds1 -> dom1_Server_2", "mds1", "succeeded")],
        events=[
            ("step", {"event": "task-start", "key": KEY, "task": SYNC_TASK}),
            ("step", {"event": "task-end", "key": KEY, "status": "succeeded"}),
        ],
    ),
    Case(
        "a rerun waits for the full sync an earlier run started, and sends none",
        _standbys,
        answers={
            "mds1": {
                "show-domains": fixture("show_domains/lab_r81.10.txt"),
                "show-task": in_session(
                    "dom1", answer=fixture("show_task/lab_r81.10_full_sync.txt")
                ),
            }
        },
        setup=_earlier_task,
        phase_id="07",
        sent={"mds1": [DOMAINS, SHOW_SYNC_TASK]},
        result=[("dom1", "ha-full-sync mds1 -> dom1_Server_2", "mds1", "succeeded")],
        events=[
            ("step", {"event": "task-start", "key": KEY}),
            ("step", {"event": "found", "found": "in progress"}),
            ("step", {"event": "task-end", "key": KEY, "status": "succeeded"}),
        ],
    ),
    Case(
        "the full sync refused by the Management API",
        _standbys,
        answers={
            "mds1": {
                "show-domains": fixture("show_domains/lab_r81.10.txt"),
                "ha-full-sync": in_session(
                    "dom1", answer=mgmt_error("err_validation_failed", "peer is not reachable")
                ),
            }
        },
        phase_id="07",
        sent={"mds1": [DOMAINS, FULL_SYNC]},
        result=[
            (
                "dom1",
                "ha-full-sync mds1 -> dom1_Server_2",
                "mds1",
                "FAILED: mgmt_cli task: err_validation_failed: peer is not reachable. see the "
                "Management API reference for the code",
            )
        ],
    ),
    Case(
        "dry run: two actives and none active, Collision left to the decision",
        _one_active,
        phase_id="07",
        dry_run=True,
        result=[
            ("dom1", "set-ha-state standby", "mds2", "dry run"),
            ("dom2", "set-ha-state active", "mds1", "dry run"),
        ],
        events=[
            (
                "dry-run",
                {
                    "server": "mds2",
                    "command": change_sent("dom1", lambda s: ha.set_ha_state("dom1", "standby", s)),
                },
            ),
            (
                "dry-run",
                {
                    "server": "mds1",
                    "command": change_sent("dom2", lambda s: ha.set_ha_state("dom2", "active", s)),
                },
            ),
        ],
    ),
    Case(
        "dry run: a Collision resolved towards the primary is only shown",
        _resolve,
        answers={"mds1": {"show-domains": fixture("show_domains/lab_r81.10.txt")}},
        phase_id="07",
        dry_run=True,
        sent={"mds1": [DOMAINS]},
        result=[
            ("dom1", "set-ha-state standby", "mds2", "dry run"),
            ("dom1", "ha-full-sync mds1 -> dom1_Server_2", "mds1", "dry run"),
        ],
    ),
    Case(
        "a collided domain whose peer show-domains does not list",
        lambda run: rows(
            sync.synchronize_standbys(
                run,
                snapshot(domain("dom9", {"mds1": SYNCHRONIZED, "mds2": UNKNOWN}, ["mds1"])),
            )
        ),
        answers={"mds1": {"show-domains": fixture("show_domains/lab_r81.10.txt")}},
        phase_id="07",
        sent={"mds1": [DOMAINS]},
        raises=(MdstoolsError, "no domain server of dom9 on mds2 in show-domains"),
    ),
]
