"""The procedures' implicit ``mgmt_cli -r true`` reads right after an ``mdsstop; mdsstart``
or a reboot, when the API still answers "initializing": phase 06's ``show-domains``, phase
07's (``procedure/sync.py``) and the watch's ``show-changes`` wait it out with backoff
(``mgmt_api.run_retrying``), as the status and ``procedure.common.ha_state`` do."""

from __future__ import annotations

import json
from pathlib import Path

from mdstools.procedure import freeze, objects
from mdstools.procedure.prepare import FREEZE
from tests.procedure.data.freeze import SINCE, TASK, batch_answer, changes_task
from tests.procedure.data.prepare import published
from tests.procedure.harness import fixture, in_session, mgmt_error, scripted

INITIALIZING = mgmt_error(
    "generic_server_initializing", "Server is initializing. Please try again later."
)
DOMAINS = fixture("show_domains/lab_r81.10.txt")


def test_phase_06_object_versions_wait_out_an_initializing_api(tmp_path: Path) -> None:
    answers = {"mds1": {"show-domains": [INITIALIZING, INITIALIZING, DOMAINS]}}
    s = scripted(tmp_path, answers, phase_id="06", params={"time_scale": 0.0001})
    infos = objects.object_versions(s.run)
    assert infos


def test_the_watch_waits_out_an_initializing_show_changes(tmp_path: Path) -> None:
    answers = {
        "mds1": {"show-last-published": batch_answer({"dom1": published("s0", 100)})},
        "mds2": {
            "show-last-published": batch_answer({"dom1": published("s1", 200)}),
            "show-changes": [INITIALIZING, json.dumps({"task-id": TASK})],
            "read-only true.*show-task": in_session("dom1", answer=changes_task("bob", 150, "h2")),
            "show-task": changes_task("bob", 150, "h2"),
        },
    }
    s = scripted(tmp_path, answers, phase_id="03", params={"time_scale": 0.0001})
    markers = [
        {"domain": "dom1", "server": m, "publish_posix": 100, "session": "s0"}
        for m in ("mds1", "mds2")
    ]
    body = {"started_by": "op", "started_at": f"{SINCE}+00:00", "markers": markers}
    s.run.write_file(FREEZE, json.dumps(body) + "\n")
    found = freeze.collect(s.run)
    assert [(c.server, c.object_name) for c in found] == [("mds2", "h2")]
