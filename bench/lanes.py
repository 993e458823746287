#!/usr/bin/env python
"""What isolating the lossy lane costs: its own copy of every document.

    .venv/bin/python bench/lanes.py [--repeat 5] [--points 2000]

1. ``isolate(doc)`` alone, per document: a scalar event, an event with a 512x512 uint16
   frame, and a start document, vs ``copy.deepcopy`` of the same (what a full copy costs).
2. A ``count`` through the real RunEngine with one trivial lossy subscriber (plus a
   lossless counter), with isolation as shipped vs with ``isolate`` replaced by the
   identity: scalars only (``det``) and with inline 64x64 frames (``direct_img``).

Medians of ``--repeat`` runs, the variants interleaved. Prints JSON.
"""

from __future__ import annotations

import argparse
import copy
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


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--points", type=int, default=2000)
    args = parser.parse_args(argv)
    result = {
        "python": sys.version.split()[0],
        "per_document": per_doc(args.repeat),
        "engine_count_with_one_lossy_subscriber": engine_cost(args.points, args.repeat),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
