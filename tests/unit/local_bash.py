"""A session of the client whose execs run in a local bash: the Management API scripts the
client writes, run for real against stand-in programs on a chosen ``PATH``."""

from __future__ import annotations

import os
import subprocess

from mdstools.inventory import Connection, Role, Server
from mdstools.session import PROLOGUE, Session
from mdstools.transport.fake import FakeTransport


def session_with_path(path: str) -> Session:
    """A session on "mds1" whose execs run in a local bash with ``PATH=path``."""

    def respond(command: str, stdin: str | None) -> tuple[str, str, int]:
        p = subprocess.run(
            ["bash", "-c", command.removeprefix(PROLOGUE)],
            env={**os.environ, "PATH": path},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return p.stdout, p.stderr, p.returncode

    server = Server(
        name="mds1",
        host="192.0.2.11",
        port=22,
        role=Role.PRIMARY,
        shell="bash",
        connection=Connection(),
    )
    return Session(server, FakeTransport("mds1", respond))
