"""databroker reads what livescan writes: the run store's journals, file-backed camera
frames included, opened with databroker's ``BlueskyJSONLCatalog`` and its standard
``AD_HDF5`` handler (area-detector-handlers), frame for frame equal to the kernel's."""

from __future__ import annotations

from typing import Any

import event_model
import numpy as np
import pytest
from databroker._drivers.jsonl import BlueskyJSONLCatalog

from livescan.documents import Filler
from livescan.plans import grid_scan, scan
from livescan.sim import SimCamera, det, direct_img, motor, motor1, motor2
from livescan.store import FramesHandler, RunStore

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # databroker on new xarray


class KernelFrames:
    """A lossless subscriber that loads each frame as its event arrives (with livescan's
    own Filler): the frames the kernel had while the scan ran."""

    def __init__(self, field: str) -> None:
        self.field = field
        self.filler = Filler()
        self.frames: list[np.ndarray] = []
        self.events: list[dict[str, Any]] = []

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        name, doc = self.filler(name, doc)
        if name == "event" and self.field in doc["data"]:
            self.frames.append(np.array(doc["data"][self.field]))
            self.events.append(doc)


def _catalog_run(store: RunStore, uid: str, **kwargs: Any) -> Any:
    journal = store[uid].path
    catalog = BlueskyJSONLCatalog([str(journal)], **kwargs)
    assert list(catalog) == [uid]
    return catalog[uid]


@pytest.mark.parametrize("frames_per_point", [1, 3])
def test_databroker_reads_a_camera_scan_frame_for_frame(RE, tmp_path, frames_per_point):
    cam = SimCamera(
        "cam",
        shape=(12, 16),
        motors=(motor1, motor2),
        frames_per_point=frames_per_point,
        root=str(tmp_path / "camera"),
    )
    store = RunStore(tmp_path / "store")
    kernel = KernelFrames("cam")
    RE.subscribe_lossless(store)
    RE.subscribe_lossless(kernel)
    (uid,) = RE(grid_scan([det, cam], motor1, -1, 1, 3, motor2, -1, 1, 4, snake_axes=True))
    assert len(kernel.frames) == 12
    assert kernel.frames[0].shape == (frames_per_point, 12, 16)  # what the data key says

    run = _catalog_run(store, uid)
    assert run.metadata["stop"]["exit_status"] == "success"
    primary = run.primary.read()  # xarray: databroker fills through its AD_HDF5 handler
    frames = primary["cam"]
    assert frames.shape == (12, frames_per_point, 12, 16) and frames.dtype == np.uint16
    for i, (theirs, ours) in enumerate(zip(frames.values, kernel.frames)):
        np.testing.assert_array_equal(theirs, ours, err_msg=f"frame {i + 1}")
    assert not np.array_equal(frames.values[0], frames.values[-1])  # the spot moved
    for field in ("motor1", "motor2", "det"):
        np.testing.assert_array_equal(
            primary[field].values, [e["data"][field] for e in kernel.events]
        )
    # the descriptor databroker reads declares the shape its handler gives
    (descriptor,) = run.primary.metadata["descriptors"]
    assert descriptor["data_keys"]["cam"]["shape"] == [frames_per_point, 12, 16]
    store.close()


def test_databroker_canonical_documents_equal_the_live_ones(RE, tmp_path):
    cam = SimCamera("cam", shape=(8, 8), motors=(motor, None), root=str(tmp_path / "c"))
    store = RunStore(tmp_path / "store")
    kernel = KernelFrames("cam")
    live: list[tuple[str, dict[str, Any]]] = []
    RE.subscribe_lossless(store)
    RE.subscribe_lossless(kernel)
    RE.subscribe_lossless(lambda n, d: live.append((n, d)))
    (uid,) = RE(scan([cam], motor, -1, 1, num=4))
    run = _catalog_run(store, uid)
    docs = []  # databroker hands out event pages: one event each here
    for name, doc in run.documents(fill="yes"):
        if name == "event_page":
            docs.extend(("event", e) for e in event_model.unpack_event_page(doc))
        else:
            docs.append((name, doc))

    def shown(pairs: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Any]]:
        # databroker regroups datums into datum_pages and puts them first: compare the rest
        return [(n, d.get("uid")) for n, d in pairs if n not in ("datum", "datum_page")]

    assert shown(docs) == shown(live)
    events = [d for n, d in docs if n == "event"]
    live_events = [d for n, d in live if n == "event"]
    # event-model's Filler marks a filled value with the datum id it came from
    assert [e["filled"]["cam"] for e in events] == [e["data"]["cam"] for e in live_events]
    for event, frame in zip(events, kernel.frames):
        np.testing.assert_array_equal(event["data"]["cam"], frame)
    store.close()


def test_databroker_reads_frames_the_store_keeps_beside_its_journal(RE, tmp_path):
    """Frames inside events go to the store's binary files (spec LIVESCAN_FRAMES):
    databroker fills them with livescan's FramesHandler."""
    store = RunStore(tmp_path / "store")
    live: list[np.ndarray] = []
    RE.subscribe_lossless(store)
    RE.subscribe_lossless(lambda n, d: n == "event" and live.append(d["data"]["direct_img"]))
    (uid,) = RE(scan([det, direct_img], motor, -1, 1, num=4))
    journal = [line for line in store[uid].path.read_text().splitlines() if '"event"' in line]
    assert all('"filled":{"direct_img":false}' in line for line in journal)  # on disk
    run = _catalog_run(store, uid, handler_registry={"LIVESCAN_FRAMES": FramesHandler})
    frames = run.primary.read()["direct_img"]
    assert frames.shape == (4, 64, 64)
    for i, (theirs, ours) in enumerate(zip(frames.values, live)):
        np.testing.assert_array_equal(theirs, ours, err_msg=f"frame {i + 1}")
    # livescan reads its own journal back as the live documents (no marks)
    events = [d for n, d in store[uid].documents() if n == "event"]
    assert all(e["filled"] == {} for e in events)
    np.testing.assert_array_equal(store[uid]["primary"]["direct_img"], np.stack(live))
    store.close()
