"""verify_files_saved: one clear line per check and a verdict."""

from __future__ import annotations

import h5py

from livescan.export import verify_files_saved, verify_run
from livescan.testing import feed, make_run


def test_a_saved_run_passes(tmp_path, db, capsys):
    docs = make_run(n=3, external_dir=tmp_path)
    feed(docs, db)
    report = verify_files_saved(*docs[-1], db=db)
    out = capsys.readouterr().out.splitlines()
    assert report.ok
    assert out[-1] == f"verify_files_saved: run {docs[0][1]['uid'][:8]} OK, all 5 checks passed"
    assert all(line.startswith("  ok") for line in out[:-1])
    assert "is in the store" in out[0] and "exists" in out[3] and "3 of 3 datums" in out[4]
    assert verify_files_saved("event", docs[2][1], db=db) is None  # acts on stop only


def test_missing_file_and_unloadable_datums_fail(tmp_path, db, capsys):
    docs = make_run(n=3, external_dir=tmp_path)
    feed(docs, db)
    resource = next(d for n, d in docs if n == "resource")
    path = tmp_path / resource["resource_path"]
    with h5py.File(path, "a") as f:  # the file lost its last frame
        f["/entry/data/data"].resize(2, axis=0)
    report = verify_run(docs[0][1]["uid"], db)
    out = capsys.readouterr().out
    assert not report.ok
    assert "FAIL  2 of 3 datums" in out and f"{resource['uid']}/2" in out
    assert out.splitlines()[-1].endswith("FAILED, 1 of 5 checks failed")
    path.unlink()
    report = verify_run(docs[0][1]["uid"], db)
    out = capsys.readouterr().out
    assert f"FAIL  file {path} exists" in out and not report.ok


def test_run_missing_or_unfinished_fails(tmp_path, db, capsys):
    docs = make_run(n=2)
    report = verify_files_saved(*docs[-1], db=db)  # never recorded
    out = capsys.readouterr().out
    assert not report.ok and "is not in the store" in out and "FAILED" in out
    unfinished = make_run(n=2, with_stop=False)
    feed(unfinished, db)
    report = verify_run(unfinished[0][1]["uid"], db, echo=None)
    assert not report.ok
    assert (False, "stop document saved: missing, the run is unfinished") in report.checks
    assert capsys.readouterr().out == ""
