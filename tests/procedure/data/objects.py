"""Cases of ``mdstools.procedure.objects``: object versions and the R12 steps (06)."""

from __future__ import annotations

import json

from mdstools.errors import ParseError
from mdstools.procedure import objects
from mdstools.run import Run
from tests.procedure.harness import Case, fixture

DOMAINS = "mgmt_cli -r true show-domains details-level 'full' limit '500' --format json"
JOBS = "/var/log/mdstools/jobs/CHG-PROC-1"
FIX = "$MDSDIR/scripts/mds_fix_cmas_clms_version -c ALL"
ON_TARGET = fixture("show_domains/lab_r81.10.txt").replace('"R81.10"', '"R81.20"')
NO_VERSIONS = json.dumps(
    {
        "objects": [
            {
                "name": "dom1",
                "domain-type": "domain",
                "servers": [
                    {
                        "name": "dom1_Server",
                        "type": "management server",
                        "ipv4-address": "10.1.0.1",
                        "multi-domain-server": "mds1",
                    }
                ],
            }
        ],
        "total": 1,
    }
)


def _check(run: Run) -> tuple[bool, str, str]:
    c = objects.versions_check(run, objects.object_versions(run))
    return c.passed, c.severity, c.reason


def _steps(run: Run) -> list[tuple[str, str]]:
    return [(str(r.step), str(r.outcome)) for r in objects.on_mds(run, "mds1").itertuples()]


def job(name: str) -> dict[str, str | tuple[str, str, int]]:
    """The ticket's job ``name`` on the server: finished earlier with exit status 0."""
    d = f"{JOBS}/{name}"
    return {
        f"^cat {d}/pid": "4242\n1795700000\n",
        f"^if \\[ -f {d}/rc \\]": "rc=0\n120\nDone.\n",
        f"^cat {d}/log$": fixture("fix_cmas_clms_version/lab_r81.20_all.txt")
        if "fix" in name
        else "mdsstart done\n",
    }


def found(name: str) -> list[str]:
    """What looking for the job ``name`` of the ticket sends: its pid file, then a poll."""
    d = f"{JOBS}/{name}"
    return [f"cat {d}/pid 2>/dev/null && cat {d}/started 2>/dev/null; true", f"~^if \\[ -f {d}/rc"]


CASES = [
    Case(
        "object versions behind the target",
        _check,
        answers={"mds1": {"show-domains": fixture("show_domains/lab_r81.10.txt")}},
        phase_id="06",
        sent={"mds1": [DOMAINS]},
        result=(
            False,
            "error",
            "outdated: dom1_Server=R81.10, dom1_Server_2=R81.10, dom1_Log_Server=R81.10, "
            "dom2_Server=R81.10, dom2_Server_2=R81.10, dom2_Log_Server=R81.10, "
            "dom3_Server=R81.10, dom3_Server_2=R81.10, dom3_Log_Server=R81.10, "
            "dom4_Server=R81.10",
        ),
    ),
    Case(
        "an API that does not show object versions",
        _check,
        answers={"mds1": {"show-domains": NO_VERSIONS}},
        phase_id="06",
        sent={"mds1": [DOMAINS]},
        result=(False, "warning", "this server's API does not show object versions"),
    ),
    Case(
        "show-domains that is not JSON",
        _check,
        answers={"mds1": {"show-domains": "Segmentation fault\n"}},
        phase_id="06",
        sent={"mds1": [DOMAINS]},
        raises=(ParseError, "not JSON"),
    ),
    Case(
        "dry run: the DMS that is down, the fix and the restart are only shown",
        _steps,
        answers={
            "mds1": {
                "^mdsstat$": fixture("mdsstat/lab_r81.10_dms_down.txt"),
                "^mdsenv; echo": "/opt/CPmds-R81.20/CPshrd-R81.20\n",
            }
        },
        phase_id="06",
        dry_run=True,
        sent={"mds1": ["mdsstat", "mdsenv; echo $FWDIR"]},
        result=[
            ("mdsstat", "5 domain servers, 1 not up: dom1_Server"),
            ("mdsstart_customer dom1_Server", "dry run"),
            ("mdsenv", "/opt/CPmds-R81.20/CPshrd-R81.20"),
            (FIX, "dry run"),
            ("mdsstop; mdsstart", "dry run"),
        ],
        events=[
            ("dry-run", {"command": "mdsstart_customer dom1_Server"}),
            ("dry-run", {"command": FIX}),
            ("dry-run", {"command": "mdsstop"}),
            ("dry-run", {"command": "mdsstart"}),
        ],
    ),
    Case(
        "a rerun finds the fix and the restart done, and does not repeat them",
        _steps,
        answers={
            "mds1": {
                "^mdsstat$": fixture("mdsstat/lab_r81.10_all_up.txt"),
                "^mdsenv; echo": "/opt/CPmds-R81.20/CPshrd-R81.20\n",
                "show-domains": ON_TARGET,
                **job("mds_fix_cmas_clms_version"),
                **job("mdsstop_mdsstart"),
            }
        },
        phase_id="06",
        sent={
            "mds1": [
                "mdsstat",
                "mdsenv; echo $FWDIR",
                DOMAINS,
                *found("mds_fix_cmas_clms_version"),
                f"cat {JOBS}/mds_fix_cmas_clms_version/log",
                *found("mdsstop_mdsstart"),
                f"cat {JOBS}/mdsstop_mdsstart/log",
                "mdsstat",
            ]
        },
        result=[
            ("mdsstat", "5 domain servers, 0 not up"),
            ("mdsenv", "/opt/CPmds-R81.20/CPshrd-R81.20"),
            (FIX, "exit 0; 5 objects updated, 0 failed (already done before this run)"),
            ("mdsstop; mdsstart", "done (already done before this run)"),
            ("mdsstat until all up", "every process is up"),
        ],
        events=[
            ("step", {"event": "found", "step": "mds_fix_cmas_clms_version"}),
            ("step", {"event": "found", "step": "mdsstop; mdsstart"}),
        ],
    ),
]
