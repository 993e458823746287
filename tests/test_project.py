"""Project quality: lint, formatting, import layers, ``__all__``, and a widget-free engine."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import inspect
import json
import re
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
    "livescan.protocols",
    "livescan.plans",
    "livescan.sim",
    "livescan.engine",
    "livescan.dispatch",
    "livescan.callbacks",
    "livescan.export",
    "livescan.store",
    "livescan.remote",
    "livescan.widgets",
    "livescan.jupyter",
    "livescan.testing",
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


def test_mypy():
    """mypy with pyproject.toml's [tool.mypy]: default checks over src/livescan, strict for
    documents, dispatch, engine and plans."""
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, (
        _report(result) + "\nRun it locally from the repository root (a worktree: its own "
        "root): `.venv/bin/python -m mypy` (or the shared venv's python -m mypy). Fix the "
        "types rather than adding `# type: ignore`; a library without types goes in the "
        "ignore_missing_imports override in pyproject.toml."
    )


def test_import_layers():
    """import-linter's contracts from pyproject.toml: layers point down, no widget imports."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    assert lint_imports.exists(), f"import-linter is not installed next to {sys.executable}"
    result = _run(str(lint_imports), "--no-cache")
    assert result.returncode == 0, _report(result)


def _contract_layers() -> list[str]:
    """The layers of pyproject.toml's exhaustive layers contract, top first."""
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = [
        c["layers"] for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"
    ]
    return [" ".join(layer.split()) for layer in layers]


def _drawn_layers(doc: str, prefix: str) -> list[str]:
    """The layer lines of the first drawing in docs/``doc``, without ``prefix`` and notes."""
    text = (REPO / "docs" / doc).read_text(encoding="utf-8")
    drawing = text.split("```\n", 2)[1]
    lines = [re.split(r"\s{2,}", line.strip())[0] for line in drawing.splitlines()]
    return [line.replace(prefix, "") for line in lines if line and "__init__.py" not in line]


@pytest.mark.parametrize(("doc", "prefix"), [("contract.md", "livescan."), ("architecture.md", "")])
def test_the_docs_draw_the_layers_of_the_contract(doc, prefix):
    assert _drawn_layers(doc, prefix) == _contract_layers(), (
        f"docs/{doc}'s layer drawing differs from pyproject.toml's import-linter contract"
    )


_HIDDEN_IMPORT = re.compile(r"""(import_module|__import__)\(\s*[rbf]?["']livescan""")


def test_no_hidden_imports_of_livescan():
    """import-linter only sees import statements: a module loaded by name (importlib or
    __import__) would be a dependency the layers contract cannot check. A lower layer
    offers a slot instead, and livescan/__init__.py fills it."""
    found = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for path in sorted((REPO / "src").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _HIDDEN_IMPORT.search(line)
    ]
    assert not found, "modules imported by name, hidden from import-linter:\n" + "\n".join(found)


def test_hidden_import_pattern_catches_the_usual_spellings():
    for line in ('importlib.import_module("livescan.jupyter")', "__import__('livescan.widgets')",
                 'import_module( "livescan")'):  # fmt: skip
        assert _HIDDEN_IMPORT.search(line), line
    assert not _HIDDEN_IMPORT.search("importlib.import_module(name)")


def test_tests_mirror_the_packages():
    """Each package of livescan has its own test folder, tests/<package>/test_*.py."""
    packages = sorted(p.parent.name for p in (REPO / "src" / "livescan").glob("*/__init__.py"))
    missing = [name for name in packages if not list((REPO / "tests" / name).glob("test_*.py"))]
    assert not missing, f"packages without a tests/<package>/test_*.py: {missing}"


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


# -- docstrings -------------------------------------------------------------------------------


def _own_class_doc(cls: type) -> str | None:
    """The docstring written in ``cls`` itself (not inherited, not made up by a dataclass)."""
    doc = cls.__dict__.get("__doc__")
    if not isinstance(doc, str) or not doc.strip():
        return None
    generated = dataclasses.is_dataclass(cls) or hasattr(cls, "_fields")
    if generated and doc.startswith(f"{cls.__name__}("):  # "Name(field: type, ...)"
        return None
    return doc


_PROPERTIES = (property, functools.cached_property)


def _public_members(cls: type) -> dict[str, type]:
    """Public methods and properties of ``cls``, by name, with the livescan class defining each.

    Members come from ``cls`` and its livescan base classes (private bases included: their
    public methods are part of ``cls``); names with a leading underscore are left out.
    """
    found: dict[str, type] = {}
    for klass in cls.__mro__:
        if not klass.__module__.startswith("livescan"):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or name in found:
                continue
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if inspect.isfunction(value) or isinstance(value, _PROPERTIES):
                found[name] = klass
    return found


def _where(obj: object) -> str:
    """The file (relative to the repository) that defines ``obj``, else its module's name."""
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    file = getattr(module, "__file__", None)
    if file is None:
        return getattr(obj, "__module__", "?")
    path = Path(file)
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _undocumented(module: types.ModuleType) -> list[str]:
    """``file: Name`` / ``file: Class.member`` for every public definition without a docstring."""
    missing = []
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isclass(obj):
            if _own_class_doc(obj) is None:
                missing.append(f"{_where(obj)}: class {obj.__qualname__}")
            for member, klass in _public_members(obj).items():
                value = vars(klass)[member]
                if isinstance(value, (staticmethod, classmethod)):
                    value = value.__func__
                # inspect.getdoc finds a documented base class's docstring for an override.
                if not (inspect.getdoc(value) or "").strip():
                    missing.append(f"{_where(klass)}: {klass.__qualname__}.{member}")
        elif (inspect.isroutine(obj) or inspect.ismodule(obj)) and not (obj.__doc__ or "").strip():
            missing.append(f"{_where(obj)}: {name}")
        if inspect.ismodule(obj) and hasattr(obj, "__all__"):  # a public module, e.g. plans.stubs
            missing.extend(_undocumented(obj))
    return sorted(set(missing))


@pytest.mark.parametrize("name", PUBLIC)
def test_public_definitions_have_docstrings(name):
    """Every class and function in ``__all__``, and every public method and property of those
    classes, has a docstring (an override may rely on the documented method it overrides)."""
    _require(name)
    missing = _undocumented(importlib.import_module(name))
    if missing:
        pytest.fail(
            f"{len(missing)} public definitions reachable from {name}.__all__ have no "
            "docstring. Give each one a line that says what it is for (or make it private with "
            "a leading underscore):\n  " + "\n  ".join(missing),
            pytrace=False,
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
