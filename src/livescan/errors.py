"""The exception tree of livescan.

Every error livescan raises on purpose derives from :class:`LivescanError`; most also
derive from the matching built-in (``ValueError``, ``TypeError``, ``KeyError``,
``OSError``) so code written against bluesky's behaviour keeps working::

    LivescanError
    ├── RunEngineError
    │   ├── IllegalStateTransition      (also RuntimeError)
    │   ├── RunEngineInterrupted        a blocking run was paused
    │   ├── PlanError                   (also TypeError) not a plan / a bad message sequence
    │   │   ├── UnknownCommand          (also KeyError) a message no verb handles
    │   │   └── DuplicateField          (also ValueError) two devices give one field
    │   ├── WaitTimeout                 (also TimeoutError) wait_for / wait(timeout=) ran out
    │   └── RunFailed                   a run ended with exit_status='fail'
    │       └── CriticalCallbackError   a lossless subscriber raised
    ├── SubscriptionError               (also ValueError)
    │   ├── UnknownDocumentName         (also KeyError)
    │   └── NotCallableError            (also TypeError)
    ├── MetadataError                   (also ValueError)
    ├── FieldError                      (also ValueError) unknown field names
    ├── DeviceError                     (also RuntimeError) a device reported a failure
    │   └── AssetError                  (also ValueError) its stream assets do not fit
    ├── ExportError
    │   ├── TemplateError               (also ValueError)
    │   └── FileExistsExportError       (also FileExistsError / OSError)
    └── StoreError                      the run store could not record or open a run
        └── RunNotFound                 (also KeyError) no run (or no unique run) matches

Thrown into a plan (BaseException, so ``except Exception`` does not swallow them):
``RunInterrupt`` → ``RequestStop``, ``RequestAbort``, ``RequestHalt``.

**bluesky's classes catch ours.** Code written for bluesky catches
``bluesky.utils.RunEngineInterrupted``, ``FailedStatus``, ``IllegalMessageSequence``,
``InvalidCommand``, ``RequestStop``/``RequestAbort``/``PlanHalt``,
``WaitForTimeoutError``, the state machine's ``TransitionError`` and event-model's
``EventModelValueError``. livescan does not depend on bluesky (importing it costs ~1.8 s):
when bluesky's module defining one of those classes is imported — before or after livescan
— the matching livescan class gets it as an extra base class (``_BLUESKY_BASES``), so
``except bluesky.utils.FailedStatus`` catches livescan's ``DeviceError``.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType as _ModuleType
from typing import Any

__all__ = [
    "AssetError",
    "CriticalCallbackError",
    "DeviceError",
    "DuplicateField",
    "ExportError",
    "FieldError",
    "FileExistsExportError",
    "IllegalStateTransition",
    "LivescanError",
    "MetadataError",
    "NotCallableError",
    "PlanError",
    "RequestAbort",
    "RequestHalt",
    "RequestStop",
    "RunEngineError",
    "RunEngineInterrupted",
    "RunFailed",
    "RunInterrupt",
    "RunNotFound",
    "StoreError",
    "SubscriptionError",
    "TemplateError",
    "UnknownCommand",
    "UnknownDocumentName",
    "WaitTimeout",
]


class LivescanError(Exception):
    """Base class of every error livescan raises on purpose."""


class RunEngineError(LivescanError):
    """Something about running a plan went wrong."""


class IllegalStateTransition(RunEngineError, RuntimeError):
    """The RunEngine was asked to do something its current state does not allow."""


class RunEngineInterrupted(RunEngineError):
    """A blocking ``RE(plan)`` returned because the run paused.

    Call ``RE.resume()``, ``RE.stop()``, ``RE.abort()`` or ``RE.halt()`` next.
    """


class PlanError(RunEngineError, TypeError):
    """The object given as a plan is not one, or a plan yielded a bad message."""


class UnknownCommand(PlanError, KeyError):
    """A plan yielded a message whose command no verb handles."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class _Timeout(TimeoutError):
    """(A Python-level base so bluesky's WaitForTimeoutError can join WaitTimeout's.)"""


class DuplicateField(PlanError, ValueError):
    """Two devices read into one stream give the same field name."""


class WaitTimeout(RunEngineError, _Timeout):
    """``wait_for`` or ``Msg('wait', timeout=...)`` ran out of time."""


class RunInterrupt(BaseException):
    """Thrown into a plan when the user stops, aborts or halts it (a BaseException so
    that a plan's ``except Exception`` does not swallow it; ``finally`` blocks run)."""

    kind = ""

    def __init__(self, reason: str = "") -> None:
        super().__init__(f"{self.kind}: {reason}" if reason else self.kind)
        self.reason = reason


class RequestStop(RunInterrupt):
    """The user stopped the run (``RE.stop()``): clean up, ``exit_status='success'``."""

    kind = "stop"


class RequestAbort(RunInterrupt):
    """The user aborted the run (``RE.abort()``): clean up, ``exit_status='abort'``."""

    kind = "abort"


class RequestHalt(RunInterrupt, GeneratorExit):
    """The user halted the run (``RE.halt()``): thrown into the plan as a GeneratorExit
    (as bluesky's ``PlanHalt``): its ``finally`` blocks run, it may not yield again."""

    kind = "halt"


class RunFailed(RunEngineError):
    """A run ended with ``exit_status='fail'``; ``__cause__`` is the original error."""

    def __init__(self, message: str, *, uids: tuple[str, ...] = (), reason: str = ""):
        super().__init__(message)
        self.uids = uids
        self.reason = reason or message


class CriticalCallbackError(RunFailed):
    """A lossless (critical) subscriber raised; the run was ended cleanly."""

    def __init__(self, message: str, *, callback: object = None, **kwargs):
        super().__init__(message, **kwargs)
        self.callback = callback


class SubscriptionError(LivescanError, ValueError):
    """A subscription argument is malformed."""


class UnknownDocumentName(SubscriptionError, KeyError):
    """A subscription was keyed by something that is not a document name."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class NotCallableError(SubscriptionError, TypeError):
    """Something subscribed is not callable."""


class MetadataError(LivescanError, ValueError):
    """Run metadata that the documents could not carry."""


class FieldError(LivescanError, ValueError):
    """A callback was asked for fields that the data stream does not have."""


class DeviceError(LivescanError, RuntimeError):
    """A device reported a failed trigger, move or read (also RuntimeError, as bluesky's
    errors about devices)."""


class AssetError(DeviceError, ValueError):
    """A device's stream_resource/stream_datum documents do not fit its stream (e.g. the
    detectors of one collect cover different numbers of rows)."""


class ExportError(LivescanError):
    """An exporter could not write what it was asked to."""


class TemplateError(ExportError, ValueError):
    """A filename template is malformed, unsafe, or names missing metadata."""


class FileExistsExportError(ExportError, FileExistsError):
    """An exporter refused to overwrite an existing file."""


class StoreError(LivescanError):
    """The run store could not record, find or open a run."""


class RunNotFound(StoreError, KeyError):
    """No run in the store matches a lookup (or a uid prefix matches several)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


# -- bluesky's classes as extra bases (see the module docstring) -----------------------------
_BLUESKY_BASES: dict[str, dict[str, type]] = {
    "bluesky.utils": {
        "RunEngineInterrupted": RunEngineInterrupted,
        "FailedStatus": DeviceError,
        "IllegalMessageSequence": PlanError,
        "InvalidCommand": UnknownCommand,
        "RequestStop": RequestStop,
        "RequestAbort": RequestAbort,
        "PlanHalt": RequestHalt,
    },
    "bluesky.run_engine": {"WaitForTimeoutError": WaitTimeout},
    "bluesky._vendor.super_state_machine.errors": {"TransitionError": IllegalStateTransition},
    "event_model": {"EventModelValueError": AssetError},
}


def _adopt(module: _ModuleType) -> None:
    for name, ours in _BLUESKY_BASES.get(module.__name__, {}).items():
        theirs = getattr(module, name, None)
        if isinstance(theirs, type) and not issubclass(ours, theirs):
            # theirs takes the place of the built-in it derives from (KeyError for
            # InvalidCommand), or comes last
            bases = [b for b in ours.__bases__ if not issubclass(theirs, b) or b is Exception]
            try:
                ours.__bases__ = (*bases, theirs)
            except TypeError:  # an incompatible layout in some future bluesky: leave it
                pass


class _AdoptOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the loader of bluesky's modules to call ``_adopt``."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in _BLUESKY_BASES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        exec_module = getattr(loader, "exec_module", None)
        if loader is None or exec_module is None:
            return spec

        def exec_and_adopt(module: _ModuleType) -> None:
            exec_module(module)
            _adopt(module)

        loader.exec_module = exec_and_adopt  # type: ignore[method-assign]  # wrapping it is the point
        return spec


for _name in _BLUESKY_BASES:
    if _name in sys.modules:
        _adopt(sys.modules[_name])
if not any(isinstance(f, _AdoptOnImport) for f in sys.meta_path):
    sys.meta_path.insert(0, _AdoptOnImport())
