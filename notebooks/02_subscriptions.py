# %% [markdown]
# # Ways to subscribe callbacks
#
# A callback is any function `f(name, doc)`. There are four ways to subscribe one, and two
# kinds of delivery: **lossy** (live feedback: may skip events when it falls behind, can
# neither slow the scan much nor end it) and **lossless** (every document, in order; for
# saving data).

# %%
import os
import tempfile
from pathlib import Path

# Files written here go into a scratch folder, never next to the notebook.
workdir = Path(os.environ.get("LIVESCAN_TUTORIAL_DIR") or tempfile.mkdtemp(prefix="livescan-"))
os.environ["LIVESCAN_SIM_DATA"] = str(workdir / "camera")  # the simulated camera's files

# %%
from livescan import RunEngine
from livescan.store import RunStore

RE = RunEngine()
db = RunStore(workdir / "runs")
db_token = RE.subscribe_lossless(db)  # every run is saved (tutorial 05 reads them back)

# %%
from livescan.callbacks import LivePlot, LiveTable
from livescan.plans import Count, count, scan
from livescan.sim import det, det1, det2, det3, motor

dets = [det1, det2, det3]

# %% [markdown]
# ## Per run
#
# A second argument to `RE`: one callback, a list of them, or a dict that routes documents by
# name. The allowed keys are `'all'`, `'start'`, `'descriptor'`, `'event'` and `'stop'`.

# %%
await RE(count(dets, num=3), LiveTable(dets))

# %%
callbacks = [LiveTable([det, motor]), LivePlot("det", "motor")]
await RE(scan([det], motor, -2, 2, num=15), callbacks)


# %%
def show_start(name, doc):
    print(f"{name}: scan {doc['scan_id']} of {doc['plan_name']!r}, uid {doc['uid'][:8]}")


await RE(count(dets, num=3), {"all": [LiveTable(dets)], "start": show_start})

# %% [markdown]
# ## Every time a plan is used: `plan.subs`
#
# Plan objects (`Count`, `Scan`, `GridScan`, …) carry their own subscriptions, a dict of
# lists, used each time the plan runs.

# %%
plan = Count(dets, num=4)
plan.subs

# %%
plan.subs["all"].append(LiveTable(dets))
await RE(plan)

# %% [markdown]
# Now change the detectors of the plan. The table in `plan.subs` still asks for `det3`, so we
# take it out again …

# %%
plan.detectors.remove(det3)
plan.subs["all"].clear()
plan.detectors


# %% [markdown]
# … and use a **subscription factory** instead: a function that takes the plan and returns a
# callback, called afresh at every run, so the table always matches the plan.


# %%
def make_table_with_detectors(plan):
    return LiveTable(plan.detectors)


plan.sub_factories["all"].append(make_table_with_detectors)
await RE(plan)

# %% [markdown]
# ## Every run: `RE.subscribe`
#
# `RE.subscribe(func, name='all')` (or bluesky's older order `RE.subscribe(name, func)`)
# applies to every run until `RE.unsubscribe(token)`. A widget subscribed this way shows
# wherever you display it; this plot collects the runs below.

# %%
seen = []


def note_events(name, doc):
    seen.append(doc["seq_num"])


overview = LivePlot("det", "motor", legend_keys=["plan_name"])
tokens = [RE.subscribe(overview), RE.subscribe(note_events, "event")]
overview

# %%
await RE(scan([det], motor, -1, 1, num=11))
await RE(scan([det], motor, 0, 3, num=16))
for token in tokens:
    RE.unsubscribe(token)
print(len(seen), "events seen by note_events")

# %% [markdown]
# ## Lossless: `RE.subscribe_lossless`
#
# Lossy callbacks that fall behind skip events (counted on the run handle as `skipped`);
# lossless ones get every document, and may slow the scan down to do so. Here a callback
# that takes 20 ms per event watches a 300-point count (5 ms per point) next to a lossless one.

# %%
import time

slow_seen, every = [], []


def slow(name, doc):
    if name == "event":
        time.sleep(0.02)
        slow_seen.append(doc["seq_num"])


def keep_all(name, doc):
    every.append(doc["seq_num"])


token = RE.subscribe_lossless(keep_all, "event")
handle = RE(count([det], num=300, delay=0.005), slow)
result = await handle
RE.unsubscribe_lossless(token)
print(f"lossless: {len(every)} events; slow lossy: {len(slow_seen)}")
print("skipped:", handle.skipped)

# %% [markdown]
# The run store subscribed at the top is a lossless subscriber too: every run above is in it.
# If a lossless callback raises, the run ends cleanly (`exit_status='fail'`) and you get the
# error; a lossy one that raises is reported and the run goes on.

# %%
print(len(db), "runs saved")
