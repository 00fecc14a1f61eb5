# mypy: disable-error-code="top-level-await"
"""Runbook 01, Pre-upgrade verification on every server: the cells of its notebook."""

from header import run

from mdstools import checks, frames
from mdstools.procedure import verification

# %% when [markdown]
# Run it on every server before upgrading any (R2), and again after fixing errors. With CPUSE it
#   imports the upgrade package where it is missing (no upgrade yet).

# %% [markdown]
# ## Step 1 (R2): the pre-upgrade verifier on ALL MDSs and MLMs, in parallel

# %%
reports = verification.verify_all(run)
verification.summary_frame(reports)

# %% [markdown]
# ## Step 2 (R2): every finding, errors first

# %%
frames.findings({n: r.findings for n, r in reports.items()})

# %% [markdown]
# ## Step 3 (R3): acknowledge every warning by name
# Interactively: tick each reviewed warning, click Acknowledge, run the next cell. Headless:
#   `acknowledge_warnings` lists the ids.

# %%
ack = run.acknowledge("warnings reviewed", verification.warning_items(reports))

# %% [markdown]
# ## Step 4 (R3): gate: no error on any server, every warning acknowledged
# Phase 03 refuses to start unless this passed for this ticket and inventory.

# %%
run.gate(checks.verifier_clean(reports, run.decided(await ack)))
