"""A twin built from a status document (``mdstools lab up --like``), without SSH: what it
mirrors, where the scenarios' picks fall on its names, and the documents it refuses."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mdstools.cli import main
from mdstools.cli.lab import _validate_lab_options, lab_options
from mdstools.cli.parser import build_parser
from mdstools.lab import scenarios, twin
from mdstools.lab.model import COLLISION, Deployment
from tests.lab.conftest import run_on

COLUMNS = ("FWM", "FWD", "CPD", "CPCA")
NEW_COLUMNS = ("FWM", "FWMHA", "FWD", "CPD", "CPCA")


def procs(columns: tuple[str, ...], status: str = "up", nr: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        c: {"status": "N/R" if c in nr else status, "pid": None if c in nr else 100 + i}
        for i, c in enumerate(columns)
    }


def document() -> dict[str, Any]:
    """A status document of three MDSs (the primary listed second, one on R81.20) and a log
    server, three domains: one on every MDS and active on a secondary, one on two MDSs with
    a DMS down, one in Collision."""
    servers = [
        ("fra-mds-b", "secondary", "R81.20", "631", NEW_COLUMNS, "bash"),
        ("fra-mds-a", "primary", "R81.10", "335", COLUMNS, None),
        ("fra-mds-c", "secondary", "R81.10", "335", COLUMNS, "clish"),
        ("fra-log", "log-server", "R81.10", "335", COLUMNS, "bash"),
    ]
    columns = {name: cols for name, _, _, _, cols, _ in servers}
    layout = {
        "Retail_EU": ["fra-mds-a", "fra-mds-b", "fra-mds-c", "fra-log"],
        "Corp.HQ": ["fra-mds-a", "fra-mds-c"],
        "OT-1": ["fra-mds-a", "fra-mds-b", "fra-mds-c"],
    }
    rows = []
    for k, (dom, held) in enumerate(layout.items()):
        for server in held:
            log = server == "fra-log"
            down = dom == "Corp.HQ" and server == "fra-mds-c"
            rows.append(
                {
                    "server": server,
                    "type": "CLM" if log else "CMA",
                    "name": f"{dom}_{'Log_' if log else ''}{server}",
                    "domain": dom,
                    "ip": f"10.20.{k}.{held.index(server) + 1}",
                    "processes": procs(
                        columns[server], "down" if down else "up", ("CPCA",) if log else ()
                    ),
                    "all_up": not down,
                }
            )
    mdss = ["fra-mds-b", "fra-mds-a", "fra-mds-c"]

    def ha(name: str, actives: list[str], held: list[str], word: str) -> dict[str, Any]:
        return {
            "name": name,
            "active_server": actives[0] if len(actives) == 1 else None,
            "standby_servers": [m for m in held if m not in actives],
            "sync_status": {m: word for m in held},
            "active_servers": actives,
        }

    return {
        "collected_at": "2026-12-01T10:00:00+00:00",
        "environment": "frankfurt-prod",
        "servers": [
            {
                "name": name,
                "role": role,
                "host": f"192.0.2.{40 + i}",
                "reachable": True,
                "error": None,
                "version": version,
                "build": build,
                "processes": procs(cols, nr=("CPCA",) if role == "log-server" else ()),
                "login_shell": shell,
                "some_future_field": {"ignored": True},
            }
            for i, (name, role, version, build, cols, shell) in enumerate(servers)
        ],
        "domain_servers": rows,
        "domains": [
            ha("Global", ["fra-mds-a"], mdss, "unknown"),
            ha("Retail_EU", ["fra-mds-b"], mdss, "unknown"),
            ha("Corp.HQ", ["fra-mds-a"], ["fra-mds-a", "fra-mds-c"], "unknown"),
            ha("OT-1", ["fra-mds-a", "fra-mds-b"], mdss, COLLISION),
        ],
        "checks": [],
        "notes": [],
    }


Made = Callable[..., Deployment]


@pytest.fixture
def twin_of(tmp_path: Path) -> Iterator[Made]:
    """Build twins of documents (in-process, no SSH); their schedulers stop afterwards."""
    made: list[Deployment] = []

    def factory(doc: dict[str, Any], scenario: str = "default") -> Deployment:
        path = tmp_path / f"doc{len(made)}.json"
        path.write_text(json.dumps(doc))
        opts = scenarios.LabOptions(scenario=scenario, like=str(path), time_scale=0.001)
        dep = scenarios.create(opts)
        dep.scheduler.start()
        made.append(dep)
        return dep

    yield factory
    for dep in made:
        dep.scheduler.stop()


def test_the_twin_mirrors_servers_versions_columns_and_shells(twin_of: Made) -> None:
    dep = twin_of(document())
    assert [(s.name, s.role, s.kind) for s in dep.servers] == [
        ("fra-mds-b", "secondary", "MDS"),
        ("fra-mds-a", "primary", "MDS"),
        ("fra-mds-c", "secondary", "MDS"),
        ("fra-log", "log-server", "MLM"),
    ]
    assert dep.primary.name == "fra-mds-a" and dep.last_mds.name == "fra-mds-c"
    assert [(s.version.name, s.version.fw_build) for s in dep.servers] == [
        ("R81.20", "631"),
        ("R81.10", "335"),
        ("R81.10", "335"),
        ("R81.10", "335"),
    ]
    assert dep.columns_for(dep.server("fra-mds-b")) == NEW_COLUMNS
    assert dep.columns_for(dep.server("fra-mds-a")) == COLUMNS
    assert {s.name: s.users["admin"].shell for s in dep.servers} == {
        "fra-mds-b": "bash",
        "fra-mds-a": "bash",
        "fra-mds-c": "clish",
        "fra-log": "bash",
    }
    assert dep.environment == "frankfurt-prod-twin"
    out = run_on(dep, "fra-mds-b", "fw ver").out
    assert "R81.20 - Build 631" in out
    table = run_on(dep, "fra-mds-b", "mdsstat").out
    assert "FWMHA" in table and "Retail_EU_fra-mds-b" in table and "Corp.HQ" not in table


def test_the_twin_mirrors_domains_dms_and_ha_state(twin_of: Made) -> None:
    dep = twin_of(document())
    assert [d.name for d in dep.domains] == ["Global", "Retail_EU", "Corp.HQ", "OT-1"]
    retail = dep.domain("Retail_EU")
    assert [(d.host.name, d.name, d.ip, d.ha_state) for d in retail.dms] == [
        ("fra-mds-a", "Retail_EU_fra-mds-a", "10.20.0.1", "standby"),
        ("fra-mds-b", "Retail_EU_fra-mds-b", "10.20.0.2", "active"),
        ("fra-mds-c", "Retail_EU_fra-mds-c", "10.20.0.3", "standby"),
    ]
    assert [(d.host.name, d.name, d.kind) for d in retail.dls] == [
        ("fra-log", "Retail_EU_Log_fra-log", "CLM")
    ]
    corp = dep.domain("Corp.HQ")
    assert corp.on("fra-mds-b") is None
    down = corp.on("fra-mds-c")
    assert down is not None and dep.dms_state(down) == "down"
    ot = dep.domain("OT-1")
    assert [d.host.name for d in ot.actives()] == ["fra-mds-a", "fra-mds-b"]
    assert all(d.sync_status == COLLISION for d in ot.actives())
    assert [d.host.name for d in dep.domain("Global").actives()] == ["fra-mds-a"]
    log_row = run_on(dep, "fra-log", "mdsstat").out
    assert "N/R" in log_row


def test_the_scenarios_pick_by_role_and_order_on_any_names(twin_of: Made) -> None:
    doc = document()
    assert twin_of(doc, "upgrade-fails").server("fra-mds-c").upgrade_fails
    assert not twin_of(doc, "upgrade-fails").server("fra-mds-a").upgrade_fails
    doc_bash = copy.deepcopy(doc)
    doc_bash["servers"][2]["login_shell"] = "bash"
    shells = {s.name: s.users["admin"].shell for s in twin_of(doc_bash, "clish-login").servers}
    assert [n for n, sh in shells.items() if sh == "clish"] == ["fra-mds-b"]
    dep = twin_of(doc, "dms-wont-start")
    faulty = [(d.host.name, d.name) for s in dep.servers for d in s.locals if d.start_fault]
    assert faulty == [("fra-mds-c", "Corp.HQ_fra-mds-c")]
    dep = twin_of(doc, "verifier-error")
    assert [s.name for s in dep.servers if s.findings] == ["fra-mds-c"]
    dep = twin_of(doc, "verifier-warnings")
    assert any("Global Properties" in f.title for f in dep.server("fra-mds-a").findings)


def test_the_default_labs_picks_are_unchanged() -> None:
    dep = scenarios.create(scenarios.LabOptions(scenario="dms-wont-start", mds=3))
    faulty = [(d.host.name, d.name) for s in dep.servers for d in s.locals if d.start_fault]
    assert faulty == [("mds3", "dom2_Server_3")]
    assert dep.last_mds.name == "mds3" and dep.primary.name == "mds1"
    dep = scenarios.create(scenarios.LabOptions(scenario="clish-login", mds=3))
    assert [s.name for s in dep.servers if s.users["admin"].shell == "clish"] == ["mds2"]


def test_a_domain_without_an_active_stays_so_and_one_left_out_is_active_on_the_primary(
    twin_of: Made,
) -> None:
    doc = document()
    doc["domains"][2].update(active_server=None, active_servers=[])
    del doc["domains"][1]
    dep = twin_of(doc)
    assert dep.domain("Corp.HQ").actives() == []
    assert [d.host.name for d in dep.domain("Retail_EU").actives()] == ["fra-mds-a"]
    assert [d.name for d in dep.user_domains] == ["Corp.HQ", "OT-1", "Retail_EU"]


def test_an_older_document_without_the_new_fields_is_taken(twin_of: Made) -> None:
    doc = document()
    del doc["environment"]
    for s in doc["servers"]:
        del s["login_shell"]
    dep = twin_of(doc)
    assert dep.environment == "twin"
    assert all(s.users["admin"].shell == "bash" for s in dep.servers)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], Any]:
    def change(doc: dict[str, Any]) -> Any:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return doc

    return change


def _many_servers(doc: dict[str, Any]) -> dict[str, Any]:
    extra = copy.deepcopy(doc["servers"][2])
    for i in range(20):
        doc["servers"].append({**extra, "name": f"extra{i}"})
    return doc


def _many_domains(doc: dict[str, Any]) -> dict[str, Any]:
    row = doc["domain_servers"][0]
    doc["domain_servers"] = [
        {**row, "name": f"d{i}", "domain": f"d{i}", "ip": f"10.{i // 250}.{i % 250}.1"}
        for i in range(5001)
    ]
    doc["domains"] = []
    return doc


HOSTILE = ["mds1'; rm -rf /", "mds1\nmds2", "$(id)", "a b", "`id`", '"x"', "x" * 65, ""]

GARBAGE: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("list", lambda d: [d], "not a baseline or status document: an object is expected"),
    ("no servers", lambda d: {k: v for k, v in d.items() if k != "servers"}, 'no "servers" list'),
    ("servers text", _set(("servers",), "mds1"), 'no "servers" list (a str)'),
    ("no servers at all", _set(("servers",), []), "servers: the list is empty"),
    ("no domain_servers", _set(("domain_servers",), None), 'no "domain_servers" list'),
    ("too many servers", _many_servers, "a twin has at most 16"),
    ("too many domains", _many_domains, "a twin has at most 5000"),
    ("bad role", _set(("servers", 0, "role"), "boss"), "servers[0].role: 'boss'"),
    ("two primaries", _set(("servers", 0, "role"), "primary"), "exactly one primary MDS"),
    ("unreachable", _set(("servers", 2, "reachable"), False), "fra-mds-c was not reachable"),
    ("unknown release", _set(("servers", 1, "version"), "R99"), "the lab knows R80.40"),
    ("version number", _set(("servers", 1, "version"), 81.1), "servers[1].version: 81.1"),
    ("bad build", _set(("servers", 1, "build"), "$(id)"), "is not a build number"),
    ("bad column", _set(("servers", 1, "processes"), {"F W": {}}), "not a process column"),
    ("bad shell", _set(("servers", 1, "login_shell"), "zsh"), "bash, clish or null"),
    ("bad ip", _set(("domain_servers", 0, "ip"), "10.0.0.300"), "is not an IP address"),
    ("unknown server", _set(("domain_servers", 0, "server"), "nope"), "not one of the servers"),
    ("CLM on an MDS", _set(("domain_servers", 0, "type"), "CLM"), "CMA is expected on"),
    ("no domain", _set(("domain_servers", 0, "domain"), None), "the domain of"),
    ("active elsewhere", _set(("domains", 1, "active_servers"), ["x"]), "domains[1].active"),
    ("bad environment", _set(("environment",), "prod\nx"), "environment: 'prod\\nx'"),
    ("no domains", lambda d: {**d, "domain_servers": [], "domains": []}, "no domains"),
    (
        "a DMS twice",
        lambda d: {**d, "domain_servers": d["domain_servers"] + d["domain_servers"][:1]},
        "fra-mds-a has domain Retail_EU twice",
    ),
    (
        "an IP twice",
        _set(("domain_servers", 4, "ip"), "10.20.0.1"),
        "fra-mds-a has IP 10.20.0.1 twice",
    ),
]
GARBAGE += [
    (f"hostile server name {i}", _set(("servers", 1, "name"), n), "servers[1].name")
    for i, n in enumerate(HOSTILE)
]
GARBAGE += [
    (f"hostile DMS name {i}", _set(("domain_servers", 0, "name"), n), "domain_servers[0].name")
    for i, n in enumerate(HOSTILE)
]
GARBAGE += [
    (f"hostile domain name {i}", _set(("domain_servers", 0, "domain"), n), "domain_servers[0]")
    for i, n in enumerate(HOSTILE)
]


@pytest.mark.parametrize(("case", "change", "message"), GARBAGE, ids=[g[0] for g in GARBAGE])
def test_a_document_that_is_not_one_is_refused_naming_what(
    case: str, change: Callable[[dict[str, Any]], Any], message: str
) -> None:
    with pytest.raises(twin.TwinDocumentError) as caught:
        twin.parse(change(document()))
    text = str(caught.value)
    assert message in text, text
    assert text.isprintable() and len(text) < 400, text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not JSON"),
        (b'{"servers": [', "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[" * 100_000, "not JSON"),
        (b"null", "an object is expected, found nothing"),
    ],
)
def test_lab_up_refuses_a_file_that_is_not_json_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    path = tmp_path / "baseline.json"
    path.write_bytes(content)
    rc = main(["lab", "up", "--dir", str(tmp_path / "lab"), "--like", str(path)])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.splitlines()) == 1, err
    assert err.startswith("mdstools lab up: ") and "Traceback" not in err
    assert not (tmp_path / "lab").exists()


def test_the_target_is_the_files_unless_given(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({**document(), "target_version": "R82"}))
    for extra, target in (([], "R82"), (["--target", "R81.20"], "R81.20")):
        args = build_parser().parse_args(["lab", "up", "--like", str(path), *extra])
        assert _validate_lab_options(args) is None
        assert lab_options(args).target == target
    path.write_text(json.dumps(document()))
    args = build_parser().parse_args(["lab", "up", "--like", str(path)])
    assert _validate_lab_options(args) is None and lab_options(args).target == "R81.20"
    path.write_text(json.dumps({**document(), "target_version": "R99"}))
    args = build_parser().parse_args(["lab", "up", "--like", str(path)])
    assert "unknown release 'R99'" in str(_validate_lab_options(args))


def test_lab_up_refuses_like_with_a_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(document()))
    rc = main(["lab", "up", "--dir", str(tmp_path), "--like", str(path), "--mds", "3"])
    assert rc == 2
    assert "--like takes the servers, domains and versions from its file" in capsys.readouterr().err


def test_lab_up_names_a_hostile_name_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(_set(("servers", 1, "name"), "a\n\x1b[31m$(id)")(document())))
    rc = main(["lab", "up", "--dir", str(tmp_path / "lab"), "--like", str(path)])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.splitlines()) == 1 and "\x1b" not in err, err
    assert "servers[1].name" in err
