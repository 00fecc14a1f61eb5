"""``mds_restore``: put back the MDS databases an ``mds_backup`` archive holds.

As on a real MDS (docs/formats.md#mds_restore): run it from outside ``/opt/CPmds-*`` with
the MDS stopped (``mdsstop``), on a server of the backup's release; it asks for
confirmation unless stdin answers ``y``. It restores each domain's database (published
sessions, HA state, sync status) as in the backup, by domain name, and leaves the MDS
stopped: ``mdsstart`` follows. The archive's first line names the backup the lab keeps
(``Deployment.backups``); the lab does not check that the user is root. Texts are
RECONSTRUCTED.
"""

from __future__ import annotations

from mdstools.lab import dbimage
from mdstools.lab.cpcmds import ARCHIVE_MARK
from mdstools.lab.dbimage import BackupImage
from mdstools.lab.shell import IO, Shell, program

USAGE = "Usage: mds_restore <backup file>"
IN_MDS_DIR = "mds_restore: do not run the restore from the Multi-Domain Server directory ({dir})"
NO_FILE = "mds_restore: {path}: No such file"
NOT_BACKUP = "mds_restore: {path} is not a Multi-Domain Server backup"
RUNNING = "mds_restore: the Multi-Domain Server is running. Stop it with mdsstop first."
WRONG_VERSION = (
    "mds_restore: the backup was taken on {backup}; this server runs {current}. "
    "Restore it on a server of version {backup}."
)
PROMPT = (
    "The restore overwrites the databases of every Domain on this Multi-Domain Server.\n"
    "Are you sure you want to continue? (y/n) [n] ? "
)
ABORTED = "Restore aborted."
RESTORING = "Restoring the Multi-Domain Server databases from {path} ..."
DOMAIN_LINE = "Restoring {name} database files ..."
DONE = "Restore completed successfully. Start the Multi-Domain Server with mdsstart."


def _backup(sh: Shell, path: str) -> BackupImage | None:
    first = sh.vfs.read_text(path).partition("\n")[0]
    mark, _, digest = first.rpartition(" ")
    if mark != ARCHIVE_MARK:
        return None
    return sh.dep.backups.get(digest)


def _stopped(sh: Shell) -> bool:
    now = sh.dep.clock.now()
    if sh.dep.server_state(sh.server) != "down":
        return False
    return all(d.life.state(now) == "down" for d in sh.server.locals if not d.is_global)


def _problem(sh: Shell, argv: list[str]) -> tuple[str, BackupImage | None]:
    """(error, backup): the first precondition that fails, or ("", the backup)."""
    if len(argv) != 2:
        return USAGE, None
    mdsdir = f"/opt/CPmds-{sh.server.version.name}"
    if sh.cwd == mdsdir or sh.cwd.startswith(mdsdir + "/"):
        return IN_MDS_DIR.format(dir=mdsdir), None
    path = sh.path(argv[1])
    if not sh.vfs.is_file(path):
        return NO_FILE.format(path=path), None
    backup = _backup(sh, path)
    if backup is None:
        return NOT_BACKUP.format(path=path), None
    if not _stopped(sh):
        return RUNNING, None
    if backup.version != sh.server.version.name:
        return WRONG_VERSION.format(backup=backup.version, current=sh.server.version.name), None
    return "", backup


@program("mds_restore")
def mds_restore(sh: Shell, argv: list[str], io: IO) -> int:
    """``mds_restore <backup file>``: restore the Domains' databases from an mds_backup."""
    problem, backup = _problem(sh, argv)
    if backup is None:
        io.eprint(problem)
        return 1
    io.out.write(PROMPT)
    answer = io.stdin.readline().strip().lower()
    if not io.tty:
        io.print()
    if answer not in ("y", "yes"):
        io.print(ABORTED)
        return 1
    t = sh.dep.timings
    io.print(RESTORING.format(path=sh.path(argv[1])))
    for d in sh.server.locals:
        if not d.is_global and d.domain.name in backup.dms:
            sh.sleep(sh.dep.clock.dur(t.restore_per_domain))
            io.print(DOMAIN_LINE.format(name=d.name))
    sh.sleep(sh.dep.clock.dur(t.restore_base))
    with sh.dep.lock:
        dbimage.restore(sh.server, backup.dms)
        sh.dep.log(f"{sh.server.name}: mds_restore of the {backup.server} backup")
    io.print(DONE)
    return 0
