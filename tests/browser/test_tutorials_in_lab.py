"""Tutorials 02-07 run top to bottom in JupyterLab + Chromium (01 has its own, deeper test in
test_tutorials_lab.py): no error output, no console error (the ``lab_page`` fixture fails a
test whose page logged one), every run's status settles on how it ended (none left
running, queued or paused), and every figure on the page has drawn something.
"""

from __future__ import annotations

import nbformat
import pytest
from _lab import REPO, eval_views, notebook_cells, open_notebook, run_all, screenshot
from _widget_probe import wait_until

pytestmark = pytest.mark.browser

TUTORIALS = sorted(
    p.stem for p in (REPO / "notebooks").glob("0*.ipynb") if not p.stem.startswith("01_")
)
ENDED = {"success", "abort", "stop", "fail", "halt"}
# text a tutorial's outputs must hold (what its prose promises)
TEXTS = {"07_beyond_one_machine": "15 frames reduced on 2 workers"}

# Per figure shown: its title and what it drew (line points, pictures of images/rasters).
DRAWN_JS = """(views) => views
  .filter((v) => v.model.get('_model_name') === 'FigureModel')
  .map((v) => ({
    title: v.model.get('title'),
    lines: Array.from(v.el.querySelectorAll('path.line'))
                .filter((p) => !p.closest('.g_legend, .legend'))
                .map((p) => ((p.getAttribute('d') || '').match(/[ML]/g) || []).length),
    images: v.el.querySelectorAll('image').length,
  }))"""


def test_the_tutorial_list_is_complete():
    assert TUTORIALS == [
        "02_subscriptions", "03_rasters_and_images", "04_exporting", "05_saved_runs",
        "06_custom_callbacks", "07_beyond_one_machine",
    ]  # fmt: skip


@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorial_runs_in_jupyterlab(lab, lab_page, tmp_path, name):
    nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    # the files it writes go to this test's folder (as the notebook tests do)
    nb.cells.insert(
        0,
        nbformat.v4.new_code_cell(
            f"import os\nos.environ['LIVESCAN_TUTORIAL_DIR'] = {str(tmp_path)!r}"
        ),
    )
    open_notebook(lab_page, lab, lab.add_notebook(nb, f"lab-{name}"))
    run_all(lab_page, timeout=300)  # raises on any error output

    states = lab_page.locator(".livescan-run-status .livescan-state")
    wait_until(
        lambda: {s.strip() for s in states.all_inner_texts()} <= ENDED,
        timeout=30,
        what=f"every run ended (states: {states.all_inner_texts()})",
    )
    assert states.count() >= 1
    figures = eval_views(lab_page, DRAWN_JS)
    blank = [f for f in figures if max(f["lines"], default=0) < 2 and not f["images"]]
    assert not blank, f"figures that drew nothing: {blank}"
    if name in TEXTS:
        text = "\n".join(
            "".join(o.get("text", "")) for c in notebook_cells(lab_page) for o in c["outputs"]
        )
        assert TEXTS[name] in text, text[-2000:]
    screenshot(lab_page, f"lab-tutorial-{name}")
