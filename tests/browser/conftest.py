"""Fixtures for the browser tests: one isolated JupyterLab server and one headless Chromium.

``lab``          the :class:`_lab.LabServer` (session): ``lab.add_notebook(nb, name)``, ``lab.url``,
                 ``lab.token``, ``lab.root_dir``, ``lab.api(method, path)``.
``lab_browser``  the Playwright persistent Chromium context (session).
``lab_page``     a fresh page (per test); at the end the test's kernels are shut down, a test
                 whose page logged a console error fails, and when the test failed, a
                 screenshot and the browser console go to test-artifacts/.

The helpers that drive a page (``open_notebook``, ``run_all``, ``widget_value``, ``eval_views``,
``wait_for_js``, ``screenshot``, …) live in ``_lab.py``.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

import pytest
from _lab import ARTIFACTS, LabServer, chromium_context, safe_name

_REPORTS = pytest.StashKey[dict]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def _lab_tmp():
    base = Path(tempfile.mkdtemp(prefix="livescan-lab-"))
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def lab(_lab_tmp):
    """An isolated JupyterLab server on 127.0.0.1 whose kernel is this interpreter."""
    server = LabServer(_lab_tmp / "lab", log_path=ARTIFACTS / "jupyter-lab.log")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in [server.log_path, *ARTIFACTS.glob("FAILED-*")]:
        stale.unlink(missing_ok=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def lab_browser(_lab_tmp):
    """A headless system Chromium (Playwright persistent context, fresh profile)."""
    with chromium_context(_lab_tmp / "chromium-profile") as context:
        context.set_default_timeout(60_000)
        yield context


@pytest.fixture
def lab_page(request, lab, lab_browser):
    """A new page in the lab browser; closed, with its kernels shut down, after the test."""
    page = lab_browser.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    yield page
    reports = request.node.stash.get(_REPORTS, {})
    if any(r.failed for r in reports.values()):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = "FAILED-" + safe_name(request.node.nodeid)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
        (ARTIFACTS / f"{stem}.console.txt").write_text("\n".join(console))
    page.close()
    lab.shutdown_sessions()
    errors = [line for line in console if line.startswith(("error: ", "pageerror: "))]
    if errors and not any(r.failed for r in reports.values()):
        # issue 8's budget: 0 console errors in any scenario, for every test on a lab page
        pytest.fail("the page logged console errors:\n" + "\n".join(errors), pytrace=False)
