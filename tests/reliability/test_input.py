"""Bad input is refused at the edge: the inventory, the runbook parameters, the command line
and the lab's control requests. Each case: exit 2 and a one-line message naming the field and
what is allowed, no traceback, nothing written outside the reports folder (and nothing in it
when the input was refused before anything ran)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import paramiko
import pytest
import yaml

from mdstools import audit
from mdstools.errors import InventoryError, ParameterError
from mdstools.inventory import load, parse
from mdstools.lab import runtime, scenarios
from mdstools.phases import BY_ID, PARAMS, PHASES, check_params, phase_params
from mdstools.run import start, time_scale
from tests.reliability.conftest import changed, tree_digest

ROOT = Path(__file__).resolve().parents[2]
SCALE = 0.002

BASE: dict[str, Any] = {
    "environment": "prod-emea",
    "target_version": "R81.20",
    "upgrade": {"method": "cpuse", "package": "/var/log/upload/pkg.tgz"},
    "backup_dir": "/var/log/mds_backups",
    "connection": {"username": "admin", "key_file": "./id_ed25519"},
    "servers": [
        {"name": "mds1", "host": "192.0.2.11", "port": 22, "role": "primary"},
        {"name": "mds2", "host": "mds2.example.net", "role": "secondary"},
        {"name": "mlm1", "host": "2001:db8::21", "role": "log-server"},
    ],
}


def cli(
    *args: str | bytes, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``python -m mdstools ARGS`` as a scheduler runs it: no TTY, no stdin, minimal env."""
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    return subprocess.run(
        [sys.executable, "-m", "mdstools", *args],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**base, "PYTHONPATH": str(ROOT), **(env or {})},
        cwd=cwd,
    )


def refused(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 2, no traceback, one message line on stderr naming ``words``; returns it."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def write_inventory(folder: Path, data: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "inventory.yml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def variant(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(BASE))
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


# -- the inventory ---------------------------------------------------------------------------


def test_plan_refuses_a_shell_substitution_in_the_package_path(tmp_path: Path) -> None:
    """The package path ends up in command lines: `$(...)` is refused (exit 2, the field named),
    not executed, and nothing anywhere is written."""
    inv = write_inventory(tmp_path, variant(("upgrade", "package"), "/var/x.tgz$(touch y)"))
    before = tree_digest(tmp_path)
    proc = cli("plan", "-i", str(inv), cwd=tmp_path)
    line = refused(proc, "upgrade.package", "/var/x.tgz$(touch y)", "absolute path")
    assert line.startswith("mdstools plan: ")
    assert changed(before, tree_digest(tmp_path)) == [] and not (tmp_path / "y").exists()


def test_plan_of_an_inventory_without_upgrade_names_the_missing_package(tmp_path: Path) -> None:
    """An inventory without ``upgrade`` loads (status and discovery need no package): the
    plan lists every phase, the steps that need the package say so, no traceback."""
    data = {k: v for k, v in BASE.items() if k != "upgrade"}
    proc = cli("plan", "-i", str(write_inventory(tmp_path, data)), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "08 " in proc.stdout
    assert "upgrade.package, which the inventory does not give" in proc.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "01", "--ticket", "T-NOPKG"],
        ["run", "03", "--ticket", "T-NOPKG", "-p", "confirm=true"],
        ["campaign", "--ticket", "T-NOPKG", "--confirm"],
    ],
    ids=["run 01", "run 03", "campaign"],
)
def test_a_phase_that_sends_the_package_refuses_an_inventory_without_it(
    tmp_path: Path, argv: list[str]
) -> None:
    """Exit 2 with one line naming upgrade.package and what to add, before any record."""
    data = {k: v for k, v in BASE.items() if k != "upgrade"}
    inv = write_inventory(tmp_path, data)
    proc = cli(*argv, "-i", str(inv), "--reports", str(tmp_path / "reports"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "upgrade.package: phase" in proc.stderr and "add 'upgrade:" in proc.stderr
    assert not (tmp_path / "reports" / "T-NOPKG").exists()


BAD_FIELDS = [
    (("upgrade", "package"), "var/log/pkg.tgz", "upgrade.package"),
    (("upgrade", "package"), "/var/log/../../etc/shadow", "upgrade.package"),
    (("upgrade", "package"), "/var/log/pkg tgz", "upgrade.package"),
    (("upgrade", "package"), "/var/" + "a" * 300, "upgrade.package"),
    (("upgrade", "package"), "/var/log/p;rm -rf /", "upgrade.package"),
    (("backup_dir",), "/var/log/`id`", "backup_dir"),
    (("backup_dir",), "/var/log/b\nx", "backup_dir"),
    (("backup_dir",), "relative/dir", "backup_dir"),
    (("backup_dir",), 17, "backup_dir"),
    (("environment",), "../../etc", "environment"),
    (("environment",), "prod emea", "environment"),
    (("environment",), "prod\n", "environment"),
    (("environment",), "", "environment"),
    (("target_version",), "R81.20; reboot", "target_version"),
    (("target_version",), "R81.20\n", "target_version"),
    (("target_version",), 81.2, "target_version"),
    (("servers", 1, "name"), "mds 2", "servers[1].name"),
    (("servers", 1, "name"), "mds2\n", "servers[1].name"),
    (("servers", 1, "name"), "-rf", "servers[1].name"),
    (("servers", 1, "host"), "host;id", "servers[1].host"),
    (("servers", 1, "host"), "-oProxyCommand=id", "servers[1].host"),
    (("servers", 1, "host"), "999.1.1.1.1", "servers[1].host"),
    (("servers", 0, "port"), 0, "servers[0].port"),
    (("servers", 0, "port"), 65536, "servers[0].port"),
    (("servers", 0, "port"), "22", "servers[0].port"),
    (("servers", 0, "port"), 22.0, "servers[0].port"),
    (("servers", 0, "port"), True, "servers[0].port"),
    (("servers", 1, "role"), "Primary", "servers[1].role"),
    (("servers", 1, "role"), ["primary"], "servers[1].role"),
    (("servers", 1, "shell"), "sh", "servers[1].shell"),
    (("connection", "connect_timeout_s"), -1, "connection.connect_timeout_s"),
    (("connection", "connect_timeout_s"), float("nan"), "connection.connect_timeout_s"),
    (("connection", "connect_timeout_s"), "10", "connection.connect_timeout_s"),
    (("servers", 2, "command_timeout_s"), 0, "servers[2].command_timeout_s"),
    (("connection", "username"), "admin; id", "connection.username"),
    (("connection", "password"), "env:A B", "connection.password"),
    (("time_scale",), 0, "time_scale"),
    (("time_scale",), -0.5, "time_scale"),
    (("time_scale",), "fast", "time_scale"),
    (("time_scale",), float("inf"), "time_scale"),
    (("time_scale",), True, "time_scale"),
]


@pytest.mark.parametrize(("where", "value", "field"), BAD_FIELDS, ids=lambda x: repr(x)[:30])
def test_every_field_that_reaches_a_command_a_file_or_a_lock_is_checked(
    tmp_path: Path, where: tuple[str | int, ...], value: Any, field: str
) -> None:
    """The error names the field path, shows the value escaped and truncated, says what is
    allowed, and is one line."""
    with pytest.raises(InventoryError) as exc:
        parse(variant(where, value), tmp_path / "inventory.yml")
    message = str(exc.value)
    assert exc.value.field == field, message
    assert f": {field}: " in message and "\n" not in message and len(message) < 600
    assert any(w in message for w in ("allowed", "expected", "use one of", "must be")), message


def test_a_valid_inventory_still_loads_and_a_real_one_runs_at_time_scale_1(tmp_path: Path) -> None:
    inv = load(write_inventory(tmp_path, BASE))
    assert inv.time_scale == 1.0 and inv.server("mlm1").host == "2001:db8::21"
    assert load(write_inventory(tmp_path, variant(("time_scale",), 0.01))).time_scale == 0.01


def test_mds_setup_may_name_its_path_under_mdsdir_and_nothing_else(tmp_path: Path) -> None:
    """The mds_setup method runs ``$MDSDIR/scripts/mds_setup``: that variable, no other
    expansion."""
    ok = variant(("upgrade",), {"method": "mds_setup", "package": "$MDSDIR/scripts/mds_setup"})
    assert parse(ok, tmp_path / "i.yml").upgrade_package == "$MDSDIR/scripts/mds_setup"
    for bad in ("$MDSDIR/$(id)", "$HOME/mds_setup", "${MDSDIR}/../../bin/sh", "$MDSDIR"):
        data = variant(("upgrade",), {"method": "mds_setup", "package": bad})
        with pytest.raises(InventoryError, match=r"upgrade\.package"):
            parse(data, tmp_path / "i.yml")
    with pytest.raises(InventoryError, match=r"upgrade\.package"):
        parse(variant(("upgrade", "package"), "$MDSDIR/pkg.tgz"), tmp_path / "i.yml")


def test_hostile_yaml_documents_are_refused_with_one_line(tmp_path: Path) -> None:
    """A number too long for Python, nesting deeper than the recursion limit, a file too large,
    binary garbage: InventoryError, never another exception."""
    documents = [
        "environment: " + "9" * 5000 + "\n",
        "a: " + "[" * 5000 + "\n",
        "environment: x\n" + "# padding\n" * 200_000,
        b"\xff\xfe\x00garbage: [",
        "- just\n- a list\n",
        "",
    ]
    for doc in documents:
        path = tmp_path / "inventory.yml"
        path.write_bytes(doc if isinstance(doc, bytes) else doc.encode())
        with pytest.raises(InventoryError) as exc:
            load(path)
        assert "\n" not in str(exc.value) and len(str(exc.value)) < 700


# -- the runbook parameters --------------------------------------------------------------------


BAD_PARAMS = [
    ("time_scale=abc", "-p time_scale", "not a number"),
    ("decision_timeout_s=-5", "-p decision_timeout_s", "out of range"),
    ("time_scale=[1,2]", "-p time_scale", "not a number"),
    ("time_scale=NaN", "-p time_scale", "finite"),
    ("time_scale=1e999", "-p time_scale", "finite"),
    ("time_scale=0", "-p time_scale", "out of range"),
    ("no_such_param=1", "-p no_such_param", "unknown parameter"),
    ("confirm=true", "-p confirm", "unknown parameter for phase 01"),
    ("continuous_management=maybe", "-p continuous_management", "true or false"),
    ('acknowledge_warnings=["mds1:ok", 3]', "-p acknowledge_warnings", "<server>:<finding-id>"),
    ("acknowledge_warnings=mds1", "-p acknowledge_warnings", "<server>:<finding-id>"),
    ("mds_password=hunter2", "-p mds_password", "secrets are never parameters"),
    ("api_token=x", "-p api_token", "secrets are never parameters"),
    ("ticket=OTHER", "-p ticket", "--ticket"),
    ("inventory=/etc/other.yml", "-p inventory", "-i/--inventory"),
    ("reports_dir=/tmp", "-p reports_dir", "--reports"),
    ("interactive=true", "-p interactive", "headless"),
    ("bad name=1", "-p 'bad name'", "not a parameter name"),
    ("noequals", "-p 'noequals'", "KEY=VALUE"),
]


@pytest.mark.parametrize(("param", "named", "words"), BAD_PARAMS, ids=lambda x: x[:30])
def test_run_refuses_a_bad_parameter_before_anything_runs(
    tmp_path: Path, param: str, named: str, words: str
) -> None:
    """`mdstools run 01 -p ...`: exit 2 naming the parameter and what is allowed; no report,
    no lock, no inventory read (the inventory does not even exist)."""
    before = tree_digest(tmp_path)
    proc = cli(
        "run", "01", "-i", str(tmp_path / "missing.yml"), "--ticket", "CHG1",
        "--reports", str(tmp_path / "reports"), "-p", param,
        cwd=tmp_path,
    )  # fmt: skip
    line = refused(proc, named, words)
    assert "hunter2" not in proc.stderr and line.startswith("mdstools run: ")
    assert changed(before, tree_digest(tmp_path)) == []
    assert not (tmp_path / "reports").exists()


def test_runbooks_missing_beside_the_package_is_bad_input(tmp_path: Path) -> None:
    """An install from a wheel has no runbooks/ beside the package: `run` and `campaign`
    exit 2 naming the runbook and MDSTOOLS_RUNBOOKS; no report, no lock left."""
    inv = write_inventory(tmp_path, BASE)
    env = {"MDSTOOLS_RUNBOOKS": str(tmp_path / "nowhere"), "MDSTOOLS_LOCK_DIR": str(tmp_path / "l")}
    for args in (("run", "02"), ("campaign", "--confirm")):
        proc = cli(
            *args, "-i", str(inv), "--ticket", "CHG1", "--reports", str(tmp_path / "r"),
            cwd=tmp_path, env=env,
        )  # fmt: skip
        refused(proc, "no runbook", "nowhere", "MDSTOOLS_RUNBOOKS")
        assert not (tmp_path / "r" / "CHG1").exists()
        assert not list((tmp_path / "l").glob("*.lock")), "the host-wide lock was released"


def test_campaign_checks_parameters_against_the_phases_of_its_range(tmp_path: Path) -> None:
    """A decision of a phase outside --from..--to is unknown there; inside, it is typed."""
    inv = write_inventory(tmp_path, BASE)
    common = ("campaign", "-i", str(inv), "--ticket", "CHG1", "--reports", str(tmp_path / "r"))
    line = refused(
        cli(*common, "--to", "01", "-p", "retain_database_on=mds2", cwd=tmp_path),
        "-p retain_database_on",
        "phases 00, 01",
    )
    assert "known: acknowledge_warnings" in line
    refused(
        cli(*common, "--from", "07", "-p", "retain_database_on=dom1=mds2,dom2", cwd=tmp_path),
        "-p retain_database_on",
        "domain=server",
    )
    refused(cli(*common, "--from", "08", "--to", "02", cwd=tmp_path), "--from", "--to")
    refused(cli(*common, "-p", "backup_min_free_mb=-1", cwd=tmp_path), "backup_min_free_mb")
    assert not (tmp_path / "r").exists()


def test_the_parameter_table_generates_every_notebook_cell() -> None:
    """One table: each notebook's parameters cell is the table's lines for that phase, typed,
    and the header passes every one of them (but those the CLI sets) to mdstools.start."""
    for ph in PHASES:
        nb = nbformat.read(str(ROOT / "runbooks" / ph.notebook), as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        names = [p.name for p in phase_params(ph)]
        assert [line.split(":")[0] for line in cell.source.splitlines()] == names
        for spec, line in zip(phase_params(ph), cell.source.splitlines(), strict=True):
            assert line.startswith(f"{spec.name}: ") and "#" in line
        header = next(c.source for c in nb.cells if "mdstools.start(" in c.source)
        for name in names:
            if name not in ("inventory", "ticket", "operator", "interactive", "dry_run"):
                assert f"{name}={name}" in header or name == "reports_dir", (ph.id, name)
    assert {p.name for p in phase_params(BY_ID["07"])} >= {"confirm", "retain_database_on"}
    assert "confirm" not in {p.name for p in phase_params(BY_ID["00"])}
    assert all(p.help and p.allowed and p.check for p in PARAMS)


def test_papermill_help_shows_the_types(tmp_path: Path) -> None:
    notebook = ROOT / "runbooks" / "02_prepare_ha.ipynb"
    out = subprocess.run(
        [sys.executable, "-m", "papermill", "--help-notebook", str(notebook)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    ).stdout  # fmt: skip
    assert "time_scale: Optional[float] (default None)" in out
    assert "backup_min_free_mb: int (default 10240)" in out
    assert "confirm: bool (default False)" in out


def test_the_kernel_checks_parameters_too(tmp_path: Path) -> None:
    """mdstools.start (what every notebook's header calls) refuses the same values before it
    reads the inventory or creates the report folder, with a message IPython shows as one
    line instead of a traceback."""
    inv = write_inventory(tmp_path, BASE)
    cases = [
        ({"time_scale": "abc"}, "parameter time_scale"),
        ({"decision_timeout_s": -5.0}, "parameter decision_timeout_s"),
        ({"acknowledge_warnings": "mds1"}, "parameter acknowledge_warnings"),
        ({"confirm": True}, "unknown parameter for phase 01"),
        ({"expert_password": "x"}, "secrets are never parameters"),
    ]
    for params, words in cases:
        with pytest.raises(ParameterError) as exc:
            start(str(inv), "CHG1", phase="01", reports_dir=tmp_path / "r", params=params)
        assert words in str(exc.value)
        assert exc.value._render_traceback_() == [f"ParameterError: {exc.value}"]
    with pytest.raises(ParameterError, match="parameter interactive"):
        start(str(inv), "CHG1", phase="00", interactive="maybe", reports_dir=tmp_path / "r")  # type: ignore[arg-type]
    assert not (tmp_path / "r").exists()
    assert check_params({"acknowledge_warnings": "mds1:a, mds2:b"}, [BY_ID["01"]]) == {
        "acknowledge_warnings": ["mds1:a", "mds2:b"]
    }
    assert check_params({"retain_database_on": {"dom1": "mds2"}}, [BY_ID["07"]]) == {
        "retain_database_on": "dom1=mds2"
    }


def test_a_bad_inventory_in_a_notebook_is_one_line(tmp_path: Path) -> None:
    """What the header cell shows for a bad inventory: the field and the value, no traceback."""
    inv = write_inventory(tmp_path, variant(("servers", 0, "port"), 70000))
    with pytest.raises(InventoryError) as exc:
        start(str(inv), "CHG1", phase="00", reports_dir=tmp_path / "r")
    (line,) = exc.value._render_traceback_()
    assert line.startswith("InventoryError: ") and "servers[0].port: 70000" in line
    assert not (tmp_path / "r").exists()


def test_time_scale_explicit_then_environment_then_inventory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab_inv = load(write_inventory(tmp_path, variant(("time_scale",), 0.01)))
    monkeypatch.delenv("MDSTOOLS_TIME_SCALE", raising=False)
    assert time_scale(None, lab_inv) == 0.01
    assert time_scale(1.0, lab_inv) == 1.0, "an explicit time_scale wins, 1.0 included"
    monkeypatch.setenv("MDSTOOLS_TIME_SCALE", "0.05")
    assert time_scale(None, lab_inv) == 0.05 and time_scale(0.3, lab_inv) == 0.3
    for bad in ("abc", "-1", "nan", "inf"):
        monkeypatch.setenv("MDSTOOLS_TIME_SCALE", bad)
        with pytest.raises(ParameterError, match="MDSTOOLS_TIME_SCALE"):
            time_scale(None, lab_inv)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "time_scale",
            "abc",
            "parameter time_scale: 'abc' is not a number. allowed: a number above 0 and at "
            "most 100 (1.0 on real servers)",
        ),
        (
            "no_such_param",
            "1",
            "parameter no_such_param: unknown parameter for phase 00. known: "
            "continuous_management, decision_timeout_s, time_scale",
        ),
    ],
)
def test_plain_papermill_with_a_bad_parameter_stops_with_one_clear_line(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    """No CLI in front: the kernel refuses a bad value, and a name the notebook does not
    have (papermill itself only warns); the notebook's error output is the message, not a
    traceback, and no report folder is created."""
    inv = write_inventory(tmp_path, BASE)
    out = tmp_path / "out.ipynb"
    proc = subprocess.run(
        [
            sys.executable, "-m", "papermill", str(ROOT / "runbooks" / "00_discover.ipynb"),
            str(out), "-k", "mdstools", "-p", "inventory", str(inv), "-p", "ticket", "CHG1",
            "-p", "interactive", "False", "-p", "reports_dir", str(tmp_path / "r"),
            "-p", name, value,
        ],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode != 0
    nb = nbformat.read(str(out), as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "ParameterError"
    assert errors[0].traceback == [f"ParameterError: {message}"]
    assert not (tmp_path / "r").exists()


# -- the lab -----------------------------------------------------------------------------------


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Path]:
    lab_dir = tmp_path / "lab"
    runtime.up(lab_dir, scenarios.LabOptions(time_scale=SCALE, domains=3))
    try:
        yield lab_dir
    finally:
        runtime.down(lab_dir)


def _raw_request(lab_dir: Path, payload: bytes) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(str(runtime.control_path(lab_dir)))
        s.sendall(payload)
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    reply: dict[str, Any] = json.loads(data)
    return reply


def test_the_lab_inventory_carries_its_time_scale(lab: Path, tmp_path: Path) -> None:
    text = (lab / "inventory.yml").read_text()
    assert load(lab / "inventory.yml").time_scale == SCALE
    assert "leave it out on real servers" in text
    plan = cli("plan", "-i", str(lab / "inventory.yml"), cwd=tmp_path)
    assert plan.returncode == 0 and f"time scale {SCALE:g} (the inventory's)" in plan.stdout
    real = cli("plan", "-i", str(write_inventory(tmp_path / "real", BASE)), cwd=tmp_path)
    assert real.returncode == 0 and "time scale" not in real.stdout


def test_the_lab_survives_any_text_in_any_control_request(lab: Path, tmp_path: Path) -> None:
    """Lone surrogates (what sys.argv decoding makes of non-UTF-8 bytes), control characters,
    1 MB strings, non-objects, invalid UTF-8, deep nesting: each is answered with an error,
    lab.log stays valid UTF-8 with one event per line, and the lab keeps serving."""
    hostile: list[dict[str, Any]] = [
        {"action": "change", "domain": "dom1", "on": "mds2", "object": "x" * 1_000_000},
        {"action": "change", "domain": "\x00", "on": "mds2"},
        {"action": "change", "domain": ["dom1"], "on": "mds2"},
        {"action": "reboot", "server": "\ud800"},
        {"action": "drop", "server": "mds2", "seconds": float("nan")},
        {"action": "drop", "server": "mds2", "seconds": "5"},
        {"action": "events", "last": -3},
        {"action": "fix", "server": "nosuch"},
        {"action": "\u202ereboot"},
        {"action": None},
    ]
    for req in hostile:
        with pytest.raises(runtime.LabRequestError) as exc:
            runtime.control(lab, req)
        assert len(str(exc.value)) < 400 and "\n" not in str(exc.value)
    for payload in (b"[1, 2]\n", b"\xff\xfe\xfd\n", b"[" * 100_000 + b"\n", b'"x"\n'):
        reply = _raw_request(lab, payload)
        assert reply["ok"] is False and reply["bad_request"] is True
    result = runtime.control(lab, {"action": "change", "domain": "dom1", "on": "mds2"})
    assert result["server"] == "mds2"
    for admin in ("\udcff\udcfeadmin", "a\nlab down"):  # data a real server may hold
        published = runtime.control(
            lab, {"action": "change", "domain": "dom1", "on": "mds2", "admin": admin}
        )
        assert published["admin"] == admin.replace("\udcff\udcfe", "\ufffd\ufffd")
    assert runtime.control(lab, {"action": "status"})["servers"]
    time.sleep(0.5)  # the lab writes its events to lab.log every 0.2 s
    log = (lab / "lab.log").read_bytes().decode("utf-8")
    assert all(line.isprintable() for line in log.splitlines())
    assert "a\\nlab down published" in log, "the newline is shown, not written"
    assert not [line for line in log.splitlines() if " lab down" in line.split(":", 3)[-1][:12]]
    assert "lab-admin published" in log


def test_lab_change_with_a_non_utf8_admin_publishes_it_and_the_lab_lives(
    lab: Path, tmp_path: Path
) -> None:
    before = tree_digest(tmp_path, exclude=[lab])
    proc = cli(
        "lab", "change", "--dir", str(lab), "--domain", "dom1", "--on", "mds2",
        "--admin", os.fsdecode(b"\xff\xfeadmin"),
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0 and "\ufffd\ufffdadmin published" in proc.stdout, proc.stderr
    refused(cli("lab", "fix", "--dir", str(lab), "--server", "nosuch", cwd=tmp_path), "nosuch")
    refused(cli("lab", "events", "--dir", str(lab), "--last", "0", cwd=tmp_path), "last")
    ok = cli("lab", "change", "--dir", str(lab), "--domain", "dom1", "--on", "mds2", cwd=tmp_path)
    assert ok.returncode == 0 and "published" in ok.stdout
    assert changed(before, tree_digest(tmp_path, exclude=[lab])) == []


def test_the_lab_survives_hostile_ssh_input(lab: Path) -> None:
    """Control characters, invalid UTF-8, a 1 MB command line, nesting deeper than Python's
    recursion limit over SSH: each gets an answer and the server keeps serving."""
    port = runtime.read_state(lab)["ports"]["mds1"]  # type: ignore[index]
    key = paramiko.Ed25519Key.from_private_key_file(str(lab / "id_ed25519"))

    def run(command: bytes) -> tuple[int, bytes]:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect("127.0.0.1", port, "admin", pkey=key, timeout=30, allow_agent=False,
                       look_for_keys=False)  # fmt: skip
        try:
            chan = client.get_transport().open_session()  # type: ignore[union-attr]
            chan.settimeout(120)
            chan.set_combine_stderr(True)
            chan.exec_command(command)
            out = b""
            while True:
                data = chan.recv(65536)
                if not data:
                    break
                out += data
            return chan.recv_exit_status(), out
        finally:
            client.close()

    for command in (
        b"echo \x00\x1b[31m\x07\xff\xfe; echo done",
        b"echo " + b"\xed\xb3\xbf" * 10 + b"; echo done",
        b"echo " + b"y" * 1_000_000 + b" > /tmp/big; echo done",
    ):
        rc, out = run(command)
        assert rc == 0 and out.rstrip().endswith(b"done"), (rc, out[-200:])
    rc, out = run(b"(" * 50_000 + b"echo" + b")" * 50_000)
    assert rc == 2 and b"nest" in out and b"internal error" not in out
    rc, out = run(b"source /etc/profile.d/CP.sh; mdsstat")
    assert rc == 0 and b"Processes status checking" in out


@pytest.mark.lab
@pytest.mark.slow
def test_a_lab_campaign_without_time_scale_runs_at_the_labs_scale(tmp_path: Path) -> None:
    """dms-wont-start on 3 MDSs, no `-p time_scale`: phase 04 waits for the DMS that never
    starts at the lab's scale (seconds, not 30 real minutes), then reports it; every phase
    ran at the lab's scale and the record verifies."""
    lab_dir = tmp_path / "lab"
    runtime.up(lab_dir, scenarios.LabOptions(scenario="dms-wont-start", mds=3, time_scale=SCALE))
    reports = tmp_path / "reports"
    try:
        before = tree_digest(tmp_path, exclude=[reports, lab_dir])
        t0 = time.monotonic()
        proc = cli(
            "campaign", "-i", str(lab_dir / "inventory.yml"), "--ticket", "CHG-SCALE",
            "--reports", str(reports), "--confirm", "--to", "04",
            cwd=tmp_path,
        )  # fmt: skip
        elapsed = time.monotonic() - t0
    finally:
        runtime.down(lab_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "not up yet: mds3/dom2_Server_3" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert elapsed < 240, f"the campaign took {elapsed:.0f} s: it waited in real time"
    starts = [
        e
        for e in audit.read_journal(reports / "CHG-SCALE" / audit.JOURNAL)
        if e["kind"] == "phase" and e.get("event") == "start"
    ]
    assert starts and all(e["params"]["time_scale"] == SCALE for e in starts)
    assert changed(before, tree_digest(tmp_path, exclude=[reports, lab_dir])) == []
    assert audit.verify(reports / "CHG-SCALE").ok


# -- the command line ---------------------------------------------------------------------------

GARBAGE = os.fsdecode(b"\xff\xfe$(touch pwned)\n")
FUZZ = [
    (),
    ("--bogus",),
    ("status",),
    ("status", "-i", "{missing}"),
    ("status", "-i", "{garbage}"),
    ("status", "-i", "{inventory}", "--format", "xml"),
    ("plan",),
    ("plan", "-i", GARBAGE),
    ("plan", "-i", "{garbage}"),
    ("run",),
    ("run", "00"),
    ("run", GARBAGE, "-i", "{inventory}", "--ticket", "T"),
    ("run", "00", "-i", "{missing}", "--ticket", "T"),
    ("run", "00", "-i", "{inventory}", "--ticket", "T", "-p", GARBAGE),
    ("run", "00", "-i", "{inventory}", "--ticket", "T", "-p", "time_scale=" + "[" * 50_000),
    ("run", "00", "-i", "{inventory}", "--ticket", "T", "-p", "x=1", "-p", "x=2"),
    ("run", "00", "-i", "{inventory}", "--ticket", "T", "--operator", "eve\nmallory"),
    ("campaign", "-i", "{inventory}", "--ticket", "T", "--operator", GARBAGE),
    ("campaign", "-i", "{inventory}"),
    ("campaign", "-i", "{inventory}", "--ticket", "T", "--from", GARBAGE),
    ("campaign", "-i", "{inventory}", "--ticket", "T", "--to", "99"),
    ("verify",),
    ("verify", "{missing}"),
    ("bundle",),
    ("bundle", "{missing}"),
    ("jupyter", "--port", "0", "--no-browser"),
    ("jupyter", "--port", "x"),
    ("jupyter", "-i", "{missing}", "--no-browser"),
    ("jupyter", "-i", "{inventory}", "--scenario", "default", "--no-browser"),
    ("demo", "--domains", "0"),
    ("demo", "--domains", "many"),
    ("demo", "--scenario", GARBAGE),
    ("demo", "--time-scale", "nan"),
    ("demo", "--time-scale", "-1"),
    ("rehearse",),
    ("rehearse", "-i", "{missing}", "--ticket", "T"),
    ("rehearse", "-i", "{garbage}", "--ticket", "T"),
    ("rehearse", "-i", "{inventory}", "--ticket", GARBAGE),
    ("rehearse", "-i", "{inventory}", "--ticket", "T" * 55),
    ("rehearse", "-i", "{inventory}", "--ticket", "T", "--scenario", GARBAGE),
    ("rehearse", "-i", "{inventory}", "--ticket", "T", "--time-scale", "nan"),
    ("rehearse", "-i", "{inventory}", "--ticket", "T", "-p", GARBAGE),
    ("rehearse", "-i", "{inventory}", "--ticket", "T", "--operator", GARBAGE),
    ("lab",),
    ("lab", "bogus"),
    ("lab", "up", "--dir", "{lab}", "--mds", "9"),
    ("lab", "up", "--dir", "{lab}", "--mlm", "-1"),
    ("lab", "up", "--dir", "{lab}", "--domains", "501"),
    ("lab", "up", "--dir", "{lab}", "--time-scale", "inf"),
    ("lab", "up", "--dir", "{lab}", "--source", "R99.99"),
    ("lab", "up", "--dir", "{lab}", "--scenario", GARBAGE),
    ("lab", "up", "--dir", "{lab}", "--columns", "R81.20"),
    ("lab", "up", "--dir", "{lab}", "--columns", "R81.20=FWM," + GARBAGE),
    ("lab", "up", "--dir", "{lab}", "--api-latency", "nan"),
    ("lab", "up", "--dir", "{lab}", "--api-rate-limit", "-1"),
    ("lab", "up", "--dir", "{lab}", "--api-max-sessions", "0"),
    ("lab", "serve", "--dir", "{lab}", "--api-init-after-boot", "1e9"),
    ("lab", "serve", "--dir", "{lab}", "--domains", "0"),
    ("lab", "status", "--dir", "{lab}"),
    ("lab", "change", "--dir", "{lab}"),
    ("lab", "change", "--dir", "{lab}", "--domain", "dom1", "--on", "mds1"),
    ("lab", "fix", "--dir", "{lab}"),
    ("lab", "reboot", "--dir", "{lab}"),
    ("lab", "drop", "mds1", "--dir", "{lab}", "--seconds", "abc"),
    ("lab", "events", "--dir", "{lab}", "--last", "x"),
]


@pytest.mark.parametrize(
    "args", FUZZ, ids=lambda a: " ".join(a)[:40].encode("unicode_escape").decode()
)
def test_every_subcommand_refuses_missing_or_garbage_arguments(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """Exit 2 with a message on stderr, never a traceback, and nothing written anywhere
    (no lab started, no report, no file made by a substitution)."""
    inventory = write_inventory(tmp_path / "inv", BASE)
    garbage = tmp_path / "garbage.yml"
    garbage.write_bytes(b"\xff\xfe: [\n\t- {")
    values = {
        "{inventory}": str(inventory),
        "{missing}": str(tmp_path / "missing"),
        "{garbage}": str(garbage),
        "{lab}": str(tmp_path / "lab"),
    }
    before = tree_digest(tmp_path)
    proc = cli(*(values.get(a, a) for a in args), cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-1500:])
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.stderr.strip(), "a message says what was wrong"
    assert changed(before, tree_digest(tmp_path)) == []
