"""FrameCache: bounded, shared per run, one read per datum even from several threads."""

from __future__ import annotations

import gc
import threading
import time

import numpy as np
import pytest

from livescan.documents import Filler, FrameCache, run_frame_cache


def test_cache_is_bounded_by_items_and_bytes_and_keeps_the_newest():
    cache = FrameCache(max_items=3, max_bytes=10_000)
    for i in range(5):
        cache.get(i, lambda i=i: np.full(100, i, dtype=np.uint8))
    assert len(cache) == 3 and (cache.hits, cache.misses) == (0, 5)
    assert cache.get(4, lambda: pytest.fail("4 is cached"))[0] == 4
    big = cache.get("big", lambda: np.zeros(9_850, dtype=np.uint8))  # room for one more
    assert list(cache._items) == [4, "big"] and big.nbytes == 9_850
    huge = cache.get("huge", lambda: np.zeros(20_000, dtype=np.uint8))  # above the budget
    assert huge.nbytes == 20_000 and "huge" not in cache._items and len(cache) == 2


def test_cached_arrays_are_read_only():
    arr = FrameCache().get("k", lambda: np.arange(4))
    with pytest.raises(ValueError, match="read-only"):
        arr[0] = 1


def test_threads_wanting_the_same_datum_read_it_once():
    cache = FrameCache()
    reads = []

    def slow_read():
        reads.append(1)
        time.sleep(0.05)
        return np.arange(10)

    out = []
    threads = [threading.Thread(target=lambda: out.append(cache.get("d", slow_read)))
               for _ in range(4)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reads) == 1 and len(out) == 4 and all(o is out[0] for o in out)


def test_a_failed_read_is_raised_and_tried_again():
    cache = FrameCache()

    def broken():
        raise OSError("not written yet")

    with pytest.raises(OSError, match="not written yet"):
        cache.get("d", broken)
    assert cache.get("d", lambda: np.ones(2)).sum() == 2


def test_one_cache_per_run_while_someone_holds_it():
    a = run_frame_cache("run-a")
    assert run_frame_cache("run-a") is a and run_frame_cache("run-b") is not a
    a.get("x", lambda: np.ones(1))
    del a
    gc.collect()
    assert len(run_frame_cache("run-a")) == 0  # a fresh one: nobody held the old


def test_fillers_sharing_a_cache_read_a_datum_once(tmp_path):
    reads = []

    def handler_factory(path, **_):
        return lambda index: reads.append(index) or np.full((2, 2), index)

    resource = {"uid": "r", "spec": "COUNT", "root": "", "resource_path": "f",
                "resource_kwargs": {}}  # fmt: skip
    datum = {"datum_id": "r/0", "resource": "r", "datum_kwargs": {"index": 7}}
    cache = FrameCache()
    fillers = [Filler({"COUNT": handler_factory}, cache=cache) for _ in range(3)]
    for f in fillers:
        f("resource", resource)
        f("datum", datum)
    assert [int(f.load("r/0")[0, 0]) for f in fillers] == [7, 7, 7]
    assert reads == [7]
    # a Filler mapping the root elsewhere reads its own file
    other = Filler({"COUNT": handler_factory}, root_map={"": str(tmp_path)}, cache=cache)
    other("resource", resource)
    other("datum", datum)
    other.load("r/0")
    assert reads == [7, 7]
