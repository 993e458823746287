"""Scale-out engines on this machine: documents through Redis, tiled's write rate.

    .venv/bin/python bench/remote.py [--events 20000] [--paced 2000] [--tiled-events 2000]
                                     [--repeats 3]

Starts its own redis-server and ``tiled serve catalog --temp`` on 127.0.0.1 (random ports,
a password / API key) and stops them at the end. Prints one JSON object of medians:

1. ``redis.throughput``: a ``count([det1, det2], N)`` at full speed with a RedisPublisher
   subscribed lossless; a RemoteDispatcher in another process counts the documents.
   ``docs_per_s`` = documents / (the stop's arrival there − the run's start); the scan's own
   events/s with and without the publisher beside it.
2. ``redis.latency``: a paced count (1 ms delay per event): for each event, the time from
   the event's ``time`` to the remote callback receiving it (same clock), p50 and p95.
3. ``tiled``: a ``count([det1, det2], N)`` and a 64×64-frame count written by TiledStore
   vs the local RunStore: events/s until the store holds every document (``flush()``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.remote._servers import RedisServer, TiledServer, child_env  # noqa: E402

from livescan import RunEngine  # noqa: E402
from livescan.plans import count  # noqa: E402
from livescan.remote import RedisPublisher  # noqa: E402
from livescan.sim import det1, det2, direct_img  # noqa: E402
from livescan.store import RunStore, TiledStore  # noqa: E402

CONSUMER = """
import json, sys, time
import numpy as np
from livescan.remote import RemoteDispatcher

d = RemoteDispatcher(sys.argv[1], sys.argv[2], start="beginning", block=0.05)
got = {"n": 0, "first": None, "stop": None, "lat": []}

def cb(name, doc):
    now = time.time()
    got["n"] += 1
    if got["first"] is None:
        got["first"] = now
    if name == "event":
        got["lat"].append(now - doc["time"])
    elif name == "stop":
        got["stop"] = now

d.subscribe(cb)
print("ready", flush=True)
d.start(runs=1, timeout=300)
lat = np.array(got["lat"])
print(json.dumps({"n": got["n"], "first": got["first"], "stop": got["stop"],
                  "p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95))}))
"""


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def _consumer(url: str, stream: str) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", CONSUMER, url, stream],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def redis_case(url: str, stream: str, n: int, delay: float | None) -> dict[str, float]:
    child = _consumer(url, stream)
    RE = RunEngine(display=False)
    pub = RedisPublisher(url, stream, timeout=60)
    RE.subscribe_lossless(pub)
    t0 = time.time()
    RE(count([det1, det2], num=n, delay=delay))
    scan_s = time.time() - t0
    out, _ = child.communicate(timeout=300)
    pub.close()
    got = json.loads(out.strip().splitlines()[-1])
    assert got["n"] == n + 3, got
    return {
        "docs_per_s": got["n"] / (got["stop"] - t0),
        "scan_events_per_s": n / scan_s,
        "p50_ms": got["p50"] * 1000,
        "p95_ms": got["p95"] * 1000,
    }


def bare_scan(n: int) -> float:
    RE = RunEngine(display=False)
    t0 = time.perf_counter()
    RE(count([det1, det2], num=n))
    return n / (time.perf_counter() - t0)


def store_case(store, detectors, n: int) -> float:
    RE = RunEngine(display=False)
    RE.subscribe_lossless(store)
    t0 = time.perf_counter()
    RE(count(detectors, num=n))
    if hasattr(store, "flush"):
        store.flush(timeout=300)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--paced", type=int, default=2000)
    ap.add_argument("--tiled-events", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="livescan-bench-remote-"))
    result: dict[str, object] = {}
    with RedisServer(tmp / "redis") as redis_server, TiledServer(tmp / "tiled") as tiled:
        fast, paced, bare = [], [], []
        for i in range(args.repeats):
            bare.append(bare_scan(args.events))
            fast.append(redis_case(redis_server.url, f"fast-{i}", args.events, None))
            paced.append(redis_case(redis_server.url, f"paced-{i}", args.paced, 0.001))
        result["redis"] = {
            "throughput": {
                "events": args.events,
                "docs_per_s": _median([r["docs_per_s"] for r in fast]),
                "scan_events_per_s_with_publisher": _median([r["scan_events_per_s"] for r in fast]),
                "scan_events_per_s_without": _median(bare),
                "full_speed_latency_p50_ms": _median([r["p50_ms"] for r in fast]),
            },
            "latency": {
                "events": args.paced,
                "delay_s": 0.001,
                "p50_ms": _median([r["p50_ms"] for r in paced]),
                "p95_ms": _median([r["p95_ms"] for r in paced]),
            },
        }
        tiled_store = TiledStore(tiled.uri, api_key=tiled.api_key, timeout=120)
        cases = {
            "scalars": ([det1, det2], args.tiled_events),
            "frames_64x64": ([direct_img], max(1, args.tiled_events // 4)),
        }
        out: dict[str, object] = {}
        for label, (dets, n) in cases.items():
            t_rates, l_rates = [], []
            for i in range(args.repeats):
                t_rates.append(store_case(tiled_store, dets, n))
                l_rates.append(store_case(RunStore(tmp / f"runs-{label}-{i}"), dets, n))
            out[label] = {
                "events": n,
                "tiled_events_per_s": _median(t_rates),
                "runstore_events_per_s": _median(l_rates),
            }
        tiled_store.close()
        result["tiled"] = out
    result["repeats"] = args.repeats
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
