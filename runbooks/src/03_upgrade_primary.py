# mypy: disable-error-code="top-level-await"
"""Runbook 03, Upgrade the primary MDS: the cells of its notebook."""

from header import run

from mdstools.procedure import upgrade

# %% when [markdown]
# The primary MDS first (R5). It reboots; the runbook waits for it. Undo: restore the Gaia snapshot
#   or the mds_backup taken in phase 02.

# %% [markdown]
# ## Step 1 (R3): phases 01 and 02 passed for this ticket and inventory

# %%
run.require_phases()

# %% [markdown]
# ## Step 2 (R5): confirm the upgrade of the primary

# %%
primary = run.inventory.primary.name
ok = run.confirm(f"Upgrade {primary} to {run.inventory.target_version} (it reboots)")

# %% [markdown]
# ## Step 3 (R5): upgrade the primary and wait for it
# `installer upgrade` returns at once; done when `show installer package` says Installed and
#   `fw ver` the target. The wait survives the reboot.

# %%
run.decided(await ok)
outcomes = [upgrade.upgrade_server(run, primary)]
upgrade.outcomes_frame(outcomes)

# %% [markdown]
# ## Step 4 (R4): its version and its processes

# %%
run.gate(upgrade.on_target(run, outcomes))
run.gate(upgrade.processes_after(outcomes), stop=False)
upgrade.current_mdsstat(run, primary)

# %% [markdown]
# ## Continuous management (R13)
# With `continuous_management=True` the primary's DMSs may now be set Active and managed while the
#   others are upgraded; synchronization waits until every MDS is upgraded (phase 07).

# %%
print("continuous management:", run.carried_text("continuous_management"))
