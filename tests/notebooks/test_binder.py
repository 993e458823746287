"""binder/ builds a working environment: a fresh venv from binder/requirements.txt alone runs
the first tutorial.

This is what repo2docker does with ``binder/``: copy the repository, ``pip install -r
binder/requirements.txt`` from its root, run ``binder/postBuild``. Here the copy holds the
files a build needs (pyproject, README, src, binder, notebooks), the venv is made with
``python -m venv`` (nothing from the test environment leaks in), and the tutorial is executed
with that venv's own ``jupyter nbconvert --execute`` and kernel, with HOME pointing at an
empty folder. Needs PyPI (as Binder does); takes a minute or two.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.notebooks._widget_state import WidgetState

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
BUILD_FILES = ["pyproject.toml", "README.md", "src", "binder", "notebooks"]


def _run(cmd, *, cwd, env=None, timeout=900) -> subprocess.CompletedProcess:
    result = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"$ {' '.join(map(str, cmd))}\n--- stdout:\n{result.stdout[-4000:]}\n"
        f"--- stderr:\n{result.stderr[-4000:]}"
    )
    return result


def _clean_env(home: Path, venv: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "IPYTHON", "PYTHON", "VIRTUAL_ENV", "LIVESCAN"))
    }
    env.update(
        HOME=str(home),
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
    )
    return env


def test_binder_requirements_alone_run_the_first_tutorial(tmp_path):
    repo = tmp_path / "repo"
    for name in BUILD_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(
                source, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        else:
            repo.mkdir(exist_ok=True)
            shutil.copy2(source, repo / name)
    requirements = (repo / "binder" / "requirements.txt").read_text()
    assert ".[jupyter,scale]" in requirements.split()  # tutorial 07 needs the scale extra
    apt = (repo / "binder" / "apt.txt").read_text().split()
    assert "redis-server" in apt  # ... and a redis-server to start

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, timeout=120)
    python = venv / "bin" / "python"
    home = tmp_path / "home"
    home.mkdir()
    env = _clean_env(home, venv)
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            "binder/requirements.txt",
        ],
        cwd=repo,
        env=env,
    )

    # postBuild: the server opens the first tutorial
    _run(["bash", str(repo / "binder" / "postBuild")], cwd=repo, env=env, timeout=60)
    shown = _run(
        [
            python,
            "-c",
            "from jupyter_server.serverapp import ServerApp\n"
            "app = ServerApp()\napp.load_config_file()\nprint(app.default_url)",
        ],
        cwd=repo,
        env=env,
        timeout=120,
    )
    assert shown.stdout.strip() == "/lab/tree/notebooks/01_getting_started.ipynb"
    assert (repo / "notebooks" / "01_getting_started.ipynb").exists()

    # the first tutorial, executed by the venv's own nbconvert and kernel
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(repo / "notebooks" / "01_getting_started.ipynb", as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import sys, livescan\nprint(sys.executable)\nprint(livescan.__file__)\n"
            "import tiled.client, redis, distributed  # tutorial 07's engines"
        )
    )
    nbformat.write(nb, work / "tutorial.ipynb")
    env["LIVESCAN_TUTORIAL_DIR"] = str(tmp_path / "out")
    _run(
        [
            venv / "bin" / "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--ExecutePreprocessor.timeout=300",
            "--output",
            "executed.ipynb",
            "tutorial.ipynb",
        ],
        cwd=work,
        env=env,
        timeout=600,
    )
    executed = nbformat.read(work / "executed.ipynb", as_version=4)
    outputs = [out for cell in executed.cells for out in cell.get("outputs", [])]
    errors = [out for out in outputs if out.output_type == "error"]
    assert not errors, json.dumps(errors, indent=1)[:4000]
    executable, module = outputs[-1].text.split()
    assert Path(executable).parent == venv / "bin"
    assert Path(module).is_relative_to(venv)  # the installed package, not the source tree
    # the widgets' final state made it into the executed notebook
    lines = WidgetState(executed).plot_lines()
    assert sorted(len(line["x"]) for line in lines) == [21, 31, 41]
    assert len(list((tmp_path / "out" / "runs").rglob("*.jsonl"))) == 6
