"""Project quality: lint, formatting, import layers, ``__all__``, and a widget-free engine."""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINTED = [p for p in ("src", "tests", "bench", "notebooks", "dev.py") if (REPO / p).exists()]
CONCISE = ["--output-format", "concise"]  # one line per problem in the failure message

# Public packages whose ``__all__`` must be exact: every one must exist.
PUBLIC = [
    "livescan",
    "livescan.documents",
    "livescan.errors",
    "livescan.plans",
    "livescan.sim",
    "livescan.engine",
    "livescan.dispatch",
    "livescan.callbacks",
    "livescan.export",
    "livescan.store",
    "livescan.widgets",
    "livescan.jupyter",
]
# These must import without any widget / IPython machinery (scripts, CI, servers).
WIDGET_FREE = [
    "livescan",
    "livescan.engine",
    "livescan.plans",
    "livescan.sim",
    "livescan.callbacks",
]
WIDGET_LIBRARIES = ["ipywidgets", "bqplot", "ipydatagrid", "IPython", "ipykernel", "sidecar"]


def _run(*cmd: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


def _report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit code {result.returncode}\n{result.stdout}\n{result.stderr}"


def _require(name: str) -> None:
    """Fail clearly if ``name`` is missing or only a bare folder (no ``__init__.py``)."""
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        spec = None
    assert spec is not None and spec.origin not in (None, "namespace"), (
        f"{name} is not a package with an __init__.py"
    )


# -- lint -----------------------------------------------------------------------------------


def test_ruff_check():
    result = _run(sys.executable, "-m", "ruff", "check", "--no-cache", *CONCISE, *LINTED)
    assert result.returncode == 0, _report(result)


def test_ruff_format():
    result = _run(
        sys.executable, "-m", "ruff", "format", "--check", "--no-cache", *CONCISE, *LINTED
    )
    assert result.returncode == 0, _report(result)


def test_import_layers():
    """import-linter's contracts from pyproject.toml: layers point down, no widget imports."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    assert lint_imports.exists(), f"import-linter is not installed next to {sys.executable}"
    result = _run(str(lint_imports), "--no-cache")
    assert result.returncode == 0, _report(result)


# -- __all__ ----------------------------------------------------------------------------------


def _public_names(module: types.ModuleType) -> set[str]:
    """Public attributes that ``__all__`` must list: not private, not modules.

    Left out as well: ``from __future__`` feature flags and names taken from ``typing``
    (``TYPE_CHECKING``, ``Any``, …), which a module uses but does not offer.
    """
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if getattr(value, "__module__", None) in ("__future__", "typing", "typing_extensions"):
            continue
        if name == "TYPE_CHECKING":
            continue
        names.add(name)
    return names


@pytest.mark.parametrize("name", PUBLIC)
def test_dunder_all_is_complete(name):
    _require(name)
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    listed = list(module.__all__)
    assert all(isinstance(n, str) for n in listed), f"{name}.__all__ holds non-strings"
    duplicates = sorted({n for n in listed if listed.count(n) > 1})
    assert not duplicates, f"{name}.__all__ lists twice: {duplicates}"
    missing_attrs = sorted(n for n in listed if not hasattr(module, n))
    assert not missing_attrs, f"{name}.__all__ lists names that do not exist: {missing_attrs}"
    unlisted = sorted(_public_names(module) - set(listed))
    assert not unlisted, (
        f"{name} has public names missing from __all__: {unlisted} "
        "(add them, or rename them with a leading underscore)"
    )


# -- the engine runs without widgets -------------------------------------------------------

_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
heavy = json.loads(sys.argv[2])
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(heavy))))
"""


@pytest.mark.parametrize("name", WIDGET_FREE)
def test_import_does_not_load_widget_libraries(name, tmp_path):
    _require(name)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, name, json.dumps(WIDGET_LIBRARIES)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, _report(result)
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], f"`import {name}` loads {loaded}; import them lazily, inside functions"
