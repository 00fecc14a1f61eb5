"""The cells every runbook shares, written once: ``tools/make_runbooks.py`` puts them into each
notebook (the header's title first, the change-freeze watch as Step 0 of phases 03 to 07, the
verdict last). ``BLOCKING`` in the watch cell becomes ``True`` in phases 03 to 06 and ``False``
in 07 (a collision risk is carried forward to phase 07, which resolves it).
"""

from header import run

BLOCKING = True

# %% header [markdown]
# ## The run
# Who, what, where: the header of the record.

# %% watch [markdown]
# ## Step 0 (R6, R13): changes since the change freeze
# Every change published since phase 02, per domain and MDS (who, when, which objects): *safe*
#   when made on the DMS whose database is kept, else a *collision risk*. A risk stops this phase
#   unless `continuous_management=True` (then it is carried forward to phase 07). Set in one
#   phase, `continuous_management` holds for the later phases of this ticket that leave it
#   `None`; the header says where it came from.

# %% watch
from mdstools.procedure import freeze

changes = freeze.watch(run)
run.gate(freeze.watch_check(run, changes, blocking=BLOCKING))
changes

# %% footer [markdown]
# ## Verdict
# Every check of this phase, failing ones first; the phase result is recorded for the next
#   phases' gates.

# %% footer
run.finish()
