# mypy: disable-error-code="top-level-await"
"""Runbook 06, Update object versions: the cells of its notebook."""

from header import run

from mdstools.procedure import objects

# %% when [markdown]
# After every server is upgraded: the guide's exact commands on each MDS (R12), so that standby DMSs
#   and log servers show the right versions (R11).

# %% [markdown]
# ## Step 1 (R5): phase 05 passed

# %%
run.require_phases()

# %% [markdown]
# ## Step 2 (R11): object versions before

# %%
before = objects.object_versions(run)
objects.versions_frame(before)

# %% [markdown]
# ## Step 3 (R12): confirm

# %%
names = [m.name for m in run.inventory.mdss]
ok = run.confirm(
    f"On {', '.join(names)}: start DMSs that are down, mds_fix_cmas_clms_version -c ALL, "
    "mdsstop; mdsstart"
)

# %% [markdown]
# ## Step 4 (R12): on each MDS: `mdsstat`; `mdsstart_customer` for DMSs that are down; `mdsenv`;
#   `$MDSDIR/scripts/mds_fix_cmas_clms_version -c ALL`; `mdsstop; mdsstart`; `mdsstat` until all up

# %%
run.decided(await ok)
steps = [objects.on_mds(run, n) for n in names]
run.gate(objects.steps_check(steps))

# %%
import pandas as pd

pd.concat(steps, ignore_index=True)

# %% [markdown]
# ## Step 5 (R11): object versions after

# %%
after = objects.object_versions(run)
run.gate(objects.versions_check(run, after))
objects.versions_frame(before, after)
