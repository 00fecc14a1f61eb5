"""Lab benchmark: what the Management API costs ``mdstools status`` and the change-freeze watch.

Run by hand (not a test), from the repository root::

    .venv/bin/python benchmarks/api_cost.py [--domains 100,250] [--latencies 0.2,1.0]
        [--scale 0.1] [--old COMMIT]

Each measurement gets a fresh lab of 4 MDS x ``--domains`` domains (no MLM), started with
``--source R81.20 --target R81.20`` (so that ``status`` reads ``show-ha-status`` per domain),
``--time-scale --scale`` and ``--api-latency L`` (product seconds of a read/write login; a
read-only login costs half). The lab's ``api`` counters (``lab status --format json``) are
read before and after:

* **status**: ``mdstools status -i inventory.yml --format json`` as a whole process.
* **watch**: in one child process, a dry run of phase 03 is opened (``run.start``), phase
  02's freeze markers are read (``prepare.freeze_markers``, the same reads as the watch;
  written to ``freeze.json`` as phase 02 does), the counters are taken, then
  ``freeze.watch`` runs alone and is timed. This isolates the watch from the rest of a
  phase (its other steps, papermill, the kernel). The peak of concurrent sessions is the
  lab's since ``lab up``, so for the watch it covers the markers read too (the same shape).
  It is the most sessions open at once on one server: the watch reads its MDSs at once,
  so the deployment as a whole has up to ``MDS`` times that many open.

With ``--old COMMIT`` the same is measured with the client of that commit (a ``git
worktree`` in a temporary directory, imported through ``PYTHONPATH``) against the same lab
code; the commit before mgmt_api.py is ``git log --format=%h -- mdstools/mgmt_api.py |
tail -1`` followed by ``^``.

Times are wall seconds of the lab at ``--scale``; ``/ scale`` converts them to product
seconds, an upper bound: SSH, Python start-up and the lab's own work are not scaled, so they
are inflated by 1 / scale. Latency 0 (in the default ``--latencies``) measures that part
alone: the column "API (s)" is (wall - wall at latency 0) / scale, the product seconds the
API's costs add, and is what the targets are checked against when it is there. The
targets, in product seconds, with L the read/write login latency: status within
(domains / 10 + 5) x L, the watch within (domains x MDSs / 10 + 5) x L, never more than
100 sessions open at once, none left open.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
MDSTOOLS = str(VENV_BIN / "mdstools")
MDS = 4
SESSION_CAP = 100

WATCH_SCRIPT = r"""
import json, sys, time
from mdstools import run as runmod
from mdstools.procedure import freeze, prepare

inv, reports = sys.argv[1], sys.argv[2]
r = runmod.start(inv, "BENCH-API", phase_id="03", interactive=False, dry_run=True,
                 reports_dir=reports)
t0 = time.perf_counter()
df = prepare.freeze_markers(r)
markers_s = time.perf_counter() - t0
doc = {"started_by": r.operator, "run_id": r.run_id,
       "started_at": r.started.isoformat(timespec="seconds"),
       "markers": json.loads(df.to_json(orient="records"))}
(r.report_dir / prepare.FREEZE).write_text(json.dumps(doc, indent=2) + "\n")
print("MARKERS " + json.dumps({"seconds": markers_s, "rows": len(df)}), flush=True)
sys.stdin.readline()
t0 = time.perf_counter()
found = freeze.watch(r)
watch_s = time.perf_counter() - t0
print("WATCH " + json.dumps({"seconds": watch_s, "changes": len(found)}), flush=True)
"""


@dataclass
class Result:
    client: str
    what: str
    domains: int
    latency: float
    wall_s: float
    logins: int
    read_only: int
    peak: int
    left_open: int
    unbalanced: int
    refused: dict[str, int]
    ok: str


def lab_up(lab_dir: Path, domains: int, latency: float, scale: float) -> None:
    cmd = [MDSTOOLS, "lab", "up", "--dir", str(lab_dir), "--mds", str(MDS), "--mlm", "0"]
    cmd += ["--domains", str(domains), "--source", "R81.20", "--target", "R81.20"]
    cmd += ["--time-scale", str(scale), "--api-latency", str(latency)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def lab_down(lab_dir: Path) -> None:
    subprocess.run(
        [MDSTOOLS, "lab", "down", "--dir", str(lab_dir)], check=False, stdout=subprocess.DEVNULL
    )


def api(lab_dir: Path) -> dict[str, Any]:
    p = subprocess.run(
        [MDSTOOLS, "lab", "status", "--dir", str(lab_dir), "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    )
    out: dict[str, Any] = json.loads(p.stdout)["api"]
    return out


def delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    refused = {
        k: n - before["refused"].get(k, 0)
        for k, n in after["refused"].items()
        if n - before["refused"].get(k, 0)
    }
    return {
        "logins": after["logins"] - before["logins"],
        "read_only": after["read_only_logins"] - before["read_only_logins"],
        "logouts": after["logouts"] - before["logouts"],
        "refused": refused,
    }


def client_env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    return env


def result(
    client: str,
    what: str,
    domains: int,
    latency: float,
    wall: float,
    before: dict[str, Any],
    after: dict[str, Any],
    ok: str,
) -> Result:
    d = delta(before, after)
    return Result(
        client,
        what,
        domains,
        latency,
        wall,
        d["logins"],
        d["read_only"],
        after["max_concurrent_sessions"],
        after["open_sessions"],
        d["logins"] - d["logouts"],
        d["refused"],
        ok,
    )


def measure_status(client: str, tree: Path, lab_dir: Path, domains: int, latency: float) -> Result:
    before = api(lab_dir)
    t0 = time.perf_counter()
    argv = [sys.executable, "-m", "mdstools", "status", "-i", str(lab_dir / "inventory.yml")]
    p = subprocess.run(
        [*argv, "--format", "json"],
        capture_output=True,
        text=True,
        env=client_env(tree),
        cwd=tree,
        timeout=3600,
    )
    wall = time.perf_counter() - t0
    time.sleep(0.5)  # logouts of the last execs reach the lab's counters
    after = api(lab_dir)
    if p.returncode not in (0, 1):
        ok = f"exit {p.returncode}: {p.stderr.strip()[-200:]}"
    else:
        n = len(json.loads(p.stdout)["domain_servers"])
        ok = "ok" if n == domains * MDS else f"{n} domain servers"
    return result(client, "status", domains, latency, wall, before, after, ok)


def measure_watch(
    client: str, tree: Path, lab_dir: Path, tmp: Path, domains: int, latency: float
) -> Result:
    script = tmp / "watch.py"
    script.write_text(WATCH_SCRIPT)
    env = client_env(tree)
    env["MDSTOOLS_LOCK_DIR"] = str(tmp / "locks")
    reports = tmp / f"reports-{client}-{domains}-{latency}"
    child = subprocess.Popen(
        [sys.executable, str(script), str(lab_dir / "inventory.yml"), str(reports)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tree,
    )
    assert child.stdin is not None and child.stdout is not None
    ok, before, wall = "ok", None, 0.0
    for line in child.stdout:
        if line.startswith("MARKERS "):
            rows = json.loads(line.split(" ", 1)[1])["rows"]
            if rows != (domains + 1) * MDS:  # every domain and Global, on every MDS
                ok = f"{rows} marker rows"
            time.sleep(0.5)
            before = api(lab_dir)
            child.stdin.write("go\n")
            child.stdin.flush()
        elif line.startswith("WATCH "):
            wall = json.loads(line.split(" ", 1)[1])["seconds"]
    err = child.stderr.read() if child.stderr else ""
    child.wait(timeout=60)
    time.sleep(0.5)
    after = api(lab_dir)
    if before is None or not wall:
        ok = f"exit {child.returncode}: {err.strip()[-300:]}"
        before = after
    return result(client, "watch", domains, latency, wall, before, after, ok)


def target_s(what: str, domains: int, latency: float) -> float:
    """The target in product seconds."""
    n = domains if what == "status" else domains * MDS
    return (n / 10 + 5) * latency


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def old_tree(commit: str, tmp: Path) -> Path:
    path = tmp / "old"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit],
        check=True,
        capture_output=True,
    )
    return path


def print_table(rows: list[Result], scale: float) -> None:
    head = [
        "client",
        "what",
        "domains",
        "L (s)",
        "wall (s)",
        "product (s)",
        "API (s)",
        "target (s)",
        "holds",
        "logins (ro)",
        "peak",
        "left open",
        "logins-logouts",
        "refused",
        "check",
    ]
    table = [head]
    base = {(r.client, r.what, r.domains): r.wall_s for r in rows if r.latency == 0}
    for r in rows:
        product = r.wall_s / scale
        zero = base.get((r.client, r.what, r.domains))
        paid = (r.wall_s - zero) / scale if zero is not None and r.latency else None
        goal = target_s(r.what, r.domains, r.latency)
        spent = product if paid is None else paid
        holds = spent <= goal and r.peak <= SESSION_CAP and r.left_open == 0
        table.append(
            [
                r.client,
                r.what,
                str(r.domains),
                f"{r.latency:g}",
                f"{r.wall_s:.2f}",
                f"{product:.1f}",
                "" if paid is None else f"{paid:.1f}",
                f"{goal:.1f}",
                ("yes" if holds else "NO") if r.latency else "",
                f"{r.logins} ({r.read_only})",
                str(r.peak),
                str(r.left_open),
                str(r.unbalanced),
                ",".join(f"{k}={n}" for k, n in sorted(r.refused.items())) or "-",
                r.ok,
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for i, row in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--domains", default="100,250", help="domain counts (default 100,250)")
    ap.add_argument(
        "--latencies", default="0,0.2,1.0", help="--api-latency values (default 0,0.2,1.0)"
    )
    ap.add_argument("--scale", type=float, default=0.1, help="the labs' --time-scale (0.1)")
    ap.add_argument("--old", default="", help="also measure the client of this commit")
    ap.add_argument("--only", default="status,watch", help="what to measure (status,watch)")
    args = ap.parse_args()
    if not Path(MDSTOOLS).exists():
        sys.exit(f"{MDSTOOLS} not found: run this with the project's .venv/bin/python")
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, commit {head}")
    tmp = Path(tempfile.mkdtemp(prefix="mdstools-bench-api-"))
    clients = [("new", ROOT)]
    try:
        if args.old:
            clients.append((f"old {args.old}", old_tree(args.old, tmp)))
        rows: list[Result] = []
        for domains in [int(x) for x in args.domains.split(",")]:
            for latency in [float(x) for x in args.latencies.split(",")]:
                for name, tree in clients:
                    for what in args.only.split(","):
                        lab_dir = tmp / "lab"
                        print(
                            f"== {name} {what}: {MDS} MDS x {domains} domains, "
                            f"--api-latency {latency:g}, load {load()}",
                            flush=True,
                        )
                        lab_up(lab_dir, domains, latency, args.scale)
                        try:
                            if what == "status":
                                r = measure_status(name, tree, lab_dir, domains, latency)
                            else:
                                r = measure_watch(name, tree, lab_dir, tmp, domains, latency)
                        finally:
                            lab_down(lab_dir)
                        print(f"   {r.wall_s:.2f} s, {r.logins} logins, {r.ok}", flush=True)
                        rows.append(r)
        print(f"load average after: {load()}")
        print()
        print_table(rows, args.scale)
    finally:
        if args.old:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "old")],
                check=False,
                capture_output=True,
            )
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
