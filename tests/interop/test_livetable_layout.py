"""livescan's text LiveTable vs bluesky's on values and options beyond the defaults.

The two tests here FAIL today: they pin bugs in ``livescan/callbacks/_table.py``
(reported to the lead; the interop owner does not fix engine/callback code).
"""

from __future__ import annotations

import bluesky.plans as bp
from ophyd import Signal
from ophyd import sim as osim

from tests.interop._util import bluesky_table, livescan_table


def test_numbers_wider_than_the_column_are_not_cut(bluesky_docs):
    """A reading of 1e12 must not be shown as ``1000000000`` (cells are cut to width)."""
    big = Signal(name="big", value=1.0e12)
    docs = bluesky_docs(bp.count([osim.det1, big], num=2))
    ours = livescan_table(docs, ["det1", "big"])
    assert "1000000000000.000" in ours[3], ours[3]
    assert ours == bluesky_table(docs, ["det1", "big"])


def test_extra_pad_widens_seq_num_and_time_like_bluesky(bluesky_docs):
    """With ``extra_pad=2`` the time column keeps its tenths (``12:34:56.7``)."""
    docs = bluesky_docs(bp.count([osim.det1], num=2))
    ours = livescan_table(docs, ["det1"], extra_pad=2)
    time_cell = ours[3].split("|")[2].strip()
    assert len(time_cell) == 10 and time_cell[8] == ".", ours[3]
    assert ours == bluesky_table(docs, ["det1"], extra_pad=2)
