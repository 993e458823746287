"""Messages and habits of issue 9 that no other test pins, on both engines side by side:
``clear_checkpoint`` then a pause, ``RE.preprocessors``, ``watch`` groups, ``describe()``
once per stream, ``md_validator``, a ``scan_id_source`` written back to ``RE.md``,
``IllegalMessageSequence`` caught as bluesky's, and ``Msg('input')`` (livescan only:
bluesky reads the terminal)."""

from __future__ import annotations

import threading
import time
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import bluesky.preprocessors as bpp
import pytest
from bluesky.utils import FailedStatus, IllegalMessageSequence, Msg, RunEngineInterrupted
from ophyd import StatusBase
from ophyd.sim import SynAxis, SynGauss, det, det2, motor

from livescan import RunEngine


@pytest.fixture
def engines(bRE):
    RE = RunEngine(display=False)
    yield {"livescan": RE, "bluesky": bRE}
    RE.close()
    bRE.preprocessors.clear()
    bRE.md_validator = lambda md: None
    bRE.scan_id_source = lambda md: md.get("scan_id", 0) + 1


def both(engines: dict[str, Any], check: Any) -> Any:
    ours, theirs = check(engines["livescan"]), check(engines["bluesky"])
    assert ours == theirs
    return ours


def _docs(engine: Any, plan: Any) -> list[tuple[str, dict]]:
    docs: list[tuple[str, dict]] = []
    engine(plan, lambda n, d: docs.append((n, d)))
    return docs


def test_a_pause_after_clear_checkpoint_aborts_the_run(engines):
    def check(engine):
        docs: list[tuple[str, dict]] = []

        def plan():
            yield Msg("open_run")
            yield Msg("checkpoint")
            yield Msg("clear_checkpoint")
            yield Msg("pause")
            yield Msg("close_run")

        with pytest.raises(RunEngineInterrupted):
            engine(plan(), lambda n, d: docs.append((n, d)))
        return [n for n, _ in docs], docs[-1][1]["exit_status"], str(engine.state)

    assert both(engines, check) == (["start", "stop"], "abort", "idle")


def test_preprocessors_apply_to_every_plan(engines):
    def check(engine):
        engine.preprocessors.append(bpp.SupplementalData(baseline=[det2]))
        docs = _docs(engine, bp.count([det], 2))
        engine.preprocessors.clear()
        return [d["name"] for n, d in docs if n == "descriptor"], len(docs)

    assert both(engines, check) == (["baseline", "primary"], 8)


class _FailsLater:
    name = "failing"

    def set(self, value: Any) -> StatusBase:
        status = StatusBase()
        fail = status.set_exception
        threading.Timer(0.1, fail, (LookupError("Movement failed"),)).start()
        return status


@pytest.mark.parametrize("watched", [True, False])
def test_watch_groups_end_a_wait_when_they_fail(engines, watched):
    """A failure in a watched group ends the wait at once; in another group it is thrown
    into the plan when the wait is over (bluesky's FailedStatus either way)."""

    def check(engine):
        slow = SynAxis(name="slow", delay=0.8)

        def plan():
            yield Msg("set", _FailsLater(), 1, group="w")
            yield Msg("set", slow, 1, group="g")
            yield Msg("wait", None, group="g", watch=("w",) if watched else ())

        t0 = time.monotonic()
        with pytest.raises(FailedStatus):
            engine(plan())
        return time.monotonic() - t0 < 0.6

    assert both(engines, check) is watched


def test_describe_is_called_once_per_stream(engines):
    def check(engine):
        calls: list[int] = []

        class Counted(SynGauss):
            def describe(self):
                calls.append(1)
                return super().describe()

        d = Counted("d", motor, "motor", center=0, Imax=1)

        def plan():
            yield from bps.open_run()
            for stream in ("primary", "other", "primary", "other"):
                yield from bps.trigger_and_read([d], name=stream)
            yield from bps.close_run()

        engine(plan())
        return len(calls)

    assert both(engines, check) == 2


def test_md_validator_and_scan_id_source(engines):
    def check(engine):
        def validator(md):
            if "sample" not in md:
                raise ValueError("every run needs a sample")

        engine.md_validator = validator
        with pytest.raises(ValueError, match="needs a sample"):
            engine(bp.count([det], 1))
        engine.scan_id_source = lambda md: 42
        (start,) = [d for n, d in _docs(engine, bp.count([det], 1, md={"sample": "Si"}))][:1]
        return start["scan_id"], engine.md["scan_id"]

    assert both(engines, check) == (42, 42)  # the source's result is written back


def test_illegal_message_sequences_are_bluesky_s_exception(engines):
    def check(engine):
        caught = []
        for plan in (
            [Msg("open_run"), Msg("open_run")],
            [Msg("close_run")],
            [Msg("open_run"), Msg("create", name="primary"), Msg("create", name="primary")],
        ):
            try:
                engine(plan)
            except IllegalMessageSequence:
                caught.append(True)
        return caught

    assert both(engines, check) == [True, True, True]


def test_input_message_asks_RE_input():
    RE = RunEngine(display=False)
    RE.input = lambda prompt: f"answer to {prompt}"
    answers = []

    def plan():
        answers.append((yield Msg("input", prompt="sample? ")))

    RE(plan())
    assert answers == ["answer to sample? "]
