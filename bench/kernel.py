"""What live feedback costs in a real Jupyter kernel, beside plain Python.

Starts an ipykernel (jupyter_client, the kernel is this interpreter), runs the same
``count`` in it with and without the run-status widget and the live widgets, and the same
count in a plain Python process with no subscribers; alternates them ``--repeat`` times and
prints medians as JSON. ``kernel_status_noop`` (the status widget and a lossy subscriber
that does nothing) is the floor under the live widgets' figure. A scenario's ``ratio`` is
its events/s over plain Python's (1.0 = free). Times are taken inside each process:
``seconds`` from ``RE()`` until ``await`` returns — the awaited cell; the cells are sent
as JupyterLab sends them, where the static fallback picture a finished run leaves behind
(drawn on a worker thread) lands after the cell, except for ``…_batch`` scenarios, sent
as nbclient sends them (no stdin), where the awaited run waits for it — and
``run_seconds`` from ``RE()`` until the run itself ended (its stop sent, the next queued
run free to start). ``cpu_seconds`` is the process's CPU time over the cell (all
its threads; steadier than wall time on a busy machine; ``cpu_ratio`` as ``ratio``).
``output_bytes`` is what the run's cell added to the notebook's outputs (display data and
its updates) before the kernel went idle, the bulk of what a saved notebook grows by
(widget state aside; an interactive cell's fallback lands after, so see ``…_batch``).

The kernel and plain-Python runs import livescan from this script's own tree (``src``
beside ``bench``), whatever the caller's ``PYTHONPATH`` says. ``--against SRC`` runs every
figure a second time with the livescan of another tree
(``SRC`` is its ``src`` directory: its own kernel and plain-Python runs), alternated run by
run with this tree's, so two versions are compared within the same minutes of a shared
machine; the second tree's figures are printed under ``"against"``.

``--only NAME[,NAME]`` measures only those scenarios (and plain Python).

    python bench/kernel.py [--events 20000] [--repeat 5] [--against /path/to/other/src]
                           [--only kernel_status,kernel_plot_table]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.manager import KernelManager

REPO = Path(__file__).resolve().parents[1]

SETUP = """
import time, warnings
from livescan import RunEngine
from livescan.plans import count
from livescan.sim import det
from livescan.callbacks import LiveTable, LivePlot


class NoOp:
    # a lossy subscriber that takes event pages and does nothing: what the lossy lane
    # itself costs, with callbacks that cost nothing

    accepts_event_pages = True
    mutates_documents = False

    def __call__(self, name, doc):
        pass
"""

SCENARIOS: dict[str, str] = {
    "kernel_bare": "RE = RunEngine(display=False); subs = []",
    "kernel_status": "RE = RunEngine(); subs = []",
    "kernel_plot_table": "RE = RunEngine(); subs = [LivePlot('det'), LiveTable([det])]",
    # the same, the cell sent as nbclient sends it (no stdin): the awaited run waits for
    # its fallback picture, so executed notebooks keep it
    "kernel_plot_table_batch": "RE = RunEngine(); subs = [LivePlot('det'), LiveTable([det])]",
    # the floor under the line above: status and a lossy subscriber that does nothing
    "kernel_status_noop": "RE = RunEngine(); subs = [NoOp()]",
}

RUN = """
t0, w0, c0 = time.perf_counter(), time.time(), time.process_time()
h = RE(count([det], {n}), subs)
await h
print('ELAPSED', time.perf_counter() - t0)
print('CPU', time.process_time() - c0)
print('RUN', h.end_time - w0)
"""

PLAIN = """
import time
from livescan import RunEngine
from livescan.plans import count
from livescan.sim import det
RE = RunEngine(display=False)
RE(count([det], 100))
t0, c0 = time.perf_counter(), time.process_time()
RE(count([det], {n}))
print('ELAPSED', time.perf_counter() - t0)
print('CPU', time.process_time() - c0)
"""


class Kernel:
    """A kernel we send cells to; collects their output messages."""

    def __init__(self, src: str | None = None) -> None:
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=_env(src), cwd=str(REPO))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 300, *, stdin: bool = True) -> tuple[str, int]:
        """Execute ``code`` (as JupyterLab sends it, or with ``stdin=False`` as nbclient
        does); return its stdout and the bytes of display outputs before the idle."""
        msg_id = self.kc.execute(code, allow_stdin=stdin)
        stdout, out_bytes = [], 0
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            except Empty as exc:
                raise TimeoutError(f"no answer to {code!r:.60}") from exc
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                stdout.append(content["text"])
            elif kind in ("display_data", "update_display_data", "execute_result"):
                out_bytes += len(json.dumps(content.get("data", {})))
            elif kind == "error":
                raise RuntimeError("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(stdout), out_bytes

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def _elapsed(stdout: str, key: str = "ELAPSED") -> float:
    for line in stdout.splitlines():
        if line.startswith(key):
            return float(line.split()[1])
    raise RuntimeError(f"no timing in {stdout!r}")


def _env(src: str | None) -> dict[str, str]:
    """This process's environment; with ``src``, livescan is imported from there."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(Path(src).resolve())
    return env


def plain(n: int, src: str | None = None) -> str:
    return subprocess.run(
        [sys.executable, "-c", PLAIN.format(n=n)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=_env(src),
    ).stdout


class Tree:
    """One livescan tree's kernel and the figures measured with it."""

    def __init__(self, src: str | None, scenarios: list[str]) -> None:
        self.src = src
        self.times: dict[str, list[float]] = {"plain": [], **{k: [] for k in scenarios}}
        self.sizes: dict[str, list[int]] = {k: [] for k in scenarios}
        self.runs: dict[str, list[float]] = {k: [] for k in scenarios}
        self.cpu: dict[str, list[float]] = {k: [] for k in self.times}
        self.kernel = Kernel(src)
        self.kernel.run(SETUP)
        warm = RUN.format(n=100).replace("subs", "[]")
        self.kernel.run("RE = RunEngine(display=False)\n" + warm)

    def measure(self, n: int, name: str) -> None:
        """One run of scenario ``name`` (or plain Python)."""
        if name == "plain":
            out = plain(n, self.src)
        else:
            self.kernel.run(SCENARIOS[name])
            batch = name.endswith("_batch")
            out, size = self.kernel.run(textwrap.dedent(RUN.format(n=n)), stdin=not batch)
            self.runs[name].append(_elapsed(out, "RUN"))
            self.sizes[name].append(size)
        self.times[name].append(_elapsed(out))
        self.cpu[name].append(_elapsed(out, "CPU"))

    def result(self, n: int) -> dict[str, Any]:
        base = statistics.median(self.times["plain"])
        cpu_base = statistics.median(self.cpu["plain"])
        result: dict[str, Any] = {}
        for name, values in self.times.items():
            med = statistics.median(values)
            entry: dict[str, Any] = {
                "seconds": round(med, 4),
                "events_per_s": round(n / med),
                "ratio": round(base / med, 3),
                "cpu_seconds": round(statistics.median(self.cpu[name]), 4),
                "cpu_ratio": round(cpu_base / statistics.median(self.cpu[name]), 3),
            }
            if name in self.sizes:
                run = statistics.median(self.runs[name])
                entry["run_seconds"] = round(run, 4)
                entry["run_ratio"] = round(base / run, 3)
                entry["output_bytes"] = int(statistics.median(self.sizes[name]))
            result[name] = entry
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--against", metavar="SRC", help="another tree's src directory, "
                        "measured alternately with this one")  # fmt: skip
    parser.add_argument("--only", metavar="NAMES", help="comma-separated scenarios to "
                        f"measure (of {', '.join(SCENARIOS)}); default all")  # fmt: skip
    args = parser.parse_args()
    n = args.events
    scenarios = list(SCENARIOS) if not args.only else args.only.split(",")
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {unknown[0]!r}: choose among {', '.join(SCENARIOS)}")
    trees: list[Tree] = []
    try:
        trees.append(Tree(str(REPO / "src"), scenarios))  # this tree, whatever PYTHONPATH says
        if args.against:
            trees.append(Tree(args.against, scenarios))
        for _ in range(args.repeat):
            for name in ("plain", *scenarios):
                for tree in trees:
                    tree.measure(n, name)
    finally:
        for tree in trees:
            tree.kernel.close()
    result: dict[str, Any] = {"events": n, "repeat": args.repeat, **trees[0].result(n)}
    if args.against:
        result["against"] = {"src": args.against, **trees[1].result(n)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
