"""The change window: how long each phase is expected to take on real servers, and why.

:func:`estimate` takes an inventory and, when there is one, a baseline or status document
(``reports/<ticket>/baseline.json``, ``mdstools status --format json``: the domains and the
domain servers on each server) and gives, per phase of the campaign (00..08; the back-out,
09, apart: it runs only when the campaign is undone), the expected seconds, what dominates
them, what runs in parallel, the total and the critical path in words. The durations are
:mod:`mdstools.durations` (``docs/durations.md``), each replaced by the engineer's own where
the inventory's timings file gives it.

The structure comes from the phase table of steps (:data:`mdstools.procedure.steps.PHASE_STEPS`):
each step that takes real time has a rule here (:data:`RULES`) saying what it costs and
whether its servers run at once or one after another, as the procedures do it: 01's verifier
on every server at once (``verification.verify_all``), 02's backups and its snapshots all at
once, 03-05 one server at a time, 06 one MDS after another, 07's full syncs one domain after
another, 09's reverts one server at a time. Reads of a few
seconds are not counted (each phase's ``phase_overhead`` covers them). Imports no pandas
and opens no connection.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mdstools import audit, durations
from mdstools.bounded_read import NotReadable, read_regular
from mdstools.errors import BadInput, RecordDamaged, shown
from mdstools.inventory import Inventory
from mdstools.mgmt_api import EXECS_PER_SERVER
from mdstools.phases import BACKOUT, BY_ID, CAMPAIGN
from mdstools.procedure import steps, timeline
from mdstools.procedure.steps import Step, phase_steps
from mdstools.records import SYNCHRONIZED

if TYPE_CHECKING:
    from mdstools.run import Run

#: the largest baseline or status document read (5000 domains take about 5 MB)
MAX_DOCUMENT = 64 << 20
#: domains assumed when there is no baseline or status document
ASSUMED_DOMAINS = 10
#: ``mdsstart`` starts DMSs ten at a time (docs/formats.md, mdsstart and mdsstop)
START_BATCH = 10
#: the part every phase has (``phase_overhead``), never on the critical path
OVERHEAD = "the notebook and its reads"


@dataclass(frozen=True, kw_only=True)
class Shape:
    """What the estimate needs of the deployment: per server the domain servers it hosts
    and those of them that are down, the domains, those whose active DMS is not on the
    primary, the standby DMSs, and those of them known not to be Synchronized (07 gives a
    full sync to each standby it does not read as Synchronized)."""

    hosted: Mapping[str, int]
    down: Mapping[str, int]
    domains: int
    to_switch: int
    standbys: int
    to_sync: int
    source: str

    def of(self, server: str) -> int:
        """The domain servers (DMSs, DLSs) on ``server``."""
        return self.hosted.get(server, 0)


@dataclass(frozen=True, kw_only=True)
class Part:
    """One stretch of a phase: what runs, on which servers, how long, and whether the
    servers run at once (the slowest counts) or one after another."""

    what: str
    seconds: float
    parallel: bool = False


@dataclass(frozen=True, kw_only=True)
class PhaseEstimate:
    """The expected duration of one phase and its parts, in order."""

    phase: str
    title: str
    seconds: float
    parts: tuple[Part, ...]

    @property
    def top(self) -> Part:
        """The longest part (:data:`OVERHEAD` when no step takes longer)."""
        return max(self.parts, key=lambda p: p.seconds)

    @property
    def dominates(self) -> str:
        """The longest part in words."""
        return f"{self.top.what} ({span(self.top.seconds)})"

    @property
    def parallel(self) -> str:
        """The other parts of a minute or more whose servers run at once ('' when none)."""
        return "; ".join(
            p.what for p in self.parts if p.parallel and p.seconds >= 60 and p is not self.top
        )


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """The whole window: the campaign's phases, the back-out apart, the total."""

    phases: tuple[PhaseEstimate, ...]
    backout: PhaseEstimate
    total_s: float
    shape: Shape
    mdss: int
    log_servers: int
    timings_origin: str
    critical_path: str = field(default="")
    time_scale: float = 1.0
    worst_sync_s: float = 0.0

    def by_phase(self) -> dict[str, float]:
        """Phase id -> expected seconds, the back-out's included."""
        return {p.phase: p.seconds for p in (*self.phases, self.backout)}

    def headline(self) -> str:
        """``4 MDS, 2 MLM, 212 domains: about 5 h 40 min``."""
        return (
            f"{self.mdss} MDS, {self.log_servers} MLM, {self.shape.domains} domains: "
            f"about {span(self.total_s)}"
        )

    def lines(self) -> list[str]:
        """The estimate as text: the headline, one line per phase, the critical path, where
        the durations and the domain counts come from."""
        out = [f"Change window estimate: {self.headline()}"]
        for p in self.phases:
            par = f"; also {p.parallel}" if p.parallel else ""
            out.append(f"   {p.phase} {span(p.seconds):>12}  {p.dominates}{par}")
        out.append(f"   critical path: {self.critical_path}")
        if self.worst_sync_s:
            out.append(
                f"   if 07 finds every other standby not Synchronized (each then gets a full "
                f"sync, one after another): about {span(self.worst_sync_s)} more"
            )
        out.append(
            f"   if backed out ({self.backout.phase}, not in the total): about "
            f"{span(self.backout.seconds)}; {self.backout.dominates}"
        )
        out.append(f"   durations: {self.timings_origin}")
        if self.time_scale != 1.0:
            out.append(
                f"   these are real-server times; at the inventory's time scale "
                f"{self.time_scale:g} the servers' waits take that fraction of them"
            )
        out.append(f"   deployment: {self.shape.source}")
        return out


def span(seconds: float) -> str:
    """Seconds in words: ``0.4 s``, ``45 s``, ``12 min``, ``5 h 40 min``."""
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


# -- the deployment's shape ----------------------------------------------------------------
def shape_of(
    inv: Inventory, document: Mapping[str, Any] | None = None, origin: str = "the document"
) -> Shape:
    """The shape from a baseline or status document, else from the inventory with
    :data:`ASSUMED_DOMAINS` domains, each with a DMS on every MDS and a DLS on every MLM,
    active on the primary. 07's full syncs are counted for the standbys the document shows
    in a known state other than Synchronized (none without a document); the worst case,
    every standby, is :attr:`Estimate.worst_sync_s`."""
    if document is None:
        n = ASSUMED_DOMAINS
        return Shape(
            hosted={s.name: n for s in inv.servers},
            down={},
            domains=n,
            to_switch=0,
            standbys=n * max(len(inv.mdss) - 1, 0),
            to_sync=0,
            source=f"no baseline: ASSUMPTION {n} domains, each with a DMS on every MDS and a "
            "DLS on every MLM, active on the primary and synchronized; a baseline (plan "
            "--ticket T after phase 00) or a status document (plan --baseline FILE) gives the "
            "real counts",
        )
    servers = document.get("servers")
    if not isinstance(servers, list):
        raise ValueError('not a baseline or status document: no "servers" list')
    hosted: dict[str, int] = {s.name: 0 for s in inv.servers}
    down: dict[str, int] = {}
    for ds in document.get("domain_servers") or []:
        if isinstance(ds, dict) and isinstance(ds.get("server"), str):
            hosted[ds["server"]] = hosted.get(ds["server"], 0) + 1
            if ds.get("all_up") is False:
                down[ds["server"]] = down.get(ds["server"], 0) + 1
    domains = [d for d in document.get("domains") or [] if isinstance(d, dict)]
    primary = inv.primary.name
    return Shape(
        hosted=hosted,
        down=down,
        domains=len(domains),
        to_switch=sum(1 for d in domains if d.get("active_server") != primary),
        standbys=sum(len(_standbys(d)) for d in domains),
        to_sync=sum(1 for d in domains for sb in _standbys(d) if _needs_sync(d, sb)),
        source=f"{len(domains)} domains and {sum(hosted.values())} domain servers from "
        f"{origin} (collected at {document.get('collected_at', 'an unknown time')}); a full "
        "sync in 07 counted for each standby shown neither Synchronized nor unknown",
    )


def _standbys(domain: Mapping[str, Any]) -> list[str]:
    return [s for s in domain.get("standby_servers") or [] if isinstance(s, str)]


def _needs_sync(domain: Mapping[str, Any], standby: str) -> bool:
    """The document shows ``standby`` in a known state other than Synchronized."""
    states = domain.get("sync_status")
    state = states.get(standby) if isinstance(states, dict) else None
    return isinstance(state, str) and state.lower() not in ("", "unknown", SYNCHRONIZED.lower())


def read_document(path: Path) -> dict[str, Any]:
    """A baseline or status document read from ``path``; BadInput (exit 2) naming what is
    wrong when it cannot be read or is not such a document."""
    hint = "pass reports/<ticket>/baseline.json or the output of mdstools status --format json"
    try:
        data = json.loads(read_regular(path, MAX_DOCUMENT))
    except NotReadable as exc:
        raise BadInput(f"{path}: cannot read it: {exc}", hint) from exc
    except (ValueError, RecursionError) as exc:
        raise BadInput(f"{path}: not JSON ({shown(str(exc), 120)})", hint) from exc
    if not isinstance(data, dict) or not isinstance(data.get("servers"), list):
        raise BadInput(f'{path}: not a baseline or status document: no "servers" list', hint)
    return data


def baseline_of(reports_dir: Path, ticket: str) -> dict[str, Any] | None:
    """``reports/<ticket>/baseline.json`` when it exists and reads as JSON, else None."""
    try:
        data = json.loads(read_regular(reports_dir / ticket / "baseline.json", MAX_DOCUMENT))
    except (NotReadable, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


# -- the rules: what a step costs ----------------------------------------------------------
@dataclass(frozen=True)
class Context:
    """What a rule reads: the inventory, the shape, the durations, the phase."""

    inv: Inventory
    shape: Shape
    t: Mapping[str, float]
    phase: str = ""

    def names(self, step: Step) -> list[str]:
        """The servers ``step`` runs on."""
        return step.servers.names(self.inv)

    def batches(self, server: str) -> int:
        """How many batches of ten ``mdsstart`` starts on ``server``."""
        return math.ceil(self.shape.of(server) / START_BATCH)

    def start(self, server: str) -> float:
        """The MDS's processes, then its domain servers ten at a time."""
        return self.t["mds_start"] + self.batches(server) * self.t["mdsstart_batch"]

    def reads(self, server: str) -> float:
        """One Management API session per domain server, 8 at once."""
        return math.ceil(self.shape.of(server) / EXECS_PER_SERVER) * self.t["api_login"]


Rule = Callable[[Context, Step], Part | None]


def _names(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 4 else f"{names[0]} .. {names[-1]} ({len(names)})"


def _at_once(what: str, costs: dict[str, float]) -> Part | None:
    if not costs:
        return None
    slowest = max(costs, key=lambda n: costs[n])
    many = " at once" if len(costs) > 1 else ""
    return Part(
        what=f"{what} on {_names(list(costs))}{many}",
        seconds=costs[slowest],
        parallel=len(costs) > 1,
    )


def _in_turn(what: str, costs: dict[str, float]) -> Part | None:
    if not costs:
        return None
    many = " one after another" if len(costs) > 1 else ""
    return Part(what=f"{what} of {_names(list(costs))}{many}", seconds=sum(costs.values()))


def _reads_at_once(c: Context, step: Step) -> Part | None:
    return _at_once("domain reads", {n: c.reads(n) for n in c.names(step)})


def _reads_in_turn(c: Context, step: Step) -> Part | None:
    return _in_turn("freeze markers", {n: c.reads(n) for n in c.names(step)})


def _verify(c: Context, step: Step) -> Part | None:
    imp = c.t["cpuse_import"] if c.inv.upgrade_method == "cpuse" else 0.0
    what = "import and verifier" if imp else "verifier"
    return _at_once(what, {n: imp + c.t["verifier"] for n in c.names(step)})


def _switch(c: Context, step: Step) -> Part | None:
    n = c.shape.to_switch
    if not n:
        return None
    return Part(what=f"set-ha-state of {n} domains to the primary", seconds=n * c.t["set_ha_state"])


def _backup(c: Context, step: Step) -> Part | None:
    def gb(server: str) -> float:
        return c.t["backup_base_gb"] + c.shape.of(server) * c.t["backup_per_domain_gb"]

    return _at_once("backups", {n: gb(n) * c.t["backup_per_gb"] for n in c.names(step)})


def _snapshot(c: Context, step: Step) -> Part | None:
    return _at_once("Gaia snapshot", {n: c.t["snapshot_create"] for n in c.names(step)})


def _upgrade(c: Context, step: Step) -> Part | None:
    def one(server: str) -> float:
        install = c.t["upgrade_install"] + c.shape.of(server) * c.t["upgrade_per_domain"]
        return install + c.t["reboot"] + c.start(server)

    return _in_turn("upgrade", {n: one(n) for n in c.names(step)})


def _start_down(c: Context, step: Step) -> Part | None:
    costs = {n: c.shape.down.get(n, 0) * c.t["dms_start"] for n in c.names(step)}
    return _in_turn("mdsstart_customer of the DMSs down", {n: s for n, s in costs.items() if s})


def _revert(c: Context, step: Step) -> Part | None:
    per = c.t["snapshot_revert"] + c.t["reboot"]
    return _in_turn("revert and reboot", {n: per for n in c.names(step)})


def _mdsstart(c: Context, step: Step) -> Part | None:
    return _in_turn("mdsstart", {n: c.start(n) for n in c.names(step)})


def _fix(c: Context, step: Step) -> Part | None:
    per = c.shape.domains * c.t["fix_versions_per_domain"]
    return _in_turn("mds_fix_cmas_clms_version", {n: per for n in c.names(step)})


def _restart(c: Context, step: Step) -> Part | None:
    def one(server: str) -> float:
        return c.batches(server) * c.t["mdsstop_batch"] + c.start(server)

    return _in_turn("mdsstop; mdsstart", {n: one(n) for n in c.names(step)})


def _full_sync(c: Context, step: Step) -> Part | None:
    if c.phase == BACKOUT:
        n, which = c.shape.standbys, "standby DMSs, every one (the source may show no sync)"
    else:
        n, which = c.shape.to_sync, "standby DMSs not synchronized"
    if not n:
        return None
    return Part(
        what=f"ha-full-sync of {n} {which}, one after another",
        seconds=n * c.t["full_sync_per_domain"],
    )


#: The steps that take real time, by the command builder they share with their copies in
#: the phase table (03-05's upgrade steps are copies with other servers).
RULES: tuple[tuple[Step, Rule], ...] = (
    (steps.HA_STATUS, _reads_at_once),
    (steps.WATCH_PUBLISHED, _reads_at_once),
    (steps.LAST_PUBLISHED, _reads_in_turn),
    (steps.VERIFY, _verify),
    (steps.MDS_SETUP_VERIFY, _verify),
    (steps.MAKE_ACTIVE, _switch),
    (steps.MDS_BACKUP, _backup),
    (steps.ADD_SNAPSHOT, _snapshot),
    (steps.INSTALLER_UPGRADE, _upgrade),
    (steps.MDS_SETUP_UPGRADE, _upgrade),
    (steps.START_DMS, _start_down),
    (steps.FIX_VERSIONS, _fix),
    (steps.RESTART, _restart),
    (steps.FULL_SYNC, _full_sync),
    (steps.REVERT, _revert),
    (steps.MDSSTART, _mdsstart),
)


def _rule(step: Step) -> Rule | None:
    return next((rule for known, rule in RULES if known.build is step.build), None)


def phase_estimate(c: Context, phase_id: str) -> PhaseEstimate:
    """One phase: its overhead, then each step with a rule, in the phase's order."""
    parts = [Part(what=OVERHEAD, seconds=c.t["phase_overhead"])]
    c = replace(c, phase=phase_id)
    for step in phase_steps(phase_id, c.inv):
        rule = _rule(step)
        part = rule(c, step) if rule else None
        if part is not None:
            parts.append(part)
    return PhaseEstimate(
        phase=phase_id,
        title=BY_ID[phase_id].title,
        seconds=sum(p.seconds for p in parts),
        parts=tuple(parts),
    )


def timings(inv: Inventory) -> tuple[dict[str, float], str]:
    """The durations to use and where they come from: the table's defaults, each replaced
    by the inventory's timings file where it names it."""
    mine = dict(inv.timings)
    if not inv.timings_file:
        return dict(durations.DEFAULTS), (
            "defaults of docs/durations.md (assumptions: put your measurements in a file "
            "the inventory names, timings: <path>)"
        )
    origin = (
        f"{inv.timings_file} ({len(mine)} of {len(durations.DEFAULTS)} values: "
        f"{', '.join(sorted(mine)) or 'none'}); the rest defaults of docs/durations.md"
    )
    return {**durations.DEFAULTS, **mine}, origin


def _critical_path(phases: tuple[PhaseEstimate, ...], total: float) -> str:
    """The parts that make the window long, in order: each at least 5 % of the total."""
    big = [
        f"{p.phase} {part.what} ({span(part.seconds)})"
        for p in phases
        for part in p.parts
        if part.what != OVERHEAD and part.seconds >= 0.05 * total
    ]
    return ", ".join(big) or "no step stands out"


def estimate(
    inv: Inventory, document: Mapping[str, Any] | None = None, origin: str = "the document"
) -> Estimate:
    """The change window for ``inv``: per phase 00..08 the expected seconds, what
    dominates, what runs at once; the total and the critical path; the back-out (09)
    apart. ``document`` is a baseline or status document
    (ValueError when it has no ``"servers"`` list); None: the inventory and
    :data:`ASSUMED_DOMAINS`; ``origin`` names the document in the text."""
    shape = shape_of(inv, document, origin)
    values, origin = timings(inv)
    c = Context(inv, shape, values)
    campaign = tuple(phase_estimate(c, p.id) for p in CAMPAIGN)
    total = sum(p.seconds for p in campaign)
    return Estimate(
        phases=campaign,
        backout=phase_estimate(c, BACKOUT),
        total_s=total,
        shape=shape,
        mdss=len(inv.mdss),
        log_servers=len(inv.log_servers),
        timings_origin=origin,
        critical_path=_critical_path(campaign, total),
        time_scale=inv.time_scale,
        worst_sync_s=(shape.standbys - shape.to_sync) * values["full_sync_per_domain"],
    )


# -- 08: the estimate against the journal ----------------------------------------------------
def real_durations(report_dir: Path, current: str | None = None) -> dict[str, float]:
    """Phase id -> seconds of the run that counts for it (the campaign timeline's rule:
    :mod:`mdstools.procedure.timeline`); ``current`` is the run asking: its phase counts
    from its start until now."""
    events = audit.read_journal(report_dir / audit.JOURNAL)
    try:
        state = audit.load_state(report_dir / audit.STATE)
    except RecordDamaged:
        state = {"phases": {}}
    counted = timeline.counted_runs(events, state, current)
    phases = timeline.spans(events, counted.values())["phases"]
    out = {pid: float(b - a) for pid, (a, b) in phases.items()}
    mine = next((pid for pid, run_id in counted.items() if run_id == current), None)
    if mine is not None and mine in phases:
        out[mine] = max(out[mine], time.time() - phases[mine][0])
    return out


#: the columns 08 shows (each row also has the seconds: ``estimated s``, ``real s``)
COLUMNS = ["phase", "estimated", "real", "ratio"]
ESTIMATE_FILE = "estimate.json"


def comparison(
    est: Estimate, real: Mapping[str, float], scale: float = 1.0
) -> list[dict[str, Any]]:
    """One row per phase (:data:`COLUMNS`): estimated and real time, real / estimated;
    a phase not run has no real value; a last row sums the phases that ran. ``scale`` is
    the run's time scale: the lab's clock runs the estimate's product seconds that much
    faster (1.0 on real servers)."""

    def row(phase: str, planned: float, got: float | None) -> dict[str, Any]:
        return {
            "phase": phase,
            "estimated": span(planned),
            "real": "not run" if got is None else span(got),
            "ratio": None if got is None or not planned else round(got / planned, 3),
            "estimated s": round(planned, 3),
            "real s": None if got is None else round(got, 3),
        }

    rows = [row(p.phase, p.seconds * scale, real.get(p.phase)) for p in est.phases]
    ran = [p for p in est.phases if p.phase in real]
    if ran:
        planned = sum(p.seconds for p in ran) * scale
        rows.append(row("total (phases run)", planned, sum(real[p.phase] for p in ran)))
    return rows


def compare_run(run: Run) -> list[dict[str, Any]]:
    """08: the estimate for the run's inventory and the ticket's baseline against the real
    phase durations of its journal (:func:`comparison`, at the run's time scale), written
    to the record (``estimate.json``, with the estimate's phases, total and critical path)."""
    est = estimate(
        run.inventory,
        baseline_of(run.report_dir.parent, run.ticket),
        f"the baseline of {run.ticket}",
    )
    scale = float(run.params.get("time_scale") or 1.0)
    rows = comparison(est, real_durations(run.report_dir, run.run_id), scale)
    record = {
        "headline": est.headline(),
        "critical_path": est.critical_path,
        "timings": est.timings_origin,
        "deployment": est.shape.source,
        "time_scale": scale,
        "phases": {p.phase: {"seconds": p.seconds, "dominates": p.dominates} for p in est.phases},
        "comparison": rows,
    }
    run.write_file(ESTIMATE_FILE, json.dumps(record, indent=2) + "\n")
    return rows
