#!/usr/bin/env python
"""Which JavaScript a scenario's long tasks run: bench/browser.py with a Chromium trace.

Runs ``bench/browser.py`` scenarios as usual, but records a Chromium trace of the page
while each run is sampled (CDP ``Tracing`` with the V8 sampling profiler, through
Playwright's CDP session), saves it (open it in Chrome DevTools' Performance panel) and
prints, for every main-thread task longer than ``--over`` ms, where its CPU samples went:
the functions most often on the stack, and a share per part of the page (grid paint,
bqplot, d3, ipywidgets, the websocket). Tracing slows the page: durations read ~1.3x
longer than in ``bench/browser.py``.

    flock /tmp/livescan-heavy.lock .venv/bin/python bench/trace_browser.py --scenario b --repeat 1
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("livescan_bench_browser", HERE / "browser.py")
assert _spec is not None and _spec.loader is not None
browser = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(browser)

CATEGORIES = ",".join(
    [
        "devtools.timeline",
        "disabled-by-default-devtools.timeline",
        "v8.execute",
        "disabled-by-default-v8.cpu_profiler",
        "toplevel",
    ]
)
# (part of the page, a substring of a frame on the stack), first match wins
PARTS = [
    ("grid paint", "paintContent"),
    ("grid paint", "_drawCells"),
    ("bqplot", "update_line"),
    ("bqplot", "renderImpl"),
    ("ipywidgets views", "create_view"),
    ("websocket", "_onWSMessage"),
]


def _record(page, sample_run, spec: dict[str, Any], out: Path) -> dict[str, Any]:
    cdp = page.context.new_cdp_session(page)
    done: dict[str, str] = {}
    cdp.on("Tracing.tracingComplete", lambda ev: done.setdefault("stream", ev["stream"]))
    cdp.send("Tracing.start", {"categories": CATEGORIES, "transferMode": "ReturnAsStream"})
    try:
        return sample_run(page, spec)
    finally:
        cdp.send("Tracing.end")
        deadline = time.monotonic() + 60
        while "stream" not in done and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        chunks = []
        while True:
            part = cdp.send("IO.read", {"handle": done["stream"], "size": 1 << 20})
            chunks.append(part["data"])
            if part.get("eof"):
                break
        cdp.send("IO.close", {"handle": done["stream"]})
        out.write_text("".join(chunks))
        print(f"[trace] {out}", file=sys.stderr)


def _frame(node: dict[str, Any]) -> str:
    cf = node["callFrame"]
    return f"{cf.get('functionName') or '(anonymous)'} {cf.get('url', '').rsplit('/', 1)[-1][:24]}"


def analyse(path: Path, over_ms: float) -> list[dict[str, Any]]:
    """The long tasks of the page's main thread in a trace, with where their samples went."""
    data = json.loads(path.read_text())
    events = data["traceEvents"] if isinstance(data, dict) else data
    mains = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M" and e.get("args", {}).get("name") == "CrRendererMain"
    }
    nodes: dict[tuple[int, str], dict[int, Any]] = {}
    samples: list[tuple[int, float, int]] = []  # pid, ts, node id
    clock: dict[tuple[int, str], float] = {}
    for e in events:
        key = (e.get("pid"), e.get("id"))
        if e.get("name") == "Profile":
            clock[key] = e["args"]["data"]["startTime"]
            nodes.setdefault(key, {})
        elif e.get("name") == "ProfileChunk":
            d = e["args"]["data"]
            table = nodes.setdefault(key, {})
            for n in d.get("cpuProfile", {}).get("nodes", []):
                table[n["id"]] = n
            for s, dt in zip(d.get("cpuProfile", {}).get("samples", []), d.get("timeDeltas", [])):
                clock[key] = clock.get(key, 0.0) + dt
                samples.append((key, clock[key], s))
    parents = {
        key: {n["id"]: n["parent"] for n in t.values() if "parent" in n} for key, t in nodes.items()
    }
    tasks = sorted(
        (e for e in events if e.get("ph") == "X" and e.get("name") == "RunTask"
         and (e["pid"], e["tid"]) in mains and e.get("dur", 0) > over_ms * 1000),
        key=lambda e: e["ts"],
    )  # fmt: skip
    t_first = min((e["ts"] for e in events if e.get("ts")), default=0)
    report = []
    for task in tasks:
        t0, t1 = task["ts"], task["ts"] + task["dur"]
        inclusive: Counter[str] = Counter()
        parts: Counter[str] = Counter()
        n = 0
        for key, ts, sid in samples:
            if key[0] != task["pid"] or not t0 <= ts < t1:
                continue
            n += 1
            chain, node = [], sid
            while node is not None:
                chain.append(_frame(nodes[key][node]))
                node = parents[key].get(node)
            for f in set(chain):
                inclusive[f] += 1
            part = next((p for p, f in PARTS if any(f in c for c in chain)), None)
            parts[part or ("idle/GC/program" if chain[0].startswith("(") else "other")] += 1
        report.append(
            {
                "at_s": round((t0 - t_first) / 1e6, 2),
                "ms": round(task["dur"] / 1000),
                "cpu_ms": round(task.get("tdur", 0) / 1000),
                "samples": n,
                "parts": {k: round(v / max(n, 1), 2) for k, v in parts.most_common()},
                "top_frames": [f"{c} {f}" for f, c in inclusive.most_common(12)],
            }
        )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--over", type=float, default=100.0, help="report tasks over this (ms)")
    parser.add_argument("--out", default=".", help="directory for the trace files")
    args, rest = parser.parse_known_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sample_run = browser._sample_run
    traces: list[Path] = []

    def traced(page, spec: dict[str, Any]) -> dict[str, Any]:
        path = out / f"trace-{time.strftime('%H%M%S')}-{len(traces)}.json"
        traces.append(path)
        return _record(page, sample_run, spec, path)

    browser._sample_run = traced
    code = browser.main(rest)
    for path in traces:
        if path.exists():
            print(json.dumps({"trace": str(path), "long_tasks": analyse(path, args.over)}))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
