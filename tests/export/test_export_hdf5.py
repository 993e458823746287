"""HDF5 export: every dataset read back and compared with the events; NeXus layout."""

from __future__ import annotations

import errno
import json

import h5py
import numpy as np
import pytest

from livescan.errors import FileExistsExportError
from livescan.export import HDF5Exporter, export_hdf5
from livescan.export._h5column import Column as _Column
from livescan.testing import feed, frames_of, make_run


def _events(docs):
    return [d for n, d in docs if n == "event"]


def _check_file(path, docs, *, exit_status="success"):
    events = _events(docs)
    with h5py.File(path, "r") as f:
        assert f.attrs["NX_class"] == "NXroot" and f.attrs["default"] == "entry"
        entry = f["entry"]
        assert entry.attrs["NX_class"] == "NXentry"
        assert entry.attrs["uid"] == docs[0][1]["uid"]
        assert entry.attrs["exit_status"] == exit_status
        assert json.loads(entry["documents/start"][()]) == json.loads(json.dumps(docs[0][1]))
        if docs[-1][0] == "stop":
            assert json.loads(entry["documents/stop"][()]) == docs[-1][1]
        descs = [json.loads(s) for s in entry["documents/descriptors"][()]]
        assert [d["uid"] for d in descs] == [d["uid"] for n, d in docs if n == "descriptor"]
        primary = entry["primary"]
        assert entry.attrs["default"] == "primary"
        assert primary.attrs["NX_class"] == "NXdata"
        assert primary.attrs["signal"] == "det"
        assert list(primary.attrs["axes"]) == ["motor"]
        assert primary.attrs["motor_indices"] == 0
        for key in ("motor", "det", "temperature"):
            np.testing.assert_array_equal(primary[key][()], [e["data"][key] for e in events])
            np.testing.assert_array_equal(
                primary[f"timestamps/{key}"][()], [e["timestamps"][key] for e in events]
            )
        img = primary["img"]
        assert img.dtype == np.uint16 and img.chunks[0] == 1
        np.testing.assert_array_equal(img[()], np.stack(frames_of(docs)))
        np.testing.assert_array_equal(primary["events/seq_num"][()], [e["seq_num"] for e in events])
        np.testing.assert_array_equal(primary["seq_num"][()], [e["seq_num"] for e in events])
        assert [u.decode() for u in primary["events/uid"][()]] == [e["uid"] for e in events]
        return {k: primary[k][()] for k in ("motor", "det", "img")}


@pytest.mark.parametrize("shape", [(4, 5), (2, 4, 5)], ids=["2d", "3d"])
@pytest.mark.parametrize("external", [False, True], ids=["inline", "file-backed"])
def test_live_hdf5_export_reads_back(tmp_path, external, shape):
    docs = make_run(n=4, shape=shape, external_dir=tmp_path if external else None)
    exp = HDF5Exporter(str(tmp_path / "h5/{start[scan_id]}_{start[uid]:.8}.h5"))
    final = tmp_path / f"h5/1_{docs[0][1]['uid'][:8]}.h5"
    feed(docs[:-1], exp)
    assert not final.exists()  # the final name appears only at the stop
    assert final.with_name(final.name + ".partial").exists()
    exp(*docs[-1])
    assert exp.filenames == [str(final)]
    assert sorted(p.name for p in final.parent.iterdir()) == [final.name]
    _check_file(final, docs)


def test_compression_keeps_the_values(tmp_path):
    docs = make_run(n=3, shape=(16, 16))
    exp = HDF5Exporter(str(tmp_path / "{start.scan_id}.h5"), compression="gzip")
    feed(docs, exp)
    with h5py.File(exp.filenames[0]) as f:
        assert f["entry/primary/img"].compression == "gzip"
    _check_file(exp.filenames[0], docs)
    with pytest.raises(ValueError, match="compression must be one of"):
        HDF5Exporter("x.h5", compression="zip")


def test_export_from_the_store_equals_the_live_export(tmp_path, db):
    docs = make_run(n=3, external_dir=tmp_path)
    live = HDF5Exporter(str(tmp_path / "live_{start.scan_id}.h5"))
    feed(docs, db, live)
    path = export_hdf5(db[-1], tmp_path / "saved.h5")
    a = _check_file(live.filenames[0], docs)
    b = _check_file(path, docs)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_the_spec_suitcase_recipe_works_against_the_store(tmp_path, db):
    written = []

    def suitcase_as_callback(name, doc):
        if name != "stop":
            return
        run_start_uid = doc["run_start"]
        header = db[run_start_uid]
        filename = str(tmp_path / f"{run_start_uid}.h5")
        written.append(export_hdf5(header, filename))

    docs = make_run(n=2)
    feed(docs, db, suitcase_as_callback)
    assert written == [tmp_path / f"{docs[0][1]['uid']}.h5"]
    _check_file(written[0], docs)


def test_unfinished_run_is_exported_as_unfinished(tmp_path, db):
    docs = make_run(n=2, with_stop=False)
    feed(docs, db)
    path = export_hdf5(db[-1], tmp_path / "u.h5")
    _check_file(path, docs, exit_status="unfinished")


def test_existing_file_is_refused_before_any_data(tmp_path):
    (tmp_path / "1.h5").write_bytes(b"keep me")
    docs = make_run(n=1)
    with pytest.raises(FileExistsExportError, match="overwrite=True"):
        feed(docs, HDF5Exporter(str(tmp_path / "{start.scan_id}.h5")))
    assert (tmp_path / "1.h5").read_bytes() == b"keep me"
    feed(docs, HDF5Exporter(str(tmp_path / "{start.scan_id}.h5"), overwrite=True))
    _check_file(tmp_path / "1.h5", docs)


def test_full_disk_leaves_a_closed_readable_partial_file(tmp_path, monkeypatch):
    real = _Column.append
    count = {"n": 0}

    def append(self, value):
        if self.ds.name == "/entry/primary/img":
            count["n"] += 1
            if count["n"] == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, value)

    monkeypatch.setattr(_Column, "append", append)
    docs = make_run(n=5)
    exp = HDF5Exporter(str(tmp_path / "{start.scan_id}.h5"))
    with pytest.raises(OSError, match="No space left") as info:
        feed(docs, exp)
    partial = tmp_path / "1.h5.partial"
    assert any(str(partial) in note for note in info.value.__notes__)
    assert not (tmp_path / "1.h5").exists()
    with h5py.File(partial, "r") as f:  # closed (openable) and readable
        assert f["entry"].attrs["exit_status"] == "export failed"
        assert "No space left" in f["entry"].attrs["reason"]
        np.testing.assert_array_equal(f["entry/primary/img"][()], np.stack(frames_of(docs)[:2]))
        # The row cut short is dropped from every column: all have the 2 complete rows.
        assert f["entry/primary/motor"].shape == (2,)
        assert f["entry/primary/events/seq_num"].shape == (2,)


def test_grid_and_string_fields(tmp_path):
    from livescan.documents import RunComposer

    run = RunComposer(
        {
            "plan_name": "grid_scan",
            "scan_id": 3,
            "hints": {"dimensions": [[["m1"], "primary"], [["m2"], "primary"]]},
        }
    )
    keys = {
        "m1": {"dtype": "number", "shape": [], "source": "a"},
        "m2": {"dtype": "number", "shape": [], "source": "b"},
        "n": {"dtype": "integer", "shape": [], "source": "c"},
        "label": {"dtype": "string", "shape": [], "source": "d"},
    }
    desc = run.descriptor("primary", keys)
    docs = [("start", run.start()), ("descriptor", desc)]
    docs += [
        (
            "event",
            run.event(
                desc,
                {"m1": i // 2, "m2": i % 2, "n": i, "label": f"p{i}"},
                dict.fromkeys(keys, 0.0),
            ),
        )
        for i in range(4)
    ]
    docs.append(("stop", run.stop()))
    exp = HDF5Exporter(str(tmp_path / "{start.scan_id}.h5"))
    feed(docs, exp)
    with h5py.File(exp.filenames[0]) as f:
        p = f["entry/primary"]
        assert p.attrs["signal"] == "n" and list(p.attrs["axes"]) == ["m1"]
        assert p.attrs["m1_indices"] == 0 and p.attrs["m2_indices"] == 0
        np.testing.assert_array_equal(p["m2"][()], [0, 1, 0, 1])
        assert p["n"].dtype == np.int64
        assert [s.decode() for s in p["label"][()]] == ["p0", "p1", "p2", "p3"]
