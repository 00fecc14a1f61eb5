"""How long a real server takes: the values of the table in ``docs/durations.md`` as data.

Each :class:`Duration` has a name (the key an engineer's timings file uses), a value in
seconds (or GB for the two backup sizes), what it measures and where the value comes from:
a label of ``docs/formats.md`` (DOCUMENTED, COMMUNITY, INFERRED) or ASSUMPTION, a value no
public source gives. :func:`read_file` reads the engineer's own measurements (the
inventory's ``timings: <path>``, YAML ``name: value``) and refuses unknown names, values that
are not numbers, negative ones and absurdly large ones, with the inventory's error style
(exit 2). The client's estimate (:mod:`mdstools.estimate`) reads these values; the lab keeps
its own (``mdstools/lab/model.py`` ``Timings``) and the two never import each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mdstools.bounded_read import NotReadable, read_regular
from mdstools.errors import InventoryError, shown

MAX_FILE = 1 << 16
#: no duration of one step is longer than a week, no size larger than 10 TB
MAX_SECONDS = 7 * 86400.0
MAX_GB = 10_000.0


@dataclass(frozen=True, kw_only=True)
class Duration:
    """One row of the table: ``value`` in ``unit`` (``s`` or ``GB``)."""

    name: str
    value: float
    unit: str
    what: str
    source: str


TABLE: tuple[Duration, ...] = (
    Duration(
        name="phase_overhead",
        value=60.0,
        unit="s",
        what="each phase: the kernel's start, the lock, the header's reads, the HTML report",
        source="ASSUMPTION: the notebook's own time besides the steps counted",
    ),
    Duration(
        name="api_login",
        value=1.0,
        unit="s",
        what="one Management API session: login, a read, logout (8 at once per server)",
        source="ASSUMPTION: no public figure (docs/durations.md, The Management API)",
    ),
    Duration(
        name="cpuse_import",
        value=300.0,
        unit="s",
        what="installer import local of the upgrade package (01, where it is missing)",
        source="ASSUMPTION",
    ),
    Duration(
        name="verifier",
        value=600.0,
        unit="s",
        what="the pre-upgrade verifier (installer verify or mds_setup) on one server",
        source="ASSUMPTION",
    ),
    Duration(
        name="upgrade_install",
        value=2400.0,
        unit="s",
        what="CPUSE (or mds_setup) installation of the major version on an MDS or MLM, "
        "before its reboot",
        source="ASSUMPTION: engineers report an hour or more per server (COMMUNITY), no "
        "public measurement",
    ),
    Duration(
        name="upgrade_per_domain",
        value=20.0,
        unit="s",
        what="added to upgrade_install per domain server on the server (its database is migrated)",
        source="ASSUMPTION",
    ),
    Duration(
        name="reboot",
        value=600.0,
        unit="s",
        what="a reboot of an MDS or MLM until SSH answers",
        source="ASSUMPTION",
    ),
    Duration(
        name="mds_start",
        value=180.0,
        unit="s",
        what="the MDS's own processes up (after a boot or mdsstart), before its DMSs",
        source="ASSUMPTION",
    ),
    Duration(
        name="mdsstart_batch",
        value=120.0,
        unit="s",
        what="mdsstart: one batch of ten DMSs (or DLSs) from pnd to up",
        source="ten at a time: DOCUMENTED/COMMUNITY (docs/formats.md, mdsstart); "
        "minutes per batch: COMMUNITY; 2 min: ASSUMPTION",
    ),
    Duration(
        name="dms_start",
        value=90.0,
        unit="s",
        what="mdsstart_customer: one DMS that was down (06 starts those down in the baseline)",
        source="ASSUMPTION",
    ),
    Duration(
        name="mdsstop_batch",
        value=30.0,
        unit="s",
        what="mdsstop: one batch of ten DMSs stopped",
        source="ASSUMPTION",
    ),
    Duration(
        name="fix_versions_per_domain",
        value=5.0,
        unit="s",
        what="mds_fix_cmas_clms_version -c ALL: per domain of the deployment, on each MDS",
        source="ASSUMPTION",
    ),
    Duration(
        name="backup_per_gb",
        value=180.0,
        unit="s",
        what="mds_backup: per GB of archive written",
        source="ASSUMPTION",
    ),
    Duration(
        name="backup_base_gb",
        value=2.0,
        unit="GB",
        what="an MDS's backup without its domains (the MDS database, -l: no logs)",
        source="ASSUMPTION",
    ),
    Duration(
        name="backup_per_domain_gb",
        value=0.15,
        unit="GB",
        what="added to an MDS's backup per domain server on it",
        source="ASSUMPTION",
    ),
    Duration(
        name="snapshot_create",
        value=1800.0,
        unit="s",
        what="a Gaia snapshot of one server (all servers at once in 02)",
        source="COMMUNITY: 30-60 minutes (a public blog's table of Gaia backup methods, "
        "dkcheckpoint.blogspot.com/2023/04/checkpoint-snapshots-and-hotfixes.html); the "
        "lower end: ASSUMPTION",
    ),
    Duration(
        name="snapshot_revert",
        value=1200.0,
        unit="s",
        what="reverting a server to its snapshot, before the reboot (09)",
        source="ASSUMPTION: docs/durations.md, Gaia snapshots",
    ),
    Duration(
        name="set_ha_state",
        value=30.0,
        unit="s",
        what="set-ha-state of one domain and the wait for its task",
        source="ASSUMPTION",
    ),
    Duration(
        name="full_sync_per_domain",
        value=60.0,
        unit="s",
        what="ha-full-sync of one domain to one standby and the wait for its task",
        source="ASSUMPTION",
    ),
)

BY_NAME: dict[str, Duration] = {d.name: d for d in TABLE}
DEFAULTS: dict[str, float] = {d.name: d.value for d in TABLE}


def _fail(path: Path, field_: str, message: str) -> InventoryError:
    return InventoryError(
        str(path),
        field_,
        message,
        "a timings file is YAML 'name: value', seconds (GB for the *_gb names); names: "
        + ", ".join(BY_NAME),
    )


def _value(path: Path, name: str, value: Any) -> float:
    row = BY_NAME[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(path, name, f"must be a number of {row.unit}, got {shown(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    high = MAX_GB if row.unit == "GB" else MAX_SECONDS
    if not math.isfinite(number) or not 0 <= number <= high:
        raise _fail(path, name, f"{shown(value)} is out of range; allowed 0..{high:g} {row.unit}")
    return number


def read_file(path: Path) -> dict[str, float]:
    """The engineer's values from the timings file at ``path``: every name known, every
    value a number in range. InventoryError (exit 2) naming the file and the name."""
    try:
        raw = read_regular(path, MAX_FILE)
    except NotReadable as exc:
        raise _fail(path, "", f"cannot read the timings file: {exc}") from exc
    try:
        data = yaml.safe_load(raw)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise _fail(path, "", f"not valid YAML ({shown(str(exc), 120)})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _fail(path, "", f"must be a mapping of name: value, got {type(data).__name__}")
    unknown = [k for k in data if not isinstance(k, str) or k not in BY_NAME]
    if unknown:
        key = unknown[0]
        plain = isinstance(key, str) and key.isprintable() and 0 < len(key) <= 40
        raise _fail(path, key if plain else shown(key, 40), "unknown name")
    return {name: _value(path, name, value) for name, value in data.items()}
