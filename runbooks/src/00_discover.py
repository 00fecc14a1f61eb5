"""Runbook 00, Discover the deployment: the cells of its notebook."""

from header import run

from mdstools import checks, ui
from mdstools.procedure import discover

# %% when [markdown]
# Run it first, and again whenever you want a fresh picture. It changes nothing.

# %% [markdown]
# ## Step 1 (R2, R4): connect to every server and take the snapshot
# Versions, `mdsstat` of every server, domains and HA state, in parallel.

# %%
snap = discover.snapshot(run)
run.gate(discover.reachable(snap))
discover.servers_frame(snap)

# %% [markdown]
# ## Step 2 (R12): process status of every DMS and Domain Log Server
# Rows that are not all up come first.

# %%
ui.table(discover.domain_servers_frame(snap), "domain servers")

# %% [markdown]
# ## Step 3 (R1, R7): HA state per domain and the active MDS of Global
# Global policy and objects can only be managed on the active MDS (R1).

# %%
run.gate(discover.global_active(run, snap), stop=False)
ui.table(discover.domains_frame(snap), "domains")

# %% [markdown]
# ## Step 4 (R4): versions
# MDSs only synchronize at the same version.

# %%
run.gate(checks.versions_consistent({s.name: s.version for s in snap.servers}), stop=False)
run.gate(
    checks.versions_on_target(
        {s.name: s.version for s in snap.servers}, run.inventory.target_version, severity="info"
    )
)

# %% [markdown]
# ## Step 5 (R4, R12): record the baseline
# Phase 08 compares the end state with it.

# %%
discover.save(run, snap, discover.BASELINE)

# %% [markdown]
# ## Out of scope (R16)

# %%
discover.out_of_scope()
