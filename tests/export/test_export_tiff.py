"""LiveTiffExporter: every file read back and compared with the events."""

from __future__ import annotations

import errno

import numpy as np
import pytest
import tifffile

from livescan.errors import ExportError, FileExistsExportError, TemplateError
from livescan.export import LiveTiffExporter
from livescan.testing import feed, frames_of, make_run


def _check_files(exporter, docs, tmp_path):
    frames = frames_of(docs)
    names = exporter.filenames
    planes = [p for f in frames for p in (f if f.ndim == 3 else [f])]
    assert len(names) == len(planes)
    for name, plane in zip(names, planes):
        back = tifffile.imread(name)
        assert back.dtype == plane.dtype
        np.testing.assert_array_equal(back, plane)
    leftovers = [p for p in tmp_path.rglob("*.partial")]
    assert leftovers == []


@pytest.mark.parametrize("external", [False, True], ids=["inline", "file-backed"])
def test_2d_frames_written_and_read_back(tmp_path, external):
    docs = make_run(n=4, external_dir=tmp_path if external else None)
    exp = LiveTiffExporter("img", str(tmp_path / "out/{start.scan_id}_{event.seq_num}.tiff"))
    feed(docs, exp)
    assert exp.filenames == [str(tmp_path / f"out/1_{k}.tiff") for k in range(1, 5)]
    _check_files(exp, docs, tmp_path)


@pytest.mark.parametrize("external", [False, True], ids=["inline", "file-backed"])
def test_3d_stacks_one_file_per_plane(tmp_path, external):
    docs = make_run(n=3, shape=(2, 4, 5), external_dir=tmp_path if external else None)
    exp = LiveTiffExporter("img", str(tmp_path / "{start[scan_id]}/{event[seq_num]}_{i}.tif"))
    feed(docs, exp)
    assert exp.filenames[:3] == [str(tmp_path / p) for p in ("1/1_0.tif", "1/1_1.tif", "1/2_0.tif")]
    _check_files(exp, docs, tmp_path)


def test_stack_without_i_is_refused_at_the_descriptor(tmp_path):
    docs = make_run(n=2, shape=(2, 4, 5))
    exp = LiveTiffExporter("img", str(tmp_path / "{event.seq_num}.tif"))
    exp(*docs[0])
    with pytest.raises(TemplateError, match=r"stacks of 2 planes.*no \{i\}"):
        exp(*docs[1])
    assert list(tmp_path.iterdir()) == []


def test_spec_templates_metadata_event_data_and_folders(tmp_path, monkeypatch):
    md = {"sample_name": "Si-111", "user": "ada", "scan_id": 42}
    docs = make_run(n=2, md=md)
    monkeypatch.chdir(tmp_path)  # the spec's relative templates resolve against the cwd
    exp = LiveTiffExporter(
        "img",
        "output_dir/{start.scan_id}_{start.sample_name}_"
        "{event.data.temperature}_{event.seq_num}.tiff",
    )
    nested = LiveTiffExporter("img", "{start.user}/{start.scan_id}/{event.seq_num:03d}.tiff")
    feed(docs, exp, nested)
    assert exp.filenames == [
        str(tmp_path / f"output_dir/42_Si-111_{290.0 + k}_{k + 1}.tiff") for k in range(2)
    ]
    assert nested.filenames == [str(tmp_path / f"ada/42/{k:03d}.tiff") for k in (1, 2)]
    _check_files(exp, docs, tmp_path)
    _check_files(nested, docs, tmp_path)


@pytest.mark.parametrize("value", ["..", "../../etc", "/etc", "a/b", "x\\y", ".", "a\0b"])
def test_hostile_metadata_cannot_leave_the_folder(tmp_path, value):
    docs = make_run(n=1, md={"user": value})
    exp = LiveTiffExporter("img", str(tmp_path / "out/{start.user}/{event.seq_num}.tif"))
    with pytest.raises(TemplateError, match=r"start.user"):
        exp(*docs[0])  # refused at the start document, before any frame
    assert list(tmp_path.iterdir()) == []


def test_hostile_event_data_cannot_leave_the_folder(tmp_path):
    docs = make_run(n=1)
    docs[2][1]["data"]["temperature"] = "../../x"
    exp = LiveTiffExporter("img", str(tmp_path / "out/{event.data.temperature}.tif"))
    with pytest.raises(TemplateError, match="contains '/'"):
        feed(docs, exp)
    assert not (tmp_path / "out").exists() and exp.filenames == []


@pytest.mark.parametrize(
    ("template", "match"),
    [
        ("{start.__class__}/{event.seq_num}.tif", "never object attributes"),
        ("{start[__globals__]}_{event.seq_num}.tif", "never object attributes"),
        ("{event.seq_num.__class__.__mro__}.tif", "never object attributes"),
        ("{0}_{event.seq_num}.tif", "positional"),
        ("{self.x}_{event.seq_num}.tif", "unknown name 'self'"),
        ("{start.scan_id", "malformed"),
        ("{start.scan_id:{event.seq_num}}_{event.seq_num}.tif", "nested"),
        ("out/{start.scan_id}.tif", "same file name"),
        ("", "empty"),
    ],
)
def test_bad_templates_are_refused_when_made(template, match):
    with pytest.raises(TemplateError, match=match):
        LiveTiffExporter("img", template)


def test_missing_metadata_names_the_key_before_any_frame(tmp_path):
    docs = make_run(n=2)
    exp = LiveTiffExporter("img", str(tmp_path / "{start.sample_name}_{event.seq_num}.tif"))
    with pytest.raises(TemplateError, match="no key 'sample_name'"):
        exp(*docs[0])
    exp2 = LiveTiffExporter("img", str(tmp_path / "{event.data.pressure}_{event.seq_num}.tif"))
    exp2(*docs[0])
    with pytest.raises(TemplateError, match="uses event data 'pressure'"):
        exp2(*docs[1])
    exp3 = LiveTiffExporter("img", str(tmp_path / "{start.detectors}_{event.seq_num}.tif"))
    with pytest.raises(TemplateError, match="is a list, not a plain value"):
        exp3(*docs[0])
    assert list(tmp_path.iterdir()) == []


def test_dryrun_fills_filenames_and_writes_nothing(tmp_path):
    docs = make_run(n=3)
    exp = LiveTiffExporter("img", str(tmp_path / "d/{event.seq_num}.tif"), dryrun=True)
    feed(docs, exp)
    assert exp.filenames == [str(tmp_path / f"d/{k}.tif") for k in (1, 2, 3)]
    assert list(tmp_path.iterdir()) == []


def test_existing_file_raises_oserror_unless_overwrite(tmp_path):
    template = str(tmp_path / "{event.seq_num}.tif")
    first = make_run(n=2, seed=1)
    feed(first, LiveTiffExporter("img", template))
    second = make_run(n=2, seed=2)
    exp = LiveTiffExporter("img", template)
    with pytest.raises(FileExistsExportError, match="overwrite=True") as info:
        feed(second, exp)
    assert isinstance(info.value, OSError)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "1.tif"), frames_of(first)[0])
    again = LiveTiffExporter("img", template, overwrite=True)
    feed(second, again)
    _check_files(again, second, tmp_path)


def test_two_frames_with_one_name_are_refused(tmp_path):
    docs = make_run(n=2, md={"scan_id": 5})
    exp = LiveTiffExporter(
        "img", str(tmp_path / "{start.scan_id}_{event.data.motor:.0f}.tif"), overwrite=True
    )
    with pytest.raises(TemplateError, match="for two frames"):
        feed(docs, exp)  # motor 0.0 and 0.5 both give "5_0.tif"


def test_filenames_reset_each_run_and_other_fields_are_ignored(tmp_path):
    exp = LiveTiffExporter("img", str(tmp_path / "{start.scan_id}_{event.seq_num}.tif"))
    feed(make_run(n=2, md={"scan_id": 1}), exp)
    feed(make_run(n=1, md={"scan_id": 2}), exp)
    assert exp.filenames == [str(tmp_path / "2_1.tif")]
    other = LiveTiffExporter("nope", str(tmp_path / "x/{event.seq_num}.tif"))
    with pytest.warns(RuntimeWarning, match=r"no stream .* has the field 'nope'"):
        feed(make_run(n=1), other)
    assert other.filenames == [] and not (tmp_path / "x").exists()


@pytest.mark.parametrize("queue_size", [0, 2])
def test_full_disk_mid_run_leaves_complete_files(tmp_path, monkeypatch, queue_size):
    real = tifffile.imwrite
    calls = []

    def imwrite(path, data, **kw):
        calls.append(path)
        if len(calls) == 3:
            with open(path, "wb") as f:
                f.write(b"II*\0partial")  # a torn write, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data, **kw)

    monkeypatch.setattr(tifffile, "imwrite", imwrite)
    docs = make_run(n=6)
    exp = LiveTiffExporter("img", str(tmp_path / "{event.seq_num}.tif"), queue_size=queue_size)
    with pytest.raises((OSError, ExportError), match="No space left"):
        feed(docs, exp)
    # The two frames written before are complete; no torn or temporary file is left.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.tif", "2.tif"]
    assert exp.filenames == [str(tmp_path / "1.tif"), str(tmp_path / "2.tif")]
    for name, frame in zip(exp.filenames, frames_of(docs)):
        np.testing.assert_array_equal(tifffile.imread(name), frame)


def test_writer_thread_gives_the_same_files(tmp_path):
    docs = make_run(n=8, shape=(16, 16))
    exp = LiveTiffExporter("img", str(tmp_path / "{event.seq_num}.tif"), queue_size=2)
    feed(docs, exp)
    assert exp.filenames == [str(tmp_path / f"{k}.tif") for k in range(1, 9)]
    _check_files(exp, docs, tmp_path)
    with pytest.raises(ValueError, match="queue_size"):
        LiveTiffExporter("img", "{event.seq_num}.tif", queue_size=-1)


def test_writer_thread_error_on_the_last_frame_marks_the_stop_failed(RE, tmp_path, monkeypatch):
    """The error surfaces only after the last event; the engine flushes lossless
    subscribers before composing the stop, so the stop says 'fail' and names the exporter."""
    import time

    from livescan.callbacks import DocumentCollector
    from livescan.errors import CriticalCallbackError
    from livescan.plans import count
    from livescan.sim import direct_img

    real = tifffile.imwrite

    def slow_then_full(path, data, **kw):
        time.sleep(0.02)  # the writer lags behind the scan
        if "4.tif" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data, **kw)

    monkeypatch.setattr(tifffile, "imwrite", slow_then_full)
    exp = LiveTiffExporter("direct_img", str(tmp_path / "{event.seq_num}.tif"), queue_size=8)
    other = DocumentCollector()
    RE.subscribe_lossless(exp)
    RE.subscribe_lossless(other)
    with pytest.raises(CriticalCallbackError, match="LiveTiffExporter"):
        RE(count([direct_img], num=4))
    assert other.stop["exit_status"] == "fail"
    assert "No space left" in other.stop["reason"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.tif", "2.tif", "3.tif"]
