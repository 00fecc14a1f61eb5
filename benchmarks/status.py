"""Lab benchmark: ``mdstools status`` vs the raw paramiko floor vs Netmiko (issue 3).

Run by hand (not a test), from the repository root::

    .venv/bin/python benchmarks/status.py [--repeat 5] [--domains 250] [--keep-lab]

For each lab (the default R81.10 lab, where ``show-ha-status`` does not exist, and a lab
started with ``--source R81.20 --target R81.20``, where ``mdstools status`` adds one batched
``show-ha-status`` exec per MDS that holds active domains) it starts ``mdstools lab up``
with 4 MDS x ``--domains`` domains + 2 MLM, then times, as whole processes (interpreter
start-up and imports included: that is what a user or a scheduler waits for), each
``--repeat`` times after one untimed warm-up:

* ``mdstools status -i inventory.yml --format json`` (exit status 0 or 1, and the JSON must
  hold ``domains * (mds + mlm)`` domain servers);
* the floor: a small raw-paramiko script that sends the same command lines as mdstools
  (taken from mdstools' own command builders, and checked against the lines an in-process
  ``status.collect`` really sends), with mdstools' structure: one connection per server
  opened in parallel threads (key auth, known_hosts checked, TCP_NODELAY), the first-stage
  commands of a server as concurrent channels, then the batched ``show-ha-status``; no
  parsing (``show-domains``/``show-ha-state`` go to the primary only, as in mdstools);
* Netmiko ``ConnectHandler(device_type="checkpoint_gaia")``, the same lines server after
  server, with ``send_command(cmd, expect_string=r"#\\s*$", read_timeout=60)`` and with the
  default ``send_command(cmd)``. Both close the connection with ``paramiko_cleanup()``: the
  stock ``disconnect()`` of checkpoint_gaia sends ``exit`` and waits 10 s for a clish ``>``
  prompt that a bash login shell never shows; that cost is measured separately
  (``--stock-disconnect-repeat``, default 1 run);
* start-up alone: ``python -c`` with the imports of ``mdstools status``, and with
  ``import paramiko`` (what the floor imports).

Then, in-process on one open connection: the per-command overhead of mdstools
``Session.run("true")`` vs a raw paramiko exec of the same prologue + ``true`` line.

Prints a results table; the write-up is in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko

from mdstools import inventory, status
from mdstools.commands import ha, mdsstat, versions
from mdstools.commands.base import Command, batch
from mdstools.fleet import Fleet
from mdstools.inventory import Inventory, Server
from mdstools.session import PROLOGUE
from mdstools.transport.base import ExecOutput
from mdstools.transport.ssh import SshTransport

VENV_BIN = Path(sys.executable).parent
MDSTOOLS = str(VENV_BIN / "mdstools")
MDS, MLM = 4, 2
STATUS_IMPORTS = (
    "import mdstools.cli, mdstools.inventory, mdstools.status, mdstools.fleet, "
    "mdstools.transport.ssh"
)

FLOOR_SCRIPT = r'''
import json, socket, sys, threading

import paramiko


def connect(s):
    sock = socket.create_connection((s["host"], s["port"]), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t = paramiko.Transport(sock)
    t.start_client(timeout=10)
    key = t.get_remote_server_key()
    name = s["host"] if s["port"] == 22 else "[%s]:%d" % (s["host"], s["port"])
    known = paramiko.HostKeys(s["known_hosts"]).lookup(name)
    if known is None or known.get(key.get_name()) != key:
        raise RuntimeError("host key of %s is not in known_hosts" % name)
    t.auth_publickey(s["username"], paramiko.PKey.from_path(s["key_file"]))
    return t


def run(t, line, out):
    ch = t.open_session()
    ch.set_combine_stderr(True)
    ch.exec_command(line)
    n = 0
    while True:
        data = ch.recv(65536)
        if not data:
            break
        n += len(data)
    out.append((ch.recv_exit_status(), n))
    ch.close()


def stage(t, lines, out):
    """The lines of one stage as concurrent channels of one transport."""
    threads = [threading.Thread(target=run, args=(t, line, out)) for line in lines[1:]]
    for th in threads:
        th.start()
    run(t, lines[0], out)
    for th in threads:
        th.join()


def main():
    servers = json.load(open(sys.argv[1]))["servers"]
    transports, results, errors = {}, [], []

    def first(s):
        try:
            transports[s["name"]] = t = connect(s)
            stage(t, s["stage1"], results)
        except Exception as exc:
            errors.append("%s: %r" % (s["name"], exc))

    def second(s):
        try:
            stage(transports[s["name"]], s["stage2"], results)
        except Exception as exc:
            errors.append("%s: %r" % (s["name"], exc))

    for fn, todo in ((first, servers), (second, [s for s in servers if s["stage2"]])):
        threads = [threading.Thread(target=fn, args=(s,)) for s in todo]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if errors:
            break
    for t in transports.values():
        t.close()
    print(json.dumps({"errors": errors, "exit_statuses": sorted(set(r for r, _ in results)),
                      "commands": len(results), "bytes": sum(n for _, n in results)}))
    return 1 if errors or any(r != 0 for r, _ in results) else 0


sys.exit(main())
'''

NETMIKO_SCRIPT = r"""
import json, sys

from netmiko import ConnectHandler


def main():
    servers = json.load(open(sys.argv[1]))["servers"]
    mode, close = sys.argv[2], sys.argv[3]
    kwargs = {"expect_string": r"#\s*$", "read_timeout": 60} if mode == "expect" else {}
    commands, size = 0, 0
    for s in servers:
        conn = ConnectHandler(
            device_type="checkpoint_gaia",
            host=s["host"],
            port=s["port"],
            username=s["username"],
            use_keys=True,
            key_file=s["key_file"],
            allow_agent=False,
            ssh_strict=True,
            alt_host_keys=True,
            alt_key_file=s["known_hosts"],
        )
        for line in s["stage1"] + s["stage2"]:
            size += len(conn.send_command(line, **kwargs))
            commands += 1
        if close == "stock":
            conn.disconnect()
        else:
            conn.paramiko_cleanup()
    print(json.dumps({"commands": commands, "bytes": size}))


main()
"""


# -- the lab -----------------------------------------------------------------------------
def lab_up(lab_dir: Path, domains: int, source: str | None) -> None:
    cmd = [MDSTOOLS, "lab", "up", "--dir", str(lab_dir), "--mds", str(MDS), "--mlm", str(MLM)]
    cmd += ["--domains", str(domains)]
    if source is not None:
        cmd += ["--source", source, "--target", source]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def lab_down(lab_dir: Path) -> None:
    subprocess.run(
        [MDSTOOLS, "lab", "down", "--dir", str(lab_dir)], check=False, stdout=subprocess.DEVNULL
    )


# -- the command lines mdstools sends ----------------------------------------------------
class RecordingTransport(SshTransport):
    """An SshTransport that notes every line it executes."""

    def __init__(self, server: Server, log: list[tuple[str, str]]) -> None:
        super().__init__(server)
        self.log = log

    def exec(self, command: str, timeout: float, stdin: str | None = None) -> ExecOutput:
        self.log.append((self.server.name, command))
        return super().exec(command, timeout, stdin)


def ha_status_batch(domains: list[str]) -> Command[dict[str, str]]:
    """The one exec of ``show-ha-status`` per domain, built as ``status._ha_statuses`` does."""
    return batch("show-ha-status", {d: ha.mgmt("show-ha-status", domain=d) for d in domains})


def build_plan(inv: Inventory) -> dict[str, Any]:
    """Per server, the lines of both stages, from mdstools' own command builders.

    Stage 2 (the batched ``show-ha-status``) depends on the HA state, so one in-process
    ``status.collect`` is run first; the lines it actually sent must equal the plan.
    """
    log: list[tuple[str, str]] = []
    with Fleet(inv, transport=lambda s: RecordingTransport(s, log)) as fleet:
        snap = status.collect(fleet)
    version = {s.name: s.version for s in snap.servers}
    active: dict[str, set[str]] = {}
    for dom in snap.domains:
        for m in dom.active_servers:
            active.setdefault(m, set()).add(dom.name)
    servers = []
    for s in inv.servers:
        stage1 = [versions.fw_ver(), mdsstat.mdsstat()]
        if s.name == inv.primary.name:
            stage1 += [ha.show_domains(), ha.show_ha_state()]
        stage2 = []
        if s.name in active and status._has_ha_status(version.get(s.name)):
            stage2.append(ha_status_batch(sorted(active[s.name])))
        c = s.connection
        servers.append(
            {
                "name": s.name,
                "host": s.host,
                "port": s.port,
                "username": c.username,
                "key_file": str(c.key_file),
                "known_hosts": str(c.known_hosts),
                "stage1": [PROLOGUE + cmd.line for cmd in stage1],
                "stage2": [PROLOGUE + cmd.line for cmd in stage2],
            }
        )
    planned = Counter((s["name"], line) for s in servers for line in s["stage1"] + s["stage2"])
    if planned != Counter(log):
        raise SystemExit("the plan differs from the lines mdstools status sends: update it")
    return {"servers": servers}


# -- whole-process measurements ----------------------------------------------------------
@dataclass
class Line:
    label: str
    argv: list[str]
    check: Any
    relative_to: str = ""  # "floor" or "mdstools": the ratio shown in the table
    times: list[float] = field(default_factory=list)
    failed: str | None = None


def timed(argv: list[str], timeout: float) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    return time.perf_counter() - t0, p


def check_mdstools(p: subprocess.CompletedProcess[str], domains: int) -> str | None:
    if p.returncode not in (0, 1):
        return f"exit status {p.returncode}: {p.stderr.strip()[-300:]}"
    n = len(json.loads(p.stdout)["domain_servers"])
    return None if n == domains * (MDS + MLM) else f"{n} domain servers"


def check_counts(p: subprocess.CompletedProcess[str], commands: int) -> str | None:
    if p.returncode != 0:
        return f"exit status {p.returncode}: {(p.stdout + p.stderr).strip()[-300:]}"
    n = json.loads(p.stdout.strip().splitlines()[-1])["commands"]
    return None if n == commands else f"{n} commands, expected {commands}"


def measure(line: Line, timeout: float) -> None:
    if line.failed:
        return
    try:
        dt, p = timed(line.argv, timeout)
    except subprocess.TimeoutExpired:
        line.failed = f"did not finish in {timeout:.0f} s"
        return
    problem = line.check(p)
    if problem:  # one line for the table: the last line of a traceback says what failed
        line.failed = " ".join(problem.strip().splitlines()[-1:])[:200] or "failed"
    else:
        line.times.append(dt)


# -- in-process per-command overhead -----------------------------------------------------
def overhead(inv: Inventory, iterations: int) -> tuple[list[float], list[float]]:
    """(mdstools Session.run("true"), raw paramiko exec of PROLOGUE + "true"), seconds."""
    server = inv.primary
    with Fleet(inv) as fleet:
        sess = fleet.session(server.name)
        sess.run("true", check=True)
        ours = []
        for _ in range(iterations):
            t0 = time.perf_counter()
            sess.run("true", check=True)
            ours.append(time.perf_counter() - t0)
    c = server.connection
    sock = socket.create_connection((server.host, server.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t = paramiko.Transport(sock)
    t.start_client(timeout=10)
    t.auth_publickey(c.username, paramiko.PKey.from_path(str(c.key_file)))
    line = PROLOGUE + "true"

    def once() -> float:
        t0 = time.perf_counter()
        ch = t.open_session()
        ch.exec_command(line)
        while ch.recv(65536):
            pass
        rc = ch.recv_exit_status()
        ch.close()
        assert rc == 0
        return time.perf_counter() - t0

    once()
    raw = [once() for _ in range(iterations)]
    t.close()
    return ours, raw


# -- reporting ---------------------------------------------------------------------------
def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def versions_line() -> str:
    import netmiko

    return (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"paramiko {paramiko.__version__}, netmiko {netmiko.__version__}"
    )


def ms(x: float) -> str:
    return f"{x * 1000:.0f} ms" if x >= 0.1 else f"{x * 1000:.1f} ms"


def bench_lab(args: argparse.Namespace, source: str | None, tmp: Path) -> list[list[str]]:
    name = source or "R81.10 (lab default)"
    lab_dir = tmp / f"lab-{(source or 'default').replace('.', '')}"
    print(f"== lab {name}: {MDS} MDS x {args.domains} domains + {MLM} MLM in {lab_dir}")
    print(f"   load average before: {load()}")
    lab_up(lab_dir, args.domains, source)
    try:
        inv = inventory.load(lab_dir / "inventory.yml")
        plan = build_plan(inv)
        plan_file = tmp / "plan.json"
        plan_file.write_text(json.dumps(plan))
        floor_file = tmp / "floor.py"
        floor_file.write_text(FLOOR_SCRIPT)
        nm_file = tmp / "netmiko_status.py"
        nm_file.write_text(NETMIKO_SCRIPT)
        n_cmds = sum(len(s["stage1"]) + len(s["stage2"]) for s in plan["servers"])
        batches = sum(len(s["stage2"]) for s in plan["servers"])
        print(f"   {n_cmds} command lines, {batches} batched show-ha-status")
        py = sys.executable
        inv_path = str(lab_dir / "inventory.yml")
        floor = [py, str(floor_file)]
        netmiko = [py, str(nm_file), str(plan_file)]
        lines = [
            Line(
                "mdstools status --format json",
                [MDSTOOLS, "status", "-i", inv_path, "--format", "json"],
                lambda p: check_mdstools(p, args.domains),
                "floor",
            ),
            Line(
                "floor: raw paramiko, parallel, same lines",
                [*floor, str(plan_file)],
                lambda p: check_counts(p, n_cmds),
                "floor",
            ),
            Line(
                'Netmiko sequential, expect_string=r"#\\s*$"',
                [*netmiko, "expect", "fast"],
                lambda p: check_counts(p, n_cmds),
                "mdstools",
            ),
        ]
        if not args.no_netmiko_default:
            lines.append(
                Line(
                    "Netmiko sequential, default send_command",
                    [*netmiko, "default", "fast"],
                    lambda p: check_counts(p, n_cmds),
                    "mdstools",
                )
            )
        lines += [
            Line(
                "start-up only: python + the imports of mdstools status",
                [py, "-c", STATUS_IMPORTS],
                lambda p: None if p.returncode == 0 else p.stderr[-300:],
            ),
            Line(
                "start-up only: python + import paramiko (the floor's)",
                [py, "-c", "import paramiko"],
                lambda p: None if p.returncode == 0 else p.stderr[-300:],
            ),
        ]
        for line in lines:  # warm-up: .pyc files, page cache, the lab's first answers
            measure(line, args.timeout)
            line.times.clear()
        for i in range(args.repeat):
            for line in lines:
                measure(line, args.timeout)
            print(f"   round {i + 1}/{args.repeat} done")
        stock = Line(
            'Netmiko expect_string, stock disconnect() ("exit", waits for ">")',
            [*netmiko, "expect", "stock"],
            lambda p: check_counts(p, n_cmds),
            "mdstools",
        )
        for _ in range(args.stock_disconnect_repeat):
            measure(stock, args.timeout)
        if args.stock_disconnect_repeat:
            lines.append(stock)
        ours, raw = overhead(inv, args.iterations)
        print(f"   load average after: {load()} (other work on the machine skews the numbers)")
    finally:
        if args.keep_lab:
            print(f"   lab kept: {MDSTOOLS} lab down --dir {lab_dir}")
        else:
            lab_down(lab_dir)

    rows = []
    ref = {
        "mdstools": statistics.median(lines[0].times) if lines[0].times else None,
        "floor": statistics.median(lines[1].times) if lines[1].times else None,
    }
    for line in lines:
        if line.failed:
            rows.append([name, line.label, "FAILED", line.failed, "", ""])
            continue
        med = statistics.median(line.times)
        base = ref.get(line.relative_to)
        rel = f"{med / base:.2f}x {line.relative_to}" if base else ""
        rows.append([name, line.label, ms(med), ms(max(line.times)), str(len(line.times)), rel])
    rows.append(
        [
            name,
            f'mdstools Session.run("true"), in-process, x{args.iterations}',
            ms(statistics.median(ours)),
            ms(max(ours)),
            str(len(ours)),
            f"p90 {ms(statistics.quantiles(ours, n=10)[-1])}",
        ]
    )
    rows.append(
        [
            name,
            f"raw paramiko exec of PROLOGUE + true, x{args.iterations}",
            ms(statistics.median(raw)),
            ms(max(raw)),
            str(len(raw)),
            f"p90 {ms(statistics.quantiles(raw, n=10)[-1])}",
        ]
    )
    return rows


def print_table(rows: list[list[str]]) -> None:
    head = ["lab", "measurement", "median", "worst", "n", "relative"]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, ["-" * w for w in widths], *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each line (default 5)")
    ap.add_argument("--domains", type=int, default=250, help="domains in the lab (default 250)")
    ap.add_argument("--keep-lab", action="store_true", help="leave the labs running")
    ap.add_argument(
        "--sources",
        default="default,R81.20",
        help="labs to measure: 'default' (R81.10) and/or a release (default: default,R81.20)",
    )
    ap.add_argument("--iterations", type=int, default=200, help="per-command overhead runs")
    ap.add_argument(
        "--stock-disconnect-repeat",
        type=int,
        default=1,
        help="runs of Netmiko with its stock disconnect() (slow; 0 skips it; default 1)",
    )
    ap.add_argument("--no-netmiko-default", action="store_true", help="skip default send_command")
    ap.add_argument("--timeout", type=float, default=600.0, help="per-process limit in seconds")
    args = ap.parse_args()
    if not Path(MDSTOOLS).exists():
        sys.exit(f"{MDSTOOLS} not found: run this with the project's .venv/bin/python")
    print(versions_line())
    rows: list[list[str]] = []
    tmp = Path(tempfile.mkdtemp(prefix="mdstools-bench-status-"))
    try:
        for src in args.sources.split(","):
            rows += bench_lab(args, None if src == "default" else src, tmp)
    finally:
        if not args.keep_lab:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
