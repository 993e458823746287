"""Filename templates: symlinks inside the folder, conversions, format specs, widths."""

from __future__ import annotations

import os
import tracemalloc

import pytest
import tifffile

from livescan.errors import TemplateError
from livescan.export import HDF5Exporter, LiveTiffExporter
from livescan.export._template import FilenameTemplate
from livescan.testing import feed, make_run


def test_a_symlink_inside_the_folder_is_not_followed_out(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    os.symlink(outside, out / "link")
    docs = make_run(n=2, md={"sub": "link"})
    exp = LiveTiffExporter("img", str(out / "{start.sub}/{event.seq_num}.tif"))
    with pytest.raises(TemplateError, match="symbolic link"):
        feed(docs, exp)
    assert list(outside.iterdir()) == []
    # A link as the last component is refused too.
    os.symlink(outside / "1.tif", out / "1.tif")
    exp = LiveTiffExporter("img", str(out / "{event.seq_num}.tif"), overwrite=True)
    with pytest.raises(TemplateError, match="symbolic link"):
        feed(docs, exp)
    assert list(outside.iterdir()) == []


def test_a_folder_that_is_itself_a_symlink_is_fine(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "data")
    docs = make_run(n=2)
    exp = LiveTiffExporter("img", str(tmp_path / "data/{event.seq_num}.tif"))
    feed(docs, exp)
    assert sorted(p.name for p in real.iterdir()) == ["1.tif", "2.tif"]
    assert tifffile.imread(real / "1.tif").shape == docs[2][1]["data"]["img"].shape


@pytest.mark.parametrize(
    ("field", "match"),
    [
        ("{event.seq_num!x}", r"unknown conversion '!x'"),
        ("{event.seq_num:5.5.5}", "not a format spec"),
        ("{event.seq_num:04q}", "not a format spec"),
        ("{event.seq_num:>50000000}", "width of 50000000 is too large"),
        ("{event.seq_num:.99999f}", "precision of 99999 is too large"),
    ],
)
def test_bad_conversions_and_specs_are_refused_when_made(field, match):
    with pytest.raises(TemplateError, match=match):
        LiveTiffExporter("img", f"out/{field}.tif")
    with pytest.raises(TemplateError, match=match):
        HDF5Exporter(f"out/{field.replace('event.seq_num', 'start.scan_id')}.h5")


def test_good_specs_still_work(tmp_path):
    t = FilenameTemplate(
        str(tmp_path / "{start[uid]:.8}_{event.seq_num:05d}_{event.seq_num:_>6}_{i!r}.tif")
    )
    path = t.render(start={"uid": "abcdefghijk"}, event={"seq_num": 7}, i=0)
    assert path.name == "abcdefgh_00007______7_0.tif"


def test_a_huge_width_costs_no_memory():
    tracemalloc.start()
    with pytest.raises(TemplateError):
        FilenameTemplate("out/{event.seq_num:>50000000}.tif")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1_000_000
