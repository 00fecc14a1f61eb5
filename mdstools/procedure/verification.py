"""Phase 01: the pre-upgrade verifier on ALL MDSs and MLMs (R2), and its gate (R3).

CPUSE method: the package is imported where it is not yet (``installer import local``),
then ``installer verify``; the findings come from the report file the verifier names.
mds_setup method: ``mds_setup`` option "Pre-Upgrade Verification Only".
"""

from __future__ import annotations

import pandas as pd

from mdstools import jobs
from mdstools.errors import MdstoolsError
from mdstools.procedure import steps
from mdstools.procedure.common import scaled
from mdstools.records import VerifierFinding, VerifierReport
from mdstools.run import Run
from mdstools.session import Session


def package_name(run: Run) -> str:
    """The CPUSE package's file name."""
    return steps.package_name(run.inventory)


def ensure_imported(run: Run, sess: Session) -> str:
    """Import the upgrade package into CPUSE unless it is there already; returns its status."""
    inv = run.inventory
    pkg = package_name(run)
    listed = sess.run(steps.PACKAGES_IMPORTED.command(inv))
    if listed.ok and any(p.name == pkg for p in (listed.data or [])):
        return "already imported"
    run.execute(sess.name, steps.LOCK_OVERRIDE.command(inv))
    run.execute(sess.name, steps.IMPORT.command(inv), check=True)
    if not run.waits(sess.name, f"{pkg} imported"):
        return "would import"

    def imported(s: Session) -> tuple[bool, str]:
        detail = s.run(steps.PACKAGE.command(inv))
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
    """The verifier on one server; the report's findings included.

    A dry run verifies nothing with CPUSE: the package it would import is not there, and
    the verifier is minutes of load on every server. This asks whether the run is a dry
    run itself because the verifier changes nothing (the run's dry-run rules are about
    changes and the waits that follow them).
    """
    sess = run.session(name)
    inv = run.inventory
    if inv.upgrade_method == "mds_setup":
        found: VerifierReport = sess.run(steps.MDS_SETUP_VERIFY.command(inv), check=True).value()
        return found
    ensure_imported(run, sess)
    if run.dry_run:
        return VerifierReport(
            findings=(), upgrade_allowed=None, report_path=None, summary="dry run: not verified"
        )
    report: VerifierReport = sess.run(steps.VERIFY.command(inv), check=True).value()
    if report.report_path and not report.findings:
        text = sess.run(steps.VERIFIER_REPORT.command(inv, report=report.report_path))
        if text.ok and text.data is not None:
            full = text.data
            report = VerifierReport(
                findings=full.findings,
                upgrade_allowed=report.upgrade_allowed,
                report_path=report.report_path,
                summary=full.summary or report.summary,
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
            reports[name] = VerifierReport(
                findings=(VerifierFinding("error", "Verifier did not run", str(err)),),
                upgrade_allowed=False,
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
