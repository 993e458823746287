"""Build each tutorial notebook ``0N_name.ipynb`` from its source ``0N_name.py`` in this folder.

    python notebooks/build.py          # rewrite every notebook from its .py
    python notebooks/build.py --check  # exit 1, naming them, if a notebook is out of date

The sources are jupytext percent-format scripts (``# %%`` code cells, ``# %% [markdown]``
cells); jupytext parses them. The output is deterministic, so a rebuild diffs only where a
cell changed: cell ids ``NN-MM`` (notebook number, cell index), no outputs, no execution
counts, the same kernelspec for every notebook. See README.md here for the conventions.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbformat

HERE = Path(__file__).resolve().parent
REBUILD = "python notebooks/build.py"  # the command that brings every notebook up to date

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}


def sources(folder: Path = HERE) -> list[Path]:
    """The tutorial sources: ``NN_name.py`` files (this script is not one)."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.py"))


def cells(source: Path) -> list[tuple[str, str]]:
    """``(cell type, source text)`` of every cell of a percent-format script."""
    nb = jupytext.read(source, fmt="py:percent")
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def build(source: Path) -> nbformat.NotebookNode:
    """The notebook for one source file, without outputs."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    for i, (kind, text) in enumerate(cells(source)):
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(text)
        elif kind == "code":
            cell = nbformat.v4.new_code_cell(text)
        else:
            raise ValueError(f"{source.name}: cell {i} is a {kind} cell; use code or markdown")
        cell.id = f"{source.name[:2]}-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(source: Path) -> str:
    """The text of the notebook file for one source."""
    return nbformat.writes(build(source)) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for source in sources():
        target = source.with_suffix(".ipynb")
        text = render(source)
        if check:
            if not target.exists() or target.read_text() != text:
                stale.append(target.name)
        elif not target.exists() or target.read_text() != text:
            target.write_text(text)
            print("wrote", target.relative_to(HERE.parent))
    if stale:
        print(f"out of date: {', '.join(stale)}; rebuild them with: {REBUILD}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
