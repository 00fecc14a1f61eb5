"""Lab benchmark: `mdstools lab up --mds 4 --domains 500` and `mdsstat` over SSH.

Run by hand (not a test): ``.venv/bin/python benchmarks/lab_startup.py [--repeat 5]``.
Prints the median and worst of each measurement; the write-up is in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paramiko

PROFILE = "source /etc/profile.d/CP.sh; mdsstat"


def lab_up(lab_dir: Path, mds: int, mlm: int, domains: int) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mdstools",
            "lab",
            "up",
            "--dir",
            str(lab_dir),
            "--mds",
            str(mds),
            "--mlm",
            str(mlm),
            "--domains",
            str(domains),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def lab_down(lab_dir: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "mdstools", "lab", "down", "--dir", str(lab_dir)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def mdsstat_paramiko(lab_dir: Path, port: int, repeat: int) -> tuple[float, list[float]]:
    """(connect+auth seconds, per-command seconds on the open connection)."""
    key = paramiko.Ed25519Key.from_private_key_file(str(lab_dir / "id_ed25519"))
    start = time.perf_counter()
    c = paramiko.SSHClient()
    c.load_host_keys(str(lab_dir / "known_hosts"))
    c.connect(
        "127.0.0.1", port=port, username="admin", pkey=key, allow_agent=False, look_for_keys=False
    )
    connect = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        _, out, _ = c.exec_command(PROFILE)
        data = out.read()
        out.channel.recv_exit_status()
        times.append(time.perf_counter() - t0)
        assert data.count(b"| CMA |") == 500, "expected 500 CMA rows"
    c.close()
    return connect, times


def mdsstat_openssh(lab_dir: Path, port: int, repeat: int) -> list[float]:
    ssh = shutil.which("ssh")
    if ssh is None:
        return []
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(
            [
                ssh,
                "-i",
                str(lab_dir / "id_ed25519"),
                "-o",
                f"UserKnownHostsFile={lab_dir / 'known_hosts'}",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-p",
                str(port),
                "admin@127.0.0.1",
                PROFILE,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - t0)
    return times


def fmt(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1000:.0f} ms, worst {max(xs) * 1000:.0f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mds", type=int, default=4)
    ap.add_argument("--mlm", type=int, default=2)
    ap.add_argument("--domains", type=int, default=500)
    args = ap.parse_args()
    ups: list[float] = []
    cmd: list[float] = []
    conn: list[float] = []
    whole: list[float] = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            ups.append(lab_up(d, args.mds, args.mlm, args.domains))
            port = json.loads((d / "lab.json").read_text())["ports"]["mds1"]
            c, t = mdsstat_paramiko(d, port, 5)
            conn.append(c)
            cmd.extend(t)
            whole.extend(mdsstat_openssh(d, port, 2))
            lab_down(d)
    print(f"lab up --mds {args.mds} --mlm {args.mlm} --domains {args.domains}: {fmt(ups)}")
    print(f"paramiko connect + auth: {fmt(conn)}")
    print(f"mdsstat ({args.domains} CMA rows) on an open paramiko connection: {fmt(cmd)}")
    if whole:
        print(f"mdsstat as a whole `ssh` process (connect, auth, command): {fmt(whole)}")


if __name__ == "__main__":
    main()
