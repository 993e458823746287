#!/usr/bin/env python
"""Run bluesky's own test suite with livescan's RunEngine as the ``RE`` fixture.

The tests are the installed bluesky's (``bluesky/tests`` ships in the wheel); if an
installation lacks them, the matching sdist is fetched with
``pip download --no-deps --no-binary :all: bluesky==<installed>`` into a cache directory.
Nothing of bluesky's is copied into this repository.

    python tests/interop/bluesky_suite.py [--engine livescan|bluesky] [--json out.json]
                                          [--update-passing] [-k EXPR]

prints a JSON summary: how many of the selected tests passed, failed, were skipped or
excluded (``bluesky_suite_excluded.txt`` lists the tests left out on purpose, with the
reason), and which failed. Tests run in one pytest process; a test that takes the
process down (a SIGINT escaping ``RE()``) is recorded as ``crashed`` and the run goes on
in a fresh process after it.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
EXCLUDED = HERE / "bluesky_suite_excluded.txt"
PASSING = HERE / "bluesky_suite_passing.txt"

#: the files of bluesky's suite that exercise what livescan offers (engine, plans,
#: preprocessors, callbacks on documents); the others test bluesky's own servers,
#: magics, zmq, tiled, consolidators, etc.
FILES = [
    "test_callbacks.py",
    "test_run_engine.py",
    "test_plans.py",
    "test_new_examples.py",
    "test_examples.py",
    "test_scans.py",
    "test_preprocessors.py",
    "test_supplemental_data.py",
    "test_metadata.py",
    "test_seq_num_indices_in_sync.py",
    "test_bec.py",
    "test_simple_api.py",
    "test_streams.py",
    "test_documents.py",
    "test_suspenders.py",
]


def bluesky_tests_dir() -> tuple[pathlib.Path, dict[str, str]]:
    """The directory holding bluesky's tests, and environment additions to import them."""
    import bluesky

    installed = pathlib.Path(bluesky.__file__).parent / "tests"
    if (installed / "conftest.py").exists():
        return installed, {}
    version = bluesky.__version__
    cache = (
        pathlib.Path(
            os.environ.get("LIVESCAN_SUITE_CACHE", pathlib.Path.home() / ".cache" / "livescan")
        )
        / f"bluesky-{version}"
    )
    src = cache / f"bluesky-{version}" / "src"
    if not (src / "bluesky" / "tests" / "conftest.py").exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             f"bluesky=={version}", "-d", str(cache)],
            check=True,
        )  # fmt: skip
        (sdist,) = cache.glob(f"bluesky-{version}.tar.gz")
        with tarfile.open(sdist) as tar:
            tar.extractall(cache, filter="data")
    # the sdist's package (same version) is imported instead of the installed one
    return src / "bluesky" / "tests", {"PYTHONPATH": str(src)}


def read_list(path: pathlib.Path) -> dict[str, str]:
    """``test id  # reason`` lines (blank lines and ``#`` comments ignored)."""
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test, _, reason = line.partition("#")
        out[test.strip()] = reason.strip()
    return out


def _base(test: str) -> str:
    """The test without its parameters: ``tests/f.py::test_x[True]`` -> ``tests/f.py::test_x``."""
    return test.split("[", 1)[0]


def _pytest(
    tests_dir: pathlib.Path,
    args: list[str],
    engine: str,
    results: pathlib.Path,
    extra_env: dict[str, str],
    timeout: float,
) -> int:
    env = dict(os.environ)
    env.update(extra_env)
    env["PYTHONPATH"] = os.pathsep.join(
        p
        for p in (
            extra_env.get("PYTHONPATH"),
            str(HERE),
            str(REPO / "src"),
            os.environ.get("PYTHONPATH"),
        )
        if p
    )
    env["LIVESCAN_SUITE_ENGINE"] = engine
    env["LIVESCAN_SUITE_RESULTS"] = str(results)
    env["LIVESCAN_SUITE_TIMEOUT"] = str(timeout)
    env.setdefault("MPLBACKEND", "Agg")
    with tempfile.TemporaryDirectory() as tmp:
        ini = pathlib.Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\naddopts =\n")
        cmd = [
            sys.executable, "-m", "pytest", "-c", str(ini), "--rootdir", str(tests_dir.parent),
            "-p", "bluesky_suite_plugin", "-p", "no:cacheprovider", "-q", "--tb=no",
            "--no-header", "-W", "ignore", *args,
        ]  # fmt: skip
        proc = subprocess.run(
            cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False
        )
    return proc.returncode


def collect(tests_dir: pathlib.Path, files: list[str], extra_env: dict[str, str]) -> list[str]:
    env = dict(os.environ, **extra_env)
    with tempfile.TemporaryDirectory() as tmp:
        ini = pathlib.Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\naddopts =\n")
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider",
             "--rootdir", str(tests_dir.parent), "-c", str(ini), "-W", "ignore",
             *[str(tests_dir / f) for f in files]],
            cwd=tmp, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
    ids = [line for line in proc.stdout.splitlines() if "::" in line]
    if not ids:
        raise RuntimeError(f"collecting bluesky's tests failed:\n{proc.stdout}\n{proc.stderr}")
    return ids


def run_suite(
    engine: str = "livescan",
    *,
    files: list[str] | None = None,
    keyword: str | None = None,
    timeout: float = 60.0,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Run the suite (or ``only`` these test ids) on ``engine``; see the module doc."""
    tests_dir, extra_env = bluesky_tests_dir()
    ids = list(only) if only is not None else collect(tests_dir, files or FILES, extra_env)
    excluded = read_list(EXCLUDED) if engine == "livescan" else {}
    todo = [t for t in ids if _base(t) not in excluded]
    outcomes: dict[str, dict[str, str]] = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        results = pathlib.Path(tmp) / "results.jsonl"
        while todo:
            results.write_text("")
            # node ids are relative to the rootdir (bluesky's package directory)
            paths = [str(tests_dir.parent / t) for t in todo]
            args = paths if keyword is None else [*paths, "-k", keyword]
            _pytest(tests_dir, args, engine, results, extra_env, timeout)
            started = None
            for line in results.read_text().splitlines():
                rec = json.loads(line)
                if "start" in rec:
                    started = rec["start"]
                else:
                    outcomes[rec["test"]] = {"outcome": rec["outcome"], "message": rec["message"]}
                    started = None
            if started is not None and started not in outcomes:
                outcomes[started] = {"outcome": "crashed", "message": "the process ended"}
            done = set(outcomes)
            rest = [t for t in todo if t not in done]
            if keyword is not None or len(rest) == len(todo):
                break
            todo = rest
    elapsed = time.perf_counter() - t0
    by: dict[str, list[str]] = {}
    for test, rec in outcomes.items():
        by.setdefault(rec["outcome"], []).append(test)
    failing = sorted(by.get("failed", []) + by.get("error", []) + by.get("crashed", []))
    return {
        "engine": engine,
        "collected": len(ids),
        "excluded": len([t for t in ids if _base(t) in excluded]),
        "counts": {k: len(v) for k, v in sorted(by.items())},
        "passed": sorted(by.get("passed", [])),
        "failing": {t: outcomes[t]["message"] for t in failing},
        "seconds": round(elapsed, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["livescan", "bluesky"], default="livescan")
    parser.add_argument("--json", help="write the whole result (with test ids) here")
    parser.add_argument(
        "--update-passing", action="store_true", help=f"write the passing tests to {PASSING.name}"
    )
    parser.add_argument("-k", dest="keyword", help="pytest -k expression")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per test")
    parser.add_argument("files", nargs="*", help=f"test files (default: {len(FILES)} files)")
    args = parser.parse_args(argv)
    result = run_suite(args.engine, files=args.files or None, keyword=args.keyword,
                       timeout=args.timeout)  # fmt: skip
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    if args.update_passing:
        header = (
            "# bluesky tests that pass with livescan's RunEngine (tests/interop/bluesky_suite.py"
            " --update-passing);\n# test_bluesky_suite.py fails if one of them stops passing.\n"
        )
        PASSING.write_text(header + "".join(t + "\n" for t in result["passed"]))
    summary = {k: v for k, v in result.items() if k != "passed"}
    json.dump(summary, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
