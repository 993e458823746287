"""One small coroutine per message verb, in a registry the engine looks up by name.

``RE.register_command(name, coro)`` adds or replaces one; a verb is
``async def verb(ctx: RunContext, msg: Msg) -> response``.
"""

from __future__ import annotations

import asyncio
import builtins
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping
from typing import Any

from livescan._version import __version__
from livescan.dispatch import LosslessFailure
from livescan.documents import ExitStatus, check_metadata_keys, to_jsonable
from livescan.engine._context import Bundle, RunContext, Stream
from livescan.engine._state import RunEngineState
from livescan.errors import (
    AssetError,
    DeviceError,
    DuplicateField,
    MetadataError,
    PlanError,
    WaitTimeout,
)
from livescan.plans import Msg

__all__ = ["FAST", "VERBS", "Later", "Suspension", "Verb", "verb"]

log = logging.getLogger("livescan.engine")

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

    if msg.run is not None or ctx.other_runs:
        _keyed_runs(ctx)
        ctx.use_run(msg.run)
    if ctx.composer is not None:
        raise PlanError(
            "open_run while a run is open: close_run first, or give each run its own key "
            "(bluesky's set_run_key_wrapper / Msg(..., run=key))"
        )
    engine = ctx.engine
    # precedence as in bluesky: call keywords > open_run md > plan_type/name > RE.md
    # a PersistentDict hands out proxies of its nested values: the run gets plain copies
    to_dict = getattr(engine.md, "to_dict", None)
    md: dict[str, Any] = dict(to_dict()) if callable(to_dict) else dict(engine.md)
    md["plan_type"] = "generator"
    md["plan_name"] = ctx.handle.plan_name
    md.update(msg.kwargs)
    md.update(ctx.handle.call_md)
    check_run_metadata(engine.md, msg.kwargs, ctx.handle.call_md)
    versions = dict(md.get("versions") or {})
    versions.setdefault("livescan", __version__)
    md["versions"] = versions
    check_metadata_keys(md, "run metadata")
    sample = md.get("sample")
    if sample is not None and not isinstance(sample, str | Mapping):
        raise MetadataError(
            f"run metadata 'sample' must be a string or a dict, not {type(sample).__name__} "
            f"({sample!r}); e.g. sample={{'name': 'Si', 'number': 1}}"
        )
    normalizer = getattr(engine, "md_normalizer", None)
    if normalizer is not None:
        md = dict(normalizer(md))
    validator = getattr(engine, "md_validator", None)
    if validator is not None:
        validated = validator(md)
        if isinstance(validated, dict):  # bluesky >= 1.11 uses what the validator returns
            md = validated
    scan_id = await _maybe_await(engine.scan_id_source(engine.md))
    md["scan_id"] = scan_id
    engine.md["scan_id"] = scan_id
    try:
        to_jsonable(md)  # only a check: the start document keeps the user's tuples
    except TypeError as exc:
        raise MetadataError(f"run metadata cannot be stored: {exc}") from None
    ctx.composer = RunComposer(md)
    ctx.streams.clear()
    ctx.described.clear()
    ctx.described_streams.clear()
    ctx.interruptions = None
    ctx.run_started(ctx.composer.start_doc)
    await ctx.emit("start", ctx.composer.start_doc)
    if getattr(engine, "record_interruptions", False):
        ctx.interruptions = ctx.composer.descriptor(
            INTERRUPTIONS,
            {"interruption": {"dtype": "string", "shape": [], "source": "RunEngine"}},
        )
        await ctx.emit("descriptor", ctx.interruptions)
    return ctx.composer.uid


#: the verbs that work on one run: with several runs open they first pick it (Msg.run)
RUN_VERBS = (
    "close_run",
    "create",
    "read",
    "save",
    "drop",
    "declare_stream",
    "monitor",
    "unmonitor",
    "collect",
    "configure",
)


def _keyed_runs(ctx: RunContext) -> None:
    """From now on this plan may have several runs open: the run's verbs first make the
    run its message names (``msg.run``) the current one; their fast paths are left."""
    if ctx.keyed_runs:
        return
    ctx.keyed_runs = True
    table = ctx.table
    for name in RUN_VERBS:
        if name in table:
            _, fn, cacheable = table[name]
            table[name] = (None, _for_its_run(fn), cacheable)


def _for_its_run(fn: Verb) -> Verb:
    async def keyed(ctx: RunContext, msg: Msg) -> Any:
        ctx.use_run(msg.run)
        return await fn(ctx, msg)

    return keyed


#: seconds between composing the stop of a run the user ended and handing it on
SHOW_END_FIRST = 0.1


async def emit_stop(ctx: RunContext, exit_status: ExitStatus, reason: str) -> str:
    composer = ctx.composer
    assert composer is not None
    await stop_monitors(ctx)
    ctx.composer = None
    try:
        await ctx.flush()
    except LosslessFailure as failure:
        if ctx.failure is None:
            ctx.failure = failure
        exit_status, reason = "fail", str(failure)
    doc = composer.stop(exit_status, reason)
    ctx.run_stopped(doc)
    if ctx.interrupt is not None and ctx.handle.display.shown:
        # the user ended a run shown in a notebook (Stop/Abort/Halt, the interrupt button):
        # the state their click leads to was sent by the listeners just now; let the page
        # draw it before the subscribers' end-of-run work floods it (the kernel cannot see
        # the page draw: a pause of a few frames). Runs nobody shows hand the stop on at once.
        await asyncio.sleep(SHOW_END_FIRST)
    await ctx.emit("stop", doc)
    return composer.uid


@verb("close_run")
async def close_run(ctx: RunContext, msg: Msg) -> str:
    if ctx.composer is None:
        raise PlanError("close_run without an open run: open_run first")
    if ctx.bundle is not None:
        raise PlanError("close_run inside create/save: save or drop the bundle first")
    exit_status: ExitStatus = msg.kwargs.get("exit_status") or "success"  # stop() checks it
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
    reading: dict[str, Any] = obj.read()  # or an awaitable giving it
    if isinstance(reading, dict):
        if not hasattr(obj, "collect_asset_docs"):
            ctx.sync_readers.add(id(obj))  # later reads may take the fast path
    elif inspect.isawaitable(reading):
        reading = await reading
    if not isinstance(reading, Mapping):
        raise DeviceError(
            f"{_name(obj)}.read() returned {reading!r:.60}, not a dict of readings "
            "({field: {'value': ..., 'timestamp': ...}})"
        )
    bundle = ctx.bundle
    if bundle is not None:
        if obj in bundle.objs:
            raise PlanError(f"{_name(obj)} was read twice into one event")
        readings = bundle.readings
        if readings and not readings.keys().isdisjoint(reading):
            key = sorted(readings.keys() & reading.keys())[0]
            raise DuplicateField(f"two devices in one event give the field {key!r}")
        bundle.objs.append(obj)
        readings.update(reading)
        if id(obj) not in ctx.described:
            keys = await _maybe_await(obj.describe())
            ctx.described[id(obj)] = ctx.described_streams.setdefault(bundle.name, {})[id(obj)] = (
                keys
            )
        if hasattr(obj, "collect_asset_docs"):
            bundle.assets.extend(await asset_docs(obj))
    return reading


async def asset_docs(obj: Any, *args: Any) -> list[tuple[str, Any]]:
    """``obj.collect_asset_docs()`` as a list (ophyd-async's is an async generator)."""
    return await _listed(obj.collect_asset_docs(*args))


async def _listed(items: Any) -> list[Any]:
    """A list of what a device method gave: an iterable, an async iterator or an awaitable."""
    if hasattr(items, "__aiter__"):
        return [d async for d in items]
    return list(await _maybe_await(items))


async def _configuration(obj: Any) -> dict[str, Any]:
    if not hasattr(obj, "read_configuration"):  # as bluesky: an empty entry
        return {"data": {}, "timestamps": {}, "data_keys": {}}
    conf = await _maybe_await(obj.read_configuration())
    conf_keys = await _maybe_await(obj.describe_configuration())
    return {
        "data": {k: v["value"] for k, v in conf.items()},
        "timestamps": {k: v["timestamp"] for k, v in conf.items()},
        "data_keys": conf_keys,
    }


async def _new_stream(
    ctx: RunContext,
    name: str,
    objs: list[Any],
    described: dict[int, dict[str, Any]],
    *,
    declared: bool = False,
) -> Stream:
    """Compose and emit the descriptor of stream ``name`` read from ``objs``."""
    assert ctx.composer is not None
    data_keys: dict[str, Any] = {}
    object_keys: dict[str, list[str]] = {}
    configuration: dict[str, Any] = {}
    hints: dict[str, Any] = {}
    for obj in objs:
        oname = _name(obj)
        keys = described[id(obj)]
        for k, dk in keys.items():
            if k in data_keys:
                raise DuplicateField(f"two devices in stream {name!r} give the field {k!r}")
            data_keys[k] = {**dk, "object_name": oname}
        object_keys[oname] = list(keys)
        configuration[oname] = await _configuration(obj)
        obj_hints = getattr(obj, "hints", None)
        if obj_hints:
            hints[oname] = dict(obj_hints)
    desc = ctx.composer.descriptor(
        name,
        data_keys,
        object_keys=object_keys,
        configuration=configuration,
        hints=hints,
    )
    external = tuple(
        k for k, dk in data_keys.items() if dk.get("external") and dk["external"] != "STREAM:"
    )
    stream = Stream(desc, tuple(object_keys), external, tuple(objs), declared)
    ctx.streams[name] = stream
    await ctx.emit("descriptor", desc)
    return stream


async def _emit_assets(ctx: RunContext, assets: list[tuple[str, Any]], stream: Stream) -> int:
    """Emit resource/datum and stream_resource/stream_datum documents: the run's uid in
    the resources, the stream's descriptor and seq_nums in the stream_datum (as bluesky
    fills them: every stream_datum of one read or collect covers the stream's next rows,
    whatever its own ``indices`` say). Returns how many rows they cover."""
    composer = ctx.composer
    assert composer is not None
    first = composer.seq_counters().get(stream.descriptor["name"], 0) + 1
    rows = 0
    for name, doc in assets:
        if name in ("resource", "stream_resource"):
            doc = {**doc, "run_start": composer.uid}
        elif name == "stream_datum":
            width = doc["indices"]["stop"] - doc["indices"]["start"]
            if rows and width != rows:
                raise AssetError(
                    f"stream_datum {doc.get('uid')!r} covers {width} rows, the others of the "
                    f"same read or collect {rows}: every detector must write as many"
                )
            rows = width
            doc = {
                **doc,
                "descriptor": doc.get("descriptor") or stream.descriptor["uid"],
                "seq_nums": {"start": first, "stop": first + width},
            }
        await ctx.emit(name, doc)
    return rows


@verb("declare_stream")
async def declare_stream(ctx: RunContext, msg: Msg) -> Any:
    """``Msg('declare_stream', None, *objs, name=..., collect=False)``: describe now."""
    if ctx.composer is None:
        raise PlanError("declare_stream outside a run: open_run first")
    name = msg.kwargs.get("name") or "primary"
    collect = bool(msg.kwargs.get("collect", False))
    objs = list(dict.fromkeys(msg.args))
    known = ctx.streams.get(name)
    if known is not None:
        if len(known.objs) == len(objs) and all(any(o is k for k in known.objs) for o in objs):
            return known.descriptor  # declared again with the same devices: nothing new
        raise PlanError(f"the stream {name!r} was declared already, with other devices")
    described: dict[int, dict[str, Any]] = {}
    for obj in objs:
        if collect:
            keys = await _maybe_await(obj.describe_collect())
            if keys and all(isinstance(v, dict) and "dtype" not in v for v in keys.values()):
                keys = keys.get(name, {})  # the older {stream: data_keys} form
        else:
            keys = await _maybe_await(obj.describe())
        described[id(obj)] = keys
        if not collect:
            ctx.described[id(obj)] = ctx.described_streams.setdefault(name, {})[id(obj)] = keys
    stream = await _new_stream(ctx, name, objs, described, declared=True)
    return stream.descriptor


@verb("save")
async def save(ctx: RunContext, msg: Msg) -> None:
    bundle = ctx.bundle
    if bundle is None:
        raise PlanError("save without create")
    ctx.bundle = None
    if not bundle.objs:  # nothing was read: no empty event (as bluesky)
        return
    composer = ctx.composer
    assert composer is not None
    stream = ctx.streams.get(bundle.name)
    if stream is None:
        # as bluesky, devices are described once per stream (not once per run)
        described = ctx.described_streams.setdefault(bundle.name, {})
        for obj in bundle.objs:
            if id(obj) not in described:
                described[id(obj)] = await _maybe_await(obj.describe())
        stream = await _new_stream(ctx, bundle.name, bundle.objs, described)
    elif len(stream.objs) != len(bundle.objs) or not all(
        any(o is s for s in stream.objs) for o in bundle.objs
    ):
        raise PlanError(
            f"every event in stream {bundle.name!r} must read the same devices: "
            f"{list(stream.object_names)}, then {[_name(o) for o in bundle.objs]}"
        )
    if bundle.assets and await _emit_assets(ctx, bundle.assets, stream) > 1:
        raise AssetError(
            f"a stream_datum of one {bundle.name!r} event covers several rows; in a "
            "read/save each covers one: indices {'start': n, 'stop': n + 1}"
        )
    readings = bundle.readings
    data = {k: r["value"] for k, r in readings.items()}
    timestamps = {k: r["timestamp"] for k, r in readings.items()}
    filled: dict[str, bool | str] | None = (
        {k: False for k in stream.external} if stream.external else None
    )
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
def _watch_failure(ctx: RunContext, obj: Any, action: str, status: Any) -> None:
    """A status nobody waits for that fails ends the plan (bluesky's FailedStatus)."""
    add_callback = getattr(status, "add_callback", None)
    if add_callback is None:
        return
    loop = asyncio.get_running_loop()

    def finished(*_: Any) -> None:
        if getattr(status, "success", True) is False:
            loop.call_soon_threadsafe(_fail_later, ctx, obj, action, status)

    add_callback(finished)


def _fail_later(ctx: RunContext, obj: Any, action: str, status: Any) -> None:
    """As bluesky: the failure is thrown into the plan at its next message; a wait in
    progress ends at once only if it waits for or watches (``watch=``) the group."""
    groups = [g for g, entries in ctx.groups.items() if any(st is status for _, _, st in entries)]
    if not groups or ctx.async_failure is not None:
        return  # a wait took it (and reports the failure itself), or one is pending
    exc = status.exception() if callable(getattr(status, "exception", None)) else None
    failure = DeviceError(f"{_name(obj)}: {action} failed: {exc}")
    failure.__cause__ = exc
    ctx.async_failure = failure
    if not ctx.watching.isdisjoint(groups):
        ctx.interrupt_event.set()


def _track(ctx: RunContext, obj: Any, action: str, status: Any, group: Any) -> Any:
    if status is None or _untracked(ctx, status):  # the hook is shown every status
        return status
    ctx.groups.setdefault(group, []).append((obj, action, status))
    _watch_failure(ctx, obj, action, status)
    return status


@verb("trigger")
async def trigger(ctx: RunContext, msg: Msg) -> Any:
    return _track(ctx, msg.obj, "trigger", msg.obj.trigger(), msg.kwargs.get("group"))


@verb("set")
async def set_(ctx: RunContext, msg: Msg) -> Any:
    obj = msg.obj
    kwargs = {k: v for k, v in msg.kwargs.items() if k != "group"}
    ctx.movers[id(obj)] = obj
    status = obj.set(*msg.args, **kwargs)
    return _track(
        ctx,
        obj,
        f"set to {msg.args[0]!r}" if msg.args else "set",
        status,
        msg.kwargs.get("group"),
    )


@verb("kickoff")
async def kickoff(ctx: RunContext, msg: Msg) -> Any:
    kwargs = {k: v for k, v in msg.kwargs.items() if k != "group"}
    status = msg.obj.kickoff(*msg.args, **kwargs)
    return _track(ctx, msg.obj, "kickoff", status, msg.kwargs.get("group"))


@verb("prepare")
async def prepare(ctx: RunContext, msg: Msg) -> Any:
    """``bps.prepare(obj, value, group=...)``: ``obj.prepare(value)`` (an ophyd-async
    detector or flyer before a fly scan); its status joins ``group``."""
    kwargs = {k: v for k, v in msg.kwargs.items() if k not in ("group", "wait")}
    status = msg.obj.prepare(*msg.args, **kwargs)
    return _track(ctx, msg.obj, "prepare", status, msg.kwargs.get("group"))


@verb("complete")
async def complete(ctx: RunContext, msg: Msg) -> Any:
    kwargs = {k: v for k, v in msg.kwargs.items() if k not in ("group", "wait")}
    status = msg.obj.complete(*msg.args, **kwargs)
    return _track(ctx, msg.obj, "complete", status, msg.kwargs.get("group"))


async def _status_done(obj: Any, action: str, status: Any) -> None:
    """Wait for a status (awaitable or ophyd-style); a failure becomes a DeviceError."""
    try:
        if not hasattr(status, "add_callback"):  # a coroutine, future or task
            await status
            return
        # ophyd-style statuses may finish on another thread: wake the loop safely
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def settle() -> None:
            if not fut.done():
                fut.set_result(None)

        def finished(*_: Any) -> None:
            loop.call_soon_threadsafe(settle)

        status.add_callback(finished)
        await fut
        if getattr(status, "success", True) is False:
            exc = status.exception() if callable(getattr(status, "exception", None)) else None
            raise exc or RuntimeError("the status reported failure")
    except (asyncio.CancelledError, DeviceError):
        raise
    except Exception as exc:
        raise DeviceError(f"{_name(obj)}: {action} failed: {exc}") from exc


async def _all_done(entries: list[tuple[Any, str, Any]]) -> None:
    for obj, action, status in entries:
        await _status_done(obj, action, status)


@verb("wait")
async def wait(ctx: RunContext, msg: Msg) -> bool:
    """``Msg("wait", None, group=..., timeout=None, error_on_timeout=True, watch=())``.

    Returns whether every status of the group finished; statuses still running when
    ``timeout`` runs out stay in the group (a later wait waits for them again)."""
    group = msg.kwargs.get("group", msg.args[0] if msg.args else None)
    entries = ctx.groups.get(group)
    if not entries:
        ctx.groups.pop(group, None)
        return True
    timeout = msg.kwargs.get("timeout")
    hook = ctx.waiting_hook
    if hook is not None:
        hook({status for _, _, status in entries})
    ctx.watching = {group, *msg.kwargs.get("watch", ())}
    try:
        finished = await ctx.wait_or_interrupt(_all_done(entries), timeout)
    except TimeoutError:
        left = [e for e in entries if not _is_done(e[2])]
        ctx.groups[group] = left
        if msg.kwargs.get("error_on_timeout", True):
            raise WaitTimeout(
                f"the statuses of group {group!r} were not done after {timeout:g} s"
            ) from None
        return False
    finally:
        ctx.watching = set()
        if hook is not None:
            hook(None)
    if finished:
        ctx.groups.pop(group, None)
    return finished


def _is_done(status: Any) -> bool:
    done = getattr(status, "done", None)
    if callable(done):  # an asyncio future or task
        return bool(done())
    return bool(done)


@verb("wait_for")
async def wait_for(ctx: RunContext, msg: Msg) -> list[asyncio.Future[Any]]:
    """``Msg('wait_for', None, [coroutine functions], timeout=None)``: run them all and
    wait; returns their tasks, done (a task that failed holds its exception)."""
    (factories,) = msg.args
    timeout = msg.kwargs.get("timeout")
    tasks = [asyncio.ensure_future(f()) for f in factories]

    async def all_of() -> None:
        await asyncio.wait(tasks)

    try:
        finished = await ctx.wait_or_interrupt(all_of(), timeout)
    except TimeoutError:
        for task in tasks:
            task.cancel()
        raise WaitTimeout(
            f"Plan failed to complete in the specified time ({timeout:g} s, wait_for)"
        ) from None
    if not finished:
        for task in tasks:
            task.cancel()
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: the plan decides what a failure means
    return tasks


@verb("sleep")
async def sleep(ctx: RunContext, msg: Msg) -> None:
    seconds = float(msg.args[0] if msg.args else msg.kwargs.get("seconds", 0))
    if seconds > 0:
        await ctx.wait_or_interrupt(asyncio.sleep(seconds))
    else:
        await asyncio.sleep(0)


@verb("stage")
async def stage(ctx: RunContext, msg: Msg) -> Any:
    """Stage ``obj``; a Status it returns joins ``group`` (bluesky's stub then waits for
    it) or, without a group, is waited for here."""
    obj = msg.obj
    if not _stageable(obj) or any(o is obj for o in ctx.staged):
        return None
    result = obj.stage()
    ctx.staged.append(obj)
    if result is not None and hasattr(result, "add_callback"):  # an ophyd-style Status
        group = msg.kwargs.get("group")
        if group is not None:
            return _track(ctx, obj, "stage", result, group)
        await _status_done(obj, "stage", result)
    else:
        result = await _maybe_await(result)
    return result


def _stageable(obj: Any) -> bool:
    """As bluesky: only a device with both stage() and unstage() is staged."""
    return callable(getattr(obj, "stage", None)) and callable(getattr(obj, "unstage", None))


async def unstage_obj(obj: Any) -> Any:
    if not _stageable(obj):
        return None
    result = obj.unstage()
    if result is not None and hasattr(result, "add_callback"):
        await _status_done(obj, "unstage", result)
        return result
    return await _maybe_await(result)


@verb("unstage")
async def unstage(ctx: RunContext, msg: Msg) -> Any:
    obj = msg.obj
    ctx.staged[:] = [o for o in ctx.staged if o is not obj]
    group = msg.kwargs.get("group")
    if group is not None and _stageable(obj):
        result = obj.unstage()
        if result is not None and hasattr(result, "add_callback"):
            return _track(ctx, obj, "unstage", result, group)
        return await _maybe_await(result)
    return await unstage_obj(obj)


@verb("configure")
async def configure(ctx: RunContext, msg: Msg) -> Any:
    """``Msg('configure', obj, *args, **kwargs)`` -> ``obj.configure(...)`` (old, new).

    As bluesky: not between create and save; every stream of the open run that holds
    ``obj`` gets a new descriptor at once (its configuration read again, its data keys
    as before)."""
    obj = msg.obj
    if ctx.bundle is not None:
        raise PlanError(f"cannot configure {_name(obj)} between create and save")
    result = await _maybe_await(obj.configure(*msg.args, **msg.kwargs))
    if ctx.composer is None:
        return result
    for name, stream in list(ctx.streams.items()):
        if not any(o is obj for o in stream.objs):
            continue
        data_keys = stream.descriptor["data_keys"]
        described = {
            id(o): {
                k: {f: v for f, v in data_keys[k].items() if f != "object_name"}
                for k in stream.descriptor["object_keys"][_name(o)]
            }
            for o in stream.objs
        }
        await _new_stream(ctx, name, list(stream.objs), described, declared=stream.declared)
    return result


@verb("locate")
async def locate(ctx: RunContext, msg: Msg) -> Any:
    """``Msg('locate', *objs, squeeze=True)``: each object's setpoint and readback."""
    objs = [msg.obj, *msg.args] if msg.obj is not None else list(msg.args)
    if msg.kwargs.get("squeeze", True) and len(objs) == 1:
        return await _maybe_await(objs[0].locate())
    return list(await asyncio.gather(*[_maybe_await(o.locate()) for o in objs]))  # at once


@verb("rd")
async def rd(ctx: RunContext, msg: Msg) -> Any:
    return await _maybe_await(msg.obj.read())


# -- monitors and flyers ------------------------------------------------------------------
@verb("monitor")
async def monitor(ctx: RunContext, msg: Msg) -> None:
    """``Msg('monitor', obj, name=None, **kwargs)``: a stream of events, one per update."""
    obj = msg.obj
    if msg.args:
        raise ValueError("the 'monitor' message takes no positional arguments")
    if ctx.composer is None:
        raise PlanError("monitor outside a run: open_run first")
    if id(obj) in ctx.monitors:
        raise PlanError(f"{_name(obj)} is monitored already")
    kwargs = dict(msg.kwargs)
    name = kwargs.pop("name", None) or f"{_name(obj)}_monitor"
    described = {id(obj): await _maybe_await(obj.describe())}
    stream = await _new_stream(ctx, name, [obj], described)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[dict[str, Any], float]] = asyncio.Queue()
    ready = asyncio.Event()

    def put(item: tuple[dict[str, Any], float]) -> None:
        queue.put_nowait(item)
        ready.set()

    def on_update(*args: Any, **kw: Any) -> None:
        readings = args[0] if args and isinstance(args[0], dict) and not kw else obj.read()
        item = (readings, time.time())
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            put(item)
        else:
            loop.call_soon_threadsafe(put, item)

    lock = asyncio.Lock()
    run_key = ctx.run_key  # several runs open (Msg.run keys): the monitor's own run

    def its_run() -> tuple[Any, dict[str, Stream]]:
        if ctx.run_key == run_key:
            return ctx.composer, ctx.streams
        saved = ctx.other_runs.get(run_key) or {"composer": None, "streams": {}}
        return saved["composer"], saved["streams"]

    async def emit_queued() -> None:
        async with lock:  # the task and the verb below both emit: keep the order
            while not queue.empty():
                readings, t = queue.get_nowait()
                composer, streams = its_run()
                if composer is None or streams.get(name) is not stream:
                    continue
                data = {k: r["value"] for k, r in readings.items()}
                stamps = {k: r["timestamp"] for k, r in readings.items()}
                event = composer.event(stream.descriptor, data, stamps, time=t)
                await ctx.emit("event", event)

    async def pump() -> None:
        while True:
            await ready.wait()
            ready.clear()
            await emit_queued()

    obj.subscribe(on_update, **kwargs)
    await emit_queued()  # a reading sent at subscription comes before the next message
    task = loop.create_task(pump())
    ctx.monitors[id(obj)] = (obj, on_update, (task, emit_queued, kwargs))


async def _end_monitor(ctx: RunContext, key: int) -> None:
    obj, cb, (task, emit_queued, _) = ctx.monitors.pop(key)
    try:
        obj.clear_sub(cb)
    except Exception:
        log.exception("could not stop monitoring %s", _name(obj))
    await asyncio.sleep(0)  # updates other threads handed to the loop before now
    await emit_queued()  # what arrived before the unsubscription (after the pump's emit)
    task.cancel()


@verb("unmonitor")
async def unmonitor(ctx: RunContext, msg: Msg) -> None:
    if id(msg.obj) not in ctx.monitors:
        raise PlanError(f"{_name(msg.obj)} is not monitored")
    await _end_monitor(ctx, id(msg.obj))


async def stop_monitors(ctx: RunContext) -> None:
    for key in list(ctx.monitors):
        await _end_monitor(ctx, key)


@verb("collect")
async def collect(ctx: RunContext, msg: Msg) -> Any:
    """``Msg('collect', *flyers, stream=False, return_payload=True, name=None)``: the
    events a flyer gathered (its ``describe_collect`` names the streams).

    As bluesky: the stream assets of every object come first and share the stream's next
    rows; one object that is not a stream-asset writer (no ``get_index``) then gives its
    events (``collect_pages`` or ``collect``), which count the rows; otherwise (file
    writers, several objects) the rows the stream_datum documents cover are counted."""
    composer = ctx.composer
    if composer is None:
        raise PlanError("collect outside a run: open_run first")
    objs = [msg.obj, *msg.args] if msg.obj is not None else list(msg.args)
    name = msg.kwargs.get("name")
    return_payload = msg.kwargs.get("return_payload", True)
    several = len(objs) > 1
    if several and name is None:
        raise PlanError(
            "collect of several objects needs the stream they write: declare_stream(*objs, "
            "name=..., collect=True) first, then collect(*objs, name=...)"
        )
    index = None
    if several:  # collect every writer up to the frame all of them have written
        if not all(callable(getattr(o, "get_index", None)) for o in objs):
            raise PlanError("collect of several objects needs each to have get_index()")
        index = min([await _maybe_await(o.get_index()) for o in objs])
    streams_of: list[dict[str, dict[str, Any]]] = []
    assets: list[tuple[str, Any]] = []
    for obj in objs:
        described = await _maybe_await(obj.describe_collect())
        by_stream: dict[str, dict[str, Any]]
        if described and all(isinstance(v, dict) and "dtype" not in v for v in described.values()):
            by_stream = described  # {stream: data_keys} (ophyd's flyers)
        else:
            by_stream = {name or _name(obj): described}
        for stream_name, keys in by_stream.items():
            if ctx.streams.get(stream_name) is None:
                await _new_stream(ctx, stream_name, [obj], {id(obj): keys})
        streams_of.append(by_stream)
        if hasattr(obj, "collect_asset_docs"):
            if callable(getattr(obj, "get_index", None)):
                assets.extend(await asset_docs(obj, index))
            else:
                assets.extend(await asset_docs(obj))
    target = ctx.streams[name or next(iter(streams_of[0]))]
    rows = await _emit_assets(ctx, assets, target) if assets else 0
    if several or callable(getattr(objs[0], "get_index", None)):
        composer.skip_seq(target.descriptor["name"], rows)  # the rows live in the files
        return None
    obj, by_stream = objs[0], streams_of[0]
    payload: list[dict[str, Any]] = []
    pages = getattr(obj, "collect_pages", None)
    only = next(iter(by_stream)) if len(by_stream) == 1 else None
    grouped: dict[str, list[dict[str, Any]]] = {}
    if pages is not None:
        for page in await _listed(pages()):
            payload.extend(_unpack_page(page))
            grouped.setdefault(only or name or _name(obj), []).extend(_unpack_page(page))
    elif callable(getattr(obj, "collect", None)):
        for partial in await _listed(obj.collect()):
            payload.append(partial)
            target_name = only
            if target_name is None:  # several streams: the one with these keys
                fields = set(partial["data"])
                target_name = next(n for n in by_stream if fields and set(by_stream[n]) >= fields)
            grouped.setdefault(target_name, []).append(partial)
    else:  # assets only (a file writer without get_index): count their rows
        composer.skip_seq(target.descriptor["name"], rows)
        return None
    for stream_name, events in grouped.items():  # one event_page per stream, as bluesky
        stream = ctx.streams[stream_name]
        filled = {k: [False] * len(events) for k in stream.external}
        page = composer.event_page(stream.descriptor, events, filled=filled)
        await ctx.emit("event_page", page)
    return payload if return_payload else None


def _unpack_page(page: dict[str, Any]) -> list[dict[str, Any]]:
    n = len(page["time"])
    return [
        {
            "time": page["time"][i],
            "data": {k: v[i] for k, v in page["data"].items()},
            "timestamps": {k: v[i] for k, v in page["timestamps"].items()},
        }
        for i in range(n)
    ]


# -- flow ---------------------------------------------------------------------------------
#: seconds of lossy delivery at a time while a run is paused (see ``enter_pause``)
_CATCH_UP_SLICE = 0.05


async def enter_pause(ctx: RunContext) -> None:
    ctx.pause_requested = False
    ctx.wake_event.clear()
    ctx.drain()
    ctx.set_state(RunEngineState.PAUSED)
    # the lossy subscribers catch up while the run is paused (plots show every point up
    # to the pause), in slices, so a Resume or Abort click is taken between them
    while not ctx.wake_event.is_set() and ctx.dispatcher.catch_up(_CATCH_UP_SLICE):
        await asyncio.sleep(0)
    while not ctx.wake_event.is_set():
        await ctx.wake_event.wait()
    ctx.wake_event.clear()
    if ctx.interrupt is None:
        ctx.set_state(RunEngineState.RUNNING)


def _no_replay(exc: BaseException) -> bool:
    """bluesky's ``NoReplayAllowed`` (raised by a device's ``pause()``): matched by name,
    livescan does not import bluesky."""
    return any(c.__name__ == "NoReplayAllowed" for c in type(exc).__mro__)


async def _call_each(objs: list[Any], method: str, *args: Any, **kwargs: Any) -> bool:
    """Call ``obj.method()`` on each (awaiting what it returns); errors are logged. Returns
    False if one refused a replay (``NoReplayAllowed``)."""
    replay = True
    for obj in objs:
        fn = getattr(obj, method, None)
        if not callable(fn):
            continue
        try:
            try:
                result = fn(*args, **kwargs)
            except TypeError:
                if not (args or kwargs):
                    raise
                result = fn()
            if result is not None and hasattr(result, "add_callback"):
                await _status_done(obj, method, result)
            else:
                await _maybe_await(result)
        except Exception as exc:
            if _no_replay(exc):
                replay = False
            else:
                log.exception("%s.%s() failed", _name(obj), method)
    return replay


def _pausables(ctx: RunContext) -> list[Any]:
    return [
        o
        for o in ctx.objs_seen.values()
        if callable(getattr(o, "pause", None)) and callable(getattr(o, "resume", None))
    ]


def _all_monitors(ctx: RunContext) -> list[tuple[Any, Any, Any]]:
    """The monitors of every open run (several with ``Msg.run`` keys), as bluesky pauses
    and resumes them all."""
    if not ctx.other_runs:
        return list(ctx.monitors.values())
    found: list[tuple[Any, Any, Any]] = []
    for key in ctx.open_run_keys():  # in the order the runs were opened
        monitors = ctx.monitors if key == ctx.run_key else ctx.other_runs[key]["monitors"]
        found.extend(monitors.values())
    return found


async def rest_devices(ctx: RunContext, *, pause: bool) -> None:
    """Stop every device the run moved; at a pause also ``pause()`` the pausable ones
    and stop the monitors' subscriptions (of every open run)."""
    await _call_each(list(ctx.movers.values()), "stop", success=True)
    if pause:
        if not await _call_each(_pausables(ctx), "pause") and ctx.msg_cache is not None:
            ctx.msg_cache = []  # a device cannot retake what it did: resume goes on from here
        for obj, cb, _ in _all_monitors(ctx):
            try:
                obj.clear_sub(cb)
            except Exception:
                log.exception("could not stop monitoring %s", _name(obj))


def _resubscribe_monitors(ctx: RunContext) -> None:
    """After a pause or a suspension: the monitors of every open run again."""
    for obj, cb, (_, _, kwargs) in _all_monitors(ctx):
        obj.subscribe(cb, **kwargs)


async def pause_and_rewind(ctx: RunContext) -> None:
    """Pause now; on resume replay the messages since the last checkpoint."""
    if ctx.suspension is not None and not ctx.user_pause:
        await suspend_and_rewind(ctx)
        return
    ctx.user_pause = False
    ctx.pause_now = False
    if ctx.interrupt is None and ctx.async_failure is None:
        ctx.interrupt_event.clear()
    if ctx.msg_cache is None:
        ctx.failed_pause = True
        ctx.request_interrupt(
            "abort", "cannot pause: the plan cleared its checkpoint, so it cannot be resumed"
        )
        return
    await _record_interruption(ctx, "pause")
    await rest_devices(ctx, pause=True)
    await enter_pause(ctx)
    if ctx.interrupt is not None:
        return
    if ctx.suspension is not None:  # suspended when paused: wait again before going on
        ctx.pause_now = True
    await _call_each(_pausables(ctx), "resume")
    _resubscribe_monitors(ctx)
    await _record_interruption(ctx, "resume")
    cache = ctx.msg_cache or []
    ctx.msg_cache = []
    if not cache:  # nothing to retake (not rewindable, or a device refused): go on
        return
    _drop_point(ctx)
    ctx.replay[:0] = cache


class Suspension:
    """A suspension (``RE.request_suspend``, a tripped bluesky suspender): wait for every
    one of ``futs`` (awaitables or functions giving one), with ``pre_plan`` before and
    ``post_plan`` after, then retake what followed the last checkpoint."""

    def __init__(
        self,
        futs: list[Any],
        pre_plan: Any = None,
        post_plan: Any = None,
        justification: str | None = None,
        *,
        started: bool = False,
    ) -> None:
        self.futs = futs
        self.pre_plan = pre_plan
        self.post_plan = post_plan
        self.justification = justification
        #: False: a fresh request (devices not stopped yet); True: waiting (or, for a
        #: suspender tripped before the run began, nothing to stop or retake)
        self.started = started
        self.resume = not started  # resume devices, run post_plan, retake the cache
        self.cache: list[Any] = []
        self.was_rewindable = True


async def suspend_and_rewind(ctx: RunContext) -> None:
    """Carry out ``ctx.suspension`` as bluesky does: record it, stop what moves, pause
    the devices, run its pre_plan, wait (a pause or an interrupt may come meanwhile: the
    wait is taken up again after a resume), resume the devices, run its post_plan, then
    retake the messages since the last checkpoint. The msg_hook sees every message."""
    sus = ctx.suspension
    assert sus is not None
    if ctx.engine.state is RunEngineState.SUSPENDING:  # taken up: 'running', as bluesky
        ctx.set_state(RunEngineState.RUNNING)
    ctx.pause_now = False
    if ctx.interrupt is None and ctx.async_failure is None:
        ctx.interrupt_event.clear()
    if not sus.started:
        if ctx.msg_cache is None:
            ctx.suspension = None
            ctx.failed_pause = True
            ctx.request_interrupt(
                "abort", "cannot suspend: the plan cleared its checkpoint, so it cannot be resumed"
            )
            return
        sus.started = True
        _hook(ctx, Msg("_start_suspender", None, sus.pre_plan, sus.post_plan, sus.justification))
        await _record_interruption(ctx, sus.justification or "suspended")
        await rest_devices(ctx, pause=True)
        sus.cache, ctx.msg_cache = list(ctx.msg_cache or []), []
        if sus.cache:
            _drop_point(ctx)
        sus.was_rewindable = ctx.rewindable
        await _inline(ctx, [Msg("rewindable", None, False)])
        if sus.pre_plan is not None:
            await _inline(ctx, sus.pre_plan)
    while True:
        await _inline(ctx, [Msg("wait_for", None, list(sus.futs))])
        if ctx.interrupt is not None or ctx.user_pause:
            return  # the pause or the interrupt first; the suspension stays
        if not ctx.pause_now:
            break
        ctx.pause_now = False  # one more condition joined: wait for all of them
        ctx.interrupt_event.clear()
    ctx.suspension = None
    if not sus.resume:
        return
    _hook(ctx, Msg("_resume_from_suspender", None))
    await _call_each(_pausables(ctx), "resume")
    _resubscribe_monitors(ctx)
    if sus.post_plan is not None:
        await _inline(ctx, sus.post_plan)
    await _inline(ctx, [Msg("rewindable", None, sus.was_rewindable)])
    ctx.replay[:0] = sus.cache


def _drop_point(ctx: RunContext) -> None:
    """Forget the point in progress: it is retaken from the last checkpoint."""
    ctx.bundle = None
    ctx.groups.clear()
    if ctx.composer is not None:
        ctx.composer.restore_seq(ctx.seq_snapshot)  # interruptions too, as bluesky
    for saved in ctx.other_runs.values():  # several runs open (run keys)
        saved["bundle"] = None
        if saved["composer"] is not None:
            saved["composer"].restore_seq(saved["seq_snapshot"])


def _hook(ctx: RunContext, msg: Msg) -> None:
    hook = ctx.engine.msg_hook
    if hook is not None:
        hook(msg)


async def _inline(ctx: RunContext, plan: Any) -> None:
    """Run a small plan (a suspender's pre/post plan) here, message by message, until it
    ends or the user interrupts the run; its errors end the run."""
    if callable(plan) and not hasattr(plan, "__iter__"):
        plan = plan()
    gen: Generator[Any, Any, Any] | None = plan if inspect.isgenerator(plan) else None
    items: Iterator[Any] = iter(plan)
    response: Any = None
    while ctx.interrupt is None:
        try:
            msg: Msg = gen.send(response) if gen is not None else next(items)
        except StopIteration:
            return
        _hook(ctx, msg)
        fn = ctx.verbs.get(msg.command)
        if fn is None:
            raise PlanError(f"the suspender's plan yielded {msg!r}: no such command")
        response = await fn(ctx, msg)


#: the stream of pause/resume events of ``RE.record_interruptions`` (as bluesky)
INTERRUPTIONS = "interruptions"


async def _record_interruption(ctx: RunContext, what: str) -> None:
    """An event in the ``interruptions`` stream of every open run that records them."""
    if ctx.interruptions is None and not ctx.other_runs:
        return
    current = ctx.run_key
    for key in ctx.open_run_keys():
        ctx.use_run(key)
        desc, composer = ctx.interruptions, ctx.composer
        if desc is None or composer is None:
            continue
        now = time.time()
        event = composer.event(desc, {"interruption": what}, {"interruption": now}, time=now)
        await ctx.emit("event", event)
    ctx.use_run(current)


def _mark_checkpoint(ctx: RunContext, msg: Msg | None = None) -> None:
    """A checkpoint: what a rewind goes back to starts here; a requested pause happens.

    It is also the checkpoint's fast verb (nothing to wait for)."""
    if ctx.bundle is not None:
        raise PlanError("checkpoint between create and save: save or drop first")
    cache = ctx.msg_cache
    if cache is not None:
        if cache:  # a rewind copies it out first (pause_and_rewind): clear in place
            cache.clear()
        if ctx.composer is not None:
            ctx.seq_snapshot = ctx.composer.seq_counters()
        if ctx.other_runs:  # several runs open (run keys): each rewinds to here
            for saved in ctx.other_runs.values():
                if saved["composer"] is not None:
                    saved["seq_snapshot"] = saved["composer"].seq_counters()
    if ctx.pause_requested and ctx.interrupt is None:
        ctx.request_pause_now()


@verb("checkpoint")
async def checkpoint(ctx: RunContext, msg: Msg) -> None:
    _mark_checkpoint(ctx, msg)


@verb("clear_checkpoint")
async def clear_checkpoint(ctx: RunContext, msg: Msg) -> None:
    """After this a pause cannot rewind, so it ends the run instead."""
    ctx.msg_cache = None


@verb("rewindable")
async def rewindable(ctx: RunContext, msg: Msg) -> bool:
    flag = msg.args[0] if msg.args else msg.kwargs.get("rewindable")
    if flag is not None:
        ctx.rewindable = bool(flag)
    return ctx.rewindable


@verb("pause")
async def pause(ctx: RunContext, msg: Msg) -> None:
    """``Msg('pause', defer=False)``: pause now (rewinding on resume) or, with
    ``defer=True``, at the next checkpoint."""
    if ctx.interrupt is not None:
        return
    defer = msg.kwargs.get("defer", msg.args[0] if msg.args else False)
    ctx.set_state(RunEngineState.PAUSING)  # running -> pausing -> paused, as bluesky
    if defer:
        ctx.pause_requested = True
    else:
        ctx.request_pause_now()


@verb("input")
async def input_(ctx: RunContext, msg: Msg) -> str:
    """``Msg('input', prompt)``: ask the user (a thread, so the loop keeps running)."""
    prompt = msg.args[0] if msg.args else msg.kwargs.get("prompt", "")
    ask = getattr(ctx.engine, "input", None) or builtins.input
    return await asyncio.get_running_loop().run_in_executor(None, ask, prompt)


@verb("install_suspender")
async def install_suspender(ctx: RunContext, msg: Msg) -> None:
    """``Msg('install_suspender', None, suspender)``: ``RE.install_suspender``."""
    ctx.engine.install_suspender(msg.args[0])


@verb("remove_suspender")
async def remove_suspender(ctx: RunContext, msg: Msg) -> None:
    """``Msg('remove_suspender', None, suspender)``: ``RE.remove_suspender``."""
    ctx.engine.remove_suspender(msg.args[0])


@verb("RE_class")
async def re_class(ctx: RunContext, msg: Msg) -> type:
    return type(ctx.engine)


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
    if ctx.interrupt is not None and ctx.composer is not None:
        return  # stopped or aborted: it still gets the stop document, then goes
    ctx.engine.unsubscribe(token)
    if token in ctx.plan_tokens:
        ctx.plan_tokens.remove(token)


# -- the fast path ------------------------------------------------------------------------
# The hot messages of a step (checkpoint, set, trigger, wait, create, read, save) as plain
# functions: they do their work at once and return the response, or return Later(an
# awaitable) when they must wait (a status still running, a lossless subscriber, a first
# read that needs describe()). No coroutine is made per message on the common path.


class Later:
    """What a fast verb returns when the executor must await ``awaitable`` for the response."""

    __slots__ = ("awaitable",)

    def __init__(self, awaitable: Awaitable[Any]) -> None:
        self.awaitable = awaitable


FastVerb = Callable[[RunContext, Msg], Any]


def _untracked(ctx: RunContext, status: Any) -> bool:
    """Whether ``status`` finished successfully already and no waiting hook must see it
    (then ``_track`` would not keep it)."""
    return (
        getattr(status, "done", False) is True
        and getattr(status, "success", True) is True
        and ctx.waiting_hook is None
    )


def _fast_trigger(ctx: RunContext, msg: Msg) -> Any:
    obj = msg.obj
    status = obj.trigger()
    if status is None or (  # _untracked, inline (once per event)
        getattr(status, "done", False) is True
        and getattr(status, "success", True) is True
        and ctx.waiting_hook is None
    ):
        return status
    return _track(ctx, obj, "trigger", status, msg.kwargs.get("group"))


def _fast_set(ctx: RunContext, msg: Msg) -> Any:
    kwargs = msg.kwargs
    obj = msg.obj
    ctx.movers[id(obj)] = obj
    group = kwargs.get("group")
    if kwargs and (len(kwargs) > 1 or "group" not in kwargs):
        status = obj.set(*msg.args, **{k: v for k, v in kwargs.items() if k != "group"})
    else:
        status = obj.set(*msg.args)
    if status is None or _untracked(ctx, status):
        return status
    return _track(ctx, obj, f"set to {msg.args[0]!r}" if msg.args else "set", status, group)


def _fast_wait(ctx: RunContext, msg: Msg) -> Any:
    kwargs = msg.kwargs
    group = kwargs.get("group", msg.args[0] if msg.args else None)
    groups = ctx.groups
    if not groups:  # nothing is running
        return True
    entries = groups.get(group)
    if not entries:
        groups.pop(group, None)
        return True
    if ctx.waiting_hook is not None:
        return Later(wait(ctx, msg))
    for _, _, status in entries:
        if (
            getattr(status, "done", False) is not True
            or getattr(status, "success", None) is not True
        ):
            return Later(wait(ctx, msg))
    del ctx.groups[group]
    return True


def _fast_create(ctx: RunContext, msg: Msg) -> Any:
    if ctx.composer is None or ctx.bundle is not None:
        return Later(create(ctx, msg))  # raises the error
    name = msg.kwargs.get("name") or (msg.args[0] if msg.args else "primary")
    bundle = ctx.spare_bundle  # the last saved one, emptied: no new objects per event
    if bundle is None:
        bundle = Bundle(name)
    else:
        ctx.spare_bundle = None
        bundle.name = name
    ctx.bundle = bundle
    return None


def _fast_read(ctx: RunContext, msg: Msg) -> Any:
    obj = msg.obj
    key = id(obj)
    bundle = ctx.bundle
    if key not in ctx.sync_readers or (bundle is not None and key not in ctx.described):
        return Later(read(ctx, msg))
    reading = obj.read()
    if bundle is not None:
        readings = bundle.readings
        objs = bundle.objs
        if objs:
            for o in objs:
                if o is obj:
                    return Later(read(ctx, msg))  # the full verb names the problem
            if not readings.keys().isdisjoint(reading):
                return Later(read(ctx, msg))
        objs.append(obj)
        readings.update(reading)
    return reading


def _same_objs(stream: Stream, objs: list[Any]) -> bool:
    """Whether ``objs`` are the stream's devices, in its order (by identity)."""
    known = stream.objs
    if len(known) != len(objs):
        return False
    if len(objs) == 1:
        return known[0] is objs[0]
    for a, b in zip(known, objs):  # noqa: SIM110 (no generator per event)
        if a is not b:
            return False
    return True


def _fast_save(ctx: RunContext, msg: Msg) -> Any:
    bundle = ctx.bundle
    composer = ctx.composer
    if bundle is None or composer is None or bundle.assets or not bundle.objs:
        return Later(save(ctx, msg))
    stream = ctx.streams.get(bundle.name)
    if stream is None or not _same_objs(stream, bundle.objs):
        return Later(save(ctx, msg))
    ctx.bundle = None
    external = stream.external
    dispatcher = ctx.dispatcher
    if not external and not dispatcher.lossless.subs:
        rows = dispatcher.lossy.row_sink
        if rows is not None:
            # page subscribers alone take events: the readings go straight into the
            # page's columns; no event document is made (its uid comes with the page)
            rows(stream.descriptor, composer.next_seq(stream.descriptor), bundle.readings)
            if bundle.name == "primary":
                ctx.primary_events += 1
            bundle.objs.clear()
            bundle.readings.clear()
            ctx.spare_bundle = bundle
            return None
    data = {}
    timestamps = {}
    for k, r in bundle.readings.items():
        data[k] = r["value"]
        timestamps[k] = r["timestamp"]
    event = composer.event(
        stream.descriptor,
        data,
        timestamps,
        filled={k: False for k in external} if external else None,
    )
    if bundle.name == "primary":
        ctx.primary_events += 1
    bundle.objs.clear()
    bundle.readings.clear()
    ctx.spare_bundle = bundle
    doc: dict[str, Any] = event  # type: ignore[assignment]  # as_dict without a call
    if ctx.dispatcher.emit_event_now(doc):
        return None
    return Later(ctx.emit("event", event))


def _fast_null(ctx: RunContext, msg: Msg) -> Any:
    return None


#: fast versions of verbs in VERBS (used only while VERBS' own verb is registered)
FAST: dict[str, FastVerb] = {
    "checkpoint": _mark_checkpoint,
    "trigger": _fast_trigger,
    "set": _fast_set,
    "wait": _fast_wait,
    "create": _fast_create,
    "read": _fast_read,
    "save": _fast_save,
    "null": _fast_null,
}
