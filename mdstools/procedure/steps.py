"""The steps of every phase, declared once: which servers, which command, what it is for.

A :class:`Step` names the servers it runs on (by role), the command builder of
``mdstools/commands`` with the arguments it takes from the inventory, a short note ("until
Installed", "detached job") and the upgrade method it belongs to. The procedures build
their commands from these steps; ``mdstools plan`` prints them per phase (:data:`PHASE_STEPS`);
``tests/procedure/test_plan.py`` checks that every command a procedure sends is a step of its
phase, and that every step is sent by some scripted case. Importing this module needs no
pandas and opens no connection.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from mdstools.commands import (
    backup,
    changes,
    ha,
    mdsstat,
    objects,
    revert,
    services,
    snapshot,
    upgrade,
    verifier,
)
from mdstools.commands import versions as versions_
from mdstools.commands.base import Command, raw
from mdstools.errors import InventoryError
from mdstools.inventory import Inventory
from mdstools.mgmt_api import EXECS_PER_SERVER

MDS_SETUP_DEFAULT = "$MDSDIR/scripts/mds_setup"


class Servers(str, Enum):
    """Which servers of the inventory a step runs on (the value is how the plan says it)."""

    EVERY = "every server"
    MDSS = "every MDS"
    ANY_MDS = "the primary (another MDS when it does not answer)"
    PRIMARY = "the primary"
    SECONDARIES = "each secondary, one at a time"
    LOG_SERVERS = "each log server"

    def names(self, inv: Inventory) -> list[str]:
        """The names of the servers of ``inv`` this role covers."""
        if self is Servers.EVERY:
            return [s.name for s in inv.servers]
        if self in (Servers.MDSS, Servers.ANY_MDS):
            return [s.name for s in inv.mdss]
        if self is Servers.PRIMARY:
            return [inv.primary.name]
        if self is Servers.SECONDARIES:
            return [s.name for s in inv.secondaries]
        return [s.name for s in inv.log_servers]


Builder = Callable[..., Command[Any]]


@dataclass(frozen=True, kw_only=True)
class Step:
    """One command of a phase, as data.

    ``build(inventory, **args)`` gives the command; ``args`` names the values only known
    while the phase runs (a domain, a task id), shown as ``<name>`` by the plan. ``job``
    names the detached job that runs the command (:mod:`mdstools.jobs`); ``method`` limits
    the step to one upgrade method; ``parts`` are the commands a job of several is made of.
    """

    servers: Servers
    build: Builder
    args: tuple[str, ...] = ()
    note: str = ""
    job: str = ""
    method: str = ""
    parts: Callable[[Inventory], tuple[Command[Any], ...]] | None = None

    def command(self, inv: Inventory, **args: str) -> Command[Any]:
        """The command to send, with the values of ``args``."""
        return self.build(inv, **args)

    def in_session(self, inv: Inventory, **args: str) -> Callable[[str], Command[Any]]:
        """The command with the values of ``args``, run in the session of a file:
        ``in_session(inv, domain="dom1")('"$d/s1"')``."""
        return lambda session: self.build(inv, session=session, **args)

    def commands(self, inv: Inventory, **args: str) -> tuple[Command[Any], ...]:
        """What the step sends: its ``parts`` (one job of several commands, each shown on
        its own by a dry run), else its one command."""
        return self.parts(inv) if self.parts else (self.command(inv, **args),)

    def shown(self, inv: Inventory) -> Command[Any]:
        """The command with ``<name>`` in place of each value known only at run time."""
        return self.build(inv, **{a: f"<{a}>" for a in self.args})

    def describe(self, inv: Inventory) -> str:
        """The plan's line: ``[mode] line (changes the server) -- note``."""
        cmd = self.shown(inv)
        mark = " (changes the server)" if cmd.mutating else ""
        notes = [n for n in (self.note, "detached job" if self.job else "") if n]
        return f"[{cmd.mode.value}] {cmd.line}{mark}" + (f" -- {'; '.join(notes)}" if notes else "")

    def lacks_package(self, inv: Inventory) -> bool:
        """True when the step sends the upgrade package and ``inv`` gives none."""
        if inv.upgrade_package:
            return False
        try:
            self.shown(inv)
        except ValueError:
            return True
        return False

    def applies(self, inv: Inventory) -> bool:
        """The step belongs to ``inv``'s upgrade method."""
        return not self.method or self.method == inv.upgrade_method


def package_name(inv: Inventory) -> str:
    """The CPUSE package's file name."""
    return posixpath.basename(inv.upgrade_package)


def mds_setup_path(inv: Inventory) -> str:
    """Where ``mds_setup`` is on the servers (the inventory's, else the installed one)."""
    return inv.upgrade_package or MDS_SETUP_DEFAULT


def _restart_parts(inv: Inventory) -> tuple[Command[Any], ...]:
    return services.mdsstop(), services.mdsstart()


def _restart(inv: Inventory) -> Command[str]:
    line = "; ".join(c.line for c in _restart_parts(inv))
    return Command(line, raw, name="mdsstop; mdsstart", timeout_s=3 * 3600.0, mutating=True)


def _cat_report(inv: Inventory, report: str) -> Command[Any]:
    return Command(f"cat {report}", verifier.parse_verifier_report, name="verifier report")


# -- reads shared by several phases ----------------------------------------------------------
FW_VER = Step(servers=Servers.EVERY, build=lambda inv: versions_.fw_ver())
MDSSTAT = Step(servers=Servers.EVERY, build=lambda inv: mdsstat.mdsstat())
SHOW_DOMAINS = Step(servers=Servers.PRIMARY, build=lambda inv: ha.show_domains())
HA_STATE = Step(servers=Servers.ANY_MDS, build=lambda inv: ha.show_ha_state())
API_LOGIN = Step(
    servers=Servers.MDSS,
    build=lambda inv, domain: Command(ha.login(domain), raw),
    args=("domain",),
    note="per domain read: one read-only session, written to a private file "
    f"(at most {EXECS_PER_SERVER} execs per MDS at once; by UID when the name fails)",
)
API_LOGOUT = Step(
    servers=Servers.MDSS,
    build=lambda inv, session: Command(ha.logout(session), raw),
    args=("session",),
    note="after the domain's reads, and from a trap when the exec ends early",
)
HA_STATUS = Step(
    servers=Servers.MDSS,
    build=lambda inv, session: Command(ha.mgmt("show-ha-status", session=session), raw),
    args=("session",),
    note="for each domain active on the MDS (R81.20 JHF T43+), in the domain's session",
)
API_LOGIN_RW = Step(
    servers=Servers.MDSS,
    build=lambda inv, domain: Command(ha.login(domain, read_only=False), raw),
    args=("domain",),
    note="per change: one read/write session for the command, logged out after it "
    "(a switch to standby expires it)",
)
SHOW_TASK = Step(
    servers=Servers.MDSS,
    build=lambda inv, task, session: ha.show_task(task, session=session),
    args=("task", "session"),
    note="until the task is done, polled in one read-only session for the whole wait",
)

# -- 01: the verifier ---------------------------------------------------------------------
PACKAGES_IMPORTED = Step(
    servers=Servers.EVERY,
    build=lambda inv: upgrade.show_installer_packages("imported"),
    method="cpuse",
)
LOCK_OVERRIDE = Step(
    servers=Servers.EVERY,
    build=lambda inv: upgrade.lock_database_override(),
    note="before an import or an upgrade",
    method="cpuse",
)
IMPORT = Step(
    servers=Servers.EVERY,
    build=lambda inv: upgrade.installer_import_local(inv.upgrade_package),
    note="only if not imported",
    method="cpuse",
)
PACKAGE = Step(
    servers=Servers.EVERY,
    build=lambda inv: upgrade.show_installer_package(package_name(inv)),
    note="until Imported after an import; until Installed after an upgrade",
    method="cpuse",
)
VERIFY = Step(
    servers=Servers.EVERY,
    build=lambda inv: verifier.installer_verify(package_name(inv)),
    method="cpuse",
)
VERIFIER_REPORT = Step(
    servers=Servers.EVERY,
    build=_cat_report,
    args=("report",),
    note="when installer verify names its report",
    method="cpuse",
)
MDS_SETUP_VERIFY = Step(
    servers=Servers.EVERY,
    build=lambda inv: verifier.mds_setup_verification(mds_setup_path(inv)),
    method="mds_setup",
)

# -- 02: HA on the primary, backups, the freeze ---------------------------------------------
MAKE_ACTIVE = Step(
    servers=Servers.PRIMARY,
    build=lambda inv, domain, session=None: ha.set_ha_state(domain, "active", session),
    args=("domain", "session"),
    note="for each domain not active on the primary",
)
DEMOTE = Step(
    servers=Servers.MDSS,
    build=lambda inv, domain, session=None: ha.set_ha_state(domain, "standby", session),
    args=("domain", "session"),
    note="on a peer still active afterwards",
)
BACKUP_DIR = Step(
    servers=Servers.MDSS, build=lambda inv: Command(f"mkdir -p {inv.backup_dir}", raw, name="mkdir")
)
FREE_SPACE = Step(servers=Servers.MDSS, build=lambda inv: backup.free_space(inv.backup_dir))
MDS_BACKUP = Step(
    servers=Servers.MDSS, build=lambda inv: backup.mds_backup(inv.backup_dir), job="mds_backup"
)
BACKUP_FILES = Step(servers=Servers.MDSS, build=lambda inv: backup.backup_files(inv.backup_dir))
BACKUP_SHA256 = Step(
    servers=Servers.MDSS,
    build=lambda inv, archive: backup.sha256(archive),
    args=("archive",),
    note="the newest archive",
)
LAST_PUBLISHED = Step(
    servers=Servers.MDSS,
    build=lambda inv, session: Command(
        ha.mgmt("show-last-published-session", session=session), raw
    ),
    args=("session",),
    note="per domain, in the domain's session: the change marker (R6)",
)

# -- 02: a Gaia snapshot of every MDS and MLM (B1), the last step --------------------------
SHOW_SNAPSHOTS = Step(
    servers=Servers.EVERY,
    build=lambda inv: snapshot.show_snapshots(),
    note="the space a snapshot needs and has; then until the ticket's snapshot is created",
)
SNAPSHOT_DETAIL = Step(
    servers=Servers.EVERY,
    build=lambda inv, name: snapshot.show_snapshot(name),
    args=("name",),
    note="its size, version and date once created (an earlier one's size on a rerun)",
)
DELETE_SNAPSHOT = Step(
    servers=Servers.EVERY,
    build=lambda inv, name: snapshot.delete_snapshot(name),
    args=("name",),
    note="on a rerun of 02: the ticket's earlier snapshot, taken again",
)
ADD_SNAPSHOT = Step(
    servers=Servers.EVERY,
    build=lambda inv, name, ticket: snapshot.add_snapshot(
        name, f"mdstools {ticket} before upgrade"
    ),
    args=("name", "ticket"),
    note="mdstools_<ticket>_<server>, on every server; then all waited for together",
)

# -- 03-07: the change freeze's watch --------------------------------------------------------
WATCH_PUBLISHED = Step(
    servers=Servers.MDSS,
    build=lambda inv, session: Command(
        ha.mgmt("show-last-published-session", session=session), raw
    ),
    args=("session",),
    note="per domain, in the domain's session: did the marker move since the freeze (R6)",
)
SHOW_CHANGES = Step(
    servers=Servers.MDSS,
    build=lambda inv, domain, since: changes.show_changes(domain, since),
    args=("domain", "since"),
    note="where the marker moved",
)
CHANGES_TASK = Step(
    servers=Servers.MDSS,
    build=lambda inv, domain, task: changes.changes_of_task(domain, task),
    args=("domain", "task"),
    note="the show-changes task, until done; then the changes it found",
)

# -- 03-05: the upgrade -----------------------------------------------------------------------
INSTALLER_UPGRADE = Step(
    servers=Servers.EVERY,
    build=lambda inv: upgrade.installer_upgrade(package_name(inv)),
    note="unless on the target already or an upgrade is in progress (reboot expected)",
    method="cpuse",
)
MDS_SETUP_UPGRADE = Step(
    servers=Servers.EVERY,
    build=lambda inv: upgrade.mds_setup_upgrade(mds_setup_path(inv)),
    note="unless on the target already or the ticket's job is running",
    job="mds_setup upgrade",
    method="mds_setup",
)
UNTIL_TARGET = Step(
    servers=Servers.EVERY, build=lambda inv: versions_.fw_ver(), note="until the target version"
)
UNTIL_UP = Step(
    servers=Servers.EVERY, build=lambda inv: mdsstat.mdsstat(), note="until every process is up"
)

# -- 06: object versions ----------------------------------------------------------------------
START_DMS = Step(
    servers=Servers.MDSS,
    build=lambda inv, dms: services.mdsstart_customer(dms),
    args=("dms",),
    note="for each DMS that is down",
)
MDSENV = Step(
    servers=Servers.MDSS, build=lambda inv: Command("mdsenv; echo $FWDIR", raw, name="mdsenv")
)
FIX_VERSIONS = Step(
    servers=Servers.MDSS,
    build=lambda inv: objects.fix_cmas_clms_version(),
    job="mds_fix_cmas_clms_version",
)
RESTART = Step(servers=Servers.MDSS, build=_restart, job="mdsstop; mdsstart", parts=_restart_parts)

# -- 07: HA synchronization -------------------------------------------------------------------
STANDBY = Step(
    servers=Servers.MDSS,
    build=lambda inv, domain, session=None: ha.set_ha_state(domain, "standby", session),
    args=("domain", "session"),
    note="on the side not retained, or a second active",
)
ACTIVE = Step(
    servers=Servers.MDSS,
    build=lambda inv, domain, session=None: ha.set_ha_state(domain, "active", session),
    args=("domain", "session"),
    note="on the retained side, or the primary for a domain without an active",
)
FULL_SYNC = Step(
    servers=Servers.MDSS,
    build=lambda inv, domain, peer, session=None: ha.ha_full_sync(domain, peer, session),
    args=("domain", "peer", "session"),
    note="from the active or retained side",
)

# -- 09: the way back -------------------------------------------------------------------------
SNAPSHOT_THERE = replace(SHOW_SNAPSHOTS, note="is the snapshot of phase 02 there, complete")
BOOT_TIME = Step(
    servers=Servers.EVERY,
    build=lambda inv: revert.boot_time(),
    note="before the revert, then until it changes: the server rebooted",
)
REVERT = Step(
    servers=Servers.EVERY,
    build=lambda inv, snapshot: revert.set_snapshot_revert(snapshot),
    args=("snapshot",),
    note="each server to revert, one at a time: log servers, secondaries, the primary "
    "(it reboots; the connection drops)",
)
UNTIL_REVERTED = Step(
    servers=Servers.EVERY,
    build=lambda inv: versions_.fw_ver(),
    note="until rebooted and on the snapshot's version",
)
MDSSTART = Step(
    servers=Servers.EVERY,
    build=lambda inv: services.mdsstart(),
    job="mdsstart",
    note="after its revert",
)


def _snapshot() -> tuple[Step, ...]:
    """What :func:`mdstools.status.collect` reads: every server, then the primary's HA view."""
    return (
        FW_VER,
        MDSSTAT,
        SHOW_DOMAINS,
        Step(servers=Servers.PRIMARY, build=lambda inv: ha.show_ha_state()),
        API_LOGIN,
        HA_STATUS,
        API_LOGOUT,
    )


WATCH = (API_LOGIN, WATCH_PUBLISHED, API_LOGOUT, SHOW_CHANGES, SHOW_TASK, CHANGES_TASK)


def _upgrade(servers: Servers) -> tuple[Step, ...]:
    """The upgrade of each of ``servers`` (:func:`mdstools.procedure.upgrade.upgrade_server`)."""
    return tuple(
        replace(s, servers=servers)
        for s in (
            FW_VER,
            replace(PACKAGE, note="its status first; after the upgrade, until Installed"),
            PACKAGES_IMPORTED,
            LOCK_OVERRIDE,
            IMPORT,
            INSTALLER_UPGRADE,
            MDS_SETUP_UPGRADE,
            UNTIL_TARGET,
            UNTIL_UP,
        )
    )


#: The steps of each phase, in the order they run (the lock's, in every mutating phase,
#: are :mod:`mdstools.run`'s and printed by the plan on their own).
PHASE_STEPS: dict[str, tuple[Step, ...]] = {
    "00": _snapshot(),
    "01": (
        PACKAGES_IMPORTED,
        LOCK_OVERRIDE,
        IMPORT,
        PACKAGE,
        VERIFY,
        VERIFIER_REPORT,
        MDS_SETUP_VERIFY,
    ),
    "02": (
        HA_STATE,
        API_LOGIN_RW,
        MAKE_ACTIVE,
        SHOW_TASK,
        DEMOTE,
        BACKUP_DIR,
        FREE_SPACE,
        MDS_BACKUP,
        BACKUP_FILES,
        BACKUP_SHA256,
        API_LOGIN,
        LAST_PUBLISHED,
        API_LOGOUT,
        SHOW_SNAPSHOTS,
        SNAPSHOT_DETAIL,
        DELETE_SNAPSHOT,
        ADD_SNAPSHOT,
    ),
    "03": (*WATCH, *_upgrade(Servers.PRIMARY)),
    "04": (
        *WATCH,
        Step(
            servers=Servers.PRIMARY,
            build=FW_VER.build,
            note="the entry gate: the primary on the target",
        ),
        *_upgrade(Servers.SECONDARIES),
    ),
    "05": (
        *WATCH,
        Step(
            servers=Servers.MDSS, build=FW_VER.build, note="the entry gate: every MDS on the target"
        ),
        *_upgrade(Servers.LOG_SERVERS),
        Step(
            servers=Servers.EVERY, build=FW_VER.build, note="every server on the target afterwards"
        ),
    ),
    "06": (
        *WATCH,
        Step(
            servers=Servers.PRIMARY,
            build=SHOW_DOMAINS.build,
            note="object versions before and after",
        ),
        Step(servers=Servers.MDSS, build=MDSSTAT.build),
        START_DMS,
        MDSENV,
        FIX_VERSIONS,
        RESTART,
        Step(servers=Servers.MDSS, build=MDSSTAT.build, note="until every process is up"),
    ),
    "07": (
        *WATCH,
        *_snapshot(),
        API_LOGIN_RW,
        STANDBY,
        ACTIVE,
        FULL_SYNC,
    ),
    "08": (*WATCH, *_snapshot()),
    "09": (
        FW_VER,
        SNAPSHOT_THERE,
        *WATCH,
        BOOT_TIME,
        REVERT,
        UNTIL_REVERTED,
        MDSSTART,
        UNTIL_UP,
        HA_STATE,
        API_LOGIN_RW,
        MAKE_ACTIVE,
        SHOW_TASK,
        DEMOTE,
        *_snapshot(),
        STANDBY,
        ACTIVE,
        FULL_SYNC,
    ),
}


def phase_steps(phase_id: str, inv: Inventory) -> list[Step]:
    """The steps of ``phase_id`` for ``inv``'s upgrade method, in order."""
    return [s for s in PHASE_STEPS.get(phase_id, ()) if s.applies(inv)]


def require_inputs(phase_id: str, inv: Inventory) -> None:
    """InventoryError (exit 2) when a step of ``phase_id`` needs the upgrade package and
    ``inv`` gives none: such an inventory serves status, plan and discovery only."""
    if any(step.lacks_package(inv) for step in phase_steps(phase_id, inv)):
        raise InventoryError(
            str(inv.path),
            "upgrade.package",
            f"phase {phase_id} sends the upgrade package ({inv.upgrade_method}) and the "
            "inventory gives none",
            "add 'upgrade: {package: <its path on the servers>}' to the inventory, "
            "e.g. /var/log/upload/<package>.tgz",
        )
