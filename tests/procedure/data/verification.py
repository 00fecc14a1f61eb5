"""Cases of ``mdstools.procedure.verification``: the pre-upgrade verifier (01)."""

from __future__ import annotations

from typing import Any

from mdstools.procedure import verification
from mdstools.records import VerifierReport
from mdstools.run import Run
from tests.procedure.harness import PACKAGE, Case, fixture

LISTED = "clish -c 'show installer packages imported'"
VERIFY = f"clish -c 'installer verify {PACKAGE} not-interactive'"
REPORT = "/var/log/CPUSE_pre_upgrade_verifier_R81.20.txt"


def cpuse(report: str = "lab_r81.10_clean.txt") -> dict[str, Any]:
    """A server with the package imported and the verifier allowing the upgrade."""
    return {
        "show installer packages imported": fixture(
            "show_installer_packages/lab_r81.10_imported.txt"
        ),
        "installer verify": fixture("installer_verify/lab_r81.10_allowed.txt"),
        f"^cat {REPORT}$": fixture(f"pre_upgrade_verifier/{report}"),
    }


def _brief(r: VerifierReport) -> tuple[bool | None, int, int, str | None]:
    return r.upgrade_allowed, len(r.errors), len(r.warnings), r.report_path


def _one(run: Run) -> tuple[bool | None, int, int, str | None]:
    return _brief(verification.verify_server(run, "mds1"))


def _all(run: Run) -> dict[str, tuple[bool | None, int, int, str | None]]:
    return {n: _brief(r) for n, r in verification.verify_all(run).items()}


def _dry(run: Run) -> tuple[str, str | None]:
    report = verification.verify_server(run, "mds1")
    return report.summary or "", report.report_path


CASES = [
    Case(
        "the verifier of an imported package, its report read",
        _one,
        answers={"mds1": cpuse()},
        sent={"mds1": [LISTED, VERIFY, f"cat {REPORT}"]},
        phase_id="01",
        result=(True, 0, 0, REPORT),
    ),
    Case(
        "errors in the report of one server, another server unreachable",
        _all,
        answers={"mds1": cpuse(), "mds2": cpuse("lab_r81.10_error.txt")},
        down=["mlm1"],
        sent={
            "mds1": [LISTED, VERIFY, f"cat {REPORT}"],
            "mds2": [LISTED, VERIFY, f"cat {REPORT}"],
        },
        phase_id="01",
        result={
            "mds1": (True, 0, 0, REPORT),
            "mds2": (True, 1, 1, REPORT),
            "mlm1": (False, 1, 0, None),
        },
        events=[
            (
                "verifier",
                {
                    "results": {
                        "mds1": {"allowed": True, "errors": 0, "warnings": 0},
                        "mds2": {"allowed": True, "errors": 1, "warnings": 1},
                        "mlm1": {"allowed": False, "errors": 1, "warnings": 0},
                    }
                },
            )
        ],
    ),
    Case(
        "dry run: the package is not imported, nothing is sent to import it",
        _dry,
        answers={
            "mds1": {
                "show installer packages imported": fixture(
                    "show_installer_packages/lab_r81.10_imported_empty.txt"
                )
            }
        },
        dry_run=True,
        sent={"mds1": [LISTED]},
        phase_id="01",
        result=("dry run: not verified", None),
        events=[
            ("dry-run", {"server": "mds1", "command": "lock database override"}),
            (
                "dry-run",
                {
                    "server": "mds1",
                    "command": f"installer import local /var/log/upload/{PACKAGE} not-interactive",
                },
            ),
        ],
    ),
    Case(
        "mds_setup method: option 1 of mds_setup, the findings from its output",
        _one,
        answers={
            "mds1": {
                "mds_setup": (fixture("mds_setup_verification/lab_r81.10_warnings.txt"), "", 1)
            }
        },
        method="mds_setup",
        sent={"mds1": ["printf '1\\n4\\n' | $MDSDIR/scripts/mds_setup"]},
        phase_id="01",
        result=(None, 0, 2, "/var/log/mds_setup_pre_upgrade_verification.txt"),
    ),
]
