"""One small coroutine per message verb, in a registry the engine looks up by name.

``RE.register_command(name, coro)`` adds or replaces one; a verb is
``async def verb(ctx: RunContext, msg: Msg) -> response``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from livescan._version import __version__
from livescan.dispatch import LosslessFailure
from livescan.documents import check_metadata_keys, to_jsonable
from livescan.engine._context import Bundle, RunContext, Stream
from livescan.engine._state import RunEngineState
from livescan.errors import DeviceError, MetadataError, PlanError
from livescan.plans import Msg

__all__ = ["VERBS", "Verb", "verb"]

Verb = Callable[[RunContext, Msg], Awaitable[Any]]
VERBS: dict[str, Verb] = {}


def verb(name: str) -> Callable[[Verb], Verb]:
    def register(func: Verb) -> Verb:
        VERBS[name] = func
        return func

    return register


async def _maybe_await(result: Any) -> Any:
    if inspect.isawaitable(result):
        return await result
    return result


def _name(obj: Any) -> str:
    return getattr(obj, "name", None) or repr(obj)


# -- runs ---------------------------------------------------------------------------------
@verb("open_run")
async def open_run(ctx: RunContext, msg: Msg) -> str:
    from livescan.documents import RunComposer
    from livescan.engine._md import check_run_metadata

    if ctx.composer is not None:
        raise PlanError(
            "open_run while a run is open: close_run first (nested runs are not supported)"
        )
    engine = ctx.engine
    md: dict[str, Any] = {}
    md.update(engine.md)
    md["plan_type"] = "generator"
    md.update(msg.kwargs)
    md.update(ctx.handle.call_md)
    check_run_metadata(engine.md, msg.kwargs, ctx.handle.call_md)
    versions = dict(md.get("versions") or {})
    versions.setdefault("livescan", __version__)
    md["versions"] = versions
    check_metadata_keys(md, "run metadata")
    scan_id = await _maybe_await(engine.scan_id_source(engine.md))
    md["scan_id"] = scan_id
    try:
        md = to_jsonable(md)
    except TypeError as exc:
        raise MetadataError(f"run metadata cannot be stored: {exc}") from None
    ctx.composer = RunComposer(md)
    ctx.streams.clear()
    ctx.described.clear()
    ctx.run_started(ctx.composer.start_doc)
    await ctx.emit("start", ctx.composer.start_doc)
    return ctx.composer.uid


async def emit_stop(ctx: RunContext, exit_status: str, reason: str) -> str:
    composer = ctx.composer
    assert composer is not None
    ctx.composer = None
    try:
        await ctx.flush()
    except LosslessFailure as failure:
        if ctx.failure is None:
            ctx.failure = failure
        exit_status, reason = "fail", str(failure)
    doc = composer.stop(exit_status, reason)
    ctx.run_stopped(doc)
    await ctx.emit("stop", doc)
    return composer.uid


@verb("close_run")
async def close_run(ctx: RunContext, msg: Msg) -> str:
    if ctx.composer is None:
        raise PlanError("close_run without an open run: open_run first")
    if ctx.bundle is not None:
        raise PlanError("close_run inside create/save: save or drop the bundle first")
    exit_status = msg.kwargs.get("exit_status") or "success"
    reason = msg.kwargs.get("reason") or ""
    if ctx.failure is not None:
        exit_status, reason = "fail", str(ctx.failure)
    return await emit_stop(ctx, exit_status, reason)


# -- events -------------------------------------------------------------------------------
@verb("create")
async def create(ctx: RunContext, msg: Msg) -> None:
    if ctx.composer is None:
        raise PlanError("create outside a run: open_run first")
    if ctx.bundle is not None:
        raise PlanError("create while another create is open: save or drop it first")
    ctx.bundle = Bundle(msg.kwargs.get("name") or (msg.args[0] if msg.args else "primary"))


@verb("read")
async def read(ctx: RunContext, msg: Msg) -> dict[str, Any]:
    obj = msg.obj
    reading = await _maybe_await(obj.read())
    bundle = ctx.bundle
    if bundle is not None:
        if any(o is obj for o in bundle.objs):
            raise PlanError(f"{_name(obj)} was read twice into one event")
        for key in reading:
            if key in bundle.readings:
                raise PlanError(f"two devices in one event give the field {key!r}")
        bundle.objs.append(obj)
        bundle.readings.update(reading)
        if id(obj) not in ctx.described:
            ctx.described[id(obj)] = await _maybe_await(obj.describe())
    return reading


async def _descriptor(ctx: RunContext, bundle: Bundle) -> Stream:
    assert ctx.composer is not None
    data_keys: dict[str, Any] = {}
    object_keys: dict[str, list[str]] = {}
    configuration: dict[str, Any] = {}
    hints: dict[str, Any] = {}
    for obj in bundle.objs:
        name = _name(obj)
        keys = ctx.described[id(obj)]
        for k, dk in keys.items():
            data_keys[k] = {**dk, "object_name": name}
        object_keys[name] = list(keys)
        if hasattr(obj, "read_configuration"):
            conf = await _maybe_await(obj.read_configuration())
            conf_keys = await _maybe_await(obj.describe_configuration())
            configuration[name] = {
                "data": {k: v["value"] for k, v in conf.items()},
                "timestamps": {k: v["timestamp"] for k, v in conf.items()},
                "data_keys": conf_keys,
            }
        obj_hints = getattr(obj, "hints", None)
        if obj_hints:
            hints[name] = dict(obj_hints)
    missing = set(bundle.readings) ^ set(data_keys)
    if missing:
        raise PlanError(f"read() and describe() disagree on the fields {sorted(missing)}")
    desc = ctx.composer.descriptor(
        bundle.name,
        data_keys,
        object_keys=object_keys,
        configuration=to_jsonable(configuration),
        hints=hints,
    )
    external = tuple(k for k, dk in data_keys.items() if dk.get("external"))
    stream = Stream(desc, tuple(object_keys), external)
    ctx.streams[bundle.name] = stream
    await ctx.emit("descriptor", desc)
    return stream


@verb("save")
async def save(ctx: RunContext, msg: Msg) -> None:
    bundle = ctx.bundle
    if bundle is None:
        raise PlanError("save without create")
    ctx.bundle = None
    composer = ctx.composer
    assert composer is not None
    stream = ctx.streams.get(bundle.name)
    if stream is None:
        stream = await _descriptor(ctx, bundle)
    elif len(stream.object_names) != len(bundle.objs) or any(
        _name(o) != n for o, n in zip(bundle.objs, stream.object_names, strict=False)
    ):
        raise PlanError(
            f"every event in stream {bundle.name!r} must read the same devices, in the same "
            f"order: {list(stream.object_names)} then {[_name(o) for o in bundle.objs]}"
        )
    for obj in bundle.objs:
        collect = getattr(obj, "collect_asset_docs", None)
        if collect is not None:
            for name, doc in collect():
                if name == "resource":
                    doc = {**doc, "run_start": composer.uid}
                await ctx.emit(name, doc)
    readings = bundle.readings
    data = {k: r["value"] for k, r in readings.items()}
    timestamps = {k: r["timestamp"] for k, r in readings.items()}
    filled = {k: False for k in stream.external} if stream.external else None
    event = composer.event(stream.descriptor, data, timestamps, filled=filled)
    if bundle.name == "primary":
        ctx.primary_events += 1
    await ctx.emit("event", event)


@verb("drop")
async def drop(ctx: RunContext, msg: Msg) -> None:
    if ctx.bundle is None:
        raise PlanError("drop without create")
    ctx.bundle = None


# -- devices ------------------------------------------------------------------------------
def _track(ctx: RunContext, obj: Any, action: str, status: Any, group: Any) -> Any:
    if status is None:
        return status
    if getattr(status, "done", False) is True and getattr(status, "success", True) is True:
        return status
    ctx.groups.setdefault(group, []).append((obj, action, status))
    return status


@verb("trigger")
async def trigger(ctx: RunContext, msg: Msg) -> Any:
    return _track(ctx, msg.obj, "trigger", msg.obj.trigger(), msg.kwargs.get("group"))


@verb("set")
async def set_(ctx: RunContext, msg: Msg) -> Any:
    kwargs = {k: v for k, v in msg.kwargs.items() if k != "group"}
    status = msg.obj.set(*msg.args, **kwargs)
    return _track(
        ctx,
        msg.obj,
        f"set to {msg.args[0]!r}" if msg.args else "set",
        status,
        msg.kwargs.get("group"),
    )


async def _status_done(obj: Any, action: str, status: Any) -> None:
    """Wait for a status (awaitable or ophyd-style); a failure becomes a DeviceError."""
    try:
        if not hasattr(status, "add_callback"):  # a coroutine, future or task
            await status
            return
        # ophyd-style statuses may finish on another thread: wake the loop safely
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def finished(*_: Any) -> None:
            loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(None))

        status.add_callback(finished)
        await fut
        if getattr(status, "success", True) is False:
            exc = status.exception() if callable(getattr(status, "exception", None)) else None
            raise exc or RuntimeError("the status reported failure")
    except (asyncio.CancelledError, DeviceError):
        raise
    except Exception as exc:
        raise DeviceError(f"{_name(obj)}: {action} failed: {exc}") from exc


@verb("wait")
async def wait(ctx: RunContext, msg: Msg) -> None:
    group = msg.kwargs.get("group", msg.args[0] if msg.args else None)
    for obj, action, status in ctx.groups.pop(group, []):
        if not await ctx.wait_or_interrupt(_status_done(obj, action, status)):
            return


@verb("sleep")
async def sleep(ctx: RunContext, msg: Msg) -> None:
    seconds = float(msg.args[0] if msg.args else msg.kwargs.get("seconds", 0))
    if seconds > 0:
        await ctx.wait_or_interrupt(asyncio.sleep(seconds))
    else:
        await asyncio.sleep(0)


@verb("stage")
async def stage(ctx: RunContext, msg: Msg) -> Any:
    obj = msg.obj
    if any(o is obj for o in ctx.staged):
        return None
    result = await _maybe_await(obj.stage()) if hasattr(obj, "stage") else None
    ctx.staged.append(obj)
    return result


@verb("unstage")
async def unstage(ctx: RunContext, msg: Msg) -> Any:
    obj = msg.obj
    ctx.staged[:] = [o for o in ctx.staged if o is not obj]
    return await _maybe_await(obj.unstage()) if hasattr(obj, "unstage") else None


# -- flow ---------------------------------------------------------------------------------
async def enter_pause(ctx: RunContext) -> None:
    ctx.pause_requested = False
    ctx.wake_event.clear()
    ctx.drain()
    ctx.set_state(RunEngineState.PAUSED)
    while not ctx.wake_event.is_set():
        await ctx.wake_event.wait()
    ctx.wake_event.clear()
    if ctx.interrupt is None:
        ctx.set_state(RunEngineState.RUNNING)


@verb("checkpoint")
async def checkpoint(ctx: RunContext, msg: Msg) -> None:
    if ctx.pause_requested and ctx.interrupt is None:
        await enter_pause(ctx)


@verb("pause")
async def pause(ctx: RunContext, msg: Msg) -> None:
    if ctx.interrupt is None:
        await enter_pause(ctx)


@verb("null")
async def null(ctx: RunContext, msg: Msg) -> None:
    return None


@verb("subscribe")
async def subscribe(ctx: RunContext, msg: Msg) -> int:
    token = ctx.engine.subscribe(*msg.args, **msg.kwargs)
    ctx.plan_tokens.append(token)
    return token


@verb("unsubscribe")
async def unsubscribe(ctx: RunContext, msg: Msg) -> None:
    token = msg.kwargs.get("token", msg.args[0] if msg.args else None)
    ctx.engine.unsubscribe(token)
    if token in ctx.plan_tokens:
        ctx.plan_tokens.remove(token)
