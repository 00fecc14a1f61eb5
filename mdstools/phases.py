"""The nine phases of the campaign: order, requirements, gates, decisions, timeouts, and
the runbooks' parameters (:data:`PARAMS`: type, default, help, allowed values, phases).

One table used by the CLI (``run``, ``campaign``, ``plan``), by the notebooks' headers and
footers, and by the tests that check that every requirement of
``docs/requirements.md`` is carried out somewhere.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mdstools.errors import ParameterError, shown


@dataclass(frozen=True)
class Gate:
    """One gate of a runbook: the check it passes to ``run.gate`` (``module.function``, as
    the notebook calls it), what it requires in words, and the requirement ids."""

    check: str
    text: str
    requirements: tuple[str, ...]

    def describe(self) -> str:
        """``text (R1, R2)``."""
        return f"{self.text} ({', '.join(self.requirements)})" if self.requirements else self.text


WATCH = Gate("freeze.watch_check", "no change since the change freeze (blocks in 03-06)", ("R6",))
PROCESSES_AFTER = Gate(
    "upgrade.processes_after", "every process up after the reboot (warning)", ("R12",)
)


@dataclass(frozen=True, kw_only=True)
class Phase:
    """One runbook: ``needs`` are the phases its entry gate (``run.require_phases()``)
    requires; ``decisions`` the parameters of its decisions; ``gates`` its other gates."""

    id: str
    slug: str
    title: str
    requirements: tuple[str, ...]
    summary: str
    timeout_s: int
    mutating: bool = False
    needs: tuple[str, ...] = ()
    decisions: tuple[str, ...] = ()
    gates: tuple[Gate, ...] = ()
    refusal: str = ""  # what the entry gate says first when ``needs`` have not passed
    entry_requirement: str = "R5"  # the requirement the entry gate serves

    @property
    def notebook(self) -> str:
        return f"{self.id}_{self.slug}.ipynb"


PHASES: tuple[Phase, ...] = (
    Phase(
        id="00",
        slug="discover",
        title="Discover the deployment",
        requirements=("R1", "R4", "R16"),
        summary="connect to every server; record versions, mdsstat, domains and HA state as the "
        "baseline; identify the active MDS of the Global domain",
        timeout_s=900,
        gates=(
            Gate("discover.reachable", "every server reachable", ("R2",)),
            Gate("discover.global_active", "the active MDS of Global known (warning)", ("R1",)),
            Gate("checks.versions_consistent", "every server on one version (warning)", ("R4",)),
            Gate("checks.versions_on_target", "which servers run the target already", ("R4",)),
        ),
    ),
    Phase(
        id="01",
        slug="pre_upgrade_verification",
        title="Pre-upgrade verification on every server",
        requirements=("R2", "R3"),
        summary="run the pre-upgrade verifier on ALL MDSs and MLMs in parallel; errors block; "
        "every warning must be acknowledged by name",
        timeout_s=3600,
        decisions=("acknowledge_warnings",),
        gates=(
            Gate(
                "checks.verifier_clean",
                "no verifier error on any server; every warning acknowledged by id",
                ("R3",),
            ),
        ),
    ),
    Phase(
        id="02",
        slug="prepare_ha",
        title="Prepare HA, back up, start the change freeze",
        requirements=("R7", "R1", "R6", "X1", "B1"),
        summary="make every DMS Active on the primary MDS (with confirmation); one active MDS for "
        "Global; back up every MDS; record each DMS database's change marker; a Gaia snapshot "
        "of every MDS and MLM",
        timeout_s=7200,
        mutating=True,
        needs=("01",),
        decisions=("confirm",),
        gates=(
            Gate("checks.dms_active_on_primary", "every DMS active on the primary", ("R7",)),
            Gate("prepare.space_check", "backup space on every MDS", ("X1",)),
            Gate("prepare.backups_check", "a backup of every MDS", ("X1",)),
            Gate("snapshots.space_check", "snapshot space on every MDS and MLM", ("B1",)),
            Gate("snapshots.taken_check", "a snapshot of every MDS and MLM taken", ("B1",)),
        ),
    ),
    Phase(
        id="03",
        slug="upgrade_primary",
        title="Upgrade the primary MDS",
        requirements=("R5", "R3", "R4", "R13"),
        summary="upgrade the primary; wait through the reboot; check its version and mdsstat",
        timeout_s=3 * 3600,
        mutating=True,
        needs=("01", "02"),
        entry_requirement="R3",
        decisions=("confirm",),
        gates=(
            WATCH,
            Gate("upgrade.on_target", "the primary runs the target afterwards", ("R4",)),
            PROCESSES_AFTER,
        ),
    ),
    Phase(
        id="04",
        slug="upgrade_secondaries",
        title="Upgrade the secondary MDSs",
        requirements=("R5", "R4", "R13"),
        summary="upgrade each secondary MDS, one at a time; refuses while the primary is not on "
        "the target version",
        timeout_s=6 * 3600,
        mutating=True,
        needs=("03",),
        decisions=("confirm",),
        gates=(
            WATCH,
            Gate("upgrade.primary_on_target", "the primary runs the target version", ("R5",)),
            Gate("upgrade.on_target", "the secondaries run the target afterwards", ("R4",)),
            PROCESSES_AFTER,
        ),
    ),
    Phase(
        id="05",
        slug="upgrade_log_servers",
        title="Upgrade the Multi-Domain Log Servers",
        requirements=("R8", "R4"),
        summary="upgrade every MLM; then every server must run the target version",
        timeout_s=6 * 3600,
        mutating=True,
        needs=("04",),
        decisions=("confirm",),
        gates=(
            WATCH,
            Gate("upgrade.mdss_on_target", "every MDS runs the target version", ("R5",)),
            PROCESSES_AFTER,
            Gate(
                "checks.versions_on_target", "every server on the target afterwards", ("R4", "R8")
            ),
        ),
    ),
    Phase(
        id="06",
        slug="update_object_versions",
        title="Update object versions",
        requirements=("R11", "R12"),
        summary="on each MDS: mdsstat; start DMSs that are down; mdsenv; "
        "mds_fix_cmas_clms_version -c ALL; mdsstop; mdsstart; mdsstat until all up",
        timeout_s=3 * 3600,
        mutating=True,
        needs=("05",),
        decisions=("confirm",),
        gates=(
            WATCH,
            Gate("objects.steps_check", "every R12 step succeeded and every DMS is up", ("R12",)),
            Gate("objects.versions_check", "every DMS/DLS object on the target version", ("R11",)),
        ),
    ),
    Phase(
        id="07",
        slug="synchronize_ha",
        title="Synchronize HA",
        requirements=("R9", "R10", "R14", "R15", "R4", "R1"),
        summary="one active MDS and one active DMS per domain; synchronize the standbys; on "
        "Collision decide the database to retain, sync from it, list the changes to "
        "re-enter",
        timeout_s=3 * 3600,
        mutating=True,
        needs=("06",),
        decisions=("confirm", "retain_database_on"),
        gates=(
            WATCH,
            Gate("sync.versions_check", "every server on the target version", ("R4",)),
            Gate("checks.no_collision", "no Collision (before: warning; after)", ("R14",)),
            Gate(
                "checks.synchronized",
                "one active per domain; every peer Synchronized",
                ("R9", "R10"),
            ),
        ),
    ),
    Phase(
        id="08",
        slug="validate",
        title="Validate against the baseline",
        requirements=("R4", "R10", "R11", "R12"),
        summary="compare the end state with the baseline: all domains present and up, versions "
        "equal, HA synchronized, object versions updated",
        timeout_s=1800,
        gates=(
            WATCH,
            Gate(
                "discover.compare",
                "every domain server of the baseline present and up; versions on target; "
                "HA synchronized",
                ("R4", "R10", "R12"),
            ),
        ),
    ),
    # the way back (B2-B4): only when the campaign has to be undone; not in
    # ``mdstools campaign``'s default range (00..08)
    Phase(
        id="09",
        slug="backout",
        title="Back out: return to the source version",
        requirements=("B2", "B3", "B4"),
        summary="revert each server whose upgrade was started (or whose version differs from the "
        "baseline) to the Gaia snapshot of phase 02, after showing what the revert loses; start "
        "the DMSs, make the primary active, synchronize; validate against the baseline",
        timeout_s=8 * 3600,
        mutating=True,
        needs=("02",),
        entry_requirement="B2",
        refusal="nothing to go back to: no snapshot or backup was taken for this ticket and "
        "it changed no server",
        decisions=("backout_servers", "confirm"),
        gates=(
            Gate(
                "backout.snapshots_check",
                "every server to revert has a complete snapshot of phase 02 on it; otherwise "
                "nothing is reverted",
                ("B2",),
            ),
            Gate("backout.reverted_check", "every reverted server back on its version", ("B2",)),
            Gate(
                "backout.compare",
                "versions as in the baseline; every domain and domain server present and up; one "
                "active per domain, on the primary; every peer synchronized",
                ("B4",),
            ),
        ),
    ),
)


#: The last phase ``mdstools campaign`` runs by default (``--from 00 --to 08``).
CAMPAIGN_LAST = "08"
#: The way back, run on its own when the campaign must be undone.
BACKOUT = "09"

BY_ID = {p.id: p for p in PHASES}
#: The phases of the upgrade, 00..08: what ``mdstools campaign`` runs by default.
CAMPAIGN: tuple[Phase, ...] = tuple(p for p in PHASES if p.id <= CAMPAIGN_LAST)


def phase(key: str) -> Phase:
    """A phase by id (``03``), slug (``upgrade_primary``) or notebook name."""
    k = key.removesuffix(".ipynb")
    for p in PHASES:
        if k in (p.id, p.slug, f"{p.id}_{p.slug}", p.id.lstrip("0") or "0"):
            return p
    raise KeyError(key)


# -- runbook parameters --------------------------------------------------------------------

ALL_PHASES: tuple[str, ...] = tuple(p.id for p in PHASES)
MUTATING_PHASES: tuple[str, ...] = tuple(p.id for p in PHASES if p.mutating)

#: Parameters the CLI sets from its own options: ``-p`` cannot set them.
CLI_OPTIONS: dict[str, str] = {
    "inventory": "-i/--inventory",
    "ticket": "--ticket",
    "operator": "--operator",
    "interactive": "nothing (headless runs are never interactive)",
    "dry_run": "--dry-run",
    "reports_dir": "--reports",
    "break_lock": "--break-lock",
}

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}"
_NAME = re.compile(NAME_PATTERN)
_ACK = re.compile(rf"{NAME_PATTERN}:[A-Za-z0-9][A-Za-z0-9_.-]{{0,199}}")
_SECRET_NAME = re.compile(r"pass(word|wd|phrase)?|secret|token|key|credential|cookie", re.I)
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_LIST = 1000
MAX_TEXT = 200
MAX_TIME_SCALE = 100.0
MAX_DECISION_TIMEOUT_S = 7 * 86400.0


@dataclass(frozen=True, kw_only=True)
class Param:
    """One runbook parameter: its cell line, its phases and what values it takes."""

    name: str
    type: str  # the annotation in the parameters cell (quoted there unless a plain name)
    default: Any
    help: str
    allowed: str
    phases: tuple[str, ...] = ALL_PHASES
    check: Callable[[Any], Any] | None = None
    per_phase: tuple[tuple[str, str], ...] = ()

    def validate(self, value: Any) -> Any:
        """``value`` normalized (``"yes"`` -> True); ParameterError when it is not allowed."""
        try:
            return self.check(value) if self.check else value
        except ParameterError as exc:
            raise ParameterError(
                f"parameter {self.name}: {exc}", f"allowed: {self.allowed}"
            ) from None

    def line(self, phase_id: str = "") -> str:
        """The line of ``phase_id``'s parameters cell: ``name: type = default  # help``."""
        default = json.dumps(self.default) if isinstance(self.default, str) else repr(self.default)
        kind = self.type if self.type.isidentifier() else f'"{self.type}"'
        code = f"{self.name}: {kind} = {default}"
        return f"{code:<40} # {dict(self.per_phase).get(phase_id, self.help)}"


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "off"):
        return False
    raise ParameterError(f"{shown(value)} is not true or false")


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{shown(value)} is not a number")
    try:
        number = float(value)
    except OverflowError:
        raise ParameterError(f"{shown(value)} is too large") from None
    if not math.isfinite(number):
        raise ParameterError(f"{shown(value)} is not a finite number")
    return number


def _positive(high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        number = _number(value)
        if not 0 < number <= high:
            raise ParameterError(f"{shown(value)} is out of range")
        return number

    return check


def _optional_bool(value: Any) -> bool | None:
    return None if value is None else _bool(value)


def _optional_scale(value: Any) -> float | None:
    return None if value is None else _positive(MAX_TIME_SCALE)(value)


def _count(high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ParameterError(f"{shown(value)} is not a whole number")
        if not 0 <= value <= high:
            raise ParameterError(f"{shown(value)} is out of range")
        return int(value)

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ParameterError(f"{shown(value)} is not text")
    if len(value) > MAX_TEXT or not value.isprintable():
        raise ParameterError(f"{shown(value)} is too long or has control characters")
    return value


def _listed(value: Any) -> list[Any] | tuple[Any, ...]:
    """A list parameter: a list, or text of comma-separated items; at most MAX_LIST."""
    if isinstance(value, str):
        value = [x.strip() for x in value.split(",") if x.strip()]
    if not isinstance(value, (list, tuple)):
        raise ParameterError(f"{shown(value)} is not a list")
    if len(value) > MAX_LIST:
        raise ParameterError(f"{len(value)} items; at most {MAX_LIST}")
    return value


def _acknowledged(value: Any) -> list[str]:
    value = _listed(value)
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not _ACK.fullmatch(item.strip()):
            raise ParameterError(f"item {shown(item)} is not <server>:<finding-id>")
        out.append(item.strip())
    return out


def _names(value: Any) -> list[str]:
    value = _listed(value)
    bad = [item for item in value if not isinstance(item, str) or not _NAME.fullmatch(item)]
    if bad:
        raise ParameterError(f"item {shown(bad[0])} is not a server name")
    return [str(item) for item in value]


def _retain(value: Any) -> str:
    if isinstance(value, dict):
        pairs = []
        for k, v in value.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ParameterError(f"{shown(value)} maps something other than names")
            pairs.append(f"{k}={v}")
        value = ",".join(pairs)
    if not isinstance(value, str):
        raise ParameterError(f"{shown(value)} is not text")
    text = value.strip()
    if not text or _NAME.fullmatch(text):
        return text
    parts = [p.strip() for p in text.split(",")]
    if len(parts) <= MAX_LIST and all(
        len(kv) == 2 and all(_NAME.fullmatch(x.strip()) for x in kv)
        for kv in (p.split("=") for p in parts)
    ):
        return ",".join(parts)
    raise ParameterError(f"{shown(value)} is neither a server name nor domain=server pairs")


PARAMS: tuple[Param, ...] = (
    Param(
        name="inventory",
        type="str",
        default="",
        help="inventory YAML path; empty: $MDSTOOLS_INVENTORY (set by make jupyter)",
        allowed="a path",
        check=_text,
    ),
    Param(
        name="ticket",
        type="str",
        default="",
        help="change ticket id (record: reports/<ticket>/); empty: $MDSTOOLS_TICKET",
        allowed="a ticket id",
        check=_text,
    ),
    Param(
        name="operator",
        type="str",
        default="",
        help="who runs this phase (default: the login name)",
        allowed=f"printable text of at most {MAX_TEXT} characters",
        check=_text,
    ),
    Param(
        name="interactive",
        type="bool",
        default=True,
        help="True: decisions with widgets; headless runs pass False",
        allowed="True or False",
        check=_bool,
    ),
    Param(
        name="dry_run",
        type="bool",
        default=False,
        help="True: show what would change, change nothing",
        allowed="True or False",
        check=_bool,
    ),
    Param(
        name="reports_dir",
        type="str",
        default="../reports",
        help="where reports/<ticket>/ is written",
        allowed="a path",
        check=_text,
    ),
    Param(
        name="time_scale",
        type="Optional[float]",
        default=None,
        help="scales timeouts and poll intervals; None: the inventory's (1.0 on real servers)",
        allowed=f"a number above 0 and at most {MAX_TIME_SCALE:g} (1.0 on real servers)",
        check=_optional_scale,
    ),
    Param(
        name="continuous_management",
        type="Optional[bool]",
        default=None,
        help="R13: DMSs may be managed during the upgrade; None: as an earlier phase set it",
        allowed="true or false "
        "(None: carried forward from an earlier phase of the ticket, else false)",
        check=_optional_bool,
    ),
    Param(
        name="decision_timeout_s",
        type="float",
        default=900.0,
        help="interactive: how long a decision waits for its button (Run All)",
        allowed=f"seconds, above 0 and at most {MAX_DECISION_TIMEOUT_S:g}",
        check=_positive(MAX_DECISION_TIMEOUT_S),
    ),
    Param(
        name="acknowledge_warnings",
        type="list",
        default=[],
        help='headless: ids "<server>:<finding-id>" of the reviewed warnings',
        allowed="a list (or comma-separated) of <server>:<finding-id>, "
        "e.g. mds1:global-properties-changed",
        phases=("01",),
        check=_acknowledged,
    ),
    Param(
        name="confirm",
        type="bool",
        default=False,
        help="headless: confirm this phase's changes",
        allowed="true or false",
        phases=MUTATING_PHASES,
        check=_bool,
        per_phase=(
            ("02", "headless: confirm the HA switch, the backups and the freeze"),
            ("03", "headless: confirm the upgrade of the primary (it reboots)"),
            ("04", "headless: confirm the upgrade of the secondaries (they reboot)"),
            ("05", "headless: confirm the upgrade of the log servers (they reboot)"),
            ("06", "headless: confirm mds_fix_cmas_clms_version and the restart"),
            ("07", "headless: confirm set-ha-state and ha-full-sync"),
            ("09", "headless: confirm the reverts to the snapshots (the servers reboot)"),
        ),
    ),
    Param(
        name="break_lock",
        type="bool",
        default=False,
        help="True: break a STALE lock, or one on the primary MDS of a run that is over "
        "(journaled)",
        allowed="True or False",
        phases=MUTATING_PHASES,
        check=_bool,
    ),
    Param(
        name="take_snapshots",
        type="bool",
        default=True,
        help="B1: False: 02 takes no Gaia snapshot (a WARNING and the record say so; "
        "09 cannot revert)",
        allowed="True or False",
        phases=("02",),
        check=_bool,
    ),
    Param(
        name="backup_min_free_mb",
        type="int",
        default=10240,
        help="X1: free space needed in backup_dir on each MDS",
        allowed="a whole number of MB, 0..10000000",
        phases=("02",),
        check=_count(10_000_000),
    ),
    Param(
        name="retain_database_on",
        type="str",
        default="",
        help="R15, on Collision: the MDS whose database is kept, for all domains or per domain",
        allowed="empty, one server name, or domain=server pairs separated by commas",
        phases=("07",),
        check=_retain,
    ),
    Param(
        name="backout_servers",
        type="list",
        default=[],
        help="B2: the servers to revert; empty: every server upgraded or changed by the ticket",
        allowed="a list (or comma-separated) of server names of the inventory",
        phases=("09",),
        check=_names,
    ),
)

BY_NAME = {p.name: p for p in PARAMS}

#: Decisions meant for the whole campaign: a value set in one phase applies to the later
#: phases of the same ticket and inventory that leave the parameter unset (None). The others
#: (``confirm``, ``acknowledge_warnings``, ``retain_database_on``) belong to one phase.
CARRIED: dict[str, bool] = {"continuous_management": False}


def phase_params(ph: Phase) -> tuple[Param, ...]:
    """The parameters of ``ph``'s notebook, in the order of its parameters cell."""
    return tuple(p for p in PARAMS if ph.id in p.phases)


def check_params(
    params: Mapping[str, Any], phases: Sequence[Phase], from_cli: bool = True
) -> dict[str, Any]:
    """``params`` checked against the table for ``phases``; values normalized.

    Raises ParameterError naming the parameter, the value and what is allowed: for a name
    that none of ``phases`` has, a secret's name, a value of the wrong type or out of
    range, and (``from_cli``) a parameter that the command line sets from its own options.
    """
    ids = {ph.id for ph in phases}
    out: dict[str, Any] = {}
    for name, value in params.items():
        plain = isinstance(name, str) and _PARAM_NAME.fullmatch(name) is not None
        label = name if plain else shown(name)
        where = f"-p {label}" if from_cli else f"parameter {label}"
        if not plain:
            raise ParameterError(
                f"{where}: not a parameter name", "names are letters, digits and '_'"
            )
        if _SECRET_NAME.search(name):
            raise ParameterError(
                f"{where}: secrets are never parameters",
                "name the secret in the inventory as env:NAME or file:PATH",
            )
        if from_cli and name in CLI_OPTIONS:
            raise ParameterError(f"{where}: set by the command line", f"use {CLI_OPTIONS[name]}")
        spec = BY_NAME.get(name)
        if spec is None or not ids & set(spec.phases):
            names = sorted(
                p.name for p in PARAMS if ids & set(p.phases) and p.name not in CLI_OPTIONS
            )
            scope = ", ".join(sorted(ids)) if len(ids) < len(ALL_PHASES) else "any phase"
            raise ParameterError(
                f"{where}: unknown parameter for {'phase' if len(ids) == 1 else 'phases'} {scope}",
                f"known: {', '.join(names)}",
            )
        try:
            out[name] = spec.check(value) if spec.check else value
        except ParameterError as exc:
            raise ParameterError(f"{where}: {exc}", f"allowed: {spec.allowed}") from None
    return out


def between(first: str, last: str) -> list[Phase]:
    """The phases from ``first`` to ``last`` (ids or names), in order; KeyError if unknown."""
    lo, hi = PHASES.index(phase(first)), PHASES.index(phase(last))
    return list(PHASES[lo : hi + 1])
