# %% [markdown]
# # Rasters and images
#
# `LiveRaster` fills a heat map pixel by pixel during a grid scan; `LiveImage` shows camera
# frames with a frame slider and cross-section profiles.

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

# %% [markdown]
# ## A grid scan with LiveRaster
#
# `det4` is a 2-D Gaussian of `motor1` and `motor2`. The first motor is the slow axis; with
# `snake_axes=True` the fast axis turns around at each row (the raster knows from the start
# document). `LiveRaster(raster_shape, field)` takes the grid's (rows, columns).

# %%
from livescan.callbacks import LivePlot, LiveRaster, LiveTable
from livescan.plans import grid_scan, scan
from livescan.sim import det4, motor1, motor2

raster = LiveRaster((15, 15), "det4", xlabel="motor2", ylabel="motor1", extent=(-2, 2, -2, 2))
plan = grid_scan([det4], motor1, -2, 2, 15, motor2, -2, 2, 15, snake_axes=True)
result = await RE(plan, [raster, LivePlot("det4")])
print(result.exit_status, raster.data.shape, f"max {raster.data.max():.3f}")

# %% [markdown]
# A `LiveRaster` can be reused run after run; the next grid is coarser and the colour limits
# are fixed with `clim`.

# %%
coarse = grid_scan([det4], motor1, -2, 2, 7, motor2, -2, 2, 7)
await RE(coarse, LiveRaster((7, 7), "det4", clim=(0, 1)))

# %% [markdown]
# ## A camera with LiveImage
#
# `img` is a simulated area detector: its 64×64 frames show a spot that follows `motor1` and
# `motor2`. Like a real one it writes frames to an HDF5 file and the events only carry
# references (resource/datum documents); `LiveImage` reads a frame when it shows it. Move the
# frame slider, change the colour map, click the image to move the crosshair.

# %%
from livescan.callbacks import LiveImage
from livescan.sim import img

viewer = LiveImage("img")
result = await RE(scan([img], motor1, -1.5, 1.5, num=12), [viewer, LiveTable(["motor1"])])
frames = db[-1]["primary"]["img"]
print(result.exit_status, frames.shape, frames.dtype)

# %% [markdown]
# `direct_img` is the same camera with its frames inside the events; `LiveImage` shows
# either. Here with a fixed contrast and another colour map.

# %%
from livescan.sim import direct_img

viewer2 = LiveImage("direct_img", cmap="magma", clim=(0, 1500))
await RE(scan([direct_img], motor2, -1, 1, num=8), viewer2)
