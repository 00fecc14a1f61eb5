"""A snapshot taken and reverted to over real SSH: the answer arrives, then the server is away."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import paramiko
import pytest

from mdstools.lab import runtime
from tests.lab.test_ssh import PROFILE, Lab, exec_on, start_lab

pytestmark = pytest.mark.lab


def clish(lab: Lab, command: str) -> tuple[int, str, str]:
    return lab.run("mds1", f'{PROFILE}clish -c "{command}"')


def test_revert_over_ssh(tmp_path: Path) -> None:
    lab = start_lab(tmp_path, mds=1, mlm=0, domains=2, time_scale=0.002)
    try:
        assert lab.run("mds1", "echo before > /root/marker")[0] == 0
        rc, out, _ = clish(lab, "add snapshot base desc 'before the upgrade'")
        assert (rc, out) == (
            0,
            "Creating snapshot base. It can take a while; see 'show snapshots'.\n",
        )
        deadline = time.monotonic() + 20
        while "\nbase\n" not in clish(lab, "show snapshots")[1]:
            assert time.monotonic() < deadline, "the snapshot was not completed"
            time.sleep(0.1)
        assert lab.run("mds1", "echo after > /root/marker")[0] == 0
        c = lab.client("mds1")
        t = c.get_transport()
        assert t is not None
        rc, out, _ = exec_on(c, 'clish -c "set snapshot revert base"')
        assert (rc, out) == (0, "Reverting to snapshot base. The machine will reboot when done.\n")
        deadline = time.monotonic() + 10
        while t.is_active():
            assert time.monotonic() < deadline, "the revert did not drop the connection"
            time.sleep(0.02)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", lab.ports["mds1"]), timeout=1).close()
        deadline = time.monotonic() + 30
        while True:
            try:
                rc, out, _ = lab.run("mds1", "cat /root/marker")
                break
            except (OSError, paramiko.SSHException):
                assert time.monotonic() < deadline, "the server did not come back"
                time.sleep(0.1)
        assert (rc, out) == (0, "before\n")
    finally:
        runtime.down(tmp_path)
