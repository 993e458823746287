"""Runs composed without an engine, every document validated with event-model.

:func:`make_run` returns the ``(name, doc)`` list of one run; :func:`frames_of` the frames
it carries, so a test can compare what an exporter or a store reads back with what went in.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import h5py
import numpy as np

from livescan.documents import ExitStatus, Filler, RunComposer, to_jsonable
from livescan.testing._validate import validate_documents

RunDocuments = list[tuple[str, dict[str, Any]]]
"""The documents of one run in order: ``[(name, doc), ...]``."""


def make_run(
    *,
    n: int = 3,
    shape: Sequence[int] = (4, 5),
    external_dir: str | os.PathLike[str] | None = None,
    dtype: str = "uint16",
    md: dict[str, Any] | None = None,
    exit_status: ExitStatus = "success",
    with_stop: bool = True,
    seed: int = 0,
    t0: float | None = None,
    validate: bool = True,
) -> RunDocuments:
    """A scan of ``n`` points: ``motor``, ``det``, ``temperature`` and frames ``img``.

    ``shape`` of 2 ints gives 2-D frames, of 3 a stack per event. With ``external_dir``
    frames go to an AD_HDF5 file there (resource/datum, ``filled={'img': False}``) and
    the data key declares ``[1, rows, columns]`` for 2-D frames (what the handler gives).
    ``md`` adds to (or replaces) the start document's metadata, ``uid`` included;
    ``exit_status`` and ``with_stop`` shape the end; ``seed`` the random frames; ``t0``
    makes every timestamp fixed. Every document is validated with event-model (needs the
    ``event-model`` package) unless ``validate=False``.
    """
    rng = np.random.default_rng(seed)
    meta = {
        "plan_name": "scan",
        "scan_id": 1,
        "motors": ["motor"],
        "detectors": ["det", "img"],
        "num_points": n,
        "hints": {"dimensions": [[["motor"], "primary"]]},
    }
    meta.update(md or {})
    kwargs: dict[str, Any] = {} if t0 is None else {"time": t0}
    if "uid" in meta:
        kwargs["uid"] = meta.pop("uid")
    run = RunComposer(meta, **kwargs)
    docs: list[tuple[str, Any]] = [("start", run.start())]  # TypedDicts, each a dict
    declared = list(shape)
    if external_dir is not None and len(declared) == 2:
        declared = [1, *declared]  # one datum: an AD_HDF5 stack of frame_per_point frames
    img_key: dict[str, Any] = {
        "dtype": "array",
        "shape": declared,
        "source": "SIM:img",
        "dtype_numpy": np.dtype(dtype).str,
    }
    if external_dir is not None:
        img_key["external"] = "FILESTORE:"
    data_keys: dict[str, dict[str, Any]] = {
        "motor": {"dtype": "number", "shape": [], "source": "SIM:motor", "precision": 3},
        "det": {"dtype": "number", "shape": [], "source": "SIM:det", "precision": 3},
        "temperature": {"dtype": "number", "shape": [], "source": "SIM:T", "units": "K"},
        "img": img_key,
    }
    t = (t0 or 0.0) + 0.01 if t0 is not None else None
    desc = run.descriptor(
        "primary",
        data_keys,
        hints={"det": {"fields": ["det"]}},
        object_keys={"motor": ["motor"], "det": ["det"], "T": ["temperature"], "img": ["img"]},
        time=t,
    )
    docs.append(("descriptor", desc))
    frames = [rng.integers(0, 4000, size=tuple(shape)).astype(dtype) for _ in range(n)]
    resource = None
    if external_dir is not None:
        path = os.path.join(os.fspath(external_dir), f"img_{run.uid}.h5")
        stack = np.stack(frames).reshape((-1, *shape[-2:]))
        with h5py.File(path, "w") as f:
            f.create_dataset("/entry/data/data", data=stack, chunks=(1, *shape[-2:]))
        per_point = shape[0] if len(shape) == 3 else 1
        resource = run.resource(
            "AD_HDF5",
            os.fspath(external_dir),
            os.path.basename(path),
            {"frame_per_point": per_point},
        )
        docs.append(("resource", resource))
    for i in range(n):
        value: Any = frames[i]
        if resource is not None:
            datum = run.datum(resource, {"point_number": i})
            docs.append(("datum", datum))
            value = datum["datum_id"]
        ts = (t0 or 1000.0) + 0.05 * (i + 1)
        event = run.event(
            desc,
            {
                "motor": 0.5 * i,
                "det": float(np.exp(-((0.5 * i - 1) ** 2))),
                "temperature": 290.0 + i,
                "img": value,
            },
            {"motor": ts, "det": ts, "temperature": ts, "img": ts},
            filled={"img": False} if resource is not None else None,
            **({} if t0 is None else {"time": ts}),
        )
        docs.append(("event", event))
    if with_stop:
        kw = {} if t0 is None else {"time": (t0 or 0) + 0.05 * (n + 1)}
        docs.append(
            ("stop", run.stop(exit_status, reason="" if exit_status == "success" else "test", **kw))
        )
    if validate:
        validate_documents(docs)
    return docs


def frames_of(docs: RunDocuments) -> list[np.ndarray]:
    """The frames of a run made by :func:`make_run` (read from its file if external)."""
    filler = Filler()
    out = []
    for name, doc in docs:
        name, doc = filler(name, doc)
        if name == "event":
            out.append(np.asarray(doc["data"]["img"]))
    return out


def feed(docs: Iterable[tuple[str, dict[str, Any]]], *callbacks: Any) -> None:
    """Call every callback with every ``(name, doc)``, in document order."""
    for name, doc in docs:
        for cb in callbacks:
            cb(name, doc)


def jsonable_documents(docs: Iterable[tuple[str, dict[str, Any]]]) -> list[Any]:
    """``[[name, doc], ...]`` as plain JSON types, to compare documents by value."""
    return [[name, to_jsonable(doc)] for name, doc in docs]
