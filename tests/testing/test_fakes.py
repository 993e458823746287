"""livescan.testing's fakes: the validator refuses bad runs, the recorder installs and
undoes itself, make_run's documents are what it says."""

from __future__ import annotations

import json

import comm
import ipywidgets
import numpy as np
import pytest
from jsonschema.exceptions import ValidationError

from livescan.testing import (
    CommRecorder,
    DocumentValidator,
    check_schema,
    feed,
    frames_of,
    jsonable_documents,
    make_run,
    validate_documents,
)


def test_make_run_is_a_valid_run_with_inline_or_file_backed_frames(tmp_path) -> None:
    inline = make_run(n=4, shape=(3, 5))
    assert [n for n, _ in inline] == ["start", "descriptor"] + ["event"] * 4 + ["stop"]
    assert validate_documents(inline).count == len(inline)
    frames = frames_of(inline)
    assert len(frames) == 4 and frames[0].shape == (3, 5) and frames[0].dtype == np.uint16

    external = make_run(n=4, shape=(3, 5), external_dir=tmp_path)
    names = [n for n, _ in external]
    assert names.count("resource") == 1 and names.count("datum") == 4
    for a, b in zip(frames, frames_of(external)):
        assert b.shape == (1, 3, 5)  # one datum: a stack of frame_per_point frames
        np.testing.assert_array_equal(a, b[0])  # same seed: the same pictures, read from disk
    assert list(tmp_path.glob("img_*.h5"))


def test_feed_and_jsonable_documents() -> None:
    docs = make_run(n=2)
    got: list[tuple[str, dict]] = []
    feed(docs, lambda name, doc: got.append((name, doc)))
    assert got == docs
    plain = jsonable_documents(docs)
    assert json.loads(json.dumps(plain)) == plain  # nothing but JSON types
    assert plain[2][1]["data"]["img"] == docs[2][1]["data"]["img"].tolist()


def _broken(docs, index: int, **changes):
    name, doc = docs[index]
    return [*docs[:index], (name, {**doc, **changes}), *docs[index + 1 :]]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: _broken(d, 3, seq_num=5), "seq_num out of order"),
        (lambda d: [d[0], d[2], d[1], *d[3:]], "event before its descriptor"),
        (lambda d: [d[0], *d], "a start arrived twice"),
        (lambda d: [*d[:-2], d[-1]], "num_events"),
    ],
    ids=["seq_num", "event-first", "two-starts", "missing-event"],
)
def test_the_validator_refuses_runs_out_of_order(edit, message) -> None:
    docs = make_run(n=3)
    with pytest.raises(AssertionError, match=message):
        validate_documents(edit(docs))


def test_the_validator_checks_the_schema_and_takes_event_pages() -> None:
    from livescan.documents import pack_event_page

    docs = make_run(n=3)
    with pytest.raises(ValidationError):
        check_schema("start", {"time": 1.0})  # no uid
    validator = DocumentValidator()
    events = [d for n, d in docs if n == "event"]
    for name, doc in [*docs[:2], ("event_page", pack_event_page(*events)), docs[-1]]:
        validator(name, doc)
    assert validator.runs == 1 and validator.count == 4
    assert make_run(n=1, validate=False)[0][0] == "start"


def test_the_recorder_as_a_context_manager_records_and_is_undone() -> None:
    before = comm.create_comm
    with CommRecorder() as recorder:
        slider = ipywidgets.IntSlider(value=3)
        slider.value = 7
        assert recorder.state(slider)["value"] == 7
        assert [h["value"] for h in recorder.history(slider)] == [3, 7]
        assert recorder.for_widget(slider) and recorder.total_bytes() > 0
        recorder.comms[slider.model_id].simulate(
            {"method": "update", "state": {"value": 9}, "buffer_paths": []}
        )
        assert slider.value == 9  # a message from the "browser" reached the widget
    assert comm.create_comm is before


def test_the_examples_in_docs_testing_md_run(monkeypatch, tmp_path) -> None:
    """docs/testing.md's two examples, run as written (their fixture made here)."""
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 2
    names: dict[str, object] = {}
    exec(compile("\n".join(blocks), str(doc), "exec"), names)
    names["test_plot_shows_every_point"](CommRecorder().install(monkeypatch))
    names["test_the_store_keeps_every_frame"](tmp_path)
