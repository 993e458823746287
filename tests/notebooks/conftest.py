"""Fixtures for the notebook tests: each tutorial executed once per session, headless.

``executed_tutorial(name)`` runs ``notebooks/<name>.ipynb`` with nbclient (the kernel is this
interpreter, widget state stored) with ``LIVESCAN_TUTORIAL_DIR`` pointing at a fresh folder
under the session's temp dir, and returns ``(notebook node, that folder)``. The folder holds
everything the notebook wrote, including its run store (``<folder>/runs``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from tests._nb import execute_notebook

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
TUTORIALS = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


@pytest.fixture(scope="session")
def executed_tutorial(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str], tuple[nbformat.NotebookNode, Path]]:
    cache: dict[str, tuple[nbformat.NotebookNode, Path]] = {}

    def run(name: str) -> tuple[nbformat.NotebookNode, Path]:
        if name not in cache:
            workdir = tmp_path_factory.mktemp(name)
            old = os.environ.get("LIVESCAN_TUTORIAL_DIR")
            os.environ["LIVESCAN_TUTORIAL_DIR"] = str(workdir)
            try:
                nb = execute_notebook(NOTEBOOKS / f"{name}.ipynb", timeout=180)
            finally:
                if old is None:
                    os.environ.pop("LIVESCAN_TUTORIAL_DIR", None)
                else:
                    os.environ["LIVESCAN_TUTORIAL_DIR"] = old
            cache[name] = (nb, workdir)
        return cache[name]

    return run
