"""``mds_restore``: its preconditions, its prompt, and the databases it puts back."""

from __future__ import annotations

import re

from mdstools.lab.model import Deployment
from tests.lab.conftest import Ran, run_on

DIR = "/var/log/mds_backups"


def backup(dep: Deployment, server: str = "mds1") -> str:
    r = run_on(dep, server, f"mkdir -p {DIR} && mds_backup -b -d {DIR}")
    assert r.rc == 0, r.err
    m = re.search(r"Backup file: (\S+)", r.out)
    assert m
    return m.group(1)


def restore(dep: Deployment, archive: str, answer: str = "y\n", where: str = DIR) -> Ran:
    return run_on(dep, "mds1", f"cd {where} && mds_restore {archive}", stdin=answer)


def stopped(dep: Deployment) -> None:
    assert run_on(dep, "mds1", "mdsstop").rc == 0


def test_refused_while_the_mds_runs(lab: Deployment) -> None:
    archive = backup(lab)
    r = restore(lab, archive)
    assert r.rc == 1
    assert "the Multi-Domain Server is running. Stop it with mdsstop first." in r.err


def test_refused_from_the_mds_directory_and_for_missing_or_foreign_files(
    lab: Deployment,
) -> None:
    archive = backup(lab)
    stopped(lab)
    r = restore(lab, archive, where="/opt/CPmds-R81.10")
    assert r.rc == 1 and "do not run the restore from the Multi-Domain Server directory" in r.err
    r = restore(lab, f"{DIR}/nope.mdsbk.tar")
    assert r.rc == 1 and "No such file" in r.err
    assert run_on(lab, "mds1", f"echo hello > {DIR}/fake.mdsbk.tar").rc == 0
    r = restore(lab, f"{DIR}/fake.mdsbk.tar")
    assert r.rc == 1 and "is not a Multi-Domain Server backup" in r.err
    r = run_on(lab, "mds1", f"cd {DIR} && mds_restore")
    assert r.rc == 1 and "Usage: mds_restore <backup file>" in r.err


def test_refused_on_another_version(lab: Deployment) -> None:
    archive = backup(lab)
    for image in lab.backups.values():
        image.version = "R81.20"
    stopped(lab)
    r = restore(lab, archive)
    assert r.rc == 1
    assert "the backup was taken on R81.20; this server runs R81.10" in r.err


def test_asks_and_aborts_unless_answered_y(lab: Deployment) -> None:
    archive = backup(lab)
    rev = lab.lab_change("dom1", "mds1", obj="after_backup")
    stopped(lab)
    r = restore(lab, archive, answer="n\n")
    assert r.rc == 1
    assert "Are you sure you want to continue? (y/n) [n] ?" in r.out
    assert "Restore aborted." in r.out
    dom1 = lab.domain("dom1").on("mds1")
    assert dom1 is not None and rev.uid in dom1.revision_ids()


def test_restores_the_databases_as_in_the_backup(lab: Deployment) -> None:
    archive = backup(lab)
    dom1 = lab.domain("dom1").on("mds1")
    assert dom1 is not None
    before = dom1.revision_ids()
    rev = lab.lab_change("dom1", "mds1", obj="after_backup")
    stopped(lab)
    r = run_on(lab, "mds1", f"cd {DIR} && ./mds_restore {archive}", stdin="y\n")
    assert r.rc == 0, r.err
    assert "Restoring dom1_Server database files ..." in r.out
    assert "Restore completed successfully." in r.out
    assert dom1.revision_ids() == before and rev.uid not in dom1.revision_ids()
    assert "after_backup" in [c.name for x in dom1.lost for c in x.changes]
    assert lab.server_state(lab.server("mds1")) == "down", "the MDS stays stopped"
    assert run_on(lab, "mds1", "mdsstart").rc == 0
