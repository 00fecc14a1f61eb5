"""Check Point MDS programs of the lab: ``mdsstat``, ``mdsenv``, ``mdsstart``/``mdsstop``, ...

Output formats follow ``docs/formats.md``. Where that page marks a format
[INFERRED] (the ``mdsstat`` border widths, the ``Tip:`` line, mdsstart/mdsstop console
lines, ``mds_fix_cmas_clms_version`` messages, ``mds_backup`` lines) the text is the lab's
reconstruction; clients must parse by structure, never by these exact layouts.
"""

from __future__ import annotations

import hashlib
import time

from mdstools.lab import dbimage
from mdstools.lab.dbimage import BackupImage
from mdstools.lab.model import DomainServer, LabError, ProcessRow, SimServer
from mdstools.lab.shell import IO, Shell, program

ARCHIVE_MARK = "simulated mds_backup archive"  # first line of an archive: mark and digest
MDSSTAT_TITLE = "Processes status checking"
MDSSTAT_TIP = "Tip: Run mdsstat -h for legend"
MDSSTAT_LEGEND = """\
up    - the process is up (followed by its PID)
down  - the process is down
pnd   - the process is pending initialization
init  - the process is initializing
N/A   - the process's PID is not yet available
N/R   - the process is not relevant for this Multi-Domain Server / server type
"""


def _cell(status: str, pid: int | None) -> str:
    return f"up {pid}" if status == "up" and pid is not None else status


def render_mdsstat(rows: list[ProcessRow], columns: tuple[str, ...]) -> str:
    """The ``mdsstat`` pipe table with its border, title, footer and tip."""
    name_w = max([24] + [len(r.name) + 1 for r in rows])
    ip_w = max([15] + [len(r.ip) + 1 for r in rows])
    proc_w = 11
    widths = [5, name_w, ip_w] + [proc_w] * len(columns)

    def line(cells: list[str]) -> str:
        parts = []
        for i, (c, w) in enumerate(zip(cells, widths, strict=True)):
            parts.append(f"{c:<{w}}" if i == 0 else f" {c:<{w}}")
        return "|" + "|".join(parts) + "|"

    sep = "+" + "+".join("-" * (w + (0 if i == 0 else 1)) for i, w in enumerate(widths)) + "+"
    inner = len(sep) - 2

    def banner(text: str, center: bool = False) -> str:
        body = text.center(inner) if center else f" {text}".ljust(inner)
        return f"|{body}|"

    full = "+" + "-" * inner + "+"
    out = [
        "",
        full,
        banner(MDSSTAT_TITLE, center=True),
        sep,
        line([" Type", "Name", "IP address", *columns]),
        sep,
    ]
    servers = [r for r in rows if r.type in ("MDS", "MLM")]
    domain_rows = [r for r in rows if r.type not in ("MDS", "MLM")]
    for r in servers:
        out.append(line([f" {r.type}", r.name, r.ip, *(_cell(*r.cells[c]) for c in columns)]))
    out.append(sep)
    for r in domain_rows:
        out.append(line([f" {r.type}", r.name, r.ip, *(_cell(*r.cells[c]) for c in columns)]))
    if domain_rows:
        out.append(sep)
    up = sum(1 for r in domain_rows if r.all_up)
    out.append(
        banner(
            f"Total Domain Management Servers checked: {len(domain_rows)}    "
            f"{up} up   {len(domain_rows) - up} down"
        )
    )
    out.append(banner(MDSSTAT_TIP))
    out.append(full)
    return "\n".join(out) + "\n"


def _find(sh: Shell, name: str) -> DomainServer | None:
    return sh.server.local(name)


@program("mdsstat")
def mdsstat(sh: Shell, argv: list[str], io: IO) -> int:
    """``mdsstat [-m | -h | <DMS name or IP>]``: process status of the MDS and its DMSs."""
    args = argv[1:]
    if args and args[0] == "-h":
        io.out.write(MDSSTAT_LEGEND)
        return 0
    which = "all"
    if args and args[0] == "-m":
        which = "mds"
    elif args:
        if _find(sh, args[0]) is None:
            io.eprint(f"mdsstat: Domain Management Server '{args[0]}' does not exist")
            return 1
        which = args[0]
    rows = sh.dep.rows(sh.server, which)
    io.out.write(render_mdsstat(rows, sh.dep.columns_for(sh.server)))
    return 0


@program("mdsenv")
def mdsenv(sh: Shell, argv: list[str], io: IO) -> int:
    """``mdsenv [<DMS>]``: set ``$FWDIR``/``$CPDIR`` to the MDS or to one DMS; the prompt stays."""
    mdsdir = sh.env.get("MDSDIR")
    if not mdsdir:
        io.eprint("mdsenv: MDSDIR is not set. Source /etc/profile.d/CP.sh first")
        return 1
    v = sh.server.version.name
    if len(argv) < 2:
        sh.env["FWDIR"] = sh.env.get("MDS_FWDIR", f"{mdsdir}/fw1")
        sh.env["CPDIR"] = sh.env.get("MDS_CPDIR", f"/opt/CPshrd-{v}")
        sh.env.pop("CMA_NAME", None)
        return 0
    d = _find(sh, argv[1])
    if d is None or d.is_global:
        io.eprint(
            f"mdsenv: Domain Management Server '{argv[1]}' does not exist on {sh.server.name}"
        )
        return 1
    base = f"{mdsdir}/customers/{d.name}"
    sh.env["FWDIR"] = f"{base}/CPsuite-{v}/fw1"
    sh.env["CPDIR"] = f"{base}/CPshared/5.0"
    sh.env["CMA_NAME"] = d.name
    return 0


def _needs_mds(sh: Shell, io: IO, name: str) -> bool:
    if sh.server.kind not in ("MDS", "MLM"):
        io.eprint(f"{name}: not a Multi-Domain Server")
        return False
    return True


@program("mdsstart")
def mdsstart(sh: Shell, argv: list[str], io: IO) -> int:
    """``mdsstart [-m | -s]``: start the MDS and its DMSs, ten at a time (``-s``: one by one).

    Returns when the last batch is launched, not when it is up: poll ``mdsstat``.
    """
    if not _needs_mds(sh, io, "mdsstart"):
        return 1
    mds_only, sequential = "-m" in argv, "-s" in argv
    io.print(f"Starting the {sh.server.kind} processes...")
    launch = sh.dep.start_server(sh.server, mds_only=mds_only, sequential=sequential)
    if not mds_only:
        pending = [d for d in sh.server.locals if not d.is_global and d.life.phase == "starting"]
        size = 1 if sequential else sh.dep.timings.batch_size
        batches = (len(pending) + size - 1) // size
        io.print(
            f"Starting {len(pending)} Domain servers in {batches} batch(es) of up to {size}..."
        )
    sh.wait_until(launch)
    io.print("Done. The Domain servers are starting; run mdsstat to follow them.")
    return 0


@program("mdsstop")
def mdsstop(sh: Shell, argv: list[str], io: IO) -> int:
    """``mdsstop [-m]``: stop the DMSs (ten at a time) and the MDS; ``-m``: the MDS only."""
    if not _needs_mds(sh, io, "mdsstop"):
        return 1
    mds_only = "-m" in argv
    if not mds_only:
        io.print("Stopping the Domain servers...")
    end = sh.dep.stop_server(sh.server, mds_only=mds_only)
    sh.wait_until(end)
    io.print(f"The {sh.server.kind} processes are stopped.")
    return 0


def _customer(sh: Shell, argv: list[str], io: IO, start: bool) -> int:
    name = "mdsstart_customer" if start else "mdsstop_customer"
    if len(argv) < 2:
        io.eprint(f"Usage: {name} <Domain Management Server name or IP>")
        return 1
    d = _find(sh, argv[1])
    if d is None or d.is_global:
        io.eprint(f"{name}: Domain server '{argv[1]}' does not exist on {sh.server.name}")
        return 1
    if not start:
        io.print(f"Stopping Domain server {d.name}...")
        sh.wait_until(sh.dep.stop_dms(d))
        io.print(f"Domain server {d.name} is stopped.")
        return 0
    io.print(f"Starting Domain server {d.name}...")
    try:
        up_at = sh.dep.start_dms(d)
    except LabError as exc:
        io.eprint(f"{name}: {exc.message}")
        return 1
    if up_at == float("inf"):
        sh.sleep(sh.dep.clock.dur(sh.dep.timings.dms_pnd + sh.dep.timings.dms_init))
        io.eprint(
            f"{name}: Failed to start Domain server {d.name}: FWM did not come up. "
            f"See $FWDIR/log/fwm.elg of {d.name}"
        )
        return 1
    sh.wait_until(up_at)
    io.print(f"Domain server {d.name} is up.")
    return 0


@program("mdsstart_customer")
def mdsstart_customer(sh: Shell, argv: list[str], io: IO) -> int:
    """``mdsstart_customer <DMS name or IP>``: start one DMS; waits until it is up."""
    return _customer(sh, argv, io, start=True)


@program("mdsstop_customer")
def mdsstop_customer(sh: Shell, argv: list[str], io: IO) -> int:
    """``mdsstop_customer <DMS name or IP>``: stop one DMS."""
    return _customer(sh, argv, io, start=False)


@program("mdsverutil")
def mdsverutil(sh: Shell, argv: list[str], io: IO) -> int:
    """``$MDSVERUTIL AllCMAs``: the DMS names of this server, one per line."""
    sub = argv[1] if len(argv) > 1 else ""
    if sub in ("AllCMAs", "AllCLMs"):
        kind = "CMA" if sub == "AllCMAs" else "CLM"
        for d in sh.server.locals:
            if d.kind == kind and not d.is_global:
                io.print(d.name)
        return 0
    if sub == "MDSCompDir":
        io.print("")
        io.print(f"/opt/CPmds-{sh.server.version.name}")
        io.print("")
        return 0
    io.print(f"Error: Illegal command '{sub}'")
    return 1


@program("mdsquerydb")
def mdsquerydb(sh: Shell, argv: list[str], io: IO) -> int:
    """``mdsquerydb MDSs``: the MDS and MLM peers by name and IP (no roles)."""
    if len(argv) < 2 or argv[1] != "MDSs":
        io.eprint(f"mdsquerydb: unknown query '{' '.join(argv[1:])}' (the lab knows: MDSs)")
        return 1
    width = max(len(s.name) for s in sh.dep.servers) + 2
    io.print(f"{'Name':<{width}}IP")
    for s in sh.dep.servers:
        io.print(f"{s.name:<{width}}{s.ip}")
    return 0


@program("mds_fix_cmas_clms_version")
def mds_fix(sh: Shell, argv: list[str], io: IO) -> int:
    """``mds_fix_cmas_clms_version -c ALL | -n <name>``: set DMS/DLS object versions.

    The output text is simulated (nothing public shows the real one).
    """
    args = argv[1:]
    if args[:2] == ["-c", "ALL"]:
        name = None
    elif len(args) == 2 and args[0] == "-n":
        name = args[1]
    else:
        io.eprint("Usage: mds_fix_cmas_clms_version -c ALL | -n <Domain server name>")
        return 1
    if sh.dep.server_state(sh.server) != "up":
        io.eprint("mds_fix_cmas_clms_version: the Multi-Domain Server is not running. Run mdsstart")
        return 1
    try:
        targets = sh.dep.fix_object_versions(sh.server, name)
    except LabError as exc:
        io.eprint(f"mds_fix_cmas_clms_version: {exc.message}")
        return 1
    io.print(
        "[simulated output] Updating the version of Domain Management Server and "
        "Domain Log Server objects"
    )
    failed = 0
    for d, outcome in targets:
        sh.sleep(sh.dep.clock.dur(sh.dep.timings.fix_version_per_object))
        if outcome == "updated":
            io.print(f"Updating {d.name} ({d.kind}) to version {d.object_version} ... Done")
        else:
            failed += 1
            io.print(
                f"Updating {d.name} ({d.kind}) ... Failed: the Domain server is down. "
                f"Start it with mdsstart_customer {d.name}"
            )
    io.print(f"Summary: {len(targets) - failed} updated, {failed} failed")
    return 1 if failed else 0


@program("fw")
def fw(sh: Shell, argv: list[str], io: IO) -> int:
    """``fw ver``: the software version and build."""
    if len(argv) > 1 and argv[1] == "ver":
        v = sh.server.version
        io.print(f"This is Check Point's software version {v.name} - Build {v.fw_build}")
        return 0
    io.eprint(f"fw: the lab implements only 'fw ver' (got '{' '.join(argv[1:])}')")
    return 1


@program("fwm")
def fwm(sh: Shell, argv: list[str], io: IO) -> int:
    """``fwm ver``: the management server version."""
    if len(argv) > 1 and argv[1] == "ver":
        v = sh.server.version
        io.print(f"This is Check Point Security Management Server {v.name} - Build {v.fw_build}")
        return 0
    io.eprint(f"fwm: the lab implements only 'fwm ver' (got '{' '.join(argv[1:])}')")
    return 1


@program("cpinfo")
def cpinfo(sh: Shell, argv: list[str], io: IO) -> int:
    """``cpinfo -y all``: installed hotfixes by product, with the Jumbo take."""
    if argv[1:] != ["-y", "all"]:
        io.eprint("cpinfo: the lab implements only 'cpinfo -y all'")
        return 1
    v = sh.server.version
    take = sh.server.jumbo
    jumbo = f"HOTFIX_{v.underscored}_JUMBO_HF_MAIN"
    io.print("This is Check Point CPinfo Build 914000274 for GAIA")
    for product in ("MGMT", "IDA", "FW1", "SecurePlatform", "CPinfo", "CPUpdates"):
        io.print(f"[{product}]")
        if take is None or product in ("IDA", "CPinfo"):
            io.print("        No hotfixes..")
        elif product == "CPUpdates":
            io.print(f"        BUNDLE_{v.underscored}_JUMBO_HF_MAIN     Take:  {take}")
        else:
            io.print(f"        {jumbo}     Take:  {take}")
    return 0


@program("cpprod_util")
def cpprod_util(sh: Shell, argv: list[str], io: IO) -> int:
    """``cpprod_util FwIsMDS|CPPROD_GetValue ...``: the few product queries scripts use."""
    sub = argv[1] if len(argv) > 1 else ""
    if sub in ("FwIsMDS", "MgmtIsMDS"):
        io.print("1")
        return 0
    if sub == "FwIsMLM":
        io.print("1" if sh.server.kind == "MLM" else "0")
        return 0
    io.eprint(f"cpprod_util: the lab does not implement '{sub}'")
    return 1


@program("cpstop", "cpstart")
def cpstop_start(sh: Shell, argv: list[str], io: IO) -> int:
    """``cpstop``/``cpstart`` on an MDS: use mdsstop/mdsstart (as Check Point advises)."""
    io.eprint(f"{argv[0]}: on a Multi-Domain Server use {argv[0].replace('cp', 'mds')}")
    return 1


def backup_name(version: str, when: float) -> str:
    """``13Sep2015-141437.mdsbk.tar`` (R81+) or ``.mdsbk.tgz`` (older)."""
    stamp = time.strftime("%d%b%Y-%H%M%S", time.localtime(when))
    ext = "tgz" if version.startswith("R80") else "tar"
    return f"{stamp}.mdsbk.{ext}"


def backup_size(server: SimServer) -> int:
    return 600_000_000 + 25_000_000 * sum(1 for d in server.locals if not d.is_global)


@program("mds_backup")
def mds_backup(sh: Shell, argv: list[str], io: IO) -> int:
    """``mds_backup [-b] [-l] [-d <dir>] [-s]``: back up every database into one archive.

    Writes ``DDMonYYYY-HHMMSS.mdsbk.tar`` plus the restore helpers (``mds_restore``,
    ``gtar``, ``gzip``) into the target directory; fails when the space is short.
    """
    args = argv[1:]
    target = sh.cwd
    if "-d" in args:
        i = args.index("-d")
        if i + 1 >= len(args):
            io.eprint("mds_backup: -d needs a directory")
            return 1
        target = sh.path(args[i + 1])
    if not sh.vfs.is_dir(target):
        io.eprint(f"mds_backup: {target}: No such directory")
        return 1
    if target.startswith(f"/opt/CPmds-{sh.server.version.name}"):
        io.eprint("mds_backup: do not run the backup from the Multi-Domain Server directory")
        return 1
    if "-b" not in args:
        io.out.write("Do you want to proceed with the backup? (y/n) [n] ? ")
        if io.stdin.readline().strip().lower() not in ("y", "yes"):
            io.print("Backup aborted.")
            return 1
    size = backup_size(sh.server)
    free = sh.vfs.free_kb(target)
    io.print(f"Multi-Domain Server backup of {sh.server.name} into {target}")
    if free is not None and free * 1024 < size * 2:
        io.eprint(
            f"mds_backup: not enough free disk space in {target}: "
            f"{free // 1024} MB free, about {2 * size // (1024 * 1024)} MB needed"
        )
        return 1
    t = sh.dep.timings
    locals_ = [d for d in sh.server.locals if not d.is_global]
    with sh.dep.lock:
        image = BackupImage(
            sh.server.name, sh.server.version.name, sh.dep.clock.wall(), dbimage.capture(sh.server)
        )
    io.print("Gathering information ...")
    for d in locals_:
        sh.sleep(sh.dep.clock.dur(t.backup_per_domain))
        io.print(f"Adding {d.name} database files ...")
    sh.sleep(sh.dep.clock.dur(t.backup_base))
    name = backup_name(sh.server.version.name, sh.dep.clock.wall())
    digest = hashlib.sha256(f"{sh.server.name}:{name}".encode()).hexdigest()
    content = f"{ARCHIVE_MARK} {digest}\nserver {image.server}\nversion {image.version}\n"
    sh.vfs.write(f"{target}/{name}", content, size=size)
    with sh.dep.lock:
        sh.dep.backups[digest] = image
    for helper in ("mds_restore", "gtar", "gzip"):
        program_name = helper if helper == "mds_restore" else None
        sh.vfs.write(
            f"{target}/{helper}", f"simulated {helper}\n", size=400_000, handler=program_name
        )
    io.print(f"Backup file: {target}/{name}")
    io.print("Backup completed successfully.")
    return 0
