"""A disk that fills up under every exporter and the store (a real tmpfs, real files).

Each case runs in a subprocess (a crash must not take pytest down): a camera count of
512x512 frames fills the small disk; the process must survive (also a full garbage
collection afterwards), the run must end ``fail`` with a reason naming the subscriber
(recorded by a store on another disk), every file left on the small disk must open, and
the engine must run the next plan.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest
import tifffile

from livescan.store import RunStore

CHILD = textwrap.dedent(
    """
    import gc, json, sys
    from livescan import RunEngine
    from livescan.errors import CriticalCallbackError
    from livescan.export import HDF5Exporter, LiveTiffExporter
    from livescan.plans import count
    from livescan.sim import SimCamera, det
    from livescan.store import RunStore

    case, small, big = sys.argv[1], sys.argv[2], sys.argv[3]
    cam = SimCamera("cam", shape=(512, 512), external=False)
    RE = RunEngine(display=False)
    log = RunStore(big + "/log")  # on a disk with room: records how the run ended
    RE.subscribe_lossless(log)
    if case == "hdf5":
        sub = HDF5Exporter(small + "/{start.scan_id}.h5")
    elif case == "tiff":
        sub = LiveTiffExporter("cam", small + "/t/{event.seq_num}.tif")
    elif case == "tiff-thread":
        sub = LiveTiffExporter("cam", small + "/t/{event.seq_num}.tif", queue_size=4)
    elif case == "store":
        sub = RunStore(small + "/store")
    token = RE.subscribe_lossless(sub)
    error = None
    try:
        RE(count([det, cam], num=400))
    except CriticalCallbackError as exc:
        error = str(exc)
    gc.collect()
    RE.unsubscribe(token)  # the disk is still full
    uids = RE(count([det], num=2))  # the engine is usable; nothing crashes later
    gc.collect()
    run = log[-2]
    print("RESULT", json.dumps({"error": error, "exit_status": run.exit_status,
                                "reason": run.stop["reason"], "events": len(run["primary"]),
                                "next": log[uids[0]].exit_status}))
    """
)

CASES = {
    "hdf5": "HDF5Exporter",
    "tiff": "LiveTiffExporter",
    "tiff-thread": "LiveTiffExporter",
    "store": "RunStore",
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_full_disk_fails_the_run_cleanly_and_every_file_opens(case, full_disk, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", CHILD, case, str(full_disk), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"the process died ({proc.returncode}):\n{proc.stderr[-3000:]}"
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT"))
    result = json.loads(line.split(" ", 1)[1])
    assert result["error"] and CASES[case] in result["error"], result
    assert result["exit_status"] == "fail" and CASES[case] in result["reason"], result
    assert 0 < result["events"] < 400 and result["next"] == "success"
    # every file left on the full disk opens
    files = [p for p in full_disk.rglob("*") if p.is_file()]
    assert files, "nothing was written before the disk filled"
    for path in files:
        if path.suffix == ".tif":
            assert tifffile.imread(path).shape == (512, 512)
        elif path.name.endswith((".h5", ".h5.partial")):
            with h5py.File(path, "r") as f:
                assert f["entry"].attrs["exit_status"] == "export failed"
                assert "nearly full" in f["entry"].attrs["reason"]
                rows = f["entry/primary/cam"]
                assert rows.shape[0] > 0 and np.asarray(rows[-1]).shape == (512, 512)
    assert not [p for p in files if p.name.endswith(".partial") and p.suffix == ".tif"]
    if case == "store":
        db = RunStore(full_disk / "store")
        run = db[-1]
        assert run.stop is None  # the store could not record the stop: the run reads
        assert len(run["primary"]) > 0
        assert run["primary"]["cam"].shape[1:] == (512, 512)
        db.close()
