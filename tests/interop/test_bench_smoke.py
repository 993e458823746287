"""bench/engine.py --quick runs and prints the JSON it promises (no timing assertions)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench" / "engine.py"


def test_bench_quick_prints_its_json():
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert {"versions", "repeat", "note", "cases", "lossy"} <= set(result)
    assert set(result["cases"]) == {"count", "scan", "grid_scan"}
    for case in result["cases"].values():
        for engine in ("livescan", "bluesky"):
            assert {"events", "seconds_median", "events_per_s"} <= set(case[engine])
            assert case[engine]["events_per_s"] > 0
        assert case["ratio"] > 0
    assert result["cases"]["grid_scan"]["livescan"]["events"] == 400
    lossy = result["lossy"]
    assert {
        "seconds_without_median",
        "seconds_with_median",
        "slowdown",
        "delivered_events_median",
        "skipped_events_reported_median",
    } <= set(lossy)
    # every event was either delivered to the slow subscriber or counted as skipped
    assert lossy["delivered_all"][0] + lossy["skipped_reported_all"][0] == lossy["events"]
