# mypy: disable-error-code="top-level-await"
"""Runbook 07, Synchronize HA: the cells of its notebook."""

from header import run

from mdstools import checks, ui
from mdstools.procedure import freeze, sync

# %% when [markdown]
# After every MDS and MLM runs the target version (R4): one active per domain (R9), Collision
#   resolved (R14, R15), standbys synchronized (R10).

# %% [markdown]
# ## Step 1 (R4): phase 06 passed; every server on the target version

# %%
run.require_phases()
snap = sync.view(run)
run.gate(sync.versions_check(run, snap))

# %%
sync.sync_frame(snap)

# %% [markdown]
# ## Step 2 (R14): domains in Collision, and what each side changed
# Their databases were changed on two MDSs during the upgrade. For each: the changes of each side
#   since the freeze, and the recommended side to retain (the smaller loss; the primary's when
#   equal).

# %%
run.gate(
    checks.no_collision(sync.states(snap), "no collision before resolution"),
    stop=False,
    severity="warning",
)
found = freeze.collisions(run, snap)
freeze.show(found)

# %% [markdown]
# ## Step 3 (R15): the database to retain
# Only where both sides changed something (a domain changed on one side only keeps that side:
#   nothing is lost). Interactively: choose below. Headless: `retain_database_on`.

# %%
mdss = [m.name for m in run.inventory.mdss]
pending = [f.domain for f in found if f.lossless_choice is None]
choice = (
    run.choose_each(
        "retain_database_on",
        freeze.choice_question(found),
        pending,
        mdss,
        "retain_database_on",
        recommended={f.domain: f.recommended for f in found},
    )
    if pending
    else None
)

# %% [markdown]
# ## Step 4 (R15, R10): the decision, and confirm

# %%
retain = freeze.retained(run, found, await run.wait(choice), mdss)
ok = run.confirm(
    f"{freeze.retain_words(found, retain)}; one active per domain; full sync of the standbys"
)
freeze.retain_frame(found, retain)

# %% [markdown]
# ## Step 5 (R15, R9, R10): resolve collisions, one active per domain, synchronize the standbys

# %%
run.decided(await ok)
sync.apply(run, snap, retain)

# %% [markdown]
# ## Step 6 (R15): the changes to re-enter
# Every change of the side that was not retained: the checklist below, `reentry.csv`, and a DRAFT
#   `reentry_draft.mgmt.txt` (hosts, networks, groups, services; review it).

# %%
lost = freeze.reentry(run, found, retain)
ui.markdown(freeze.checklist(lost))
lost

# %% [markdown]
# ## Step 7 (R9, R10, R14): gate: one active per domain, every peer Synchronized

# %%
final = sync.wait_synchronized(run)
run.gate(checks.no_collision(sync.states(final)))
run.gate(checks.synchronized(sync.states(final)))

# %%
sync.sync_frame(final)
