# mypy: disable-error-code="top-level-await"
"""Runbook 09, Back out: the cells of its notebook."""

from header import run

from mdstools import ui
from mdstools.procedure import backout, discover, freeze

# %% when [markdown]
# Only when the campaign has to be undone: after any of 02-08 passed (02 took the snapshots and
#   backups); not part of `mdstools campaign`. Everything published on a reverted server after its
#   snapshot is lost: the runbook lists it for re-entry before anything changes.

# %% [markdown]
# ## Step 1 (B2): phase 02 passed: there is something to go back to

# %%
run.require_phases()

# %% [markdown]
# ## Step 2 (B2): what the ticket changed, and the snapshots of phase 02
# A server is reverted when its version differs from the baseline of phase 00, or when this ticket
#   started its upgrade. Its snapshot must be recorded complete by 02 and listed by
#   `show snapshots`.

# %%
found = backout.targets(run)
backout.targets_frame(found)

# %% [markdown]
# ## Step 3 (B2): the servers to revert
# Preset: every server the ticket changed. Headless: `backout_servers` (empty: that preset).

# %%
choice = run.select(
    "backout_servers",
    backout.select_question(found),
    [t.server for t in found],
    backout.default_servers(found),
    "backout_servers",
)

# %% [markdown]
# ## Step 4 (B2): a snapshot for every server to revert
# If one has none, nothing is reverted: the steps to do by hand are below (or leave it out).

# %%
picked = backout.chosen(run, found, run.decided(await choice))
ui.markdown(backout.manual_steps(picked))
run.gate(backout.snapshots_check(picked))

# %% [markdown]
# ## Step 5 (B3): what the revert loses
# Every change published on a server to revert after its snapshot, or on another MDS than the
#   primary since the freeze (the full sync from the primary writes over it): the checklist below,
#   `backout_reentry.csv`, and a DRAFT `backout_reentry_draft.mgmt.txt` (review it).

# %%
lost = backout.reentry(run, backout.losses(run, picked))
ui.markdown(freeze.checklist(lost))
lost

# %% [markdown]
# ## Step 6 (B2, B3): confirm the reverts

# %%
ok = run.confirm(backout.confirm_question(picked, lost, found))

# %% [markdown]
# ## Step 7 (B2): revert, one server at a time
# `set snapshot revert`; the server reboots (the wait survives it), comes back on the snapshot's
#   version; then `mdsstart` and every process up.

# %%
run.decided(await ok)
done = backout.revert_all(run, picked)
run.gate(backout.reverted_check(done))
done

# %% [markdown]
# ## Step 8 (B4): the primary active for every domain, the standbys synchronized

# %%
ha = backout.restore_ha(run)
ha

# %% [markdown]
# ## Step 9 (B4): gate: the end state against the baseline

# %%
snap = backout.settled(run)
discover.domains_frame(snap)

# %%
results = backout.compare(run, snap, ha)
for r in results:
    run.gate(r, stop=False)
ui.checks_table(results)
