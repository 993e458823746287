#!/usr/bin/env python
"""What the lossy lane costs: isolation copies, the lane itself, a slow subscriber.

    .venv/bin/python bench/lanes.py [--repeat 5] [--points 2000] [--lane-points 20000]

1. ``isolate(doc)`` alone, per document: a scalar event, an event with a 512x512 uint16
   frame, and a start document, vs ``copy.deepcopy`` of the same (what a full copy costs).
2. A ``count`` through the real RunEngine with one trivial lossy subscriber (plus a
   lossless counter), with isolation as shipped vs with ``isolate`` replaced by the
   identity: scalars only (``det``) and with inline 64x64 frames (``direct_img``).
3. The lane itself: a ``--lane-points`` count of ``det`` with no subscriber, with one
   no-op page subscriber (what a widget costs the lane: ``accepts_event_pages``,
   ``mutates_documents = False``), with one plain no-op function, and with both; extra
   microseconds per event over no subscriber, and the garbage collections during the run.
4. A subscriber sleeping 10 ms per event (per-run, a fresh one each run, as
   ``bench/engine.py``) on a ``--points`` count and on a 10x longer one, and subscribed
   once with ``RE.subscribe`` (its cost, measured in the first run, predicts its first
   call in the next): slowdown over the same count with no subscriber.

Medians of ``--repeat`` runs, the variants interleaved. Prints JSON.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import statistics
import sys
import time
from typing import Any

import numpy as np

import livescan.dispatch._lossy as lossy_mod
from livescan import RunEngine
from livescan.documents import RunComposer
from livescan.plans import count
from livescan.sim import det, direct_img


def per_doc(repeat: int) -> dict[str, Any]:
    run = RunComposer({"plan_name": "count", "scan_id": 1, "sample": {"name": "Si", "t": [1, 2]}})
    key = {"dtype": "array", "shape": [512, 512], "source": "cam", "dtype_numpy": "<u2"}
    desc = run.descriptor(
        "primary", {"cam": key, "det": {"dtype": "number", "shape": [], "source": "d"}}
    )
    frame = np.zeros((512, 512), np.uint16)
    docs = {
        "scalar event": run.event(desc, {"det": 1.0}, {"det": 0.0}),
        "event with a 512x512 uint16 frame": run.event(
            desc, {"cam": frame, "det": 1.0}, {"cam": 0.0, "det": 0.0}
        ),
        "start": run.start(),
    }
    out = {}
    for label, doc in docs.items():
        times = {"isolate_us": [], "deepcopy_us": []}
        for _ in range(repeat):
            for name, fn in (("isolate_us", lossy_mod.isolate), ("deepcopy_us", copy.deepcopy)):
                n = 2000
                t0 = time.perf_counter()
                for _ in range(n):
                    fn(doc)
                times[name].append(1e6 * (time.perf_counter() - t0) / n)
        out[label] = {k: round(statistics.median(v), 2) for k, v in times.items()}
    return out


def engine_cost(points: int, repeat: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    shipped = lossy_mod.isolate
    for label, dets, n in (
        ("det", [det], points),
        ("det + 64x64 frame", [det, direct_img], points // 4),
    ):
        times: dict[str, list[float]] = {"isolated": [], "shared (no isolation)": []}
        for _ in range(repeat):
            for variant in times:
                lossy_mod.isolate = shipped if variant == "isolated" else (lambda d: d)
                RE = RunEngine(display=False)
                got = []
                RE.subscribe(lambda n, d, got=got: got.append(n))
                RE.subscribe_lossless(lambda name, doc: None)
                t0 = time.perf_counter()
                RE(count(dets, num=n))
                times[variant].append(time.perf_counter() - t0)
                assert got.count("event") + got.count("event_page") > 0
        lossy_mod.isolate = shipped
        med = {k: statistics.median(v) for k, v in times.items()}
        results[label] = {
            "events": n,
            **{f"{k}_s": round(v, 4) for k, v in med.items()},
            "cost_us_per_event": round(
                1e6 * (med["isolated"] - med["shared (no isolation)"]) / n, 2
            ),
            "slowdown": round(med["isolated"] / med["shared (no isolation)"], 3),
        }
    return results


class _NoOpWidget:
    """What a live widget costs the lane, with a widget that does nothing."""

    accepts_event_pages = True
    mutates_documents = False

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        pass


def _noop(name: str, doc: dict[str, Any]) -> None:
    pass


def _timed_run(RE: Any, plan: Any, subs: Any) -> tuple[float, int]:
    gc.collect()
    before = sum(s["collections"] for s in gc.get_stats())
    t0 = time.perf_counter()
    RE(plan, subs)
    elapsed = time.perf_counter() - t0
    return elapsed, sum(s["collections"] for s in gc.get_stats()) - before


def lane_cost(points: int, repeat: int) -> dict[str, Any]:
    RE = RunEngine(display=False)
    RE(count([det], num=100))
    variants: dict[str, Any] = {
        "none": [],
        "page subscriber": [_NoOpWidget()],
        "plain function": [_noop],
        "both": [_NoOpWidget(), _noop],
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    collections: dict[str, list[int]] = {k: [] for k in variants}
    for _ in range(repeat):
        for label, subs in variants.items():
            t, c = _timed_run(RE, count([det], num=points), subs)
            times[label].append(t)
            collections[label].append(c)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "events": points,
        **{
            label: {
                "seconds": round(med[label], 4),
                "lane_us_per_event": round(1e6 * (med[label] - med["none"]) / points, 2),
                "gc_collections": statistics.median(collections[label]),
            }
            for label in variants
        },
    }


class _Sleepy:
    def __init__(self) -> None:
        self.events = 0

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        if name == "event":
            self.events += 1
            time.sleep(0.01)


def slow_subscriber(points: int, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n in (points, 10 * points):
        RE = RunEngine(display=False)  # no subscriber, or a fresh one each run
        RE(count([det], num=100))
        RE_kept = RunEngine(display=False)  # one subscription for all its runs
        kept = _Sleepy()
        RE_kept.subscribe(kept)
        RE_kept(count([det], num=n))  # its cost is first measured here
        times: dict[str, list[float]] = {"none": [], "per-run": [], "subscribed once": []}
        got: dict[str, list[int]] = {"per-run": [], "subscribed once": []}
        for _ in range(repeat):
            times["none"].append(_timed_run(RE, count([det], num=n), [])[0])
            fresh = _Sleepy()
            times["per-run"].append(_timed_run(RE, count([det], num=n), [fresh])[0])
            got["per-run"].append(fresh.events)
            before = kept.events
            times["subscribed once"].append(_timed_run(RE_kept, count([det], num=n), [])[0])
            got["subscribed once"].append(kept.events - before)
        med = {k: statistics.median(v) for k, v in times.items()}
        out[f"{n} events"] = {
            "seconds_without": round(med["none"], 4),
            **{
                label: {
                    "slowdown": round(med[label] / med["none"], 3),
                    "events_delivered": statistics.median(got[label]),
                }
                for label in got
            },
        }
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--lane-points", type=int, default=20000)
    args = parser.parse_args(argv)
    result = {
        "python": sys.version.split()[0],
        "per_document": per_doc(args.repeat),
        "engine_count_with_one_lossy_subscriber": engine_cost(args.points, args.repeat),
        "lane_itself": lane_cost(args.lane_points, args.repeat),
        "slow_subscriber_10ms_per_event": slow_subscriber(args.points, args.repeat),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
