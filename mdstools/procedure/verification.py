"""Phase 01: the pre-upgrade verifier on ALL MDSs and MLMs (R2), and its gate (R3).

CPUSE method: the package is imported where it is not yet (``installer import local``),
then ``installer verify``; the findings come from the report file the verifier names.
mds_setup method: ``mds_setup`` option "Pre-Upgrade Verification Only".
"""

from __future__ import annotations

import posixpath

import pandas as pd

from mdstools import jobs
from mdstools.commands import upgrade, verifier
from mdstools.commands.base import Command
from mdstools.errors import MdstoolsError
from mdstools.procedure.common import scaled
from mdstools.records import VerifierReport
from mdstools.run import Run
from mdstools.session import Session


def package_name(run: Run) -> str:
    return posixpath.basename(run.inventory.upgrade_package)


def ensure_imported(run: Run, sess: Session) -> str:
    """Import the upgrade package into CPUSE unless it is there already; returns its status."""
    pkg = package_name(run)
    listed = sess.run(upgrade.show_installer_packages("imported"))
    if listed.ok and any(p.name == pkg for p in (listed.data or [])):
        return "already imported"
    run.execute(sess.name, upgrade.lock_database_override())
    run.execute(
        sess.name, upgrade.installer_import_local(run.inventory.upgrade_package), check=True
    )
    if run.dry_run:
        return "would import"

    def imported(s: Session) -> tuple[bool, str]:
        detail = s.run(upgrade.show_installer_package(pkg))
        st = detail.data.status if detail.ok and detail.data else None
        return st in ("Imported", "Available for Install", "Installed"), st or "not listed yet"

    jobs.poll_until(
        sess,
        imported,
        scaled(run, 1800),
        scaled(run, 5.0),
        run.progress,
        label=f"{sess.name} import",
    )
    return "imported"


def verify_server(run: Run, name: str) -> VerifierReport:
    """The verifier on one server; the report's findings included."""
    sess = run.session(name)
    if run.inventory.upgrade_method == "mds_setup":
        path = run.inventory.upgrade_package or "$MDSDIR/scripts/mds_setup"
        return sess.run(verifier.mds_setup_verification(path), check=True).value()
    ensure_imported(run, sess)
    if run.dry_run:
        return VerifierReport((), None, None, "dry run: not verified")
    report = sess.run(verifier.installer_verify(package_name(run)), check=True).value()
    if report.report_path and not report.findings:
        text = sess.run(
            Command(
                f"cat {report.report_path}", verifier.parse_verifier_report, name="verifier report"
            )
        )
        if text.ok and text.data is not None:
            full = text.data
            report = VerifierReport(
                full.findings,
                report.upgrade_allowed,
                report.report_path,
                full.summary or report.summary,
                verdicts=report.verdicts,
            )
    return report


def verify_all(run: Run) -> dict[str, VerifierReport]:
    """R2: the verifier on every server in parallel; a server that fails is an error."""
    outcomes = run.fleet.map(lambda s: verify_server(run, s.name))
    reports: dict[str, VerifierReport] = {}
    for name, o in outcomes.items():
        if o.ok and o.value is not None:
            reports[name] = o.value
        else:
            err = o.error or MdstoolsError("no result")
            from mdstools.records import VerifierFinding

            reports[name] = VerifierReport(
                (VerifierFinding("error", "Verifier did not run", str(err)),), False
            )
    run.journal.write(
        "verifier",
        results={
            n: {"allowed": r.upgrade_allowed, "errors": len(r.errors), "warnings": len(r.warnings)}
            for n, r in reports.items()
        },
    )
    return reports


def summary_frame(reports: dict[str, VerifierReport]) -> pd.DataFrame:
    rows = [
        {
            "server": n,
            "upgrade allowed": r.upgrade_allowed,
            "errors": len(r.errors),
            "warnings": len(r.warnings),
            "report": r.report_path or "",
        }
        for n, r in reports.items()
    ]
    df = pd.DataFrame(rows, columns=["server", "upgrade allowed", "errors", "warnings", "report"])
    return df.sort_values("errors", ascending=False, kind="stable").reset_index(drop=True)


def warning_items(reports: dict[str, VerifierReport]) -> list[tuple[str, str]]:
    """(id, label) of every warning, id ``<server>:<finding id>``, for acknowledgement."""
    return [(f"{n}:{f.id}", f"{n}: {f.title}") for n, r in reports.items() for f in r.warnings]
