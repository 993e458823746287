"""bluesky-compat corners (issue 9) run on bluesky's RunEngine and livescan's side by side:
the two document streams must be equal but for uids and times (``normalize``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bluesky import RunEngine as BlueskyRunEngine
from bluesky.utils import Msg
from event_model import ComposeStreamResource

from livescan import RunEngine
from livescan.testing import DocumentValidator
from tests.interop.test_scenarios import normalize

Docs = list[tuple[str, dict[str, Any]]]


class FileWriter:
    """A detector writing frames to a file (stream_resource / stream_datum), whose frame
    indices start wherever its file happens to be (not at the run's seq_num)."""

    def __init__(self, name: str, first_index: int, frames_per_collect: int = 1) -> None:
        self.name = name
        self.parent = None
        self.first = self.index = self.written = first_index
        self.per_collect = frames_per_collect
        self.resource: Any = None

    def describe(self) -> dict[str, Any]:
        return {
            self.name: {"source": "file", "dtype": "number", "shape": [], "external": "STREAM:"}
        }

    describe_collect = describe

    def get_index(self) -> int:
        """Frames written so far (each collect finds ``frames_per_collect`` more)."""
        self.written += self.per_collect
        return self.written - self.first

    def collect_asset_docs(self, index: int | None = None) -> Iterator[tuple[str, Any]]:
        if self.resource is None:
            self.resource = ComposeStreamResource()(
                mimetype="application/x-hdf5",
                uri=f"file://localhost/tmp/{self.name}.h5",
                data_key=self.name,
                parameters={"dataset": "/data"},
            )
            yield "stream_resource", self.resource.stream_resource_doc
        stop = self.index + 1 if index is None else self.first + index
        if stop > self.index:
            yield (
                "stream_datum",
                self.resource.compose_stream_datum(indices={"start": self.index, "stop": stop}),
            )
        self.index = stop


class Reader:
    """A readable device: one scalar field and one frame per read in each writer's file."""

    def __init__(self, *writers: FileWriter) -> None:
        self.name = "x"
        self.parent = None
        self.writers = writers

    def describe(self) -> dict[str, Any]:
        keys = {"x_value": {"source": "x", "dtype": "number", "shape": []}}
        for w in self.writers:
            keys.update(w.describe())
        return keys

    def read(self) -> dict[str, Any]:
        return {"x_value": {"value": 1.5, "timestamp": 0.0}}

    def collect_asset_docs(self) -> Iterator[tuple[str, Any]]:
        for w in self.writers:
            yield from w.collect_asset_docs()


def plan_reads_with_file_indices() -> Any:
    """Two file-backed fields per event whose files' indices start at 7 and 300: the
    stream_datum seq_nums follow the stream's events, not the files' indices."""
    x = Reader(FileWriter("a", 7), FileWriter("b", 300))
    yield Msg("open_run")
    for _ in range(3):
        yield Msg("create", name="primary")
        yield Msg("read", x)
        yield Msg("save")
    yield Msg("close_run")


def plan_collect_two_writers() -> Any:
    """ophyd-async style: two file writers collected together, up to their common index."""
    a, b = FileWriter("a", 0, 2), FileWriter("b", 40, 3)
    yield Msg("open_run")
    yield Msg("declare_stream", None, a, b, name="primary", collect=True)
    for _ in range(3):
        yield Msg("collect", a, b, name="primary")
    yield Msg("close_run")


def plan_pause_retakes_a_point() -> Any:
    """A pause after a checkpoint: on resume the point since it is taken again (same
    seq_num), counted once in the stop's num_events; the interruptions are recorded."""
    from ophyd.sim import SynAxis

    motor = SynAxis(name="motor")
    yield Msg("open_run")
    for position in (1, 2, 3):
        if position == 3:
            yield Msg("pause")
        yield Msg("checkpoint")
        yield Msg("create", name="primary")
        yield Msg("set", motor, position, group="A")
        yield Msg("wait", group="A")
        yield Msg("read", motor)
        yield Msg("save")
        if position == 2:
            yield Msg("pause")
    yield Msg("close_run")


def plan_configure_between_events() -> Any:
    """configure: a new descriptor at once, before the next event of another stream."""
    from ophyd.sim import SynAxis, SynGauss

    motor = SynAxis(name="motor")
    det = SynGauss("det", motor, "motor", center=0, Imax=1, sigma=1)
    yield Msg("open_run")
    for stream, obj in (("other", motor), ("primary", det)):
        yield Msg("create", name=stream)
        yield Msg("read", obj)
        yield Msg("save")
    yield Msg("configure", det, {"sigma": 2})
    for stream, obj in (("other", motor), ("primary", det)):
        yield Msg("create", name=stream)
        yield Msg("read", obj)
        yield Msg("save")
    yield Msg("close_run")


def plan_two_runs_at_once() -> Any:
    """bluesky's run keys: an inner run opened (and closed) while the outer one is open,
    events of both interleaved."""
    import bluesky.plan_stubs as bps
    import bluesky.preprocessors as bpp
    from bluesky.plans import grid_scan
    from ophyd.sim import hw

    devices = hw()

    @bpp.set_run_key_decorator(run="inner")
    def inner():
        yield from grid_scan([devices.det4], devices.motor1, 0, 1, 2, devices.motor2, 0, 1, 2)

    def steps():
        for n in range(2):
            yield from bps.mv(devices.motor, n)
            yield from bps.trigger_and_read([devices.det1])

    @bpp.set_run_key_decorator(run="outer")
    @bpp.stage_decorator([devices.det1, devices.motor])
    @bpp.run_decorator(md={"purpose": "outer"})
    def outer():
        yield from bps.declare_stream(devices.det1, name="primary")
        yield from steps()
        yield from inner()
        yield from steps()

    return outer()


def plan_two_runs_paused() -> Any:
    """Two keyed runs open at once, paused after a checkpoint: both retake their points."""
    from ophyd.sim import SynAxis

    motor = SynAxis(name="motor")
    for key in ("a", "b"):
        yield Msg("open_run", run=key, purpose=key)
    for position in (1, 2, 3):
        yield Msg("checkpoint")
        for key in ("a", "b"):
            yield Msg("set", motor, position, group=key)
            yield Msg("wait", group=key)
            yield Msg("create", name="primary", run=key)
            yield Msg("read", motor, run=key)
            yield Msg("save", run=key)
        if position == 2:
            yield Msg("pause")
    for key in ("b", "a"):
        yield Msg("close_run", run=key)


PLANS: dict[str, Callable[[], Any]] = {
    "two_runs_paused": plan_two_runs_paused,
    "two_runs_at_once": plan_two_runs_at_once,
    "reads_with_file_indices": plan_reads_with_file_indices,
    "collect_two_writers": plan_collect_two_writers,
    "pause_retakes_a_point": plan_pause_retakes_a_point,
    "configure_between_events": plan_configure_between_events,
}


def _docs(engine: Any, plan: Any) -> Docs:
    from bluesky.utils import RunEngineInterrupted  # livescan's derives from it

    docs: Docs = []
    engine.record_interruptions = True
    try:
        engine(plan, lambda n, d: docs.append((n, d)))
    except RunEngineInterrupted:
        while True:  # resumed until the plan ends
            try:
                engine.resume()
                break
            except RunEngineInterrupted:
                continue
    return docs


@pytest.mark.parametrize("name", list(PLANS))
def test_same_documents_as_bluesky(name):
    theirs = _docs(BlueskyRunEngine({}), PLANS[name]())
    RE = RunEngine(display=False)
    ours = _docs(RE, PLANS[name]())
    RE.close()
    check = DocumentValidator()
    for n, doc in ours:
        check(n, doc)
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    assert [normalize(d) for _, d in ours] == [normalize(d) for _, d in theirs]
    stop = ours[-1][1]
    assert stop["exit_status"] == "success" and max(stop["num_events"].values()) > 1
