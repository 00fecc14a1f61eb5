# mypy: disable-error-code="top-level-await"
"""Runbook 02, Prepare HA, back up, start the change freeze: the cells of its notebook."""

from header import run

from mdstools import checks
from mdstools.procedure import common, prepare, snapshots

# %% when [markdown]
# Run it right before the upgrade. Undo: `set-ha-state` back to the previous actives (the table
#   below is the record of what was active).

# %% [markdown]
# ## Step 1 (R3): the earlier phases passed

# %%
run.require_phases()

# %% [markdown]
# ## Step 2 (R7, R1): active and standby per domain
# Before an MDS is upgraded in HA mode, every DMS must be Active on the primary.

# %%
primary = run.inventory.primary.name
entries = common.ha_state(run)
switch = prepare.to_switch(entries, primary)
prepare.ha_frame(entries, primary)

# %% [markdown]
# ## Step 3 (R7, X1): confirm the changes of this phase

# %%
ok = run.confirm(prepare.confirm_question(switch, primary))

# %% [markdown]
# ## Step 4 (R7, R1): make the primary's DMS active where it is not

# %%
run.decided(await ok)
prepare.make_active_on_primary(run, switch)

# %% [markdown]
# ## Step 5 (R7): gate: every DMS active on the primary

# %%
run.gate(checks.dms_active_on_primary(common.ha_state(run), primary))

# %% [markdown]
# ## Step 6 (X1): free space for the backups

# %%
space = prepare.free_space(run)
run.gate(prepare.space_check(space, run.params["backup_min_free_mb"]))
space

# %% [markdown]
# ## Step 7 (X1): `mds_backup` on every MDS (size, path, SHA-256)

# %%
backups = prepare.run_backups(run)
run.gate(prepare.backups_check(backups))
backups

# %% [markdown]
# ## Step 8 (R6): start the change freeze
# The last published session of every DMS database; later phases report changes made since.

# %%
prepare.freeze_markers(run)

# %% [markdown]
# ## Step 9 (B1): space for a Gaia snapshot on every MDS and MLM
# The snapshot is the way back of a failed upgrade (runbook 09 reverts to it). `show snapshots`
#   says what a new snapshot needs and what the backup volume has.

# %%
snapshot_space = snapshots.space(run)
run.gate(snapshots.space_check(snapshot_space))
snapshot_space

# %% [markdown]
# ## Step 10 (B1): a Gaia snapshot of every MDS and MLM
# `add snapshot mdstools_<ticket>_<server>` on every server (they are created at the same time,
#   about 30 minutes), each waited for; name, version, size and time go to `backups.json`. A
#   rerun of 02 deletes the ticket's earlier snapshot and takes it again. The snapshots stay on
#   the servers: delete them (`delete snapshot <name>`) once the upgrade is accepted.

# %%
taken = snapshots.take(run)
run.gate(snapshots.taken_check(taken))
taken
