# %% [markdown]
# # Exporting: TIFF, HDF5, and checking it was saved
#
# Exporters are callbacks too. To be sure no frame is missed they are subscribed **lossless**
# (every document, in order), or run **after** the run with `post_run`, which hands them the
# whole run at its stop.

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
from livescan.export import (
    HDF5Exporter,
    LiveTiffExporter,
    export_hdf5,
    post_run,
    verify_files_saved,
)
from livescan.plans import count, scan
from livescan.sim import det, img, motor1


def tree(folder):
    """The files under a folder, relative to it."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# %% [markdown]
# ## TIFF files from a filename template
#
# A template names one file per frame from the start document (`{start.…}`) and the event
# (`{event.…}`). Relative folders are taken from the working directory when the exporter is
# made; here everything goes under `workdir`.

# %%
tiffs = workdir / "tiff"
template = str(tiffs / "{start.scan_id}_{event.seq_num}.tiff")
exporter = LiveTiffExporter("img", template)

token = RE.subscribe(post_run(exporter))  # export each run once it has finished
await RE(scan([img], motor1, -1, 1, num=5))
RE.unsubscribe(token)
exporter.filenames

# %% [markdown]
# Metadata and event data can go into the names, and into folders.

# %%
RE.md["user"] = "ada"
name = "{start.sample_name}_{event.data.motor1:+.2f}_{event.seq_num}.tiff"
template = str(tiffs / "{start.user}" / "{start.scan_id}" / name)
exporter = LiveTiffExporter("img", template)
token = RE.subscribe(post_run(exporter))
await RE(scan([img], motor1, -1, 1, num=3), sample_name="Si")
RE.unsubscribe(token)
tree(tiffs)

# %% [markdown]
# `dryrun=True` writes nothing but still lists the names it would use.

# %%
dry = LiveTiffExporter("img", str(tiffs / "dry" / "{event.seq_num:03d}.tiff"), dryrun=True)
await RE(count([img], num=3), post_run(dry))
print(dry.filenames)
print((tiffs / "dry").exists())

# %% [markdown]
# **Live** export: subscribed lossless, each frame is written as it arrives, and the scan waits
# for the disk if it must. A camera that takes several frames per point gives a stack; `{i}`
# numbers its planes.

# %%
import tifffile

from livescan.sim import SimCamera, motor2

stack_cam = SimCamera("stack", shape=(32, 32), frames_per_point=3, motors=(motor1, motor2))
template = str(tiffs / "stacks" / "{start.scan_id}_{event.seq_num}_{i}.tiff")
live = LiveTiffExporter("stack", template)
token = RE.subscribe_lossless(live)
await RE(count([stack_cam], num=2))
RE.unsubscribe_lossless(token)
print(tree(tiffs / "stacks"))
print(tifffile.imread(live.filenames[0]).shape, tifffile.imread(live.filenames[0]).dtype)

# %% [markdown]
# ## All data and metadata in one HDF5 file
#
# `HDF5Exporter(template)` writes each run to a NeXus-style HDF5 file as the documents arrive
# (lossless); `export_hdf5(run, filename)` writes a saved run.

# %%
import h5py

h5_token = RE.subscribe_lossless(HDF5Exporter(str(workdir / "h5" / "scan_{start.scan_id}.h5")))
result = await RE(scan([det, img], motor1, -2, 2, num=9))
RE.unsubscribe_lossless(h5_token)

with h5py.File(workdir / "h5" / f"scan_{db[-1].start['scan_id']}.h5") as f:
    for name in ["entry/primary/det", "entry/primary/img", "entry/primary/motor1"]:
        print(name, f[name].shape, f[name].dtype)
    attrs = f["entry/primary"].attrs
    print("signal:", attrs["signal"], "axes:", attrs["axes"])


# %% [markdown]
# The spec's pattern — subscribe to `stop` and export the saved run from the store — works
# the same way:


# %%
def hdf5_at_stop(name, doc):
    uid = doc["run_start"]
    export_hdf5(db[uid], workdir / "h5" / f"{uid}.h5")
    print("exported", uid[:8])


token = RE.subscribe(hdf5_at_stop, "stop")
await RE(count([det], num=5))
RE.unsubscribe(token)

# %% [markdown]
# ## Verify the data has been saved
#
# `verify_files_saved` checks, at each stop, that the run's documents are in the store and
# that every external file (the camera's HDF5 files) exists and loads.

# %%
token = RE.subscribe(post_run(verify_files_saved))
await RE(scan([det, img], motor1, -1, 1, num=4))
RE.unsubscribe(token)
