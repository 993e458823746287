# %% [markdown]
# # Writing your own callbacks
#
# Any function that takes `(name, doc)` is a callback: `name` is the document type
# (`'start'`, `'descriptor'`, `'event'`, `'stop'`, …) and `doc` is the document, a dict.

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
from livescan.callbacks import CallbackBase, LivePlot, LiveTable
from livescan.plans import Count, scan
from livescan.sim import det, motor

# %% [markdown]
# ## Two simple callbacks
#
# `print_data` is subscribed to `event` documents only.


# %%
def print_data(name, doc):
    print("Measured:", doc["data"])


s = Count([det])
await RE(s, {"event": print_data})


# %% [markdown]
# The `stop` document is the cue for end-of-run work.


# %%
def celebrate(name, doc):
    print("The run is finished!", doc["exit_status"], doc["num_events"])


await RE(s, {"event": print_data, "stop": celebrate})


# %% [markdown]
# ## Using several document types: `CallbackBase`
#
# A class with a method per document type. `CallbackBase` dispatches each document to the
# method of its name; leave out the ones you do not need.


# %%
class MyCallback(CallbackBase):
    def start(self, doc):
        print("I got a new 'start' Document")

    def descriptor(self, doc):
        print("I got a new 'descriptor' Document")

    def event(self, doc):
        print("I got a new 'event' Document")

    def stop(self, doc):
        print("I got a new 'stop' Document")


await RE(Count([det], num=2), MyCallback())


# %% [markdown]
# A more useful one: find the peak of a scan while it runs, and report it at the end. It can
# run next to the live plot.


# %%
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
await RE(scan([det], motor, -2, 3, num=26), callbacks)

# %% [markdown]
# ## Critical callbacks
#
# If your callback must see every document, subscribe it with `RE.subscribe_lossless`. It may
# slow the scan down; if it raises, the run ends with `exit_status='fail'` and the error
# reaches you. Callbacks here may also be `async def`.

# %%
events = []


async def record(name, doc):
    events.append(doc["seq_num"])


token = RE.subscribe_lossless(record, "event")
await RE(Count([det], num=50))
RE.unsubscribe_lossless(token)
print(len(events), "events recorded, none skipped:", events == list(range(1, 51)))
