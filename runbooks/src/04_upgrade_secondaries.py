# mypy: disable-error-code="top-level-await"
"""Runbook 04, Upgrade the secondary MDSs: the cells of its notebook."""

from header import run

from mdstools.procedure import upgrade

# %% when [markdown]
# Each secondary MDS, one at a time, after the primary (R5).

# %% [markdown]
# ## Step 1 (R5): phase 03 passed and the primary runs the target version

# %%
run.require_phases()
run.gate(upgrade.primary_on_target(run))

# %% [markdown]
# ## Step 2 (R5): confirm

# %%
names = [s.name for s in run.inventory.secondaries]
ok = run.confirm(
    f"Upgrade {', '.join(names) or 'no secondary'} to {run.inventory.target_version}, "
    "one at a time (each reboots)"
)

# %% [markdown]
# ## Step 3 (R5): upgrade each secondary, one at a time

# %%
run.decided(await ok)
outcomes = [upgrade.upgrade_server(run, n) for n in names]
upgrade.outcomes_frame(outcomes)

# %% [markdown]
# ## Step 4 (R4): versions and processes

# %%
run.gate(upgrade.on_target(run, outcomes))
run.gate(upgrade.processes_after(outcomes), stop=False)
