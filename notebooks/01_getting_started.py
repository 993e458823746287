# %% [markdown]
# # Getting started
#
# livescan runs bluesky-style **plans** on the notebook kernel's own event loop. While a plan
# runs, the **RunEngine** turns what the devices report into **documents** (plain dicts: a
# `start`, a `descriptor`, one `event` per point, a `stop`) and hands each one to the
# functions you subscribed — the **callbacks**. Live tables and plots are callbacks; so is
# saving the data.
#
# Everything here uses simulated devices: no hardware, no network.

# %%
import os
import tempfile
from pathlib import Path

# Files written here go into a scratch folder, never next to the notebook.
workdir = Path(os.environ.get("LIVESCAN_TUTORIAL_DIR") or tempfile.mkdtemp(prefix="livescan-"))
os.environ["LIVESCAN_SIM_DATA"] = str(workdir / "camera")  # the simulated camera's files

# %% [markdown]
# ## A RunEngine
#
# One per session. We also subscribe a run store, so every run of this tutorial is saved to
# disk; that subscription is *lossless* (it gets every document, see tutorial 02).

# %%
from livescan import RunEngine
from livescan.store import RunStore

RE = RunEngine()
db = RunStore(workdir / "runs")
db_token = RE.subscribe_lossless(db)  # every run is saved (tutorial 05 reads them back)

# %% [markdown]
# ## Simulated devices
#
# `motor` is a motor; `det` is a detector whose reading is a Gaussian of the motor's position
# (1 at 0). `det1`, `det2`, `det3` follow `motor1`, `motor2`, `motor3`.

# %%
from livescan.sim import det, det1, det2, det3, motor

motor.set(0.5)
print(motor.read())
print(det.read())

# %% [markdown]
# ## The simplest callback: `print`
#
# `RE(plan, callback)` sends every document of that run to `callback(name, doc)`. The raw
# documents are long; here is a one-point `count`.

# %%
from livescan.plans import count, scan

await RE(count([det]), print)

# %% [markdown]
# `await` keeps the cell busy until the run ends and returns the run's start uids.
#
# ## LiveTable
#
# `LiveTable` takes the fields (or devices) to show. In a notebook it is a grid that grows
# with the run, with bluesky's summary line at the end.

# %%
from livescan.callbacks import LivePlot, LiveTable

dets = [det1, det2, det3]
await RE(count(dets, num=4), LiveTable(dets))

# %% [markdown]
# `view='text'` prints bluesky's text table instead (that is what you get in a terminal).

# %%
await RE(count(dets, num=4), LiveTable(dets, view="text"))

# %% [markdown]
# ## LivePlot
#
# `LivePlot(y, x)` draws `y` against `x` (without `x`, against the event's `seq_num`). Pass
# several callbacks as a list.

# %%
table = LiveTable([det, motor])
plot = LivePlot("det", "motor")
result = await RE(scan([det], motor, -3, 3, num=31), [table, plot])
result, result.exit_status

# %% [markdown]
# A `LivePlot` can be reused: each run adds its own line to the same figure (the legend shows
# the scan id). The figure above updates too.

# %%
motor.delay = 0.01  # a slower motor, so the live updates are visible
result = await RE(scan([det], motor, -2, 2, num=21), [LiveTable([det, motor]), plot])
motor.delay = 0.0
result.exit_status

# %% [markdown]
# ## The run-status widget
#
# Every run shows a status line: plan, scan id, state, progress, elapsed time and ETA, and
# **Pause / Resume / Stop / Abort** buttons. They work while the cell is awaiting the run.
# `RE(plan)` without `await` returns a handle at once and the run goes on in the background;
# `await handle` waits for it later.

# %%
from livescan.sim import noisy_det

handle = RE(scan([noisy_det], motor, -3, 3, num=41), LivePlot("noisy_det", "motor"))
result = await handle
print(result.exit_status, handle.num_events, "events")

# %% [markdown]
# ## Where the data went
#
# The run store holds every run of this session, newest last. Tutorial 05 shows more.

# %%
run = db[-1]
print(len(db), "runs saved;", "the last one:", run.start["plan_name"], run.start["scan_id"])
print(run["primary"]["noisy_det"][:5])

# %% [markdown]
# Next: [02 — the ways to subscribe](02_subscriptions.ipynb).
