"""Adversarial: the procedures' implicit ``mgmt_cli -r true`` reads right after an
``mdsstop; mdsstart`` or a reboot, when the API still answers "initializing". The status and
``procedure.common.ha_state`` retry such an answer with backoff (``mgmt_api.run_retrying``);
phase 06's ``show-domains`` does not: the first "initializing" answer fails the phase (the
defect is marked xfail, strict; phase 07's ``show-domains`` in ``procedure/sync.py`` and the
watch's ``show-changes`` in ``procedure/freeze.py`` are read the same way)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mdstools.procedure import objects
from tests.procedure.harness import fixture, mgmt_error, scripted

INITIALIZING = mgmt_error(
    "generic_server_initializing", "Server is initializing. Please try again later."
)
DOMAINS = fixture("show_domains/lab_r81.10.txt")


@pytest.mark.xfail(
    strict=True,
    reason="procedure/objects.py object_versions runs show-domains once (check=True), not "
    "through mgmt_api.run_retrying: phase 06 fails right after its own mdsstop; mdsstart",
)
def test_phase_06_object_versions_wait_out_an_initializing_api(tmp_path: Path) -> None:
    answers = {"mds1": {"show-domains": [INITIALIZING, INITIALIZING, DOMAINS]}}
    s = scripted(tmp_path, answers, phase_id="06", params={"time_scale": 0.0001})
    infos = objects.object_versions(s.run)
    assert infos
