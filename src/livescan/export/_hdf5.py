"""HDF5 export: a whole run in one NeXus-flavoured HDF5 file (layout: ``_nexus``).

:class:`HDF5Exporter` names each run's file from a template as the run arrives;
:func:`export_hdf5` writes one stored run to a path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from livescan.documents import DocumentRouter
from livescan.errors import ExportError
from livescan.export._frames import FrameSource
from livescan.export._nexus import RunFile
from livescan.export._template import FilenameTemplate

__all__ = ["HDF5Exporter", "export_hdf5"]

_COMPRESSIONS = (None, "gzip", "lzf")


def _check_compression(compression: str | None) -> None:
    if compression not in _COMPRESSIONS:
        raise ValueError(f"compression must be one of {_COMPRESSIONS}, not {compression!r}")


class _RunExport(DocumentRouter):
    """Writes each run it is given to one HDF5 file; :meth:`_path` names the file."""

    def __init__(
        self,
        *,
        compression: str | None = None,
        compression_opts: Any = None,
        fill: bool = True,
        overwrite: bool = False,
        root_map: Mapping[str, str] | None = None,
    ) -> None:
        _check_compression(compression)
        self.compression = compression
        self.compression_opts = compression_opts
        self.fill = bool(fill)
        self.overwrite = bool(overwrite)
        self.filenames: list[str] = []
        self._frames = FrameSource(root_map)
        self._file: RunFile | None = None

    def _path(self, start: dict[str, Any]) -> Path:
        raise NotImplementedError

    def __call__(self, name: str, doc: dict[str, Any]) -> Any:
        try:
            self._frames(name, doc)
            if name not in ("start", "stop") and self._file is not None:
                self._file(name, doc)
            return super().__call__(name, doc)
        except BaseException as exc:
            if self._file is not None:
                partial = self._file.partial
                readable = self._file.abandon(exc)
                self._file = None
                if readable:
                    exc.add_note(f"the HDF5 export so far is closed and readable in {partial}")
                else:
                    exc.add_note(
                        f"the HDF5 export so far in {partial} could not be completed "
                        "(HDF5 could not write its own records); it does not open"
                    )
            raise

    def start(self, doc: dict[str, Any]) -> None:
        if self._file is not None:  # a run that never stopped: keep what it wrote
            self._file.finish(None)
        self._frames.reset(doc)
        path = self._path(doc)
        self.filenames = []
        self._file = RunFile(
            path,
            doc,
            compression=self.compression,
            compression_opts=self.compression_opts,
            fill=self.fill,
            overwrite=self.overwrite,
            frames=self._frames,
        )

    def stop(self, doc: dict[str, Any]) -> None:
        if self._file is None:
            return
        path = self._file.finish(doc)
        self._file = None
        self.filenames.append(str(path))

    def close(self) -> None:
        """Finish a file whose run never stopped (it keeps ``exit_status='unfinished'``)."""
        if self._file is not None:
            self.filenames.append(str(self._file.finish(None)))
            self._file = None


class HDF5Exporter(_RunExport):
    """A lossless subscriber that writes each run to one HDF5 file (layout: ``_nexus``).

    ``template`` names the file from the start document, e.g.
    ``"exports/{start[scan_id]}_{start[uid]:.8}.h5"`` (same rules as the TIFF templates;
    only ``start`` fields). The file gets its final name at the stop document;
    :attr:`filenames` lists the finished files. ``fill=False`` stores datum ids instead of
    copying file-backed frames in. ``compression``: ``None``, ``'gzip'`` or ``'lzf'``.
    """

    def __init__(
        self,
        template: str,
        *,
        compression: str | None = None,
        compression_opts: Any = None,
        fill: bool = True,
        overwrite: bool = False,
        root_map: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            compression=compression,
            compression_opts=compression_opts,
            fill=fill,
            overwrite=overwrite,
            root_map=root_map,
        )
        self.template = FilenameTemplate(template, roots=("start",))

    def _path(self, start: dict[str, Any]) -> Path:
        return self.template.render(start=start)


class _PathExport(_RunExport):
    """Writes the run to one given path (for :func:`export_hdf5`)."""

    def __init__(self, path: Path, **options: Any) -> None:
        super().__init__(**options)
        self.path = path

    def _path(self, start: dict[str, Any]) -> Path:
        return self.path


def export_hdf5(
    run: Any,
    filename: str | os.PathLike[str],
    *,
    compression: str | None = None,
    compression_opts: Any = None,
    fill: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write a whole run to one HDF5 file and return its path.

    ``run`` is a stored :class:`~livescan.store.Run`, a uid / scan_id looked up in the
    active store, or an iterable of ``(name, doc)``. The spec's recipe::

        def export_at_stop(name, doc):
            if name == "stop":
                export_hdf5(db[doc["run_start"]], f"{doc['run_start']}.h5")
    """
    from livescan.store import documents_of

    exporter = _PathExport(
        Path(os.path.abspath(os.fspath(filename))),
        compression=compression,
        compression_opts=compression_opts,
        fill=fill,
        overwrite=overwrite,
    )
    for name, doc in documents_of(run):
        exporter(name, doc)
    exporter.close()
    if not exporter.filenames:
        raise ExportError("the run has no start document; nothing was exported")
    return Path(exporter.filenames[-1])
