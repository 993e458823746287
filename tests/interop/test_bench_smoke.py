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


def test_bench_export_small_prints_its_json(tmp_path):
    """bench/export.py with a few frames: every variant, issue 10's camera scan into the
    store and the chain's camera scan are measured and their frames checked."""
    proc = subprocess.run(
        [sys.executable, str(BENCH.with_name("export.py")), "--frames", "6", "--repeats", "1",
         "--scan-points", "3", "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert len(result["results"]) == 7 and result["ratios"]["target"] == 0.8
    into_store = result["camera_scan_into_store"]
    assert into_store["frames"] == 6 and into_store["median_s"]["RunStore"] > 0
    assert result["camera_scan"]["points"] == 3
    assert list(tmp_path.iterdir()) == []  # it cleans up after itself
