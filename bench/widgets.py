#!/usr/bin/env python
"""What live widgets cost a scan: livescan's throttled widgets vs bluesky's matplotlib ones.

The same scan (det over motor) runs bare, with LiveTable (grid), LivePlot and LiveRaster
subscribed, and with LivePlot and LiveRaster only, interleaved; widget messages go to a
counting comm (what a kernel would send to the browser), so serialisation is paid as in a
notebook. ``*_paired`` ratios are medians of per-repeat ratios (robust to load drifting on
a shared machine). Beside it, bluesky's LivePlot and
BestEffortCallback on matplotlib's Agg backend, on bluesky's own RunEngine (fewer points:
it is slow). Prints one JSON object; every figure is the median of ``--repeat`` runs.

    .venv/bin/python bench/widgets.py               # 10,000 points, 3 repeats
    .venv/bin/python bench/widgets.py --repeat 5
    .venv/bin/python bench/widgets.py --quick       # tiny sizes, 1 repeat
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import time
import warnings
from typing import Any


class CountingComm:
    """Installs itself as the ``comm`` implementation: counts messages and bytes sent."""

    def __init__(self) -> None:
        import comm
        from comm.base_comm import BaseComm

        self.messages = 0
        self.bytes = 0
        counter = self

        class _Comm(BaseComm):
            def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
                counter.messages += 1
                counter.bytes += len(json.dumps(data or {}, default=str))
                counter.bytes += sum(memoryview(b).nbytes for b in buffers or [])

        comm.create_comm = lambda *a, **k: _Comm(*a, **k)

    def reset(self) -> None:
        self.messages = self.bytes = 0


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def bench_livescan(points: int, repeat: int) -> dict[str, Any]:
    from livescan import RunEngine
    from livescan.callbacks import LiveTable
    from livescan.plans import scan
    from livescan.sim import det, motor
    from livescan.widgets import LivePlot, LiveRaster

    counter = CountingComm()
    side = round(points**0.5)
    RE = RunEngine(display=False)
    bare, widgets, plots, msgs, nbytes = [], [], [], [], []

    def run(subs: list[Any]) -> float:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            RE(scan([det], motor, -1, 1, num=points), subs)
        return time.perf_counter() - t0

    for _ in range(repeat):
        bare.append(run([]))
        table = LiveTable(["det", "motor"], view="grid", out=lambda line: None)
        plot, raster = LivePlot("det", "motor"), LiveRaster((side, points // side), "det")
        counter.reset()
        dt = run([table, plot, raster])
        widgets.append(dt)
        msgs.append(counter.messages / dt)
        nbytes.append(counter.bytes / dt)
        # the same without the table (its text LiveTable takes events one by one unless it
        # opts into event pages): where the remaining cost sits
        plots.append(run([LivePlot("det", "motor"), LiveRaster((side, points // side), "det")]))
    rate_bare = points / _median(bare)
    rate_widgets = points / _median(widgets)
    rate_plots = points / _median(plots)
    return {
        "points": points,
        "bare_events_per_s": round(rate_bare),
        "widgets_events_per_s": round(rate_widgets),
        "ratio": round(rate_widgets / rate_bare, 3),
        "target_ratio": 0.8,
        "ratio_paired": round(_median([b / w for b, w in zip(bare, widgets)]), 3),
        "plot_raster_events_per_s": round(rate_plots),
        "plot_raster_ratio_paired": round(_median([b / p for b, p in zip(bare, plots)]), 3),
        "plot_raster_ratio": round(rate_plots / rate_bare, 3),
        "table_takes_event_pages": bool(getattr(LiveTable, "accepts_event_pages", False)),
        "comm_messages_per_s": round(_median(msgs), 1),
        "comm_bytes_per_s": round(_median(nbytes)),
        "seconds_bare": [round(x, 4) for x in bare],
        "seconds_widgets": [round(x, 4) for x in widgets],
        "seconds_plot_raster": [round(x, 4) for x in plots],
    }


def bench_bluesky(points: int, repeat: int) -> dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from bluesky import RunEngine
    from bluesky.callbacks import LivePlot
    from bluesky.callbacks.best_effort import BestEffortCallback
    from bluesky.plans import scan
    from ophyd.sim import det, motor

    RE = RunEngine({})
    cases: dict[str, list[float]] = {"bare": [], "LivePlot": [], "BestEffortCallback": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeat):
            for case in cases:
                subs: list[Any] = []
                if case == "LivePlot":
                    subs = [LivePlot("det", "motor")]
                elif case == "BestEffortCallback":
                    subs = [BestEffortCallback()]  # table and plots, as users run it
                t0 = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):  # keep stdout JSON only
                    RE(scan([det], motor, -1, 1, points), subs)
                cases[case].append(time.perf_counter() - t0)
                plt.close("all")
    rate = {k: points / _median(v) for k, v in cases.items()}
    return {
        "points": points,
        "bare_events_per_s": round(rate["bare"]),
        "LivePlot_events_per_s": round(rate["LivePlot"]),
        "BestEffortCallback_events_per_s": round(rate["BestEffortCallback"]),
        "LivePlot_slowdown": round(rate["bare"] / rate["LivePlot"], 2),
        "BestEffortCallback_slowdown": round(rate["bare"] / rate["BestEffortCallback"], 2),
        "note": "bluesky's RunEngine and ophyd.sim, matplotlib Agg backend, fewer points",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--bluesky-points", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.points, args.bluesky_points, args.repeat = 400, 20, 1
    out = {
        "livescan": bench_livescan(args.points, args.repeat),
        "bluesky": bench_bluesky(args.bluesky_points, args.repeat),
        "repeat": args.repeat,
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
