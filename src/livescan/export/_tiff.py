"""LiveTiffExporter: one TIFF file per frame, named by a safe template."""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from livescan.documents import DocumentRouter
from livescan.errors import ExportError, FileExistsExportError, TemplateError
from livescan.export._frames import FrameSource
from livescan.export._template import FilenameTemplate
from livescan.export._writer import WriterThread

__all__ = ["LiveTiffExporter"]


class LiveTiffExporter(DocumentRouter):
    """Save every frame of ``field`` as a TIFF file named by ``template``.

    The template may use ``{start.key}`` / ``{start[key]}``, ``{event.seq_num}``,
    ``{event.data.X}`` and, for stacks of planes, ``{i}`` (the plane number, from 0), with
    format specs (``{event.seq_num:05d}``); folders in it are created. It is checked now
    (syntax, names) and against each start document before any frame is taken.

    ``dryrun=True`` writes nothing but fills :attr:`filenames`; an existing file raises
    :class:`~livescan.errors.FileExistsExportError` (an ``OSError``) unless
    ``overwrite=True``. Each file is written under a temporary name and renamed, so a file
    with the final name is always complete. ``queue_size=N`` moves writing to a writer
    thread with a queue of N frames (the scan waits when it is full; errors still end the
    run). ``tiff_kwargs`` go to ``tifffile.imwrite``.

    Live: ``RE.subscribe_lossless(exporter)``; after the run:
    ``RE.subscribe(post_run(exporter))``.
    """

    def __init__(
        self,
        field: str,
        template: str,
        dryrun: bool = False,
        overwrite: bool = False,
        *,
        queue_size: int = 0,
        root_map: Mapping[str, str] | None = None,
        tiff_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(field, str) or not field:
            raise TypeError(f"field must be a data key name (str), not {field!r}")
        self.field = field
        self.template = FilenameTemplate(template, roots=("start", "event", "i"))
        if not (self.template.uses("event") or self.template.uses("i")):
            raise TemplateError(
                f"template {template!r} gives every frame the same file name; add "
                "{event.seq_num} (and {i} for stacks)"
            )
        self.dryrun = bool(dryrun)
        self.overwrite = bool(overwrite)
        if queue_size < 0:
            raise ValueError(
                f"queue_size must be 0 (write in the caller) or more, not {queue_size!r}"
            )
        self.queue_size = int(queue_size)
        self.tiff_kwargs = dict(tiff_kwargs or {})
        #: Files written (or, with dryrun, that would be) in the current or last run.
        self.filenames: list[str] = []
        self._names: set[str] = set()
        self._lock = threading.Lock()
        self._frames = FrameSource(root_map)
        self._start: dict[str, Any] | None = None
        self._streams: set[str] = set()
        self._writer: WriterThread | None = None
        self._made_dirs: set[str] = set()

    # -- routing with cleanup --------------------------------------------------------------
    def __call__(self, name: str, doc: dict[str, Any]) -> Any:
        try:
            self._frames(name, doc)
            return super().__call__(name, doc)
        except BaseException:
            self._end_writer(drain=True)
            raise

    def start(self, doc: dict[str, Any]) -> None:
        self._end_writer(drain=True)
        self._frames.reset(doc)
        self.template.check_start(doc)
        self._start = doc
        self._streams = set()
        self._made_dirs = set()
        with self._lock:
            self.filenames = []
            self._names = set()
        if self.queue_size and not self.dryrun:
            self._writer = WriterThread(self.queue_size, name=f"livescan-tiff-{self.field}")

    def descriptor(self, doc: dict[str, Any]) -> None:
        keys = doc.get("data_keys", {})
        if self.field not in keys:
            return
        self.template.check_descriptor(doc)
        shape = keys[self.field].get("shape") or []
        if len(shape) == 3 and shape[0] not in (1, None) and not self.template.uses("i"):
            raise TemplateError(
                f"field {self.field!r} holds stacks of {shape[0]} planes but template "
                f"{self.template.template!r} has no {{i}} to number them"
            )
        if len(shape) not in (0, 2, 3) and shape:
            raise ExportError(
                f"field {self.field!r} has shape {shape}; LiveTiffExporter "
                "writes 2-D frames or 3-D stacks of planes"
            )
        self._streams.add(doc["uid"])

    def event(self, doc: dict[str, Any]) -> None:
        if doc["descriptor"] not in self._streams:
            return
        if self._start is None:
            raise ExportError("LiveTiffExporter got an event before a start document")
        frame = self._frames.value(doc, self.field)
        if frame.ndim == 2:
            planes = [frame]
        elif frame.ndim == 3:
            planes = list(frame)
            if len(planes) > 1 and not self.template.uses("i"):
                raise TemplateError(
                    f"event {doc['seq_num']} of {self.field!r} is a stack of {len(planes)} "
                    f"planes but template {self.template.template!r} has no {{i}}"
                )
        else:
            raise ExportError(
                f"event {doc['seq_num']}: {self.field!r} has shape "
                f"{frame.shape}; expected a 2-D frame or a 3-D stack"
            )
        for i, plane in enumerate(planes):
            path = self.template.render(start=self._start, event=doc, i=i)
            self._claim(path)
            if self.dryrun:
                self._done(path)
            elif self._writer is not None:
                self._writer.submit(self._write, path, plane)
            else:
                self._write(path, plane)

    def stop(self, doc: dict[str, Any]) -> None:
        self._end_writer(drain=True, raise_error=True)
        if not self._streams and self._start is not None:
            warnings.warn(
                f"LiveTiffExporter({self.field!r}): no stream of run "
                f"{doc.get('run_start', '?')[:8]} has the field {self.field!r}; "
                "no TIFF was written",
                RuntimeWarning,
                stacklevel=2,
            )
        self._start = None

    # -- writing -------------------------------------------------------------------------
    def _claim(self, path: Path) -> None:
        key = str(path)
        with self._lock:
            if key in self._names:
                raise TemplateError(
                    f"template {self.template.template!r} gives {key} for two frames of this "
                    "run; add {event.seq_num} (or {i} for stacks) so no frame is lost"
                )
            self._names.add(key)
        if not self.overwrite and os.path.lexists(path):
            raise FileExistsExportError(
                f"{path} exists; LiveTiffExporter(..., overwrite=True) replaces files"
            )

    def _done(self, path: Path) -> None:
        with self._lock:
            self.filenames.append(str(path))

    def _write(self, path: Path, plane: np.ndarray) -> None:
        import tifffile

        folder = str(path.parent)
        if folder not in self._made_dirs:
            os.makedirs(folder, exist_ok=True)
            self._made_dirs.add(folder)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            tifffile.imwrite(tmp, plane, **self.tiff_kwargs)
            if self.overwrite:
                os.replace(tmp, path)
            else:
                _link_no_clobber(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._done(path)

    def flush(self) -> None:
        """Wait for the writer thread (if any) to write every queued frame; raise its
        error. The engine calls this before it composes a stop document, so a failure
        that surfaces only now still ends the run with ``exit_status='fail'``."""
        if self._writer is None:
            return
        try:
            self._writer.flush()
        except BaseException as exc:
            self._end_writer(drain=False)
            raise ExportError(f"LiveTiffExporter({self.field!r}) failed writing: {exc}") from exc

    def _end_writer(self, *, drain: bool, raise_error: bool = False) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            if drain:
                writer.close()
        except BaseException as exc:
            if raise_error:
                raise ExportError(
                    f"LiveTiffExporter({self.field!r}) failed writing: {exc}"
                ) from exc

    def __repr__(self) -> str:
        return (
            f"LiveTiffExporter({self.field!r}, {self.template.template!r}, "
            f"dryrun={self.dryrun}, overwrite={self.overwrite})"
        )


def _link_no_clobber(tmp: Path, path: Path) -> None:
    """Move ``tmp`` to ``path`` unless ``path`` exists (atomically where links work)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsExportError(
            f"{path} exists; LiveTiffExporter(..., overwrite=True) replaces files"
        ) from None
    except OSError:  # file systems without hard links
        if os.path.lexists(path):
            raise FileExistsExportError(f"{path} exists") from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)
