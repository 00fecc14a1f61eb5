# mypy: disable-error-code="top-level-await"
"""Runbook 05, Upgrade the Multi-Domain Log Servers: the cells of its notebook."""

from header import run

from mdstools import checks
from mdstools.procedure import common, upgrade

# %% when [markdown]
# Every Multi-Domain Log Server, to the same version as the MDSs (R8).

# %% [markdown]
# ## Step 1 (R5): phase 04 passed and every MDS runs the target version

# %%
run.require_phases()
run.gate(upgrade.mdss_on_target(run))

# %% [markdown]
# ## Step 2 (R8): confirm

# %%
names = [s.name for s in run.inventory.log_servers]
ok = run.confirm(
    f"Upgrade {', '.join(names) or 'no log server'} to {run.inventory.target_version} "
    "(each reboots)"
)

# %% [markdown]
# ## Step 3 (R8): upgrade each log server

# %%
run.decided(await ok)
outcomes = [upgrade.upgrade_server(run, n) for n in names]
upgrade.outcomes_frame(outcomes)

# %% [markdown]
# ## Step 4 (R4, R8): every server now runs the target version

# %%
run.gate(upgrade.processes_after(outcomes), stop=False)
versions = common.versions_all(run)
run.gate(checks.versions_on_target(versions, run.inventory.target_version))

# %%
import pandas as pd

pd.DataFrame(sorted(versions.items()), columns=["server", "version"])
