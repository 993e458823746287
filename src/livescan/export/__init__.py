"""Lossless exporters: TIFF per frame, HDF5 per run, post_run and verify_files_saved.

>>> from livescan.export import LiveTiffExporter, HDF5Exporter, post_run, verify_files_saved
>>> tiff = LiveTiffExporter("img", "out/{start[scan_id]}/{event[seq_num]:04d}.tiff")
>>> RE.subscribe_lossless(tiff)                               # doctest: +SKIP
>>> RE.subscribe_lossless(HDF5Exporter("out/{start[scan_id]}.h5"))  # doctest: +SKIP
"""

from livescan.export._hdf5 import HDF5Exporter, export_hdf5
from livescan.export._template import FilenameTemplate
from livescan.export._tiff import LiveTiffExporter
from livescan.export._writer import WriterThread

__all__ = [
    "FilenameTemplate",
    "HDF5Exporter",
    "LiveTiffExporter",
    "WriterThread",
    "export_hdf5",
]
