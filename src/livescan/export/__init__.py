"""Lossless exporters: TIFF per frame, HDF5 per run, post_run and verify_files_saved.

>>> from livescan.export import LiveTiffExporter, HDF5Exporter, post_run, verify_files_saved
>>> tiff = LiveTiffExporter("img", "out/{start[scan_id]}/{event[seq_num]:04d}.tiff")
>>> RE.subscribe_lossless(tiff)                                    # doctest: +SKIP
>>> RE.subscribe_lossless(HDF5Exporter("out/{start[scan_id]}.h5"))  # doctest: +SKIP
>>> RE.subscribe(post_run(verify_files_saved))                     # doctest: +SKIP

``post_run`` is :func:`livescan.callbacks.post_run`, re-exported here where the spec
text looks for it.
"""

from livescan.callbacks import post_run
from livescan.export._hdf5 import HDF5Exporter, export_hdf5
from livescan.export._template import FilenameTemplate
from livescan.export._tiff import LiveTiffExporter
from livescan.export._verify import VerifyReport, verify_files_saved, verify_run
from livescan.export._writer import WriterThread

__all__ = [
    "FilenameTemplate",
    "HDF5Exporter",
    "LiveTiffExporter",
    "VerifyReport",
    "WriterThread",
    "export_hdf5",
    "post_run",
    "verify_files_saved",
    "verify_run",
]
