"""Write the tutorial notebooks in this folder from the cell texts below.

    python notebooks/_build.py          # rewrite every notebook
    python notebooks/_build.py --check  # exit 1 if a notebook differs from what this writes

The notebooks are committed without outputs (the tests execute them). The output is
deterministic: fixed cell ids, no execution counts, no outputs.

Conventions every tutorial follows:

- everything is simulated (``livescan.sim``): no hardware, no network;
- a run that later cells depend on is awaited (``await RE(plan)``), so the cell stays busy
  until the run ends and headless execution (nbclient, ``jupyter nbconvert --execute``)
  stores the final state of every widget;
- files go into a scratch folder: ``$LIVESCAN_TUTORIAL_DIR`` when set (the tests point it
  at a temporary folder), else a fresh temporary folder; never into the repository;
- every run is saved to a run store in that folder (``RE.subscribe_lossless(db)``), which is
  also how the tests compare the stored widget state with the run's documents.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}

SCRATCH = """\
import os
import tempfile
from pathlib import Path

# Files written here go into a scratch folder, never next to the notebook.
workdir = Path(os.environ.get("LIVESCAN_TUTORIAL_DIR") or tempfile.mkdtemp(prefix="livescan-"))
os.environ["LIVESCAN_SIM_DATA"] = str(workdir / "camera")  # the simulated camera's files"""

ENGINE = """\
from livescan import RunEngine
from livescan.store import RunStore

RE = RunEngine()
db = RunStore(workdir / "runs")
db_token = RE.subscribe_lossless(db)  # every run is saved (tutorial 05 reads them back)"""


def md(text: str) -> tuple[str, str]:
    return ("markdown", text.strip("\n"))


def code(text: str) -> tuple[str, str]:
    return ("code", text.strip("\n"))


# -- 01 getting started ------------------------------------------------------------------------

GETTING_STARTED = [
    md("""
# Getting started

livescan runs bluesky-style **plans** on the notebook kernel's own event loop. While a plan
runs, the **RunEngine** turns what the devices report into **documents** (plain dicts: a
`start`, a `descriptor`, one `event` per point, a `stop`) and hands each one to the
functions you subscribed — the **callbacks**. Live tables and plots are callbacks; so is
saving the data.

Everything here uses simulated devices: no hardware, no network.
"""),
    code(SCRATCH),
    md("""
## A RunEngine

One per session. We also subscribe a run store, so every run of this tutorial is saved to
disk; that subscription is *lossless* (it gets every document, see tutorial 02).
"""),
    code(ENGINE),
    md("""
## Simulated devices

`motor` is a motor; `det` is a detector whose reading is a Gaussian of the motor's position
(1 at 0). `det1`, `det2`, `det3` follow `motor1`, `motor2`, `motor3`.
"""),
    code("""
from livescan.sim import det, det1, det2, det3, motor

motor.set(0.5)
print(motor.read())
print(det.read())"""),
    md("""
## The simplest callback: `print`

`RE(plan, callback)` sends every document of that run to `callback(name, doc)`. The raw
documents are long; here is a one-point `count`.
"""),
    code("""
from livescan.plans import count, scan

await RE(count([det]), print)"""),
    md("""
`await` keeps the cell busy until the run ends and returns the run's start uids.

## LiveTable

`LiveTable` takes the fields (or devices) to show. In a notebook it is a grid that grows
with the run, with bluesky's summary line at the end.
"""),
    code("""
from livescan.callbacks import LivePlot, LiveTable

dets = [det1, det2, det3]
await RE(count(dets, num=4), LiveTable(dets))"""),
    md("""
`view='text'` prints bluesky's text table instead (that is what you get in a terminal).
"""),
    code("""
await RE(count(dets, num=4), LiveTable(dets, view="text"))"""),
    md("""
## LivePlot

`LivePlot(y, x)` draws `y` against `x` (without `x`, against the event's `seq_num`). Pass
several callbacks as a list.
"""),
    code("""
table = LiveTable([det, motor])
plot = LivePlot("det", "motor")
result = await RE(scan([det], motor, -3, 3, num=31), [table, plot])
result, result.exit_status"""),
    md("""
A `LivePlot` can be reused: each run adds its own line to the same figure (the legend shows
the scan id). The figure above updates too.
"""),
    code("""
motor.delay = 0.01  # a slower motor, so the live updates are visible
result = await RE(scan([det], motor, -2, 2, num=21), [LiveTable([det, motor]), plot])
motor.delay = 0.0
result.exit_status"""),
    md("""
## The run-status widget

Every run shows a status line: plan, scan id, state, progress, elapsed time and ETA, and
**Pause / Resume / Stop / Abort** buttons. They work while the cell is awaiting the run.
`RE(plan)` without `await` returns a handle at once and the run goes on in the background;
`await handle` waits for it later.
"""),
    code("""
from livescan.sim import noisy_det

handle = RE(scan([noisy_det], motor, -3, 3, num=41), LivePlot("noisy_det", "motor"))
result = await handle
print(result.exit_status, handle.num_events, "events")"""),
    md("""
## Where the data went

The run store holds every run of this session, newest last. Tutorial 05 shows more.
"""),
    code("""
run = db[-1]
print(len(db), "runs saved;", "the last one:", run.start["plan_name"], run.start["scan_id"])
print(run["primary"]["noisy_det"][:5])"""),
    md("""
Next: [02 — the ways to subscribe](02_subscriptions.ipynb).
"""),
]

# -- 02 subscriptions ---------------------------------------------------------------------------

SUBSCRIPTIONS = [
    md("""
# Ways to subscribe callbacks

A callback is any function `f(name, doc)`. There are four ways to subscribe one, and two
kinds of delivery: **lossy** (live feedback: may skip events when it falls behind, can
neither slow the scan much nor end it) and **lossless** (every document, in order; for
saving data).
"""),
    code(SCRATCH),
    code(ENGINE),
    code("""
from livescan.callbacks import LivePlot, LiveTable
from livescan.plans import Count, count, scan
from livescan.sim import det, det1, det2, det3, motor

dets = [det1, det2, det3]"""),
    md("""
## Per run

A second argument to `RE`: one callback, a list of them, or a dict that routes documents by
name. The allowed keys are `'all'`, `'start'`, `'descriptor'`, `'event'` and `'stop'`.
"""),
    code("""
await RE(count(dets, num=3), LiveTable(dets))"""),
    code("""
callbacks = [LiveTable([det, motor]), LivePlot("det", "motor")]
await RE(scan([det], motor, -2, 2, num=15), callbacks)"""),
    code("""
def show_start(name, doc):
    print(f"{name}: scan {doc['scan_id']} of {doc['plan_name']!r}, uid {doc['uid'][:8]}")


await RE(count(dets, num=3), {"all": [LiveTable(dets)], "start": show_start})"""),
    md("""
## Every time a plan is used: `plan.subs`

Plan objects (`Count`, `Scan`, `GridScan`, …) carry their own subscriptions, a dict of
lists, used each time the plan runs.
"""),
    code("""
plan = Count(dets, num=4)
plan.subs"""),
    code("""
plan.subs["all"].append(LiveTable(dets))
await RE(plan)"""),
    md("""
Now change the detectors of the plan. The table in `plan.subs` still asks for `det3`, so we
take it out again …
"""),
    code("""
plan.detectors.remove(det3)
plan.subs["all"].clear()
plan.detectors"""),
    md("""
… and use a **subscription factory** instead: a function that takes the plan and returns a
callback, called afresh at every run, so the table always matches the plan.
"""),
    code("""
def make_table_with_detectors(plan):
    return LiveTable(plan.detectors)


plan.sub_factories["all"].append(make_table_with_detectors)
await RE(plan)"""),
    md("""
## Every run: `RE.subscribe`

`RE.subscribe(func, name='all')` (or bluesky's older order `RE.subscribe(name, func)`)
applies to every run until `RE.unsubscribe(token)`. A widget subscribed this way shows
wherever you display it; this plot collects the runs below.
"""),
    code("""
seen = []


def note_events(name, doc):
    seen.append(doc["seq_num"])


overview = LivePlot("det", "motor", legend_keys=["plan_name"])
tokens = [RE.subscribe(overview), RE.subscribe("event", note_events)]
overview"""),
    code("""
await RE(scan([det], motor, -1, 1, num=11))
await RE(scan([det], motor, 0, 3, num=16))
for token in tokens:
    RE.unsubscribe(token)
print(len(seen), "events seen by note_events")"""),
    md("""
## Lossless: `RE.subscribe_lossless`

Lossy callbacks that fall behind skip events (counted on the run handle as `skipped`);
lossless ones get every document, and may slow the scan down to do so. Here a callback
that takes 20 ms per event watches a 300-point count (5 ms per point) next to a lossless one.
"""),
    code("""
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
print("skipped:", handle.skipped)"""),
    md("""
The run store subscribed at the top is a lossless subscriber too: every run above is in it.
If a lossless callback raises, the run ends cleanly (`exit_status='fail'`) and you get the
error; a lossy one that raises is reported and the run goes on.
"""),
    code("""
print(len(db), "runs saved")"""),
]

# -- 03 rasters and images ----------------------------------------------------------------------

RASTERS = [
    md("""
# Rasters and images

`LiveRaster` fills a heat map pixel by pixel during a grid scan; `LiveImage` shows camera
frames with a frame slider and cross-section profiles.
"""),
    code(SCRATCH),
    code(ENGINE),
    md("""
## A grid scan with LiveRaster

`det4` is a 2-D Gaussian of `motor1` and `motor2`. The first motor is the slow axis; with
`snake_axes=True` the fast axis turns around at each row (the raster knows from the start
document). `LiveRaster(raster_shape, field)` takes the grid's (rows, columns).
"""),
    code("""
from livescan.callbacks import LivePlot, LiveRaster, LiveTable
from livescan.plans import grid_scan, scan
from livescan.sim import det4, motor1, motor2

raster = LiveRaster((15, 15), "det4", xlabel="motor2", ylabel="motor1", extent=(-2, 2, -2, 2))
plan = grid_scan([det4], motor1, -2, 2, 15, motor2, -2, 2, 15, snake_axes=True)
result = await RE(plan, [raster, LivePlot("det4")])
print(result.exit_status, raster.data.shape, f"max {raster.data.max():.3f}")"""),
    md("""
A `LiveRaster` can be reused run after run; the next grid is coarser and the colour limits
are fixed with `clim`.
"""),
    code("""
coarse = grid_scan([det4], motor1, -2, 2, 7, motor2, -2, 2, 7)
await RE(coarse, LiveRaster((7, 7), "det4", clim=(0, 1)))"""),
    md("""
## A camera with LiveImage

`img` is a simulated area detector: its 64×64 frames show a spot that follows `motor1` and
`motor2`. Like a real one it writes frames to an HDF5 file and the events only carry
references (resource/datum documents); `LiveImage` reads a frame when it shows it. Move the
frame slider, change the colour map, click the image to move the crosshair.
"""),
    code("""
from livescan.callbacks import LiveImage
from livescan.sim import img

viewer = LiveImage("img")
result = await RE(scan([img], motor1, -1.5, 1.5, num=12), [viewer, LiveTable(["motor1"])])
frames = db[-1]["primary"]["img"]
print(result.exit_status, frames.shape, frames.dtype)"""),
    md("""
`direct_img` is the same camera with its frames inside the events; `LiveImage` shows
either. Here with a fixed contrast and another colour map.
"""),
    code("""
from livescan.sim import direct_img

viewer2 = LiveImage("direct_img", cmap="magma", clim=(0, 1500))
await RE(scan([direct_img], motor2, -1, 1, num=8), viewer2)"""),
]

# -- 04 exporting -------------------------------------------------------------------------------

EXPORTING = [
    md("""
# Exporting: TIFF, HDF5, and checking it was saved

Exporters are callbacks too. To be sure no frame is missed they are subscribed **lossless**
(every document, in order), or run **after** the run with `post_run`, which hands them the
whole run at its stop.
"""),
    code(SCRATCH),
    code(ENGINE),
    code("""
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
    \"\"\"The files under a folder, relative to it.\"\"\"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())"""),
    md("""
## TIFF files from a filename template

A template names one file per frame from the start document (`{start.…}`) and the event
(`{event.…}`). Relative folders are taken from the working directory when the exporter is
made; here everything goes under `workdir`.
"""),
    code("""
tiffs = workdir / "tiff"
template = str(tiffs / "{start.scan_id}_{event.seq_num}.tiff")
exporter = LiveTiffExporter("img", template)

token = RE.subscribe(post_run(exporter))  # export each run once it has finished
await RE(scan([img], motor1, -1, 1, num=5))
RE.unsubscribe(token)
exporter.filenames"""),
    md("""
Metadata and event data can go into the names, and into folders.
"""),
    code("""
RE.md["user"] = "ada"
name = "{start.sample_name}_{event.data.motor1:+.2f}_{event.seq_num}.tiff"
template = str(tiffs / "{start.user}" / "{start.scan_id}" / name)
exporter = LiveTiffExporter("img", template)
token = RE.subscribe(post_run(exporter))
await RE(scan([img], motor1, -1, 1, num=3), sample_name="Si")
RE.unsubscribe(token)
tree(tiffs)"""),
    md("""
`dryrun=True` writes nothing but still lists the names it would use.
"""),
    code("""
dry = LiveTiffExporter("img", str(tiffs / "dry" / "{event.seq_num:03d}.tiff"), dryrun=True)
await RE(count([img], num=3), post_run(dry))
print(dry.filenames)
print((tiffs / "dry").exists())"""),
    md("""
**Live** export: subscribed lossless, each frame is written as it arrives, and the scan waits
for the disk if it must. A camera that takes several frames per point gives a stack; `{i}`
numbers its planes.
"""),
    code("""
import tifffile

from livescan.sim import SimCamera, motor2

stack_cam = SimCamera("stack", shape=(32, 32), frames_per_point=3, motors=(motor1, motor2))
template = str(tiffs / "stacks" / "{start.scan_id}_{event.seq_num}_{i}.tiff")
live = LiveTiffExporter("stack", template)
token = RE.subscribe_lossless(live)
await RE(count([stack_cam], num=2))
RE.unsubscribe_lossless(token)
print(tree(tiffs / "stacks"))
print(tifffile.imread(live.filenames[0]).shape, tifffile.imread(live.filenames[0]).dtype)"""),
    md("""
## All data and metadata in one HDF5 file

`HDF5Exporter(template)` writes each run to a NeXus-style HDF5 file as the documents arrive
(lossless); `export_hdf5(run, filename)` writes a saved run.
"""),
    code("""
import h5py

h5_token = RE.subscribe_lossless(HDF5Exporter(str(workdir / "h5" / "scan_{start.scan_id}.h5")))
result = await RE(scan([det, img], motor1, -2, 2, num=9))
RE.unsubscribe_lossless(h5_token)

with h5py.File(workdir / "h5" / f"scan_{db[-1].start['scan_id']}.h5") as f:
    for name in ["entry/primary/det", "entry/primary/img", "entry/primary/motor1"]:
        print(name, f[name].shape, f[name].dtype)
    attrs = f["entry/primary"].attrs
    print("signal:", attrs["signal"], "axes:", attrs["axes"])"""),
    md("""
The spec's pattern — subscribe to `stop` and export the saved run from the store — works
the same way:
"""),
    code("""
def hdf5_at_stop(name, doc):
    uid = doc["run_start"]
    export_hdf5(db[uid], workdir / "h5" / f"{uid}.h5")
    print("exported", uid[:8])


token = RE.subscribe(hdf5_at_stop, "stop")
await RE(count([det], num=5))
RE.unsubscribe(token)"""),
    md("""
## Verify the data has been saved

`verify_files_saved` checks, at each stop, that the run's documents are in the store and
that every external file (the camera's HDF5 files) exists and loads.
"""),
    code("""
token = RE.subscribe(post_run(verify_files_saved))
await RE(scan([det, img], motor1, -1, 1, num=4))
RE.unsubscribe(token)"""),
]

# -- 05 saved runs ------------------------------------------------------------------------------

SAVED_RUNS = [
    md("""
# Saved runs: the run store and replay

`RunStore(path)` keeps every run it is subscribed to in a folder (a JSON-lines journal per
run and an index). Runs can be looked up, read as arrays, and **replayed** into any
callback — the live widgets included — as if they were live.
"""),
    code(SCRATCH),
    code(ENGINE),
    code("""
from livescan.callbacks import LiveImage, LivePlot, LiveRaster, LiveTable
from livescan.plans import grid_scan, scan
from livescan.sim import det, det4, img, motor, motor1, motor2

await RE(scan([det], motor, -2, 2, num=21), sample="Si")
await RE(grid_scan([det4], motor1, -2, 2, 9, motor2, -2, 2, 9, snake_axes=True))
await RE(scan([img], motor1, -1, 1, num=6), sample="Au")
print(len(db), "runs in", db.path)"""),
    md("""
## Looking runs up

`db[-1]` is the newest run, `db[1]` the newest with scan id 1, `db["3f2a…"]` a uid (or a
unique prefix); `db.search(...)` filters on start-document keys.
"""),
    code("""
for run in db:
    start = run.start
    print(start["scan_id"], start["plan_name"], start.get("sample"), run.exit_status)"""),
    code("""
run = db[1]
primary = run["primary"]
print(primary["motor"])
print(primary["det"].round(3))"""),
    code("""
[r.start["scan_id"] for r in db.search(sample="Si")]"""),
    md("""
File-backed frames are read from the camera's files when asked for:
"""),
    code("""
frames = db[-1]["primary"]["img"]
frames.shape, frames.dtype"""),
    md("""
## Replaying into live callbacks

`replay(run, callback)` (or the spec's `stream(header, callback)`) sends the stored
documents to any callback. The text table and the plot below are drawn from the store.
"""),
    code("""
from livescan.store import replay, stream

n = stream(db[1], LiveTable(["det", "motor"], view="text"))
print(n, "documents replayed")"""),
    code("""
plot = LivePlot("det", "motor", legend_keys=["sample"])
replay(db[1], plot)
plot"""),
    code("""
raster = LiveRaster((9, 9), "det4", xlabel="motor2", ylabel="motor1")
replay(db[2], raster)
raster"""),
    code("""
viewer = LiveImage("img")
replay(db[3], viewer)
viewer"""),
    md("""
`replay(run, callback, realtime=True, speed=2)` waits between documents as long as they
were apart when recorded (here twice as fast): a slow scan plays back slowly.
"""),
    code("""
import time

from livescan.sim import motor

motor.delay = 0.02
await RE(scan([det], motor, -1, 1, num=11))
motor.delay = 0.0
t0 = time.perf_counter()
replay(db[-1], LiveTable(["det"], view="text"), realtime=True, speed=2)
recorded = db[-1].stop["time"] - db[-1].start["time"]
print(f"replayed in {time.perf_counter() - t0:.2f} s; recorded in {recorded:.2f} s")"""),
]

# -- 06 custom callbacks ------------------------------------------------------------------------

CUSTOM = [
    md("""
# Writing your own callbacks

Any function that takes `(name, doc)` is a callback: `name` is the document type
(`'start'`, `'descriptor'`, `'event'`, `'stop'`, …) and `doc` is the document, a dict.
"""),
    code(SCRATCH),
    code(ENGINE),
    code("""
from livescan.callbacks import CallbackBase, LivePlot, LiveTable
from livescan.plans import Count, scan
from livescan.sim import det, motor"""),
    md("""
## Two simple callbacks

`print_data` is subscribed to `event` documents only.
"""),
    code("""
def print_data(name, doc):
    print("Measured:", doc["data"])


s = Count([det])
await RE(s, {"event": print_data})"""),
    md("""
The `stop` document is the cue for end-of-run work.
"""),
    code("""
def celebrate(name, doc):
    print("The run is finished!", doc["exit_status"], doc["num_events"])


await RE(s, {"event": print_data, "stop": celebrate})"""),
    md("""
## Using several document types: `CallbackBase`

A class with a method per document type. `CallbackBase` dispatches each document to the
method of its name; leave out the ones you do not need.
"""),
    code("""
class MyCallback(CallbackBase):
    def start(self, doc):
        print("I got a new 'start' Document")

    def descriptor(self, doc):
        print("I got a new 'descriptor' Document")

    def event(self, doc):
        print("I got a new 'event' Document")

    def stop(self, doc):
        print("I got a new 'stop' Document")


await RE(Count([det], num=2), MyCallback())"""),
    md("""
A more useful one: find the peak of a scan while it runs, and report it at the end. It can
run next to the live plot.
"""),
    code("""
class PeakFinder(CallbackBase):
    def __init__(self, y, x):
        self.y, self.x = y, x

    def start(self, doc):
        self.best = None

    def event(self, doc):
        y, x = doc["data"][self.y], doc["data"][self.x]
        if self.best is None or y > self.best[0]:
            self.best = (y, x)

    def stop(self, doc):
        y, x = self.best
        print(f"peak of {self.y}: {y:.3f} at {self.x} = {x:+.3f}")


peak = PeakFinder("det", "motor")
callbacks = [peak, LivePlot("det", "motor"), LiveTable([det, motor])]
await RE(scan([det], motor, -2, 3, num=26), callbacks)"""),
    md("""
## Critical callbacks

If your callback must see every document, subscribe it with `RE.subscribe_lossless`. It may
slow the scan down; if it raises, the run ends with `exit_status='fail'` and the error
reaches you. Callbacks here may also be `async def`.
"""),
    code("""
events = []


async def record(name, doc):
    events.append(doc["seq_num"])


token = RE.subscribe_lossless(record, "event")
await RE(Count([det], num=50))
RE.unsubscribe_lossless(token)
print(len(events), "events recorded, none skipped:", events == list(range(1, 51)))"""),
]

NOTEBOOKS = {
    "01_getting_started": GETTING_STARTED,
    "02_subscriptions": SUBSCRIPTIONS,
    "03_rasters_and_images": RASTERS,
    "04_exporting": EXPORTING,
    "05_saved_runs": SAVED_RUNS,
    "06_custom_callbacks": CUSTOM,
}


def build(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    for i, (kind, text) in enumerate(cells):
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(text)
        else:
            cell = nbformat.v4.new_code_cell(text)
        cell.id = f"{name[:2]}-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(name: str) -> str:
    return nbformat.writes(build(name, NOTEBOOKS[name])) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name in NOTEBOOKS:
        path = HERE / f"{name}.ipynb"
        text = render(name)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print("out of date (run python notebooks/_build.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
