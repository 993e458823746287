"""A damaged store heals: random damage to journals and the index, many cases.

Each case copies a store of four finished runs (one with binary frames), damages it one
way (bytes flipped in a line, a journal cut short, the index garbage / empty / deleted, a
stray file), opens it and checks: the store opens; every run is still listed; an
undamaged journal reads exactly as recorded; a damaged one reads every line but the
damaged ones, with a warning naming the file and the line. The figures (cases, survived,
documents lost) are printed with ``-s``. Damage that leaves a line valid JSON with other
values is not detectable without checksums (the journal is plain suitcase-jsonl): the
damage here always makes a line invalid.
"""

from __future__ import annotations

import json
import random
import shutil
import warnings

import numpy as np
import pytest

from livescan.documents import RunComposer
from livescan.store import RunStore
from livescan.testing import feed, make_run
from livescan.testing import jsonable_documents as jsonable

CASES = 40


def _frames_run():
    run = RunComposer({"plan_name": "count", "scan_id": 9})
    key = {"dtype": "array", "shape": [32, 32], "source": "cam", "dtype_numpy": "<u2"}
    desc = run.descriptor("primary", {"cam": key})
    docs = [("start", run.start()), ("descriptor", desc)]
    for i in range(5):
        docs.append(("event", run.event(desc, {"cam": np.full((32, 32), i, "u2")}, {"cam": 0.0})))
    return [*docs, ("stop", run.stop())]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    path = tmp_path_factory.mktemp("pristine") / "store"
    db = RunStore(path)
    runs = [make_run(n=6, seed=s) for s in range(3)] + [_frames_run()]
    for docs in runs:
        feed(docs, db)
    db.close()
    return path, {docs[0][1]["uid"]: jsonable(docs) for docs in runs}


def _damage(store, rng):
    journals = sorted(store.glob("*/*.jsonl"))
    kind = rng.choice(
        ["flip", "flip", "cut", "index-garbage", "index-empty", "index-gone", "stray"]
    )
    damaged: dict[str, set[int]] = {}  # uid -> damaged line numbers (1-based)
    if kind in ("flip", "cut"):
        journal = rng.choice(journals)
        lines = journal.read_bytes().splitlines(keepends=True)
        if kind == "flip":
            i = rng.randrange(1, len(lines))  # the start line is also in the index
            raw = bytearray(lines[i])
            for _ in range(rng.randint(1, 4)):
                raw[rng.randrange(len(raw) - 1)] = rng.choice(b"\x00\xff")  # never valid JSON
            lines[i] = bytes(raw)
            damaged[journal.stem] = {i + 1}
        else:
            i = rng.randrange(1, len(lines))
            cut = rng.randrange(len(lines[i]))
            lines = [*lines[:i], lines[i][:cut]]
            damaged[journal.stem] = set(range(i + 1, 10_000))
        journal.write_bytes(b"".join(lines))
    elif kind == "index-garbage":
        (store / "index.sqlite").write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    elif kind == "index-empty":
        (store / "index.sqlite").write_bytes(b"")
    elif kind == "index-gone":
        (store / "index.sqlite").unlink()
    else:
        (journals[0].parent / "stray.jsonl").write_bytes(b"\x00garbage\n[1,2]\n")
    return kind, damaged


def test_random_damage_to_journals_and_index_heals(pristine, tmp_path, capsys):
    source, originals = pristine
    rng = random.Random(20261201)
    tried = survived = lost = lost_undamaged = 0
    kinds: dict[str, int] = {}
    for case in range(CASES):
        store = tmp_path / f"case{case}"
        shutil.copytree(source, store)
        kind, damaged = _damage(store, rng)
        kinds[kind] = kinds.get(kind, 0) + 1
        tried += 1
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            db = RunStore(store)
            read = {run.uid: jsonable(run.documents()) for run in db}
        messages = [str(w.message) for w in caught]
        assert set(read) == set(originals), (case, kind)
        for uid, docs in originals.items():
            got = read[uid]
            if uid not in damaged:
                assert got == docs, (case, kind, uid)
                continue
            bad_lines = damaged[uid]
            missing = len(docs) - len(got)
            lost += missing
            assert 0 <= missing <= min(len(bad_lines), len(docs)), (case, kind, missing)
            altered = [d for d in got if d not in docs]
            assert not altered, (case, kind, altered[:1])  # nothing altered
            if missing:
                first = min(bad_lines)
                assert any(f"{uid}.jsonl:{first}" in m for m in messages), (case, messages)
        lost_undamaged += sum(
            len(originals[u]) - len(read[u]) for u in originals if u not in damaged
        )
        db.close()
        survived += 1
    figures = {
        "cases": tried,
        "survived": survived,
        "kinds": kinds,
        "documents_lost_from_damaged_lines": lost,
        "documents_lost_elsewhere": lost_undamaged,
    }
    with capsys.disabled():
        print("\ndamage figures:", json.dumps(figures))
    assert survived == tried and lost_undamaged == 0
