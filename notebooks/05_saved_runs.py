# %% [markdown]
# # Saved runs: the run store and replay
#
# `RunStore(path)` keeps every run it is subscribed to in a folder (a JSON-lines journal per
# run and an index). Runs can be looked up, read as arrays, and **replayed** into any
# callback — the live widgets included — as if they were live.

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
from livescan.callbacks import LiveImage, LivePlot, LiveRaster, LiveTable
from livescan.plans import grid_scan, scan
from livescan.sim import det, det4, img, motor, motor1, motor2

await RE(scan([det], motor, -2, 2, num=21), sample="Si")
await RE(grid_scan([det4], motor1, -2, 2, 9, motor2, -2, 2, 9, snake_axes=True))
await RE(scan([img], motor1, -1, 1, num=6), sample="Au")
print(len(db), "runs in", db.path)

# %% [markdown]
# ## Looking runs up
#
# `db[-1]` is the newest run, `db[1]` the newest with scan id 1, `db["3f2a…"]` a uid (or a
# unique prefix); `db.search(...)` filters on start-document keys.

# %%
for run in db:
    start = run.start
    print(start["scan_id"], start["plan_name"], start.get("sample"), run.exit_status)

# %%
run = db[1]
primary = run["primary"]
print(primary["motor"])
print(primary["det"].round(3))

# %%
[r.start["scan_id"] for r in db.search(sample="Si")]

# %% [markdown]
# File-backed frames are read from the camera's files when asked for:

# %%
frames = db[-1]["primary"]["img"]
frames.shape, frames.dtype

# %% [markdown]
# ## Replaying into live callbacks
#
# `replay(run, callback)` (or the spec's `stream(header, callback)`) sends the stored
# documents to any callback. The text table and the plot below are drawn from the store.

# %%
from livescan.store import replay, stream

n = stream(db[1], LiveTable(["det", "motor"], view="text"))
print(n, "documents replayed")

# %%
plot = LivePlot("det", "motor", legend_keys=["sample"])
replay(db[1], plot)
plot

# %%
raster = LiveRaster((9, 9), "det4", xlabel="motor2", ylabel="motor1")
replay(db[2], raster)
raster

# %%
viewer = LiveImage("img")
replay(db[3], viewer)
viewer

# %% [markdown]
# `replay(run, callback, realtime=True, speed=2)` waits between documents as long as they
# were apart when recorded (here twice as fast): a slow scan plays back slowly.

# %%
import time

from livescan.sim import motor

motor.delay = 0.02
await RE(scan([det], motor, -1, 1, num=11))
motor.delay = 0.0
t0 = time.perf_counter()
replay(db[-1], LiveTable(["det"], view="text"), realtime=True, speed=2)
recorded = db[-1].stop["time"] - db[-1].start["time"]
print(f"replayed in {time.perf_counter() - t0:.2f} s; recorded in {recorded:.2f} s")
