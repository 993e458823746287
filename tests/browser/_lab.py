"""Helpers for the browser tests: an isolated JupyterLab server and a page driving it.

JupyterLab runs on 127.0.0.1 with a random token and every Jupyter directory under a temp
dir; the system Chromium is driven by Playwright (never ``playwright install``); notebooks run
through ``window.jupyterapp`` (exposed by ``--LabApp.expose_app_in_browser``); widget state is
read from the ipywidgets views in the output areas (``view.model.get(name)``), bqplot from the
SVG.

All waits take a ``timeout`` in seconds. Typical use (fixtures from ``conftest.py``)::

    def test_something(lab, lab_page):
        name = lab.add_notebook(nb, "something")       # an nbformat node or a file path
        open_notebook(lab_page, lab, name)             # waits for an idle kernel
        run_all(lab_page)                              # raises on any error output
        wait_for_views(lab_page, "IntSliderModel")
        assert widget_value(lab_page, "IntSliderModel", "value") == 7
        screenshot(lab_page, "something")              # test-artifacts/browser/something.png

Buttons: ``lab_page.locator('button.jupyter-button:has-text("Pause")').click()``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = Path(os.environ.get("LIVESCAN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
KERNEL_NAME = "python3"  # the name notebooks ask for; ours points at this interpreter

# Lab settings written into the isolated settings dir: no news/update pop-up, and every cell
# rendered (JupyterLab's windowing would leave off-screen outputs unrendered).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

# Installed in every page before the app loads: small accessors used by the helpers below.
PAGE_HELPERS_JS = r"""
window.__livescan = {
  panel() {
    const app = window.jupyterapp;
    const w = app && app.shell && app.shell.currentWidget;
    return w && w.content && w.sessionContext ? w : null;
  },
  kernelStatus() {
    const p = this.panel();
    const k = p && p.sessionContext.session && p.sessionContext.session.kernel;
    return k ? k.status : null;
  },
  kernelIdle() {
    const p = this.panel();
    return !!(p && p.sessionContext.isReady && !p.sessionContext.isRestarting
              && this.kernelStatus() === 'idle');
  },
  // Every ipywidgets view shown in the notebook's output areas (nested views included),
  // in document order. A view's Lumino widget keeps the view as `_view`.
  views() {
    const p = this.panel();
    if (!p) return [];
    const found = [];
    const seen = new Set();
    const visit = (w) => {
      // skip what is no longer on the page: an output updated in place (a finished run
      // leaving its static fallback) keeps its old, detached renderer around; and what is
      // hidden (a table's grid a newer one replaced: display none)
      if (w.isDisposed || (w.node && (!w.node.isConnected || w.node.style.display === 'none'))) {
        return;
      }
      if (w._view && !seen.has(w._view)) { seen.add(w._view); found.push(w._view); }
      if (typeof w.children === 'function') { for (const c of w.children()) visit(c); }
    };
    for (const cell of p.content.widgets) { if (cell.outputArea) visit(cell.outputArea); }
    return found;
  },
  modelName(view) { return view.model.get('_model_name'); },
  outputs() {
    const p = this.panel();
    if (!p) return [];
    return p.content.widgets.map((cell) => ({
      type: cell.model.type,
      source: cell.model.sharedModel.getSource(),
      outputs: cell.model.type === 'code' ? cell.model.outputs.toJSON() : [],
    }));
  },
};
"""


class LabError(RuntimeError):
    """The lab server or a notebook in it did not behave."""


def notebook_of(*cells: str) -> nbformat.NotebookNode:
    """A notebook of code cells with these sources."""
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])


def console_errors(page) -> list[str]:
    """A list that collects the page's console errors and uncaught exceptions from now on."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return errors


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class LabServer:
    """An isolated ``jupyter lab`` on 127.0.0.1, running this interpreter's kernel.

    ``base`` is ``tmp_dir``: ``root/`` is the server root (notebooks go there), ``config``,
    ``data``, ``runtime``, ``settings``, ``workspaces`` and ``ipython`` hold everything Jupyter
    would otherwise read from or write to the home directory.
    """

    def __init__(self, base: Path, log_path: Path | None = None) -> None:
        self.base = Path(base)
        self.root_dir = self.base / "root"
        self.log_path = log_path or (self.base / "jupyter-lab.log")
        self.token = secrets.token_hex(24)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file = None

    # -- life cycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
        env.update(
            JUPYTER_CONFIG_DIR=str(self.base / "config"),
            JUPYTER_DATA_DIR=str(self.base / "data"),
            # First on the search path, so our "python3" kernelspec shadows the venv's own.
            JUPYTER_PATH=str(self.base / "data"),
            JUPYTER_RUNTIME_DIR=str(self.base / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(self.base / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.base / "workspaces"),
            IPYTHONDIR=str(self.base / "ipython"),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONUNBUFFERED="1",
        )
        return env

    def _prepare_dirs(self) -> None:
        for name in ("root", "config", "data", "runtime", "settings", "workspaces", "ipython"):
            (self.base / name).mkdir(parents=True, exist_ok=True)
        for rel, settings in LAB_SETTINGS.items():
            path = self.base / "settings" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings))
        # The kernel must be the interpreter running pytest (the repo's venv): a kernelspec in
        # the isolated data dir shadows any other "python3".
        spec_dir = self.base / "data" / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True, exist_ok=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (livescan tests)",
            "language": "python",
            "metadata": {"debugger": False},
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))

    def start(self, timeout: float = 120.0) -> LabServer:
        self._prepare_dirs()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        last_error: Exception | None = None
        for _attempt in range(3):  # a free port can be taken between probe and bind
            self.port = free_port()
            try:
                self._launch(timeout)
                return self
            except LabError as exc:
                last_error = exc
                self.stop()
        raise LabError(f"JupyterLab did not start: {last_error}")

    def _launch(self, timeout: float) -> None:
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.extension_manager=readonly",
            "--LabApp.check_for_updates_class="
            "jupyterlab.handlers.announcements.NeverCheckForUpdate",
            "--allow-root",
        ]
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop())
        self._log_file.write(f"\n$ {' '.join(cmd)}\n".encode())
        self._log_file.flush()
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.root_dir,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabError(
                    f"server exited with code {self.proc.returncode}; log {self.log_path}:\n"
                    + _tail(self.log_path)
                )
            with contextlib.suppress(OSError, LabError):
                if self.api("GET", "/api/status", timeout=2) is not None:
                    return
            time.sleep(0.25)
        raise LabError(f"no answer from /api/status after {timeout:.0f} s:\n{_tail(self.log_path)}")

    def stop(self, timeout: float = 20.0) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError, LabError):
                self.api("POST", "/api/shutdown", timeout=5)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    # -- REST -----------------------------------------------------------------------------
    def api(self, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
        """Call the server's REST API with the token; returns the decoded JSON (or None)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise LabError(f"{method} {path}: HTTP {exc.code}") from exc
        return json.loads(payload) if payload else None

    def shutdown_sessions(self) -> None:
        """Close every notebook session and kernel (between tests)."""
        for session in self.api("GET", "/api/sessions") or []:
            with contextlib.suppress(LabError):
                self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels") or []:
            with contextlib.suppress(LabError):
                self.api("DELETE", f"/api/kernels/{kernel['id']}")

    # -- notebooks ------------------------------------------------------------------------
    def add_notebook(self, notebook: nbformat.NotebookNode | str | Path, name: str | None = None):
        """Put a notebook (a node or a file) into the server root; returns its name there.

        The copy asks for this interpreter's kernel (kernelspec ``python3``).
        """
        if isinstance(notebook, str | Path):
            source = Path(notebook)
            node = nbformat.read(source, as_version=4)
            name = name or source.name
        else:
            node = nbformat.from_dict(json.loads(json.dumps(notebook)))
            if name is None:
                raise ValueError("give a name for a notebook node")
        if not name.endswith(".ipynb"):
            name += ".ipynb"
        node.metadata["kernelspec"] = {
            "name": KERNEL_NAME,
            "display_name": "Python 3 (livescan tests)",
            "language": "python",
        }
        target = self.root_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(node, target)
        return name

    def notebook_url(self, name: str) -> str:
        # `reset` starts from an empty workspace so notebooks of earlier tests stay closed.
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"


# -- page helpers (Playwright sync API) -----------------------------------------------------


def wait_for_js(page, predicate: str, arg: Any = None, timeout: float = 60.0) -> Any:
    """Wait until the JS function ``predicate`` (e.g. ``"() => …"``) returns a truthy value.

    ``window.__livescan`` (see PAGE_HELPERS_JS) is available. Returns the value.
    """
    handle = page.wait_for_function(predicate, arg=arg, timeout=timeout * 1000, polling=100)
    try:
        return handle.json_value()
    finally:
        handle.dispose()


def wait_for_kernel_idle(page, timeout: float = 60.0) -> None:
    """Wait until the current notebook's kernel is started and idle."""
    wait_for_js(page, "() => window.__livescan.kernelIdle()", timeout=timeout)


def open_notebook(page, server: LabServer, name: str, timeout: float = 90.0) -> None:
    """Open ``name`` (in the server root) and wait until its kernel is idle."""
    page.goto(server.notebook_url(name))
    wait_for_js(
        page,
        """(name) => {
             const p = window.__livescan.panel();
             return p && p.context.path === name && p.context.isReady;
           }""",
        arg=name,
        timeout=timeout,
    )
    wait_for_kernel_idle(page, timeout=timeout)


def notebook_cells(page) -> list[dict[str, Any]]:
    """The current notebook's cells as ``{'type', 'source', 'outputs'}`` (nbformat outputs)."""
    return page.evaluate("() => window.__livescan.outputs()")


def error_outputs(page) -> list[str]:
    """Every error output of the current notebook, formatted with its cell source."""
    errors = []
    for cell in notebook_cells(page):
        for out in cell["outputs"]:
            if out.get("output_type") == "error":
                tb = strip_ansi("\n".join(out.get("traceback", [])))
                errors.append(f"--- cell:\n{cell['source']}\n--- error:\n{tb}")
    return errors


def run_all(page, timeout: float = 300.0, allow_errors: bool = False) -> None:
    """Run every cell (``notebook:run-all-cells``) and wait until it is done, kernel idle.

    Raises :class:`LabError` with the cell source and traceback of any error output.
    """
    page.evaluate(
        """() => {
             const state = window.__livescanRunAll = {done: false, result: null, error: null};
             window.jupyterapp.commands.execute('notebook:run-all-cells').then(
               (r) => { state.done = true; state.result = r; },
               (e) => { state.done = true; state.error = String(e); });
           }"""
    )
    wait_for_js(page, "() => window.__livescanRunAll.done", timeout=timeout)
    state = page.evaluate("() => window.__livescanRunAll")
    wait_for_kernel_idle(page, timeout=timeout)
    if state["error"]:
        raise LabError(f"notebook:run-all-cells failed: {state['error']}")
    errors = error_outputs(page)
    if errors and not allow_errors:
        raise LabError("the notebook has error outputs:\n" + "\n".join(errors))


def eval_views(page, js: str, arg: Any = None) -> Any:
    """Evaluate ``js`` — a function ``(views, arg) => …`` — on the notebook's widget views.

    ``views`` is every ipywidgets view in the output areas, in order; read synced state with
    ``view.model.get('value')``, the model class with ``view.model.get('_model_name')``.
    """
    return page.evaluate(
        f"([arg]) => ({js})(window.__livescan.views(), arg)",
        [arg],
    )


def widget_models(page) -> list[str]:
    """The ``_model_name`` of every widget view shown, in order (e.g. ``'IntSliderModel'``)."""
    return eval_views(page, "(views) => views.map((v) => v.model.get('_model_name'))")


def widget_value(page, model_name: str, trait: str, index: int = 0) -> Any:
    """``view.model.get(trait)`` of the ``index``-th shown view whose model is ``model_name``."""
    return eval_views(
        page,
        """(views, [name, trait, index]) => {
             const matching = views.filter((v) => v.model.get('_model_name') === name);
             if (index >= matching.length) {
               throw new Error(`only ${matching.length} view(s) of ${name} shown`);
             }
             return matching[index].model.get(trait);
           }""",
        [model_name, trait, index],
    )


def wait_for_views(
    page, model_name: str | tuple[str, ...], count: int = 1, timeout: float = 60.0
) -> None:
    """Wait until at least ``count`` views of widget model ``model_name`` (or of any of a
    tuple of names) are shown."""
    names = [model_name] if isinstance(model_name, str) else list(model_name)
    wait_for_js(
        page,
        """([names, count]) => window.__livescan.views()
             .filter((v) => names.includes(v.model.get('_model_name'))).length >= count""",
        arg=[names, count],
        timeout=timeout,
    )


_PATH_COMMAND = re.compile(r"[MLml]")


def count_path_points(d: str | None) -> int:
    """Points drawn by an SVG path: its M/L commands (how bqplot draws a ``Lines`` mark)."""
    return len(_PATH_COMMAND.findall(d or ""))


def screenshot(target, name: str) -> Path:
    """Save a PNG of a page or a locator to ``test-artifacts/browser/NAME.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / (safe_name(name) + ".png")
    target.screenshot(path=str(path))
    return path


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:150]


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


# -- browser --------------------------------------------------------------------------------


@contextlib.contextmanager
def chromium_context(user_data_dir: Path, **options: Any) -> Iterator[Any]:
    """A Playwright persistent context on the system Chromium (no Playwright download)."""
    if not CHROMIUM.exists():
        raise LabError(
            f"Chromium is not installed at {CHROMIUM}. Run `python3 dev.py test` (installs it "
            "as root) or `apt-get install -y chromium`; never `playwright install`."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
            **options,
        )
        try:
            context.add_init_script(PAGE_HELPERS_JS)
            yield context
        finally:
            context.close()
