"""Fakes for testing code built on livescan, as the project's own tests use them.

- :class:`CommRecorder`: a recording comm in place of a kernel. Every widget message is
  kept (count, size, binary buffers) and the browser's state rebuilt from them.
- :func:`make_run`: the documents of one scan composed without an engine (inline or
  file-backed frames), every one validated with event-model; :func:`frames_of`,
  :func:`feed` and :func:`jsonable_documents` to use and compare them.
- :class:`DocumentValidator`: a subscriber that checks schema and order of every document.

This is a top-layer package (it imports ipywidgets' ``comm``); validation needs the
``event-model`` package (both come with ``livescan[test]``).
"""

from livescan.testing._comm import CommMessage, CommRecorder, RecordingComm
from livescan.testing._runs import RunDocuments, feed, frames_of, jsonable_documents, make_run
from livescan.testing._validate import DocumentValidator, check_schema, validate_documents

__all__ = [
    "CommMessage",
    "CommRecorder",
    "DocumentValidator",
    "RecordingComm",
    "RunDocuments",
    "check_schema",
    "feed",
    "frames_of",
    "jsonable_documents",
    "make_run",
    "validate_documents",
]
