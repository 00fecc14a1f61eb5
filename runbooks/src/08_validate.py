"""Runbook 08, Validate against the baseline: the cells of its notebook."""

from header import run

from mdstools import estimate, ui
from mdstools.procedure import discover, timeline

# %% when [markdown]
# The end state against the baseline of phase 00. It changes nothing.

# %% [markdown]
# ## Step 1 (R4, R12): the end state

# %%
snap = discover.snapshot(run)
discover.servers_frame(snap)

# %% [markdown]
# ## Step 2 (R4, R10, R12): compared with the baseline

# %%
results = discover.compare(run, snap)
for r in results:
    run.gate(r, stop=False)
ui.checks_table(results)

# %% [markdown]
# ## Step 3 (R9, R10, R12): domains and domain servers now

# %%
ui.table(discover.domains_frame(snap), "domains")

# %%
ui.table(discover.domain_servers_frame(snap), "domain servers")

# %% [markdown]
# ## Step 4 (R5, X5): the campaign timeline
# Which server was upgraded when, how long its domains were down, and when each decision was made
#   (D1, D2, ...: what, by whom, how). Phase time is the run of each phase whose verdict is on
#   record; abandoned, superseded and dry runs are left out.

# %%
ui.html_block(timeline.svg(run.report_dir, run.run_id))
import pandas as pd

ui.display(
    pd.DataFrame(
        timeline.decisions(run.report_dir, run.run_id),
        columns=["label", "time", "phase", "decision", "value", "by", "how"],
    )
)
pd.DataFrame(timeline.downtime(run.report_dir), columns=["server", "down from", "seconds"])

# %% [markdown]
# ## Step 5 (X5): the phases' real durations against the estimate
# The change window's estimate (`mdstools plan`: the durations of `docs/durations.md` or the
#   inventory's timings file, the domains of the baseline) per phase, the time each phase really
#   took (the runs that count, as above; 08 so far) and real / estimated, at the run's time scale.
#   Written to `estimate.json`.

# %%
pd.DataFrame(estimate.compare_run(run), columns=estimate.COLUMNS)

# %% [markdown]
# ## Step 6 (X5): record the final state

# %%
discover.save(run, snap, discover.FINAL)
