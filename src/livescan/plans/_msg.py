"""The message a plan yields: a command for the engine, an object, arguments."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

__all__ = ["Msg"]

_MsgBase = namedtuple("_MsgBase", ["command", "obj", "args", "kwargs", "run"])


class Msg(_MsgBase):
    """``Msg(command, obj=None, *args, run=None, **kwargs)``: one instruction for the engine.

    Fields: ``command`` (str), ``obj`` (a device or None), ``args`` (tuple),
    ``kwargs`` (dict), ``run`` (reserved; None).
    """

    __slots__ = ()

    def __new__(
        cls, command: str, obj: Any = None, *args: Any, run: str | None = None, **kwargs: Any
    ) -> Msg:
        return tuple.__new__(cls, (command, obj, args, kwargs, run))

    def __repr__(self) -> str:
        parts = [repr(self.command)]
        if self.obj is not None or self.args or self.kwargs:
            parts.append(getattr(self.obj, "name", None) or repr(self.obj))
        parts += [repr(a) for a in self.args]
        parts += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"Msg({', '.join(parts)})"
