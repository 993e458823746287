"""The text LiveTable, CallbackBase, DocumentCollector and post_run."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from livescan.callbacks import CallbackBase, DocumentCollector, LiveTable, post_run
from livescan.documents import RunComposer
from livescan.errors import FieldError
from livescan.plans import Count, count, scan
from livescan.sim import det, det1, det2, det3, direct_img, img, motor


def table(fields, **kwargs):
    lines: list[str] = []
    return LiveTable(fields, out=lines.append, view="text", **kwargs), lines


ROW = re.compile(r"^\|\s+(\d+) \| \d\d:\d\d:\d\d\.\d \|")


def test_layout_matches_bluesky(RE) -> None:
    t, lines = table([det, motor])
    uid = RE(scan([det], motor, -1, 1, num=3), t)[0]
    assert lines[0] == "+-----------+------------+------------+------------+----------------+"
    assert lines[1] == "|   seq_num |       time |        det |      motor | motor_setpoint |"
    assert lines[2] == lines[0] == lines[-2]
    rows = lines[3:6]
    assert [ROW.match(r).group(1) for r in rows] == ["1", "2", "3"]
    assert rows[0].endswith("|      0.607 |     -1.000 |         -1.000 |")
    assert lines[-1] == f"generator scan ['{uid[:8]}'] (scan num: 1)"
    assert len(lines) == 8


def test_devices_and_names_and_header_interval(RE) -> None:
    t, lines = table([det1, "det2", det3], print_header_interval=2)
    RE(count([det1, det2, det3], num=5), t)
    headers = [i for i, line in enumerate(lines) if "seq_num" in line]
    # at the descriptor, then before rows 2 and 4 (bluesky's rhythm)
    assert len(headers) == 3
    assert "det1" in lines[1] and "det2" in lines[1] and "det3" in lines[1]
    assert sum(bool(ROW.match(line)) for line in lines) == 5


def test_numbers_are_never_cut_and_precision_comes_from_the_descriptor() -> None:
    t, lines = table(["x", "n", "s"])
    run = RunComposer({"plan_name": "p", "scan_id": 3})
    t("start", run.start())
    keys = {
        "x": {"dtype": "number", "shape": [], "source": "s", "precision": 1},
        "n": {"dtype": "integer", "shape": [], "source": "s"},
        "s": {"dtype": "string", "shape": [], "source": "s"},
    }
    desc = run.descriptor("primary", keys)
    t("descriptor", desc)
    t(
        "event",
        run.event(desc, {"x": 1e12, "n": 7, "s": "a long sample name"}, {"x": 0, "n": 0, "s": 0}),
    )
    t("stop", run.stop())
    row = lines[3]
    assert "1000000000000.0" in row and "|          7 |" in row
    assert "a long sa |" in row  # strings are cut to the column


def test_unknown_field_is_a_clear_error_at_the_descriptor() -> None:
    t, _ = table(["det", "tempurature"])
    run = RunComposer({})
    t("start", run.start())
    desc = run.descriptor("primary", {"det": {"dtype": "number", "shape": [], "source": "s"}})
    with pytest.raises(FieldError, match="no field\\(s\\) 'tempurature'; it has 'det'"):
        t("descriptor", desc)


def test_unknown_field_does_not_kill_the_run(RE) -> None:
    async def main():
        handle = RE(count([det]), LiveTable(["nope"], view="text", out=lambda s: None))
        await handle
        return handle

    import asyncio

    handle = asyncio.run(main())
    assert handle.exit_status == "success"
    assert isinstance(handle.callback_errors[0][2], FieldError)


def test_arrays_are_skipped_with_a_warning_and_external_data_is_blank(RE) -> None:
    t, lines = table([det, img, direct_img])
    with pytest.warns(UserWarning, match="skips the array field 'img'"):
        RE(count([det, img, direct_img], num=2), t)
    assert "img" not in lines[1] and "det" in lines[1]


def test_other_streams_are_ignored_and_logbook_gets_the_table(RE) -> None:
    book: list[str] = []
    t, lines = table([det], logbook=book.append, stream_name="baseline")
    RE(count([det], num=3), t)
    assert not any(ROW.match(line) for line in lines)
    t2, lines2 = table([det], logbook=book.append)
    RE(count([det], num=3), t2)
    assert book[-1] == "\n".join(lines2)
    assert book[-1].splitlines()[-1].startswith("generator count [")


def test_event_pages_print_the_same_rows(RE) -> None:
    from livescan.documents import pack_event_page

    a, lines_a = table([det1])
    b, lines_b = table([det1])
    docs = DocumentCollector()
    RE(count([det1], num=4), docs)
    for name, doc in docs:
        a(name, doc)
    events = docs["event"]
    for name, doc in docs:
        if name == "event":
            continue
        if name == "stop":
            b("event_page", pack_event_page(*events))
        b(name, doc)
    assert lines_a == lines_b


def test_bad_table_arguments() -> None:
    with pytest.raises(TypeError, match="field names or devices"):
        LiveTable([3])
    with pytest.raises(ValueError, match="view"):
        LiveTable(["det"], view="html")
    with pytest.raises(ValueError, match="at least one"):
        LiveTable([])


def test_spec_example_plan_subs_with_livetable(RE, capsys) -> None:
    plan = Count([det1, det2, det3], num=4)
    plan.subs["all"].append(LiveTable([det1, det2, det3], view="text"))
    RE(plan)
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "|   seq_num |       time |       det1 |       det2 |       det3 |"
    assert out[3].endswith("|      5.000 |      1.765 |      1.213 |")
    assert re.match(r"generator count \['\w{8}'\] \(scan num: 1\)", out[-1])

    def make_table_with_detectors(p):
        return LiveTable(p.detectors, view="text")

    plan.subs["all"].clear()
    plan.sub_factories["all"].append(make_table_with_detectors)
    plan.detectors.remove(det3)
    RE(plan)
    out = capsys.readouterr().out.splitlines()
    assert "det3" not in out[1] and "det2" in out[1]


def test_callback_base_routes_by_name(RE) -> None:
    class Counter(CallbackBase):
        def __init__(self):
            self.seen: list[str] = []

        def start(self, doc):
            self.seen.append("start")

        def event(self, doc):
            self.seen.append("event")

        def stop(self, doc):
            self.seen.append("stop")

    c = Counter()
    RE(count([det], num=2), c)
    assert c.seen == ["start", "event", "event", "stop"]


def test_post_run_replays_after_stop(RE) -> None:
    got = DocumentCollector()
    live = DocumentCollector()
    seen_at_stop = []
    wrapped = post_run(got)

    def spy(name, doc):
        if name == "stop":
            seen_at_stop.append(len(got))

    RE.subscribe(spy)
    RE.subscribe(wrapped)
    RE(count([det], num=3), live)
    assert seen_at_stop == [0]  # nothing before the stop
    assert got.documents == live.documents


def test_post_run_fills_file_backed_frames(RE) -> None:
    got = DocumentCollector()
    RE.subscribe(post_run(got, fill=True))
    RE(count([img], num=2))
    frames = [e["data"]["img"] for e in got["event"]]
    assert all(isinstance(f, np.ndarray) and f.shape == (1, 64, 64) for f in frames)


def test_post_run_with_a_store_like_db(RE) -> None:
    class DB:
        def __init__(self):
            self.runs = {}

        def __call__(self, name, doc):
            if name == "start":
                self.current = []
                self.runs[doc["uid"]] = self
            self.current.append((name, doc))

        def __getitem__(self, uid):
            outer = self

            class Run:
                def documents(self, fill=False):
                    return iter(outer.current)

            return Run()

    db = DB()
    got = DocumentCollector()
    RE.subscribe_lossless(db)
    RE.subscribe(post_run(got, db=db))
    RE(count([det], num=2))
    assert got.names() == ["start", "descriptor", "event", "event", "stop"]
    with pytest.raises(TypeError, match="callable"):
        post_run(3)


def test_collector_helpers(RE) -> None:
    c = DocumentCollector()
    RE(count([det], num=2), c)
    assert c.start["plan_name"] == "count" and c.stop["exit_status"] == "success"
    assert len(c["event"]) == 2 and len(c) == 5
    c.clear()
    assert c.start is None


def test_no_warning_for_plain_scalars(RE) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        RE(count([det]), LiveTable([det], view="text", out=lambda s: None))
    # ResourceWarnings of event loops other tests left to the garbage collector may land
    # here at any time; what matters is that the table warns about nothing
    ours = [w for w in caught if not issubclass(w.category, ResourceWarning)]
    assert not ours, [str(w.message) for w in ours]


def test_format_text_returns_the_table_without_printing_it(RE) -> None:
    t, lines = table([det])
    RE(count([det], num=2), t)
    printed = list(lines)
    rows = [(i + 1, 1e9 + i, [1.0]) for i in range(2)]
    text = t.format_text(rows).splitlines()
    assert lines == printed  # nothing more was printed
    assert text[:3] == printed[:3] and text[-1] == printed[-1]
    assert len(text) == 7
