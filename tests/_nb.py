"""Execute a notebook headless, the way the notebook tests and CI do.

    from _nb import execute_notebook
    nb = execute_notebook(REPO / "notebooks" / "01_getting_started.ipynb", timeout=600)

The kernel is always this interpreter (the repo's venv), whatever kernelspec the notebook names
or other Jupyter installs offer. Widget state is stored (``store_widget_state=True``) in
``nb.metadata.widgets``. Any error output — a failing cell, or an error a background task
displayed — raises :class:`NotebookError` with the cell's source and the traceback.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets import default

__all__ = ["NotebookError", "execute_notebook"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class NotebookError(AssertionError):
    """A notebook produced an error output."""


class _ThisPythonKernelSpecs(KernelSpecManager):
    """Every kernel name resolves to an ipykernel on ``sys.executable``."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python 3 (livescan tests)",
            language="python",
            name=kernel_name,
        )


class _ThisPythonKernelManager(AsyncKernelManager):
    @default("kernel_spec_manager")
    def _default_kernel_spec_manager(self) -> KernelSpecManager:
        return _ThisPythonKernelSpecs(parent=self)


def _format_error(cell: nbformat.NotebookNode, output: nbformat.NotebookNode) -> str:
    traceback = _ANSI.sub("", "\n".join(output.get("traceback", [])))
    if not traceback:
        traceback = f"{output.get('ename', '?')}: {output.get('evalue', '')}"
    return f"--- cell:\n{cell.source}\n--- error:\n{traceback}"


def execute_notebook(
    path: str | Path, timeout: float = 600, *, store_widget_state: bool = True
) -> nbformat.NotebookNode:
    """Run every cell of the notebook at ``path`` (in its own folder); return the executed node.

    ``timeout`` is the limit in seconds for each cell. The file itself is not modified.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        startup_timeout=120,
        kernel_name="python3",
        kernel_manager_class=_ThisPythonKernelManager,
        store_widget_state=store_widget_state,
        resources={"metadata": {"path": str(path.parent)}},
    )
    failed = None
    try:
        client.execute()
    except CellExecutionError as exc:
        failed = exc
    errors = [
        _format_error(cell, out)
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    if failed is not None and not errors:
        errors.append(_ANSI.sub("", str(failed)))
    if errors:
        raise NotebookError(f"{path.name} has error outputs:\n" + "\n".join(errors)) from failed
    return nb
