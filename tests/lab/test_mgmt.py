"""``mgmt_cli`` in the lab: the shapes of docs/formats.md, HA flows, sessions and errors.

The default lab: mds1 primary, mds2 secondary, mlm1, domains dom1..dom5, R81.10, every DMS
active on mds1; time scale 0.001 (a set-ha-state task finishes in 0.01 s).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from mdstools.lab import mgmt
from mdstools.lab.model import COLLISION, SYNCHRONIZED, Deployment
from mdstools.lab.versions import profile
from tests.lab.conftest import Ran, Runner


def api(run: Runner, server: str, args: str, rc: int = 0) -> dict[str, Any]:
    """Run ``mgmt_cli ARGS --format json`` and parse the body, checking the exit status."""
    r: Ran = run(server, f"mgmt_cli {args} --format json")
    assert r.rc == rc, (r.rc, r.out, r.err)
    body = json.loads(r.out)
    assert isinstance(body, dict)
    return body


def error(run: Runner, server: str, args: str) -> str:
    """The error ``code`` of a failing call (exit status 1, body on stdout)."""
    body = api(run, server, args, rc=mgmt.ERROR_EXIT_STATUS)
    assert set(body) >= {"code", "message"}
    return str(body["code"])


def wait_task(run: Runner, server: str, task_id: str, login: str = "-r true") -> dict[str, Any]:
    """Poll ``show-task`` until the task is no longer in progress; returns the task."""
    deadline = time.monotonic() + 5
    while True:
        body = api(run, server, f"{login} show-task task-id {task_id} details-level full")
        task = body["tasks"][0]
        if task["status"] != "in progress":
            return dict(task)
        assert time.monotonic() < deadline, task
        time.sleep(0.005)


def ha_servers(run: Runner, domain: str, server: str = "mds1") -> dict[str, str]:
    body = api(run, server, "-r true show-ha-state")
    dom = next(d for d in body["domains"] if d["name"] == domain)
    return {s["multi-domain-server"]: s["ha-state"] for s in dom["servers"]}


def upgrade_profiles(lab: Deployment, *servers: str, to: str = "R81.20") -> None:
    for name in servers:
        lab.server(name).version = profile(to)


# -- serializers ---------------------------------------------------------------------------

HA_STATUS_VERBATIM = """\
{
  "uid" : "041ca0c2-c15f-4a70-8116-02933383bffb",
  "name" : "domain1",
  "domain-type" : "domain",
  "servers" : [ {
    "ip-address" : "172.23.3.234",
    "ha-state" : "standby",
    "multi-domain-server" : "secondary",
    "last-successful-sync" : {
      "posix" : 1672146619056,
      "iso-8601" : "2022-12-27T15:10+0200"
    },
    "sync-state" : "Ok"
  }, {
    "ip-address" : "172.23.3.235",
    "ha-state" : "standby",
    "multi-domain-server" : "secondary2",
    "sync-state" : "Sync Error"
  } ],
  "successfully-synced" : false
}"""


def test_json_serializer_reproduces_the_official_example() -> None:
    assert mgmt.to_json(json.loads(HA_STATUS_VERBATIM)) == HA_STATUS_VERBATIM


def test_json_serializer_inline_arrays_and_empties() -> None:
    body = {"objects": ["a", "b"], "tags": [], "meta": {}, "n": 1, "ok": True}
    assert mgmt.to_json(body) == (
        '{\n  "objects" : [ "a", "b" ],\n  "tags" : [ ],\n  "meta" : { },\n'
        '  "n" : 1,\n  "ok" : true\n}'
    )


def test_text_serializer_layout() -> None:
    body = {
        "sid": "abc",
        "session-timeout": 600,
        "login-message": {"header": "Warning"},
        "objects": [{"uid": "u1", "name": "dom1", "type": "domain"}],
        "tags": [],
    }
    assert mgmt.to_text(body).splitlines() == [
        'sid: "abc"',
        "session-timeout: 600",
        "login-message:",
        '  header: "Warning"',
        "objects:",
        '- uid: "u1"',
        '  name: "dom1"',
        '  type: "domain"',
        "tags: []",
    ]


def test_parse_words_both_spellings_and_nested_parameters() -> None:
    assert mgmt.parse_words(["show", "domains", "limit", "5"]) == ("show-domains", {"limit": "5"})
    assert mgmt.parse_words(["set-ha-state", "new-state", "active"]) == (
        "set-ha-state",
        {"new-state": "active"},
    )
    words = ["add", "group", "name", "g", "members.2", "b", "members.1", "a"]
    cmd, params = mgmt.parse_words(words)
    assert cmd == "add-group"
    assert params == {"name": "g", "members": ["a", "b"]}


# -- discovery commands --------------------------------------------------------------------


def test_show_domains_standard_and_raw_separators(run: Runner) -> None:
    r = run("mds1", "mgmt_cli -r true show-domains --format json")
    assert r.rc == 0
    assert '"total" : 5' in r.out and '" : "' in r.out
    body = json.loads(r.out)
    assert list(body) == ["from", "to", "total", "objects"]
    assert [o["name"] for o in body["objects"]] == ["dom1", "dom2", "dom3", "dom4", "dom5"]
    first = body["objects"][0]
    assert first["type"] == "domain"
    assert first["domain"]["name"] == "System Data"


def test_show_domains_both_spellings_agree(run: Runner) -> None:
    a = run("mds1", "mgmt_cli show domains -r true -f json details-level full")
    b = run("mds1", "mgmt_cli -r true --format json show-domains details-level full")
    assert a.rc == b.rc == 0
    assert a.out == b.out


def test_show_domains_full_servers_with_lab_version_extension(run: Runner, lab: Deployment) -> None:
    lab.domain("dom2").on("mds2").object_version = "R80.40"  # type: ignore[union-attr]
    body = api(run, "mds1", "-r true show-domains details-level full")
    dom2 = next(o for o in body["objects"] if o["name"] == "dom2")
    servers = {s["name"]: s for s in dom2["servers"]}
    assert servers["dom2_Server"] == {
        "name": "dom2_Server",
        "type": "management server",
        "ipv4-address": "10.1.0.2",
        "multi-domain-server": "mds1",
        "active": True,
        "version": "R81.10",
    }
    assert servers["dom2_Server_2"]["active"] is False
    assert servers["dom2_Server_2"]["version"] == "R80.40"
    assert servers["dom2_Log_Server"]["type"] == "log server"
    assert "Global" not in [o["name"] for o in body["objects"]]


def test_show_domains_text_format_name_line_precedes_type(run: Runner) -> None:
    r = run("mds1", "mgmt_cli -r true show domains")
    assert r.rc == 0
    lines = r.out.splitlines()
    i = lines.index('  type: "domain"')
    assert lines[i - 1] == '  name: "dom1"'
    assert lines[:3] == ["from: 1", "to: 5", "total: 5"]


def test_show_domain_and_global_domain(run: Runner) -> None:
    dom = api(run, "mds1", "-r true show-domain name dom3")
    assert dom["name"] == "dom3" and len(dom["servers"]) == 3
    glob = api(run, "mds1", "-r true show-global-domain")
    assert glob["name"] == "Global"
    assert glob["servers"] == [
        {"name": "", "ipv4-address": "", "multi-domain-server": "mds1", "active": True},
        {"name": "", "ipv4-address": "", "multi-domain-server": "mds2", "active": False},
    ]
    assert error(run, "mds1", "-r true show-domain name nope") == "generic_err_object_not_found"


def test_show_mdss_standard_and_full(run: Runner) -> None:
    body = api(run, "mds1", "-r true show-mdss")
    assert body["total"] == 3
    assert list(body["objects"][0]) == ["folder", "domain", "type", "name", "uid"]
    assert body["objects"][0]["domain"]["domain-type"] == "system domain"
    full = api(run, "mds1", "-r true show-mdss details-level full")
    by_name = {o["name"]: o for o in full["objects"]}
    assert by_name["mds2"]["server-type"] == "multi-domain server"
    assert by_name["mlm1"]["server-type"] == "multi-domain log server"
    assert by_name["mds1"]["version"]["name"] == "R81.10"
    assert [d["name"] for d in by_name["mds1"]["domains"]] == [f"dom{i}" for i in range(1, 6)]
    assert by_name["mds1"]["global-domains"][0]["name"] == "Global"
    one = api(run, "mds1", "-r true show-mds name mlm1")
    assert one["ipv4-address"] == "192.0.2.21"


def test_show_servers_and_processes(run: Runner, lab: Deployment) -> None:
    body = api(run, "mds2", "-r true show-servers-and-processes")
    servers = body["servers"]
    assert servers[0]["name"] == "mds2" and servers[0]["type"] == "mds"
    assert [s["type"] for s in servers[1:]] == ["domain-server"] * 5
    dms = servers[1]
    assert list(dms) == ["name", "type", "domain", "ip-address", "server-status", "processes"]
    assert dms["name"] == "dom1_Server_2" and dms["domain"]["name"] == "dom1"
    assert dms["server-status"] == "up"
    proc = dms["processes"][0]
    assert proc["name"] == "FWM" and proc["status"] == "up" and isinstance(proc["pid"], str)
    lab.domain("dom3").on("mds2").life.force(False)  # type: ignore[union-attr]
    body = api(run, "mds2", "-r true show-servers-and-processes")
    dom3 = next(s for s in body["servers"] if s["name"] == "dom3_Server_2")
    assert dom3["server-status"] == "down"
    assert all("pid" not in p for p in dom3["processes"])
    mlm = api(run, "mlm1", "-r true show-servers-and-processes")["servers"]
    assert mlm[0]["type"] == "mlm"
    assert {s["type"] for s in mlm[1:]} == {"log-server"}
    cpca = next(p for p in mlm[1]["processes"] if p["name"] == "CPCA")
    assert cpca["status"] == "N/R"


def test_show_servers_and_processes_absent_on_r81(run: Runner, lab: Deployment) -> None:
    upgrade_profiles(lab, "mds1", to="R81")
    code = error(run, "mds1", "-r true show-servers-and-processes")
    assert code == "generic_err_command_not_found"


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        "-r true -d dom1 show-mdss",
        "-r true -d Global show-mds name mds1",
        "-r true -d dom2 show-servers-and-processes",
    ],
)
def test_system_data_only_commands_refuse_domain_sessions(run: Runner, args: str) -> None:
    assert error(run, "mds1", args) == "err_not_a_system_domain_session"


def test_error_bodies(run: Runner, lab: Deployment) -> None:
    assert error(run, "mds1", "-r true set-ha-state new-state active") == (
        "err_inappropriate_domain_type"
    )
    assert error(run, "mds1", "-r true show-bogus") == "generic_err_command_not_found"
    body = api(run, "mds1", "-r true -d nosuch show-ha-state", rc=1)
    assert body == {"code": "err_login_failed", "message": "Authentication to server failed."}
    assert error(run, "mds1", "show-domains") == "generic_err_missing_required_parameters"
    assert error(run, "mds1", "-u admin -p secret show-domains") == "generic_err_invalid_parameter"
    assert error(run, "mds1", "-r true --version 2 show-domains") == "err_unknown_api_version"
    assert error(run, "mds2", "-r true -d dom1 ha-full-sync name dom1_Server") == (
        "err_ha_invalid_operation"
    )
    assert error(run, "mlm1", "-r true -d dom1 set-ha-state new-state active") == (
        "err_ha_invalid_operation"
    )
    assert error(run, "mds1", "-r true -d dom1 set-ha-state") == (
        "generic_err_missing_required_parameters"
    )


def test_error_in_text_format_on_stdout(run: Runner) -> None:
    r = run("mds1", "mgmt_cli -r true -d dom1 show-mdss")
    assert r.rc == mgmt.ERROR_EXIT_STATUS
    assert r.out.splitlines()[0] == 'code: "err_not_a_system_domain_session"'
    assert r.out.splitlines()[1].startswith("message: ")


def test_domain_down_or_mds_starting_refuses_login(run: Runner, lab: Deployment) -> None:
    d = lab.domain("dom4").on("mds1")
    assert d is not None
    d.life.force(False)
    assert error(run, "mds1", "-r true -d dom4 show-ha-state") == "err_login_failed"
    assert api(run, "mds1", "-r true -d dom5 show-ha-state")["domains"][0]["name"] == "dom5"
    s = lab.server("mds1")
    s.life.start(lab.clock.now(), 100.0, 100.0, 1000)
    assert error(run, "mds1", "-r true show-domains") == "generic_server_initializing"


def test_domain_selection_by_uid_and_ip_is_the_local_copy(run: Runner, lab: Deployment) -> None:
    uid = lab.domain("dom2").uid
    by_uid = api(run, "mds2", f"-r true login domain {uid}")
    assert by_uid["standby"] is True
    by_ip = api(run, "mds2", "-r true -d 10.1.0.2 login")  # mds1's copy's IP: still local
    assert by_ip["standby"] is True
    assert api(run, "mds1", "-r true -d dom2 login")["standby"] is False


def test_mgmt_cli_needs_the_profile(run: Runner) -> None:
    r = run("mds1", "mgmt_cli -r true show-domains", profile=False)
    assert r.rc == 127
    assert "command not found" in r.err


# -- HA ------------------------------------------------------------------------------------


def test_show_ha_state_system_data_and_domain_session(run: Runner) -> None:
    body = api(run, "mds1", "-r true show-ha-state")
    names = [d["name"] for d in body["domains"]]
    assert names == ["Global", "dom1", "dom2", "dom3", "dom4", "dom5"]
    glob = body["domains"][0]
    assert glob["domain-type"] == "global domain"
    assert glob["servers"][0] == {
        "ip-address": "192.0.2.11",
        "ha-state": "active",
        "multi-domain-server": "mds1",
    }
    dom1 = body["domains"][1]
    assert dom1["servers"][1] == {
        "name": "dom1_Server_2",
        "ip-address": "10.2.0.1",
        "ha-state": "standby",
        "multi-domain-server": "mds2",
    }
    one = api(run, "mds2", "-r true -d dom3 show-ha-state")
    assert [d["name"] for d in one["domains"]] == ["dom3"]


def test_show_ha_status_absent_before_r81_20(run: Runner) -> None:
    assert error(run, "mds1", "-r true -d dom1 show-ha-status") == "generic_err_command_not_found"


def test_show_ha_status_on_r81_20(run: Runner, lab: Deployment) -> None:
    upgrade_profiles(lab, "mds1", "mds2")
    body = api(run, "mds1", "-r true -d dom1 show-ha-status")
    assert list(body) == ["uid", "name", "domain-type", "servers", "successfully-synced"]
    assert body["name"] == "dom1" and body["domain-type"] == "domain"
    (peer,) = body["servers"]
    assert peer["multi-domain-server"] == "mds2" and peer["ha-state"] == "standby"
    assert peer["ip-address"] == "10.2.0.1"
    assert peer["sync-state"] == "Ok"
    assert set(peer["last-successful-sync"]) == {"posix", "iso-8601"}
    assert body["successfully-synced"] is True
    from_standby = api(run, "mds2", "-r true -d dom1 show-ha-status")
    assert from_standby["servers"][0]["ha-state"] == "active"
    assert "sync-state" not in from_standby["servers"][0]  # shown for standby peers only
    system = api(run, "mds1", "-r true show-ha-status")
    assert system == {
        "uid": mgmt.SYSTEM_DATA_UID,
        "name": "System Data",
        "domain-type": "mds",
        "successfully-synced": True,
    }
    glob = api(run, "mds2", "-r true -d Global show-ha-status")
    assert glob["domain-type"] == "global domain"
    assert glob["servers"][0]["multi-domain-server"] == "mds1"


def test_show_ha_status_versions_differ_and_peer_down(run: Runner, lab: Deployment) -> None:
    upgrade_profiles(lab, "mds1")  # mid-upgrade: mds2 still on R81.10
    body = api(run, "mds1", "-r true -d dom1 show-ha-status")
    peer = body["servers"][0]
    assert peer["sync-state"] == "Communication Error"
    assert "last-successful-sync" not in peer
    assert body["successfully-synced"] is False
    assert api(run, "mds1", "-r true show-ha-status")["successfully-synced"] is False


def test_set_ha_state_moves_dom1_to_mds2(run: Runner, lab: Deployment) -> None:
    body = api(run, "mds2", "-r true -d dom1 set-ha-state new-state active")
    assert set(body) == {"task-id", "login-required"}
    assert body["login-required"] == "false"
    task = wait_task(run, "mds2", body["task-id"])
    assert task["status"] == "succeeded"
    assert task["progress-percentage"] == 100
    assert task["task-details"][0]["statusCode"] == "succeeded"
    assert task["task-name"] == "Set HA State"
    assert ha_servers(run, "dom1") == {"mds1": "standby", "mds2": "active"}
    assert ha_servers(run, "dom2") == {"mds1": "active", "mds2": "standby"}
    again = error(run, "mds2", "-r true -d dom1 set-ha-state new-state active")
    assert again == "err_ha_invalid_operation"


def test_set_ha_state_task_in_progress_then_done(run: Runner, lab: Deployment) -> None:
    lab.timings.set_ha_state = 200.0  # 0.2 s at scale 0.001
    tid = api(run, "mds2", "-r true -d dom2 set-ha-state new-state active")["task-id"]
    first = api(run, "mds2", f"-r true show-task task-id {tid}")["tasks"][0]
    assert first["status"] == "in progress"
    assert 0 <= first["progress-percentage"] < 100
    assert wait_task(run, "mds2", tid)["status"] == "succeeded"


def test_standby_via_session_requires_login(run: Runner) -> None:
    run("mds1", "mgmt_cli login -r true -d dom5 -f json > /tmp/s5.json")
    body = api(run, "mds1", "set-ha-state new-state standby -s /tmp/s5.json")
    assert body["login-required"] == "true"
    wait_task(run, "mds1", body["task-id"])
    assert error(run, "mds1", "-s /tmp/s5.json show-ha-state") == "generic_err_session_expired"


def test_publish_on_active_syncs_to_standby(run: Runner, lab: Deployment) -> None:
    host = api(run, "mds1", "-r true -d dom1 add-host name web1 ip-address 198.51.100.7")
    assert host["name"] == "web1" and host["type"] == "host"
    assert host["ipv4-address"] == "198.51.100.7"
    assert host["domain"]["name"] == "dom1"
    active, standby = lab.domain("dom1").on("mds1"), lab.domain("dom1").on("mds2")
    assert active is not None and standby is not None
    assert len(active.revisions) == 1
    assert len(standby.revisions) == len(active.revisions)
    changes = api(run, "mds1", "-r true -d dom1 set-host name web1 ip-address 198.51.100.8")
    assert changes["uid"] == host["uid"] and changes["ipv4-address"] == "198.51.100.8"
    assert api(run, "mds1", "-r true -d dom1 delete-host name web1") == {"message": "OK"}
    assert len(standby.revisions) == 3
    dup = api(run, "mds1", "-r true -d dom1 add-network name n1 subnet 10.9.0.0 mask-length 16")
    assert dup["type"] == "network"
    body = api(run, "mds1", "-r true -d dom1 add-network name n1 subnet 10.8.0.0", rc=1)
    assert body["code"] == "err_validation_failed" and body["errors"]


def test_change_on_standby_fails_with_the_publish_error(run: Runner, lab: Deployment) -> None:
    code = error(run, "mds2", "-r true -d dom1 add-host name h ip-address 192.0.2.99")
    assert code == "err_publish_failed"
    assert lab.domain("dom1").on("mds2").revisions == []  # type: ignore[union-attr]


def test_collision_then_full_sync_resolves_it(run: Runner, lab: Deployment) -> None:
    upgrade_profiles(lab, "mds1")  # mid-upgrade: the MDSs do not sync
    api(run, "mds1", "-r true -d dom1 add-host name on_mds1 ip-address 198.51.100.1")
    tid = api(run, "mds2", "-r true -d dom1 set-ha-state new-state active")["task-id"]
    wait_task(run, "mds2", tid)
    api(run, "mds2", "-r true -d dom1 add-host name on_mds2 ip-address 198.51.100.2")
    assert ha_servers(run, "dom1") == {"mds1": "active", "mds2": "active"}
    status = api(run, "mds1", "-r true -d dom1 show-ha-status")
    assert status["servers"][0]["ha-state"] == "active"
    assert status["servers"][0]["sync-state"] != "Ok"
    assert status["successfully-synced"] is False
    d1, d2 = lab.domain("dom1").on("mds1"), lab.domain("dom1").on("mds2")
    assert d1 is not None and d2 is not None
    assert d1.sync_status == d2.sync_status == COLLISION

    upgrade_profiles(lab, "mds2")  # both on R81.20 now; the collision stays until resolved
    tid = api(run, "mds2", "-r true -d dom1 set-ha-state new-state standby")["task-id"]
    wait_task(run, "mds2", tid)
    assert ha_servers(run, "dom1") == {"mds1": "active", "mds2": "standby"}
    tid = api(run, "mds1", "-r true -d dom1 ha-full-sync name dom1_Server_2")["task-id"]
    task = wait_task(run, "mds1", tid)
    assert task["status"] == "succeeded", task
    status = api(run, "mds1", "-r true -d dom1 show-ha-status")
    assert status["servers"][0]["sync-state"] == "Ok"
    assert status["successfully-synced"] is True
    assert d1.sync_status == d2.sync_status == SYNCHRONIZED
    assert [c.name for r in d2.lost for c in r.changes] == ["on_mds2"]
    assert d2.revision_ids() == d1.revision_ids()


def test_full_sync_of_global_uses_the_mds_name(run: Runner) -> None:
    tid = api(run, "mds1", "-r true -d Global ha-full-sync name mds2")["task-id"]
    assert wait_task(run, "mds1", tid)["status"] == "succeeded"


# -- sessions and changes ------------------------------------------------------------------


def test_login_session_file_and_publish(run: Runner, lab: Deployment) -> None:
    r = run("mds1", "mgmt_cli login -r true -d dom2 > /tmp/id.txt")
    assert r.rc == 0 and r.out == ""
    text = lab.server("mds1").vfs.read_text("/tmp/id.txt")
    assert text.startswith('sid: "')
    login = api(run, "mds1", "login -r true -d dom2")
    assert {"sid", "url", "uid", "session-timeout", "api-server-version"} <= set(login)
    assert login["api-server-version"] == "1.8.1"

    api(run, "mds1", "add host name db1 ip-address 198.51.100.9 -s /tmp/id.txt")
    dms = lab.domain("dom2").on("mds1")
    assert dms is not None and dms.revisions == []
    mine = api(run, "mds1", "-s /tmp/id.txt show-session")
    assert mine["changes"] == 1 and mine["state"] == "open" and mine["type"] == "session"
    open_sessions = api(run, "mds1", "-s /tmp/id.txt show-sessions details-level full")
    assert open_sessions["total"] == 2  # the two logins above
    assert sorted(o["changes"] for o in open_sessions["objects"]) == [0, 1]
    assert {o["state"] for o in open_sessions["objects"]} == {"open"}
    tid = api(run, "mds1", "publish -s /tmp/id.txt")["task-id"]
    task = wait_task(run, "mds1", tid, login="-s /tmp/id.txt")
    assert task["task-details"][0]["publishResponse"]["numberOfPublishedChanges"] == 1
    assert len(dms.revisions) == 1
    standby = lab.domain("dom2").on("mds2")
    assert standby is not None and len(standby.revisions) == 1

    last = api(run, "mds1", "-r true -d dom2 show-last-published-session")
    assert last["state"] == "published" and last["user-name"] == "admin"
    published = api(run, "mds1", "-r true -d dom2 show-sessions view-published-sessions true")
    assert published["objects"] == [last["uid"]]
    assert api(run, "mds1", "logout -s /tmp/id.txt") == {"message": "OK"}
    assert error(run, "mds1", "show-session -s /tmp/id.txt") == "generic_err_wrong_session_id"


def test_discard_and_json_session_file(run: Runner, lab: Deployment) -> None:
    run("mds1", "mgmt_cli login -r true -d dom3 --format json > /tmp/id.json")
    api(run, "mds1", "add-host name x ip-address 192.0.2.50 -s /tmp/id.json")
    assert api(run, "mds1", "discard -s /tmp/id.json")["number-of-discarded-changes"] == 1
    api(run, "mds1", "publish -s /tmp/id.json")
    assert lab.domain("dom3").on("mds1").revisions == []  # type: ignore[union-attr]
    assert error(run, "mds2", "show-session -s /tmp/id.json") == (
        "generic_err_missing_session_id"  # the file is on mds1 only
    )


def test_show_changes_after_a_date(run: Runner) -> None:
    api(run, "mds1", "-r true -d dom4 add-host name before ip-address 192.0.2.61")
    time.sleep(0.01)
    since = datetime.now(timezone.utc).isoformat()
    time.sleep(0.01)
    api(run, "mds1", "-r true -d dom4 add-host name after ip-address 192.0.2.62")
    api(run, "mds1", "-r true -d dom4 delete-host name before")
    tid = api(run, "mds1", f"-r true -d dom4 show-changes from-date {since}")["task-id"]
    task = wait_task(run, "mds1", tid)
    assert task["task-name"] == "Show Changes" and task["status"] == "succeeded"
    details = task["task-details"][0]
    assert details["limit"] == 10 and details["offset"] == 0
    changes = details["changes"]
    assert len(changes) == 2  # newest first
    assert [o["name"] for o in changes[0]["operations"]["deleted-objects"]] == ["before"]
    added = changes[1]["operations"]["added-objects"]
    assert [(o["name"], o["type"]) for o in added] == [("after", "host")]
    assert changes[1]["operations"]["modified-objects"] == []
    session = changes[1]["session"]
    assert session["user-name"] == "admin" and session["domain-info"]["name"] == "dom4"
    assert set(session["publish-time"]) == {"posix", "iso-8601"}
    last_only = api(run, "mds1", "-r true -d dom4 show-changes")["task-id"]
    only = wait_task(run, "mds1", last_only)["task-details"][0]["changes"]
    assert len(only) == 1
