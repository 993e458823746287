# %% [markdown]
# # Beyond one machine: Redis Streams, tiled and Dask
#
# A facility outgrows one kernel and one folder in three ways, each with an engine its users
# already run. livescan works with all three:
#
# * **Redis Streams** carry every document, live, to other processes and kernels
#   (`RedisPublisher` here, `RemoteDispatcher` there);
# * a **tiled** server keeps the runs where every bluesky tool reads them (`TiledStore`);
# * a **Dask** cluster reduces camera frames while the scan runs (`FrameReducer`).
#
# This notebook starts its own `redis-server` and `tiled` server on 127.0.0.1 (random ports,
# a password, a temporary folder) and stops them at the end. At a facility you point the
# same code at the facility's servers instead.

# %%
import atexit
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Files written here go into a scratch folder, never next to the notebook.
workdir = Path(os.environ.get("LIVESCAN_TUTORIAL_DIR") or tempfile.mkdtemp(prefix="livescan-"))
os.environ["LIVESCAN_SIM_DATA"] = str(workdir / "camera")  # the simulated camera's files
(workdir / "camera").mkdir(parents=True, exist_ok=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(cmd, port, log):
    """Start a server, stop it when the kernel exits, wait until it listens."""
    with open(log, "wb") as out:  # the child keeps its own copy of the file
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    atexit.register(proc.terminate)
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{cmd[0]} did not start; see {log}")


# %%
redis_port, password = free_port(), secrets.token_hex(8)
(workdir / "redis").mkdir(exist_ok=True)
redis_proc = serve(
    [shutil.which("redis-server") or "redis-server", "--port", str(redis_port),
     "--bind", "127.0.0.1", "--requirepass", password, "--save", "", "--appendonly", "yes",
     "--dir", str(workdir / "redis")],
    redis_port, workdir / "redis.log",
)  # fmt: skip
REDIS = f"redis://:{password}@127.0.0.1:{redis_port}/0"

tiled_port, api_key = free_port(), secrets.token_hex(8)
tiled_proc = serve(
    [str(Path(sys.executable).with_name("tiled")), "serve", "catalog", "--temp",
     "--api-key", api_key, "--host", "127.0.0.1", "--port", str(tiled_port),
     "-r", str(workdir / "camera")],  # tiled may read the camera's HDF5 files
    tiled_port, workdir / "tiled.log",
)  # fmt: skip
TILED = f"http://127.0.0.1:{tiled_port}"
print("Redis and tiled are up")

# %% [markdown]
# ## Publish: every document into a Redis stream
#
# `RedisPublisher(url, stream)` is a lossless subscriber: each document, in order, is
# appended to the stream (`XADD`, trimmed to about `maxlen` entries) by a background thread,
# so the scan never waits for the network. Arrays travel as binary, not as JSON text. If
# Redis goes away it buffers and resends after the reconnect (consumers drop duplicates);
# if the buffer stays full, or Redis stays away for `timeout` seconds, the run ends with
# `exit_status='fail'` and a reason.

# %%
from livescan import RunEngine
from livescan.remote import RedisPublisher
from livescan.store import RunStore, TiledStore

RE = RunEngine()
db = RunStore(workdir / "runs")
RE.subscribe_lossless(db)  # the local store, as in tutorial 05
pub = RedisPublisher(REDIS, "livescan")
RE.subscribe_lossless(pub)
tiled_db = TiledStore(TILED, api_key=api_key)  # and every run into tiled, live
RE.subscribe_lossless(tiled_db)

# %% [markdown]
# ## Watch from another process
#
# Here the "second kernel" is a separate Python process. `RemoteDispatcher(url, stream,
# start=...)` reads the stream and hands each document to any callback — LiveTable,
# LivePlot, the Dashboard, a RunStore, a bluesky callback. `start='run-start'` begins at the
# newest run's start document, so a consumer that joins late catches up on the run in
# progress; `'newest'` reads only what comes next, `'beginning'` all the stream holds.
# `start()` blocks; in a notebook `task = d.start_task()` runs it on the kernel's loop.

# %%
WATCHER = f"""
from livescan.callbacks import LiveTable
from livescan.remote import RemoteDispatcher

d = RemoteDispatcher({REDIS!r}, "livescan", start="run-start")
d.subscribe(LiveTable(["det", "motor"]))
print("watching", flush=True)
d.start(runs=1, timeout=120)
"""
watcher = subprocess.Popen(
    [sys.executable, "-c", WATCHER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
)
print(watcher.stdout.readline().strip())

# %%
from livescan.plans import scan
from livescan.sim import det, motor

await RE(scan([det], motor, -2, 2, num=11))

# %%
out, err = watcher.communicate(timeout=120)
print(out)  # the other process's LiveTable: every row of the run

# %% [markdown]
# ## Read the runs back from tiled
#
# `TiledStore` wrote the run while it ran, in the layout bluesky's own tiled writer uses: a
# container per run (`start`/`stop` metadata), a container per stream with its data keys,
# scalars in the table `internal`, arrays as tiled arrays, and file-backed camera frames
# registered as external HDF5 assets (never copied). Any tiled client reads it:

# %%
from tiled.client import from_uri

client = from_uri(TILED, api_key=api_key)
run = client[db[-1].uid]
print(run.metadata["start"]["plan_name"], run.metadata["stop"]["exit_status"])
print(run["primary"]["det"].read())

# %% [markdown]
# `TiledStore` also reads like a `RunStore`: `tiled_db[-1]`, `tiled_db[scan_id]`, a uid,
# `tiled_db.search(...)`, and `replay(run, callback)`.

# %%
from livescan.store import replay

print(tiled_db[-1], len(tiled_db), "runs in tiled")
n = replay(tiled_db[-1], lambda name, doc: None)
print(n, "documents replayed from tiled")

# %% [markdown]
# ## Reduce camera frames on Dask, live
#
# `FrameReducer(client, field, out)` is a callback for a consumer of the stream: it sends
# each frame to a Dask cluster (here a `LocalCluster`; at a facility
# `Client("tcp://scheduler:8786")`), computes `radial_profile` (the frame's centre of mass
# and the mean intensity in rings around it) and emits the results, in order, as a new run
# — here straight into a LivePlot; a `RedisPublisher` would make it a stream for others.
# The reducer reads the stream as a task on this kernel's loop while the scan runs.

# %%
from dask.distributed import Client, LocalCluster

from livescan.callbacks import LivePlot
from livescan.remote import FrameReducer, RemoteDispatcher

cluster = LocalCluster(
    n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
)
dask_client = Client(cluster)
com_plot = LivePlot("com_x", "motor1")
reducer = FrameReducer(dask_client, "img", com_plot)
reducing = RemoteDispatcher(REDIS, "livescan", start="newest")
reducing.subscribe(reducer)
task = reducing.start_task(runs=1)  # 'newest': from this call on
com_plot

# %%
from livescan.sim import img, motor1

motor1.delay = 0.02  # a stage that takes a moment per step
await RE(scan([img], motor1, -2, 2, num=15))
await task
print(reducer.emitted, "frames reduced on", len(dask_client.scheduler_info()["workers"]), "workers")

# %% [markdown]
# The frames are in tiled too, read straight from the camera's HDF5 file by the server:

# %%
frames = client[db[-1].uid]["primary"]["img"].read()
print(frames.shape, frames.dtype)

# %% [markdown]
# ## Clean up

# %%
dask_client.close()
cluster.close()
pub.close()
tiled_db.close()
for proc in (redis_proc, tiled_proc):
    proc.terminate()
    proc.wait(10)
print("servers stopped")
