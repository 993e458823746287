"""The plan executor: a plain ``async def`` that interprets messages until the plan ends.

It looks each message's verb up in the registry and awaits it, hands device errors
and interrupts back to the plan (so its ``finally`` blocks run), yields to the event
loop every ``yield_interval`` seconds of work, and always cleans up: closes an open run
with the right exit status, unstages devices, removes the plan's own subscriptions.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from livescan.dispatch import LosslessFailure
from livescan.documents import ExitStatus
from livescan.engine._context import Interrupt, RunContext
from livescan.engine._verbs import (
    FAST,
    VERBS,
    Later,
    emit_stop,
    pause_and_rewind,
    rest_devices,
    stop_monitors,
)
from livescan.errors import CriticalCallbackError, PlanError, RunEngineInterrupted, UnknownCommand
from livescan.plans import Msg

__all__ = ["NO_PLAN_RETURN", "Outcome", "as_generator", "execute"]


class _NoPlanReturn:
    def __repr__(self) -> str:
        return "NO_PLAN_RETURN"


#: the plan_result of a run the user stopped, aborted or halted (bluesky's sentinel)
NO_PLAN_RETURN: Any = _NoPlanReturn()

log = logging.getLogger("livescan.engine")


@dataclass
class Outcome:
    plan_result: Any
    exit_status: str
    reason: str
    interrupted: bool


def as_generator(plan: Iterable[Msg]) -> Generator[Msg, Any, Any]:
    if isinstance(plan, Generator):
        return plan

    def iterate() -> Generator[Msg, Any, Any]:
        # a plain iterator ignores what the engine sends back (yield from would not)
        for msg in plan:  # noqa: UP028
            yield msg

    return iterate()


def _unknown(msg: Any, verbs: Mapping[str, Any]) -> PlanError:
    command = getattr(msg, "command", None)  # a Msg, or bluesky's Msg
    if not isinstance(msg, tuple) or command is None:
        return PlanError(f"a plan must yield Msg objects; it yielded {msg!r}")
    return UnknownCommand(
        f"the plan yielded {msg!r}, but there is no command {command!r}; "
        f"known: {', '.join(sorted(verbs))} (add one with RE.register_command)"
    )


#: messages not replayed when a paused run rewinds to its last checkpoint (as bluesky)
UNCACHEABLE = frozenset(
    {
        "pause",
        "subscribe",
        "unsubscribe",
        "stage",
        "unstage",
        "monitor",
        "unmonitor",
        "open_run",
        "close_run",
        "checkpoint",
        "clear_checkpoint",
        "rewindable",
        "install_suspender",
        "remove_suspender",
    }
)


async def execute(plan: Generator[Msg, Any, Any], ctx: RunContext) -> Outcome:
    verbs = ctx.verbs
    # the fast verbs stand in for the built-in ones only (RE.register_command may replace)
    fast = {name: f for name, f in FAST.items() if verbs.get(name) is VERBS[name]}
    drain = ctx.drain
    interval = ctx.engine.yield_interval
    hook = ctx.engine.msg_hook
    replay = ctx.replay
    seen = ctx.objs_seen
    response: Any = None
    throw: BaseException | None = None
    delivered_interrupt = False
    plan_result: Any = None
    error: BaseException | None = None
    perf = time.perf_counter
    send = plan.send
    # command -> (fast verb or None, verb, replayed after a rewind)
    table: dict[str, tuple[Any, Any, bool]] = {
        name: (fast.get(name), fn, name not in UNCACHEABLE) for name, fn in verbs.items()
    }
    ctx.table = table  # a keyed open_run (several runs) reroutes the run's verbs here
    tick = 0
    rogue = False  # the plan raised KeyboardInterrupt
    try:
        while True:
            if (
                throw is None
                and ctx.interrupt is None
                and not ctx.pause_now
                and ctx.async_failure is None
                and not replay
            ):  # the common case, checked at once
                try:
                    msg = send(response)
                except StopIteration as stop:
                    plan_result = stop.value
                    break
                except KeyboardInterrupt:
                    rogue = True  # raised by the plan itself, not by Ctrl-C
                    raise
            else:
                if ctx.interrupt is not None:
                    if not delivered_interrupt:
                        delivered_interrupt = True
                        replay.clear()
                        if ctx.interrupt.kind == "halt":
                            _halt(plan, ctx.interrupt)  # before devices stop, as bluesky
                            break
                        throw = ctx.interrupt
                elif ctx.pause_now:
                    await pause_and_rewind(ctx)
                    continue
                if ctx.async_failure is not None and throw is None:
                    throw, ctx.async_failure = ctx.async_failure, None
                if replay and throw is None:
                    msg = replay.pop(0)
                else:
                    try:
                        if throw is not None:
                            exc, throw = throw, None
                            msg = plan.throw(exc)
                        else:
                            msg = send(response)
                    except StopIteration as stop:
                        plan_result = stop.value
                        break
                    except Interrupt:
                        break
                    except KeyboardInterrupt:
                        rogue = True
                        raise
            try:
                quick, fn, cacheable = table[msg.command]
            except (KeyError, AttributeError, TypeError):
                fn = verbs.get(str(getattr(msg, "command", "")))  # registered during the run
                if fn is None:
                    if hook is not None and isinstance(msg, tuple):
                        hook(msg)  # as bluesky: the hook sees the message it refuses
                    response, throw = None, _unknown(msg, verbs)
                    continue
                quick, cacheable = None, msg.command not in UNCACHEABLE
            if cacheable and ctx.rewindable:
                cache = ctx.msg_cache
                if cache is not None:
                    cache.append(msg)
            if hook is not None:
                hook(msg)
            obj = msg.obj
            if obj is not None:
                seen[id(obj)] = obj
            try:
                if quick is None:
                    response = await fn(ctx, msg)
                else:
                    response = quick(ctx, msg)
                    if response.__class__ is Later:
                        response = await response.awaitable
            except LosslessFailure as failure:
                response = None
                if ctx.failure is None:
                    ctx.failure = failure
                throw = CriticalCallbackError(str(failure), callback=failure.subscription.func)
                throw.__cause__ = failure.error
            except Exception as exc:
                response, throw = None, exc
            tick += 1
            if tick & 15:  # look at the clock every 16 messages
                continue
            now = perf()
            if now - ctx.last_yield > interval:
                await asyncio.sleep(0)
                drain()
                ctx.last_yield = perf()
                if now - ctx.last_notify > 0.05:
                    ctx.last_notify = now
                    ctx.notify()
    except BaseException as exc:  # the plan raised, or KeyboardInterrupt / cancellation
        error = exc
    if error is None and ctx.interrupt is None:
        await asyncio.sleep(0)  # a status that failed just now reports on the loop
        if ctx.async_failure is not None:  # nobody waited for it: the plan fails
            error, ctx.async_failure = ctx.async_failure, None
    try:
        return await _finish(ctx, plan, plan_result, error)
    except KeyboardInterrupt as exc:
        if not rogue:
            raise
        # as bluesky: the run ends (exit_status='abort') and RE() says it was interrupted
        raise RunEngineInterrupted(
            "the plan raised KeyboardInterrupt; the run was aborted"
        ) from exc


def _halt(plan: Generator[Msg, Any, Any], halt: BaseException) -> None:
    """Throw the halt (a GeneratorExit, as bluesky's PlanHalt) into the plan, then close
    it: its ``finally`` blocks run, messages it yields are not carried out."""
    try:
        plan.throw(halt)
    except (Interrupt, GeneratorExit, StopIteration):
        pass
    except Exception:
        log.exception("the plan failed while it was halted")
    _close(plan)


def _close(plan: Generator[Msg, Any, Any]) -> None:
    try:
        plan.close()
    except RuntimeError:  # a finally block tried to yield
        print(f"The plan {plan!r} tried to yield a value on close.  Please fix your plan.")
    except Exception:
        log.exception("closing the plan failed")


def _exit_status(ctx: RunContext, error: BaseException | None) -> tuple[ExitStatus, str]:
    if ctx.failure is not None:
        return "fail", str(ctx.failure)
    if isinstance(error, KeyboardInterrupt | asyncio.CancelledError):
        return "abort", "interrupted (KeyboardInterrupt)"
    if error is not None and not isinstance(error, Interrupt):
        return "fail", f"{type(error).__name__}: {error}"
    if ctx.interrupt is not None:
        kind, reason = ctx.interrupt.kind, ctx.interrupt.reason
        if kind == "stop":
            return "success", reason or "stopped by the user"
        if kind == "halt":
            return "abort", reason or "halted by the user"
        return "abort", reason or "aborted by the user"
    return "success", ""


async def _finish(
    ctx: RunContext, plan: Generator[Msg, Any, Any], plan_result: Any, error: BaseException | None
) -> Outcome:
    exit_status, reason = _exit_status(ctx, error)
    ctx.bundle = None
    await stop_monitors(ctx)
    # as bluesky: stop(success=True) on every device the plan set, however it ended
    # (moving ones stop: a safety matter at a stop, abort or failure)
    await rest_devices(ctx, pause=False)
    for key in ctx.open_run_keys():  # every run still open (several with Msg.run keys)
        ctx.use_run(key)
        if error is None and ctx.interrupt is None and ctx.failure is None:
            reason = "the plan ended without close_run; livescan closed the run"
        try:
            await emit_stop(ctx, exit_status, reason)
        except LosslessFailure as failure:
            if ctx.failure is None:
                ctx.failure = failure
                exit_status, reason = "fail", str(failure)
    # a plan still waiting at a yield (ended by an error outside it) is closed now, as
    # bluesky does, not whenever it is garbage-collected (a no-op if it ended)
    _close(plan)
    for obj in reversed(ctx.staged):
        unstage = getattr(obj, "unstage", None)
        if unstage is None:
            continue
        try:
            result = unstage()
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("unstaging %s failed", getattr(obj, "name", obj))
    ctx.staged.clear()
    for token in ctx.plan_tokens:
        try:
            ctx.engine.unsubscribe(token)
        except KeyError:
            pass
    ctx.drain(force=True)  # the lossy subscribers that take every event catch up here
    await ctx.dispatcher.settle()  # no async lossy callback outlives the plan
    if ctx.async_failure is not None and error is None and ctx.failure is None:
        # one of them raised while catching up (RE.ignore_callback_exceptions = False):
        # the run's stop is sent, so RE() raises it
        error, ctx.async_failure = ctx.async_failure, None
    last_stop = ctx.handle.stop_doc
    if last_stop is not None:
        exit_status, reason = last_stop["exit_status"], last_stop.get("reason", "")
    if ctx.failure is not None:
        lost = ctx.failure
        assert isinstance(lost, LosslessFailure)
        stop = ctx.handle.stop_doc
        if stop is not None and str(lost) not in stop.get("reason", ""):
            # it failed on the stop itself: the stop others recorded stands
            message = (
                f"{lost}; the run's stop document (exit_status={stop['exit_status']!r}) "
                "had been composed and recorded by the other subscribers, so the run keeps "
                "that status, but this subscriber's output may be incomplete"
            )
        else:
            message = f"the run was ended because {lost}"
        err = CriticalCallbackError(
            message,
            callback=lost.subscription.func,
            uids=tuple(ctx.handle.uids),
            reason=str(lost),
        )
        raise err from lost.error
    if isinstance(error, GeneratorExit):  # as bluesky: not a BaseException for the caller
        raise ValueError(f"the plan failed: {error!r}") from error
    if error is not None and not isinstance(error, Interrupt):
        raise error
    if ctx.failed_pause:
        raise RunEngineInterrupted(
            "the run was asked to pause after the plan cleared its checkpoint, so it could "
            f"not be resumed; it was aborted ({reason})"
        )
    if ctx.interrupt is not None and plan_result is None:
        plan_result = NO_PLAN_RETURN
    return Outcome(plan_result, exit_status, reason, ctx.interrupt is not None)
