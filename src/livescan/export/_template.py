"""Safe filename templates: ``"out/{start[scan_id]}/{start.sample}_{event.seq_num:04d}.tiff"``.

Both ``{start.key}`` and ``{start[key]}`` reach into documents; nothing else does. The
template is parsed once (syntax, roots, no dunder names, no nested fields) and every value
it substitutes is plain data (str, number, bool) that cannot add a path separator or a
``..`` component, so a rendered path always stays inside the template's own folder (the
folder named by its text before the first ``{``, made absolute when the template is made),
also after following the symbolic links on its way. Conversions (``!s``, ``!r``, ``!a``)
and format specs are checked when the template is made; widths and precisions are at most
255 (a file name's length).
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]  # the parser str.format itself uses
import os
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from livescan.errors import TemplateError

__all__ = ["FilenameTemplate"]

#: the standard format-spec mini-language: [[fill]align][sign][z][#][0][width][,_][.prec][type]
_SPEC = re.compile(
    r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d+)?[,_]?(?:\.(?P<precision>\d+))?"
    r"[bcdeEfFgGnosxX%]?\Z",
    re.S,
)
_MAX_WIDTH = 255


#: What ``{field!s}``, ``{field!r}`` and ``{field!a}`` apply before the format spec.
_CONVERSIONS: dict[str, Callable[[object], str]] = {"s": str, "r": repr, "a": ascii}


@dataclass(frozen=True)
class _Field:
    text: str  # the field as written, e.g. "start.sample"
    root: str
    path: tuple[str | int, ...]
    conversion: str | None
    spec: str


class FilenameTemplate:
    """A parsed, checked filename template.

    ``roots`` are the names a field may start with (for the TIFF exporter ``start``,
    ``event`` and ``i``).
    """

    def __init__(self, template: str, roots: Sequence[str] = ("start", "event", "i")) -> None:
        if not isinstance(template, str | os.PathLike):
            raise TemplateError(f"a template is a string, not {type(template).__name__}")
        template = os.fspath(template)
        if not template.strip():
            raise TemplateError(
                "the template is empty; give a path such as "
                "'out/{start[scan_id]}_{event[seq_num]}.tiff'"
            )
        self.template = template
        self.roots = tuple(roots)
        self.fields: list[_Field] = []
        self._parts: list[tuple[str, _Field | None]] = []
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as exc:
            raise TemplateError(
                f"template {template!r} is malformed: {exc} (write a "
                "literal brace as '{{' or '}}')"
            ) from exc
        prefix: str | None = None
        literal = ""
        for text, field_name, spec, conversion in parsed:
            literal += text
            self._parts.append((text, None))
            if field_name is None:
                continue
            if prefix is None:
                prefix = literal
            field = self._parse_field(field_name, spec or "", conversion)
            self.fields.append(field)
            self._parts.append(("", field))
        cwd = os.getcwd()
        head = prefix if prefix is not None else template
        self.base = Path(os.path.normpath(os.path.join(cwd, os.path.dirname(head))))
        self._cwd = cwd

    def _parse_field(self, name: str, spec: str, conversion: str | None) -> _Field:
        where = f"template field {{{name}}}"
        if "{" in spec or "}" in spec:
            raise TemplateError(f"{where}: nested fields in a format spec are not allowed")
        if conversion is not None and conversion not in ("s", "r", "a"):
            raise TemplateError(
                f"{where}: unknown conversion '!{conversion}'; use !s, !r or !a (or none)"
            )
        m = _SPEC.match(spec)
        if m is None:
            raise TemplateError(
                f"{where}: {spec!r} is not a format spec; use e.g. {{event.seq_num:04d}} "
                "or {start[uid]:.8}"
            )
        for part in ("width", "precision"):
            if m.group(part) and int(m.group(part)) > _MAX_WIDTH:
                raise TemplateError(
                    f"{where}: a {part} of {int(m.group(part))} is too large; a file name "
                    f"has at most {_MAX_WIDTH} characters"
                )
        try:
            first, rest = _string.formatter_field_name_split(name)
            path = tuple(key for _, key in rest)
        except ValueError as exc:
            raise TemplateError(f"{where} is malformed: {exc}") from exc
        if first == "" or isinstance(first, int):
            raise TemplateError(
                f"{where}: positional fields are not allowed; name a "
                f"document, one of {', '.join(self.roots)}"
            )
        if first not in self.roots:
            raise TemplateError(
                f"{where}: unknown name {first!r}; a field starts with one "
                f"of {', '.join(self.roots)} (e.g. {{start[scan_id]}})"
            )
        for key in path:
            if isinstance(key, str) and (key.startswith("__") or key == ""):
                raise TemplateError(
                    f"{where}: {key!r} is not allowed; templates reach "
                    "document keys only, never object attributes"
                )
        if first == "i" and path:
            raise TemplateError(f"{where}: {{i}} is a plane number and has no keys")
        return _Field(name, first, path, conversion, spec)

    # -- what the template uses ---------------------------------------------------------
    def uses(self, root: str) -> bool:
        """Whether any field of the template starts at ``root`` (``'start'``, ``'event'``, …)."""
        return any(f.root == root for f in self.fields)

    def event_data_keys(self) -> list[str]:
        """The data keys that ``{event.data.X}`` / ``{event.timestamps.X}`` fields name."""
        return [
            str(f.path[1])
            for f in self.fields
            if f.root == "event" and len(f.path) >= 2 and f.path[0] in ("data", "timestamps")
        ]

    # -- checks against documents -------------------------------------------------------
    def check_start(self, start: Mapping[str, Any]) -> None:
        """Raise :class:`TemplateError` if a ``start`` field is missing or unsafe."""
        for f in self.fields:
            if f.root == "start":
                self._value(f, {"start": start})

    def check_descriptor(self, descriptor: Mapping[str, Any]) -> None:
        """Raise :class:`TemplateError` if an ``event.data`` field is not in the stream."""
        keys = descriptor.get("data_keys", {})
        for key in self.event_data_keys():
            if key not in keys:
                raise TemplateError(
                    f"template {self.template!r} uses event data {key!r}, but stream "
                    f"{descriptor.get('name', 'primary')!r} has only {sorted(keys)}"
                )

    # -- rendering ------------------------------------------------------------------------
    def render(self, **roots: Any) -> Path:
        """The absolute path for these documents (``start=…, event=…, i=…``)."""
        out = []
        for text, field in self._parts:
            out.append(text if field is None else self._value(field, roots))
        rendered = "".join(out)
        path = os.path.normpath(os.path.join(self._cwd, rendered))
        base = str(self.base)
        if os.path.commonpath([base, path]) != base or path == base:
            raise TemplateError(
                f"template {self.template!r} gives {rendered!r}, which is outside its folder {base}"
            )
        # A symbolic link already inside the folder must not lead out of it.
        real_base, real = os.path.realpath(base), os.path.realpath(path)
        if os.path.commonpath([real_base, real]) != real_base or real == real_base:
            raise TemplateError(
                f"template {self.template!r} gives {rendered!r}, which a symbolic link "
                f"leads to {real}, outside its folder {real_base}; remove the link or "
                "choose another folder"
            )
        return Path(path)

    def _value(self, f: _Field, roots: Mapping[str, Any]) -> str:
        if f.root not in roots:
            raise TemplateError(f"template field {{{f.text}}} needs a {f.root!r} document")
        value = roots[f.root]
        trail = f.root
        for key in f.path:
            value = _step(value, key, trail, f)
            trail += f"[{key!r}]"
        value = _plain(value, f)
        try:
            if f.conversion:
                value = _CONVERSIONS[f.conversion](value)
            text = format(value, f.spec)
        except (ValueError, TypeError, KeyError) as exc:
            raise TemplateError(
                f"template field {{{f.text}}}: cannot format {value!r} with {f.spec!r}: {exc}"
            ) from exc
        _check_safe(text, f)
        return text


def _step(value: Any, key: str | int, trail: str, f: _Field) -> Any:
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        if isinstance(key, str) and key.isdigit() and int(key) in value:
            return value[int(key)]
        avail = ", ".join(sorted(map(str, value))[:20])
        raise TemplateError(
            f"template field {{{f.text}}}: {trail} has no key {key!r} "
            f"(it has: {avail}); add it to the run's metadata or fix the "
            "template"
        )
    if isinstance(value, list | tuple) and not isinstance(value, str):
        try:
            return value[int(key)]
        except (ValueError, IndexError):
            raise TemplateError(
                f"template field {{{f.text}}}: {trail} has no item {key!r}"
            ) from None
    raise TemplateError(
        f"template field {{{f.text}}}: {trail} is a {type(value).__name__}, "
        f"which has no key {key!r}"
    )


def _plain(value: Any, f: _Field) -> Any:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TemplateError(
        f"template field {{{f.text}}} is a {type(value).__name__}, not a "
        "plain value (text or number); point it at a single value"
    )


_BAD = ("/", "\\", "\0")


def _check_safe(text: str, f: _Field) -> None:
    bad: Iterable[str] = _BAD + ((":",) if os.name == "nt" else ())
    for ch in bad:
        if ch in text:
            raise TemplateError(
                f"template field {{{f.text}}} gives {text!r}, which contains "
                f"{ch!r}; values from metadata cannot add folders"
            )
    if text.strip() in (".", ".."):
        raise TemplateError(
            f"template field {{{f.text}}} gives {text!r}, which would "
            "climb out of the template's folder"
        )
