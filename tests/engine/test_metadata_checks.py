"""Run metadata: circular and deep values, scan_id, uid/time, NaN through the store."""

from __future__ import annotations

import math

import pytest

from livescan.engine import PersistentDict
from livescan.errors import MetadataError
from livescan.plans import count
from livescan.sim import det
from livescan.store import RunStore, replay


def _deep(n):
    value: dict = {}
    for _ in range(n):
        value = {"x": value}
    return value


def test_circular_and_very_deep_metadata_are_clear_errors(RE, tmp_path):
    loop: dict = {"a": 1}
    loop["self"] = loop
    with pytest.raises(MetadataError, match=r"RE\(\) keywords\['sample'\] contains itself"):
        RE(count([det]), sample=loop)
    with pytest.raises(MetadataError, match=r"more than 100 levels deep"):
        RE(count([det]), sample=_deep(5000))
    RE.md["cfg"] = [loop]
    with pytest.raises(MetadataError, match=r"RE\.md\['cfg'\] contains itself"):
        RE(count([det]))
    del RE.md["cfg"]
    md = PersistentDict(tmp_path / "md.json")
    with pytest.raises(MetadataError, match="contains itself"):
        md["cfg"] = loop
    with pytest.raises(MetadataError, match="levels deep"):
        md["cfg"] = _deep(5000)
    assert "cfg" not in md
    RE(count([det]), sample=_deep(50))  # deep but sane is fine


def test_a_non_integer_scan_id_names_scan_id_and_the_fix(RE, tmp_path):
    RE.md["scan_id"] = "abc"
    with pytest.raises(
        MetadataError, match=r"RE\.md\['scan_id'\] is 'abc'.*RE\.md\['scan_id'\] = 0"
    ):
        RE(count([det]))
    RE.md["scan_id"] = 41
    RE(count([det]))
    assert RE.md["scan_id"] == 42
    md = PersistentDict(tmp_path / "md.json")
    with pytest.raises(MetadataError, match="scan_id"):
        md["scan_id"] = "abc"


@pytest.mark.parametrize("key", ["uid", "time", "scan_id"])
def test_engine_keys_given_as_metadata_are_errors_not_dropped(RE, key):
    with pytest.raises(MetadataError, match=rf"RE\(\) keywords sets '{key}'"):
        RE(count([det]), **{key: 5})
    with pytest.raises(MetadataError, match=rf"the plan's md sets '{key}'"):
        RE(count([det], md={key: 5}))
    if key != "scan_id":
        RE.md[key] = 5
        with pytest.raises(MetadataError, match=rf"RE\.md sets '{key}'.*del RE\.md\['{key}'\]"):
            RE(count([det]))
        del RE.md[key]
    RE(count([det]))  # the engine is usable after each refusal


def test_nan_and_inf_metadata_replay_equal_to_the_live_run(RE, tmp_path):
    db = RunStore(tmp_path / "s")
    RE.subscribe_lossless(db)
    live = []
    RE.subscribe(lambda n, d: live.append((n, d)))
    RE(count([det], num=2), offset=math.nan, limit=-math.inf)
    back = []
    replay(db[-1], lambda n, d: back.append((n, d)))
    assert [n for n, _ in back] == [n for n, _ in live]
    assert math.isnan(back[0][1]["offset"]) and back[0][1]["limit"] == -math.inf
    # the live start keeps the plan's tuples (as bluesky's does); JSON gives lists back
    assert repr(back) == repr(live).replace("(['time'], 'primary')", "[['time'], 'primary']")
    db.close()
