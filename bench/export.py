"""Exporter chain throughput vs plain tifffile / h5py loops, plus a camera scan.

    .venv/bin/python bench/export.py [--frames 500] [--repeats 5] [--dir /some/disk]

1. 500 frames of 512x512 uint16 written one file per frame by ``LiveTiffExporter`` (fed
   the run's documents, as the RunEngine's lossless lane does; also with its writer thread)
   vs a plain ``tifffile.imwrite`` loop.
2. The same frames appended to one HDF5 file by ``HDF5Exporter`` vs a plain h5py chunked
   append (one chunk per frame, resize + write per frame) in one run.
3. The same frames inside events recorded by ``RunStore`` (binary frame files beside the
   journal; ``fsync='never'`` like the loops, and the default ``fsync='stop'``, which
   fsyncs the journal and the frame files once at the stop) vs the plain h5py append.
4. A camera scan into the store through the real RunEngine: ``count`` of a camera whose
   512x512 frames are ready (the same frames, so the camera's simulation is not timed)
   with ``RunStore()`` subscribed lossless, vs the plain h5py append of the same frames
   (issue 10's target: at least 0.8 of it) and vs the same scan with nothing subscribed.
5. A camera scan through the real RunEngine (512x512 frames in the camera's HDF5 file,
   resource/datum documents) with the run store + TIFF + HDF5 subscribed lossless, vs
   the same scan with nothing subscribed.

Each measurement is repeated (the variants interleaved) and the medians are reported.
Documents are composed before the timing starts: the chain's cost is what the exporter
does with them. Nothing calls fsync (neither the loops nor the exporters; the store
fsyncs its journal once per run at the stop), so this measures the page cache path.
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import tifffile

from livescan.documents import RunComposer
from livescan.export import HDF5Exporter, LiveTiffExporter

SHAPE = (512, 512)


def make_frames(n_distinct: int = 16) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 4096, size=SHAPE, dtype=np.uint16) for _ in range(n_distinct)]


def make_docs(frames: list[np.ndarray], n: int) -> list[tuple[str, dict[str, Any]]]:
    run = RunComposer({"plan_name": "count", "scan_id": 1, "num_points": n})
    key = {"dtype": "array", "shape": list(SHAPE), "source": "bench", "dtype_numpy": "<u2"}
    desc = run.descriptor("primary", {"cam": key})
    docs = [("start", run.start()), ("descriptor", desc)]
    for i in range(n):
        docs.append(("event", run.event(desc, {"cam": frames[i % len(frames)]}, {"cam": 0.0})))
    docs.append(("stop", run.stop()))
    return docs


def plain_tiff(out: Path, frames: list[np.ndarray], n: int) -> None:
    for i in range(n):
        tifffile.imwrite(out / f"{i + 1}.tif", frames[i % len(frames)])


def chain_tiff(out: Path, docs: list, queue_size: int = 0) -> None:
    exporter = LiveTiffExporter("cam", str(out / "{event.seq_num}.tif"), queue_size=queue_size)
    for name, doc in docs:
        exporter(name, doc)
    assert len(exporter.filenames) == len(docs) - 3


def plain_h5(out: Path, frames: list[np.ndarray], n: int) -> None:
    with h5py.File(out / "plain.h5", "w") as f:
        ds = f.create_dataset(
            "data", shape=(0, *SHAPE), maxshape=(None, *SHAPE), chunks=(1, *SHAPE), dtype=np.uint16
        )
        for i in range(n):
            ds.resize(i + 1, axis=0)
            ds[i] = frames[i % len(frames)]


def chain_h5(out: Path, docs: list) -> None:
    exporter = HDF5Exporter(str(out / "chain_{start[scan_id]}.h5"))
    for name, doc in docs:
        exporter(name, doc)
    assert exporter.filenames


def chain_store(out: Path, docs: list, fsync: str) -> None:
    from livescan.store import RunStore

    store = RunStore(out / "store", fsync=fsync)
    for name, doc in docs:
        store(name, doc)
    store.close()


def timed(fn: Callable[[Path], Any], base: Path) -> float:
    out = Path(tempfile.mkdtemp(dir=base))
    try:
        t0 = time.perf_counter()
        fn(out)
        return time.perf_counter() - t0
    finally:
        shutil.rmtree(out)


class ReadyCamera:
    """A camera whose frames are ready: ``read()`` hands out the bench's frames in turn."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.name, self.parent = "cam", None
        self.frames, self.i = frames, 0

    def trigger(self) -> Any:
        from livescan.sim import SimStatus

        self.i += 1
        return SimStatus.finished()

    def read(self) -> dict[str, dict[str, Any]]:
        return {"cam": {"value": self.frames[self.i % len(self.frames)], "timestamp": time.time()}}

    def describe(self) -> dict[str, dict[str, Any]]:
        key = {"source": "bench", "dtype": "array", "shape": list(SHAPE), "dtype_numpy": "<u2"}
        return {"cam": key}

    def read_configuration(self) -> dict[str, Any]:
        return {}

    def describe_configuration(self) -> dict[str, Any]:
        return {}


def camera_scan_into_store(
    base: Path, frames: list[np.ndarray], n: int, repeats: int
) -> dict[str, Any]:
    from livescan import RunEngine
    from livescan.plans import count
    from livescan.store import RunStore

    cam = ReadyCamera(frames)
    times: dict[str, list[float]] = {"plain_h5py": [], "RunStore": [], "bare": []}
    for _ in range(repeats):
        times["plain_h5py"].append(timed(lambda out: plain_h5(out, frames, n), base))
        for variant in ("RunStore", "bare"):
            out = Path(tempfile.mkdtemp(dir=base))
            RE = RunEngine(display=False)
            store = None
            if variant == "RunStore":
                store = RunStore(out / "store")  # the default: fsync at the stop
                RE.subscribe_lossless(store)
            t0 = time.perf_counter()
            RE(count([cam], num=n))
            times[variant].append(time.perf_counter() - t0)
            if store is not None:
                assert len(store[-1]["primary"]) == n
                store.close()
            shutil.rmtree(out)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "frames": n,
        "frame": f"{SHAPE[0]}x{SHAPE[1]} uint16, ready (the camera is not simulated)",
        "median_s": {k: round(v, 3) for k, v in med.items()},
        "all_s": {k: [round(x, 3) for x in v] for k, v in times.items()},
        "RunStore scan / plain h5py append (throughput)": round(
            med["plain_h5py"] / med["RunStore"], 3
        ),
        "target": 0.8,
    }


def camera_scan(base: Path, n: int, repeats: int) -> dict[str, Any]:
    from livescan import RunEngine
    from livescan.plans import scan
    from livescan.sim import SimCamera, SimMotor
    from livescan.store import RunStore

    m = SimMotor("m")
    cam_root = Path(tempfile.mkdtemp(dir=base))
    cam = SimCamera(
        "cam", shape=SHAPE, motors=(m, None), external=True, noise=False, root=str(cam_root)
    )
    bare_times, full_times = [], []
    for _ in range(repeats):
        for variant in ("bare", "full"):
            out = Path(tempfile.mkdtemp(dir=base))
            RE = RunEngine(display=False)
            store = None
            if variant == "full":
                store = RunStore(out / "store")
                RE.subscribe_lossless(store)
                RE.subscribe_lossless(LiveTiffExporter("cam", str(out / "t/{event.seq_num}.tif")))
                RE.subscribe_lossless(HDF5Exporter(str(out / "{start[scan_id]}.h5")))
            t0 = time.perf_counter()
            RE(scan([cam], m, -1, 1, num=n))
            dt = time.perf_counter() - t0
            if store is not None:
                assert len(store[-1]["primary"]) == n
                store.close()
            (full_times if variant == "full" else bare_times).append(dt)
            shutil.rmtree(out)
    shutil.rmtree(cam_root)
    bare, full = statistics.median(bare_times), statistics.median(full_times)
    return {
        "points": n,
        "frame": f"{SHAPE[0]}x{SHAPE[1]} uint16, camera writes its own HDF5 (AD_HDF5)",
        "subscribed": ["RunStore", "LiveTiffExporter", "HDF5Exporter (fill=True)"],
        "bare_s": round(bare, 3),
        "with_chain_s": round(full, 3),
        "bare_points_per_s": round(n / bare, 1),
        "with_chain_points_per_s": round(n / full, 1),
        "chain_cost_ms_per_point": round(1000 * (full - bare) / n, 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scan-points", type=int, default=100)
    parser.add_argument("--dir", default=None, help="where to write (default: temp dir)")
    args = parser.parse_args(argv)

    base = Path(tempfile.mkdtemp(prefix="livescan-bench-", dir=args.dir))
    n = args.frames
    frames = make_frames()
    docs = make_docs(frames, n)
    mb = n * frames[0].nbytes / 1e6
    variants: dict[str, Callable[[Path], Any]] = {
        "plain_tifffile_loop": lambda out: plain_tiff(out, frames, n),
        "LiveTiffExporter": lambda out: chain_tiff(out, docs),
        "LiveTiffExporter_writer_thread": lambda out: chain_tiff(out, docs, queue_size=16),
        "plain_h5py_chunked_append": lambda out: plain_h5(out, frames, n),
        "HDF5Exporter": lambda out: chain_h5(out, docs),
        "RunStore": lambda out: chain_store(out, docs, "never"),
        "RunStore_fsync_stop": lambda out: chain_store(out, docs, "stop"),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    try:
        for _ in range(args.repeats):
            for name, fn in variants.items():
                times[name].append(timed(fn, base))
        medians = {k: statistics.median(v) for k, v in times.items()}
        result: dict[str, Any] = {
            "frames": n,
            "frame": f"{SHAPE[0]}x{SHAPE[1]} uint16",
            "megabytes": round(mb, 1),
            "repeats": args.repeats,
            "python": sys.version.split()[0],
            "tifffile": tifffile.__version__,
            "h5py": h5py.__version__,
            "cpus": os.cpu_count(),
            "results": {
                k: {
                    "median_s": round(t, 3),
                    "frames_per_s": round(n / t, 1),
                    "MB_per_s": round(mb / t, 1),
                    "all_s": [round(x, 3) for x in times[k]],
                }
                for k, t in medians.items()
            },
            "ratios": {
                "LiveTiffExporter / plain tifffile loop (throughput)": round(
                    medians["plain_tifffile_loop"] / medians["LiveTiffExporter"], 3
                ),
                "LiveTiffExporter writer thread / plain tifffile loop": round(
                    medians["plain_tifffile_loop"] / medians["LiveTiffExporter_writer_thread"], 3
                ),
                "HDF5Exporter / plain h5py append (throughput)": round(
                    medians["plain_h5py_chunked_append"] / medians["HDF5Exporter"], 3
                ),
                "RunStore / plain h5py append (throughput)": round(
                    medians["plain_h5py_chunked_append"] / medians["RunStore"], 3
                ),
                "RunStore fsync at stop / plain h5py append (throughput)": round(
                    medians["plain_h5py_chunked_append"] / medians["RunStore_fsync_stop"], 3
                ),
                "target": 0.8,
            },
        }
        result["camera_scan_into_store"] = camera_scan_into_store(base, frames, n, args.repeats)
        if args.scan_points > 0:
            result["camera_scan"] = camera_scan(base, args.scan_points, max(1, args.repeats // 2))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
