#!/usr/bin/env python
"""What a scientist's browser sees while a scan runs: JupyterLab + Chromium, measured from the page.

Starts an isolated JupyterLab and the system Chromium (the browser tests' harness,
``tests/browser/_lab.py``), runs each scenario in a fresh notebook and samples the page
every 100 ms while the run is live. Prints one JSON object; figures are medians over
``--repeat`` runs (lists of every repeat are kept next to them).

    .venv/bin/python bench/browser.py                       # every scenario, 3 repeats
    .venv/bin/python bench/browser.py --scenario a --repeat 1

Scenarios: a) 200-point scan at 50 ms a point, LiveTable + LivePlot + status;
b) 200,000-point fast scan, same widgets, sampled until the page shows the end;
c) 100x100 grid at 1 ms a point, LiveRaster + LivePlot;
d) camera scan, LiveImage; e) the Dashboard in the side panel (sidecar, split-right) on a
slow scan; f) Pause, Resume, Abort clicked during (a).

Figures per run: ``rtt_ms`` (a ``page.evaluate`` ping every 100 ms: p50/p95/max),
``longtask_max_ms`` / ``longtasks_over_200ms`` (PerformanceObserver 'longtask', installed
before the page loads), ``table`` (placeholder cells in the grid's visible rows at each
sample, those still placeholders 300 ms later, sampled rows that differ from the kernel's
data read after the run, repeated/missing seq_nums in the finished grid), ``lag`` (events
the status widget shows minus points the plots draw, per sample), ``ticks_min`` (fewest
y-tick labels on a drawn figure mid-run), ``clicks_ms`` (click → the state shown),
``comm`` (comm messages and bytes over the kernel connection during the run, counted on
the page), ``console_errors`` / ``console_warnings``, ``notebook_bytes_added`` (the saved
notebook after the run minus before it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

import nbformat  # noqa: E402
from _lab import (  # noqa: E402
    LabServer,
    chromium_context,
    count_path_points,
    open_notebook,
    wait_for_js,
)
from _live_probe import (  # noqa: E402
    CONSOLE_JS,
    DONE_STATES,
    TableCheck,
    click_and_wait,
    drawn_lag,
    final_row_headers,
    kernel_rows,
    sample,
)

SETUP = """\
from livescan import RunEngine
from livescan.callbacks import LiveTable, LivePlot, LiveRaster, LiveImage
from livescan.plans import count, grid_scan, scan
from livescan.sim import det, det4, direct_img, motor, motor1, motor2
RE = RunEngine()
"""

# name -> (setup cell, run cell, expected events)
SCENARIOS: dict[str, dict[str, Any]] = {
    "a": {
        "title": "200-point scan, 50 ms/point: LiveTable + LivePlot + status",
        "setup": SETUP + "motor.delay = 0.05\n"
        "table = LiveTable([det, motor])\nplot = LivePlot('det', 'motor')",
        "run": "h = RE(scan([det], motor, -3, 3, num=200), [table, plot])",
        "events": 200,
        "table": True,
    },
    "b": {
        # a fast scan (no delay) long enough to be watched (~5 s here); sampled on until
        # the page shows the end (grid rows and status), so the catch-up counts too
        "title": "200,000-point fast scan: LiveTable + LivePlot + status, until shown",
        "setup": SETUP + "table = LiveTable([det, motor])\nplot = LivePlot('det', 'motor')",
        "run": "h = RE(scan([det], motor, -3, 3, num=200_000), [table, plot])",
        "events": 200_000,
        "table": True,
        "catch_up": True,
    },
    "c": {
        # paced (~1.5 ms a point, ~15 s): at full speed the run lasts ~1 s, a handful of
        # samples that mostly see the widgets' first render
        "title": "100x100 grid, 1 ms/point: LiveRaster + LivePlot",
        "setup": SETUP + "motor2.delay = 0.001\n"
        "raster = LiveRaster((100, 100), 'det4')\nplot = LivePlot('det4')",
        "run": "h = RE(grid_scan([det4], motor1, -2, 2, 100, motor2, -2, 2, 100), [raster, plot])",
        "events": 10_000,
        # the page shows the end at once now; the static picture (matplotlib, on a worker
        # thread) lands ~1 s later: save after it, or the notebook's growth misses it
        "await_fallback": True,
    },
    "d": {
        "title": "camera scan (64x64 frames, 10 ms/point): LiveImage",
        "setup": SETUP + "motor1.delay = 0.01\nimage = LiveImage('direct_img')",
        "run": "h = RE(scan([direct_img], motor1, -1, 1, num=300), [image])",
        "events": 300,
    },
    "e": {
        "title": "Dashboard in the side panel (sidecar, split-right), 100-point scan at 50 ms",
        "setup": SETUP + "import tempfile\nfrom livescan.jupyter import Dashboard\n"
        "motor.delay = 0.05\n"
        "dash = Dashboard.in_sidecar(RE=RE, overplot=False, title='livescan')",
        "run": "h = RE(scan([det], motor, -3, 3, num=100))",
        "events": 100,
        "table": True,
    },
    "f": {
        "title": "Pause, Resume, Abort clicked during (a)",
        "setup": SETUP + "motor.delay = 0.05\n"
        "table = LiveTable([det, motor])\nplot = LivePlot('det', 'motor')",
        "run": "h = RE(scan([det], motor, -3, 3, num=200), [table, plot])",
        "events": 200,
        "table": True,
        "clicks": True,
    },
}

HOOK_COMM_JS = r"""
() => {
  const k = window.__livescan.panel().sessionContext.session.kernel;
  const c = window.__bench.comm = {recv_msgs: 0, recv_bytes: 0, sent_msgs: 0, sent_bytes: 0,
                                    counting: false};
  const size = (m) => {
    let n = JSON.stringify(m.content || {}).length;
    for (const b of m.buffers || []) n += b.byteLength || 0;
    return n;
  };
  k.anyMessage.connect((_, args) => {
    const m = args.msg;
    if (!c.counting || !m.header || !String(m.header.msg_type).startsWith('comm_')) return;
    if (args.direction === 'recv') { c.recv_msgs++; c.recv_bytes += size(m); }
    else { c.sent_msgs++; c.sent_bytes += size(m); }
  });
}
"""


def _pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def _save(page, lab: LabServer, name: str) -> int:
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    wait_for_js(page, "() => !window.__livescan.panel().context.model.dirty", timeout=30)
    time.sleep(0.3)
    return (lab.root_dir / name).stat().st_size


def run_scenario(lab: LabServer, context, key: str, index: int) -> dict[str, Any]:
    spec = SCENARIOS[key]
    cells = [nbformat.v4.new_code_cell(spec["setup"]), nbformat.v4.new_code_cell(spec["run"])]
    name = lab.add_notebook(nbformat.v4.new_notebook(cells=cells), f"bench-{key}-{index}")
    page = context.new_page()
    errors: list[str] = []
    warnings_: list[str] = []

    def on_console(msg):
        if msg.type == "error":
            errors.append(msg.text[:300])
        elif msg.type == "warning":
            warnings_.append(msg.text[:300])

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"[:300]))
    try:
        open_notebook(page, lab, name)
        page.evaluate(HOOK_COMM_JS)
        # run the set-up cell, then save: the baseline for the notebook's growth
        page.evaluate(
            "() => window.jupyterapp.commands.execute('notebook:run-cell-and-select-next')"
        )
        wait_for_js(page, "() => window.__livescan.kernelIdle()", timeout=60)
        time.sleep(0.5)
        wait_for_js(page, "() => window.__livescan.kernelIdle()", timeout=60)
        size_before = _save(page, lab, name)
        page.evaluate("() => { window.__bench.comm.counting = true; }")
        lt_start = page.evaluate("() => performance.now()")
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-cell')")
        result = _sample_run(page, spec)
        final = sample(page)
        page.evaluate("() => { window.__bench.comm.counting = false; }")
        comm = page.evaluate("() => window.__bench.comm")
        longtasks = [d for s, d in page.evaluate("() => window.__bench.longtasks") if s >= lt_start]
        stacks = page.evaluate("() => window.__bench.errorStacks")
        if spec.get("await_fallback"):
            has_picture = "() => !!document.querySelector('.livescan-fallback img')"
            wait_for_js(page, has_picture, timeout=60)
        size_after = _save(page, lab, name)
        table: dict[str, Any] | None = None
        if spec.get("table"):
            expr = "dash.table.view" if key == "e" else "table.view"
            table = _table_figures(page, result["check"], expr)
        final_lag = drawn_lag(final)
    finally:
        page.close()
        lab.shutdown_sessions()
    rtt = result["rtt"]
    out = {
        "run_s": round(result["run_s"], 2),
        "state": final["state"],
        "events": final["events"],
        "samples": len(rtt),
        "rtt_ms": {
            "p50": _r(_pct(rtt, 0.5)),
            "p95": _r(_pct(rtt, 0.95)),
            "max": _r(max(rtt) if rtt else None),
        },
        "longtask_max_ms": _r(max(longtasks) if longtasks else 0.0),
        "longtasks_over_200ms": sum(1 for d in longtasks if d > 200),
        "lag_max": max(result["lags"]) if result["lags"] else None,
        "lag_final": final_lag,
        "ticks_min": min(result["ticks"]) if result["ticks"] else None,
        "comm": {k: v for k, v in comm.items() if k != "counting"},
        "console_errors": len(errors),
        "console_warnings": len(warnings_),
        "notebook_bytes_added": size_after - size_before,
    }
    if table is not None:
        out["table"] = table
    if result["clicks"]:
        out["clicks_ms"] = result["clicks"]
    if errors:
        out["console_error_examples"] = sorted(set(errors))[:4]
        out["console_error_stacks"] = sorted(set(stacks))[:2]
    if warnings_:
        out["console_warning_examples"] = sorted(set(warnings_))[:3]
    return out


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _sample_run(page, spec: dict[str, Any]) -> dict[str, Any]:
    rtt: list[float] = []
    lags: list[int] = []
    ticks: list[int] = []
    check = TableCheck()
    clicks: dict[str, Any] = {}
    t0 = time.monotonic()
    started = False
    next_tick = t0
    click_plan = ["Pause", "Resume", "Abort"] if spec.get("clicks") else []
    paused_at = 0.0
    while True:
        now = time.monotonic()
        if now < next_tick:
            time.sleep(next_tick - now)
        next_tick += 0.1
        a = time.perf_counter()
        page.evaluate("() => 1")
        ping = (time.perf_counter() - a) * 1000
        s = sample(page)
        state = s["state"]
        if state == "running" or (state and state not in DONE_STATES):
            started = True
        elif not started and state in DONE_STATES and s["events"] > 0:
            # a busy page may show the run only once it is over (seen in (c) before the
            # raster became images): that sample still counts
            started = True
        if not started:
            if time.monotonic() - t0 > 60:
                raise RuntimeError(f"the run did not start: {s}")
            continue
        if state in DONE_STATES and not (
            spec.get("catch_up") and not _shows_end(s) and time.monotonic() - t0 < 300
        ):
            if not rtt:
                rtt.append(ping)
            break
        rtt.append(ping)
        lag = drawn_lag(s)
        if lag is not None:
            lags.append(lag)
        drawn = [f for f in s["figures"] if f["lines"] and f["heatmap"] is None]
        for f in drawn:
            if count_path_points(f["lines"][0]) >= 3:
                ticks.append(min(f["yticks"]) if f["yticks"] else 0)
        check.add(s["grid"])
        if click_plan and state in ("running", "paused"):
            label = click_plan[0]
            due = (
                (label == "Pause" and s["events"] >= 40)
                or (label == "Resume" and time.monotonic() - paused_at > 1.0)
                or (label == "Abort" and s["events"] >= 120)
            )
            if due:
                want = {"Pause": "paused", "Resume": "running", "Abort": "abort"}[label]
                clicks[label] = click_and_wait(page, label, want)
                click_plan.pop(0)
                paused_at = time.monotonic()
                if label == "Abort":
                    break
        if time.monotonic() - t0 > 300:
            raise RuntimeError("the run did not end within 300 s")
    run_s = time.monotonic() - t0
    # let the last flushes land
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        s = sample(page)
        if s["state"] in DONE_STATES and (drawn_lag(s) or 0) <= 0:
            break
        time.sleep(0.2)
    time.sleep(0.5)
    return {"rtt": rtt, "lags": lags, "ticks": ticks, "check": check,
            "clicks": clicks, "run_s": run_s}  # fmt: skip


def _shows_end(s: dict[str, Any]) -> bool:
    """The page shows the finished run: the final state, every row counted in the grid,
    and the drawn lines caught up."""
    grid = s.get("grid")
    return (
        s["state"] in DONE_STATES
        and (grid is None or grid["rows"] >= s["events"])
        and (drawn_lag(s) or 0) <= 0
    )


def _table_figures(page, check: TableCheck, table_expr: str) -> dict[str, Any]:
    """Placeholders in the visible rows per sample (and those older than 300 ms), sampled
    rows that differ from the kernel's rows (read after the run), the finished grid."""
    kernel = kernel_rows(page, table_expr)
    cells = check.placeholder_cells or [0]
    return {
        "placeholder_cells_max": max(cells),
        "placeholder_cells_median": statistics.median(cells),
        "placeholders_older_300ms": len(check.stale),
        "rows_checked": len(check.rows),
        "rows_differ": len(check.differing_rows(kernel)),
        **TableCheck.final_check(final_row_headers(page), kernel["seq"]),
    }


def _median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of every numeric leaf over the runs (lists of all values beside some)."""

    def merge(values: list[Any]) -> Any:
        first = values[0]
        if isinstance(first, dict):
            keys = [k for k in first if all(isinstance(v, dict) and k in v for v in values)]
            return {k: merge([v[k] for v in values]) for k in keys}
        nums = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(nums) == len(values) and nums:
            m = statistics.median(nums)
            return round(m, 1) if isinstance(m, float) else m
        return first

    return merge(runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                        help="run only these (repeatable); default all")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--raw", action="store_true", help="also print every run's figures")
    parser.add_argument("--src", help="the kernel imports livescan from this src directory "
                        "(default: as this interpreter does); to compare two trees")  # fmt: skip
    args = parser.parse_args(argv)
    keys = args.scenario or sorted(SCENARIOS)
    if args.src:
        import os

        os.environ["PYTHONPATH"] = str(Path(args.src).resolve())
    base = Path(tempfile.mkdtemp(prefix="livescan-bench-browser-"))
    lab = LabServer(base / "lab")
    report: dict[str, Any] = {"repeat": args.repeat, "src": args.src, "scenarios": {}}
    try:
        lab.start()
        with chromium_context(base / "chromium-profile") as context:
            context.set_default_timeout(120_000)
            context.add_init_script(CONSOLE_JS)
            # warm-up: the first page load compiles the lab and widget bundles
            page = context.new_page()
            with contextlib.suppress(Exception):
                open_notebook(page, lab, lab.add_notebook(nbformat.v4.new_notebook(), "warm"))
            page.close()
            lab.shutdown_sessions()
            for key in keys:
                runs = []
                for i in range(args.repeat):
                    try:
                        runs.append(run_scenario(lab, context, key, i))
                    except Exception as exc:  # one failed run must not lose the others
                        print(f"[bench] {key}#{i} failed: {exc!r}"[:2000], file=sys.stderr)
                        with contextlib.suppress(Exception):
                            lab.shutdown_sessions()
                        continue
                    print(f"[bench] {key}#{i}: {json.dumps(runs[-1])}", file=sys.stderr)
                entry = {"title": SCENARIOS[key]["title"], "runs_ok": len(runs)}
                if runs:
                    entry["median"] = _median_of(runs)
                if args.raw:
                    entry["runs"] = runs
                report["scenarios"][key] = entry
    finally:
        lab.stop()
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
