"""Kept widgets: Layout, Style and renderer widgets that many widgets share, left open
when one widget tree holding them is closed.

livescan shares such widgets on purpose (every run-status widget one Layout per part,
every grid of a format one renderer, the hidden grids one ``display: none`` Layout):
each would otherwise be a comm opened per widget. Closing a widget tree — the
Dashboard closes the status and the views it replaces with everything they hold
(``livescan.jupyter._views.close_tree``) — must not close them under the others, so
their ``close()`` does nothing: they stay open as long as the kernel. Whoever holds one
checks ``widget.comm`` (None after a new comm implementation, e.g. a test's recording
comm) before reusing it.
"""

from __future__ import annotations

import ipywidgets

__all__ = ["Kept", "KeptLayout"]


class Kept:
    """Mixin for an ipywidget that many widgets refer to: ``close()`` leaves it open.

    Put it first among the bases (``class _Style(Kept, ipywidgets.ButtonStyle)``).
    """

    def close(self) -> None:
        """Do nothing: other widgets still show this one."""
        return


class KeptLayout(Kept, ipywidgets.Layout):
    """A Layout that many widgets share; closing any of them leaves it open."""
