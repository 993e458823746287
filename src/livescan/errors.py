"""The exception tree of livescan.

Every error livescan raises on purpose derives from :class:`LivescanError`; most also
derive from the matching built-in (``ValueError``, ``TypeError``, ``KeyError``,
``OSError``) so code written against bluesky's behaviour keeps working::

    LivescanError
    ├── RunEngineError
    │   ├── IllegalStateTransition      (also RuntimeError)
    │   ├── RunEngineInterrupted        a blocking run was paused
    │   ├── PlanError                   (also TypeError) not a plan / unknown message
    │   └── RunFailed                   a run ended with exit_status='fail'
    │       └── CriticalCallbackError   a lossless subscriber raised
    ├── SubscriptionError               (also ValueError)
    │   ├── UnknownDocumentName         (also KeyError)
    │   └── NotCallableError            (also TypeError)
    ├── MetadataError                   (also ValueError)
    ├── FieldError                      (also ValueError) unknown field names
    ├── DeviceError                     a device reported a failure
    ├── ExportError
    │   ├── TemplateError               (also ValueError)
    │   └── FileExistsExportError       (also FileExistsError / OSError)
    └── StoreError                      the run store could not record or open a run
        └── RunNotFound                 (also KeyError) no run (or no unique run) matches
"""

from __future__ import annotations

__all__ = [
    "CriticalCallbackError",
    "DeviceError",
    "ExportError",
    "FieldError",
    "FileExistsExportError",
    "IllegalStateTransition",
    "LivescanError",
    "MetadataError",
    "NotCallableError",
    "PlanError",
    "RunEngineError",
    "RunEngineInterrupted",
    "RunFailed",
    "RunNotFound",
    "StoreError",
    "SubscriptionError",
    "TemplateError",
    "UnknownDocumentName",
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


class DeviceError(LivescanError):
    """A device reported a failed trigger, move or read."""


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
