"""A simulated area detector: 2-D frames inside events or in an HDF5 file.

With ``external=True`` the camera behaves like an area detector with an HDF5 file
plugin: ``stage()`` opens a new file (one resource), every ``trigger()`` appends a frame
(or a stack of ``frames_per_point`` frames) and yields a datum; events carry the datum
id and ``filled={field: False}``. The file is opened, appended and closed on every frame
so readers can load finished frames while the run goes on.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np

from livescan.documents import new_uid
from livescan.sim._base import SimDevice, number_key
from livescan.sim._motor import SimMotor
from livescan.sim._status import SimStatus

__all__ = ["SimCamera", "default_data_root"]

DATASET = "/entry/data/data"


def default_data_root() -> str:
    """Where simulated cameras write: ``$LIVESCAN_SIM_DATA`` or a folder in the temp dir."""
    return os.environ.get("LIVESCAN_SIM_DATA") or os.path.join(
        tempfile.gettempdir(), "livescan-sim-data"
    )


class SimCamera(SimDevice):
    """A camera whose frames show a Gaussian spot that follows two motors.

    Parameters: ``shape`` (rows, columns); ``motors`` move the spot (x, y);
    ``external`` writes frames to HDF5 (spec ``AD_HDF5``) instead of into the event;
    ``frames_per_point`` > 1 gives a 3-D stack per event (a file-backed camera always
    declares ``[frames_per_point, rows, columns]``, the shape the ``AD_HDF5`` handler
    returns); ``root`` is the folder for files; ``noise`` adds Poisson noise;
    ``exposure`` is the simulated acquire time in seconds.
    """

    def __init__(
        self,
        name: str,
        *,
        shape: tuple[int, int] = (64, 64),
        motors: tuple[SimMotor | None, SimMotor | None] = (None, None),
        external: bool = True,
        frames_per_point: int = 1,
        root: str | None = None,
        noise: bool = True,
        exposure: float = 0.0,
        dtype: str = "uint16",
        seed: int | None = None,
    ) -> None:
        super().__init__(name)
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"shape must be (rows, columns) of positive ints, not {shape!r}")
        if frames_per_point < 1:
            raise ValueError("frames_per_point must be at least 1")
        self.shape = (int(shape[0]), int(shape[1]))
        self.motors = motors
        self.external = external
        self.frames_per_point = int(frames_per_point)
        self.root = root
        self.noise = noise
        self.exposure = float(exposure)
        self.dtype = np.dtype(dtype)
        self._rng = np.random.default_rng(seed)
        rows, cols = self.shape
        self._yy, self._xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
        self._frame: np.ndarray | None = None
        self._t = 0.0
        self._staged = False
        self._resource: dict[str, Any] | None = None
        self._path: str | None = None
        self._point = 0
        self._datum_id: str | None = None
        self._asset_docs: deque[tuple[str, dict[str, Any]]] = deque()

    # -- frames -------------------------------------------------------------------------
    def _spot(self) -> np.ndarray:
        rows, cols = self.shape
        mx = self.motors[0].readback if self.motors[0] is not None else 0.0
        my = self.motors[1].readback if self.motors[1] is not None else 0.0
        cx = cols / 2 + mx * cols / 10
        cy = rows / 2 + my * rows / 10
        sigma = max(rows, cols) / 10
        img = 1000.0 * np.exp(-((self._xx - cx) ** 2 + (self._yy - cy) ** 2) / (2 * sigma**2))
        if self.noise:
            img = self._rng.poisson(img + 10).astype(np.float32)
        info = np.iinfo(self.dtype) if self.dtype.kind in "ui" else None
        if info is not None:
            img = np.clip(img, info.min, info.max)
        return img.astype(self.dtype)

    def _acquire(self) -> np.ndarray:
        if self.frames_per_point == 1:
            return self._spot()
        return np.stack([self._spot() for _ in range(self.frames_per_point)])

    # -- staging and files ---------------------------------------------------------------
    def stage(self) -> list[SimCamera]:
        """Prepare to acquire; with ``external=True`` open a new HDF5 file (one resource)."""
        if self.external and not self._staged:
            self._open_resource()
        self._staged = True
        return [self]

    def unstage(self) -> list[SimCamera]:
        """Stop acquiring into the current file; the next ``stage()`` opens a new one."""
        self._staged = False
        self._resource = None
        self._path = None
        return [self]

    def _open_resource(self) -> None:
        import h5py

        root = self.root or default_data_root()
        uid = new_uid()
        day = time.strftime("%Y/%m/%d")
        rel = f"{day}/{self.name}_{uid}.h5"
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        rows, cols = self.shape
        with h5py.File(path, "w") as f:
            f.create_dataset(
                DATASET,
                shape=(0, rows, cols),
                maxshape=(None, rows, cols),
                chunks=(1, rows, cols),
                dtype=self.dtype,
            )
        self._path = path
        self._point = 0
        self._resource = {
            "uid": uid,
            "spec": "AD_HDF5",
            "root": root,
            "resource_path": rel,
            "resource_kwargs": {"frame_per_point": self.frames_per_point},
            "path_semantics": "posix",
        }
        self._asset_docs.append(("resource", self._resource))

    def _write(self, frames: np.ndarray) -> str:
        import h5py

        if self._resource is None:
            self._open_resource()
        assert self._resource is not None and self._path is not None
        stack = frames.reshape((-1, *self.shape))
        with h5py.File(self._path, "a") as f:
            ds = f[DATASET]
            n = ds.shape[0]
            ds.resize(n + stack.shape[0], axis=0)
            ds[n:] = stack
        datum = {
            "datum_id": f"{self._resource['uid']}/{self._point}",
            "resource": self._resource["uid"],
            "datum_kwargs": {"point_number": self._point},
        }
        self._point += 1
        self._asset_docs.append(("datum", datum))
        return datum["datum_id"]

    # -- the device protocol ---------------------------------------------------------------
    def trigger(self) -> SimStatus:
        """Acquire a frame (or stack); the status finishes after ``exposure`` seconds."""

        def acquire() -> None:
            frame = self._acquire()
            self._t = time.time()
            if self.external:
                self._datum_id = self._write(frame)
                self._frame = None
            else:
                self._frame = frame

        if self.exposure > 0:
            return SimStatus.after(self.exposure, acquire)
        acquire()
        return SimStatus.finished()

    def read(self) -> dict[str, dict[str, Any]]:
        """The last frame, or its datum id with ``external=True``."""
        if self._frame is None and self._datum_id is None:
            self.trigger()
        value: Any = self._datum_id if self.external else self._frame
        return {self.name: {"value": value, "timestamp": self._t}}

    def collect_asset_docs(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield the resource and datum documents made since the last call."""
        while self._asset_docs:
            yield self._asset_docs.popleft()

    def describe(self) -> dict[str, dict[str, Any]]:
        """The data key of the frames (shape, dtype, and ``external`` when in a file)."""
        shape = list(self.shape)
        if self.external or self.frames_per_point > 1:
            # what the AD_HDF5 handler gives for one datum: frame_per_point frames
            # (databroker and event-model's Filler check the filled value against it)
            shape = [self.frames_per_point, *shape]
        key: dict[str, Any] = {
            "source": f"SIM:{self.name}",
            "dtype": "array",
            "shape": shape,
            "dtype_numpy": self.dtype.str,
        }
        if self.external:
            key["external"] = "FILESTORE:"
        return {self.name: key}

    def _config(self) -> dict[str, tuple[Any, dict[str, Any]]]:
        return {f"{self.name}_exposure": (self.exposure, number_key(f"SIM:{self.name}_exposure"))}

    def __repr__(self) -> str:
        where = "hdf5" if self.external else "inline"
        return f"SimCamera(name={self.name!r}, shape={self.shape}, {where})"
