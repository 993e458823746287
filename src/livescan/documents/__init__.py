"""Documents: what a run emits, how to build them, route them, fill them and encode them.

This is the bottom layer: it imports nothing else from livescan but ``livescan.errors``.
It also says what hints mean (dimensions, hinted fields, frame shapes) and which live
views a run calls for (:func:`choose_views`), for every consumer alike.
"""

from livescan.documents._compose import RunComposer, check_metadata_keys, new_uid, new_uids
from livescan.documents._fill import (
    Filler,
    FrameCache,
    Handler,
    HDF5FrameHandler,
    HDF5StreamHandler,
    register_handler,
    resource_path,
    run_frame_cache,
)
from livescan.documents._hints import (
    dependent_fields,
    frame_dims,
    hinted_dimensions,
    hinted_fields,
    run_dimensions,
)
from livescan.documents._json import NumpyEncoder, dumps, loads, to_jsonable
from livescan.documents._router import (
    DOCUMENT_NAMES,
    DocumentRouter,
    pack_event_page,
    unpack_event_page,
)
from livescan.documents._subs import (
    SUBSCRIPTION_KEYS,
    Callback,
    check_callable,
    check_subscription_name,
    normalize_subs,
)
from livescan.documents._types import (
    DataKey,
    Datum,
    Document,
    Event,
    EventDescriptor,
    EventPage,
    ExitStatus,
    Resource,
    RunStart,
    RunStop,
    as_dict,
)
from livescan.documents._views import ViewSpec, choose_views

__all__ = [
    "DOCUMENT_NAMES",
    "SUBSCRIPTION_KEYS",
    "Callback",
    "DataKey",
    "Datum",
    "Document",
    "DocumentRouter",
    "Event",
    "EventDescriptor",
    "EventPage",
    "ExitStatus",
    "Filler",
    "FrameCache",
    "HDF5FrameHandler",
    "HDF5StreamHandler",
    "Handler",
    "NumpyEncoder",
    "Resource",
    "RunComposer",
    "RunStart",
    "RunStop",
    "ViewSpec",
    "as_dict",
    "check_callable",
    "check_metadata_keys",
    "check_subscription_name",
    "choose_views",
    "dependent_fields",
    "dumps",
    "frame_dims",
    "hinted_dimensions",
    "hinted_fields",
    "loads",
    "new_uid",
    "new_uids",
    "normalize_subs",
    "pack_event_page",
    "register_handler",
    "resource_path",
    "run_dimensions",
    "run_frame_cache",
    "to_jsonable",
    "unpack_event_page",
]
