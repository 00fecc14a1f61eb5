"""What ``status`` says when it could not read the sync status, and the SSH transport's
message when a channel is refused without a reason."""

from __future__ import annotations

import paramiko
import pytest

from mdstools import status
from mdstools.errors import ConnectionLostError
from mdstools.inventory import Connection, Role, Server
from mdstools.transport.ssh import SshTransport


def test_an_unread_show_ha_status_is_a_warning_not_a_pass() -> None:
    unread = {"mds1": "mgmt_cli login: generic_server_initializing: still initializing"}
    found = status._checks({}, [], [], {}, "R82.10", [], unread)
    check = next(c for c in found if c.name == "sync status read")
    assert not check.passed and check.severity == "warning" and not check.blocking
    assert "mds1" in check.reason and "generic_server_initializing" in check.reason
    assert all(c.name != "sync status read" for c in status._checks({}, [], [], {}, "R82.10", []))


class _Refusing:
    """A paramiko transport that refuses every channel with an empty SSHException."""

    def open_session(self, timeout: float) -> paramiko.Channel:
        raise paramiko.SSHException()

    def is_active(self) -> bool:
        return True


def test_a_channel_refused_without_a_reason_says_what_happened(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = Server(
        name="mds1", host="192.0.2.11", port=22, role=Role.PRIMARY, connection=Connection()
    )
    t = SshTransport(server)
    monkeypatch.setattr(t, "_transport", lambda: _Refusing())
    with pytest.raises(ConnectionLostError) as info:
        t.exec("true", 5.0)
    assert "cannot open a channel: SSHException without a reason" in str(info.value)
    assert "channel: ." not in str(info.value)
