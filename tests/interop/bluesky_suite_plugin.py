"""pytest plugin loaded into bluesky's own test suite by ``bluesky_suite.py``.

* ``LIVESCAN_SUITE_ENGINE=livescan`` swaps the ``RE`` fixture of bluesky's conftest for
  livescan's RunEngine (same parameters: ``call_returns_result`` False/True);
  ``bluesky`` leaves bluesky's own RunEngine in place (the baseline).
* Each test's outcome is appended to ``LIVESCAN_SUITE_RESULTS`` (JSON lines) as it
  finishes, with a ``start`` line before it runs, so the runner can tell which test took
  the process down (SIGINT tests can end a pytest session) and carry on after it.
* A test that runs longer than ``LIVESCAN_SUITE_TIMEOUT`` seconds fails (SIGALRM);
  a KeyboardInterrupt escaping a test fails that test instead of ending the session.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Generator
from typing import Any

import pytest

ENGINE = os.environ.get("LIVESCAN_SUITE_ENGINE", "livescan")
RESULTS = os.environ.get("LIVESCAN_SUITE_RESULTS")
TIMEOUT = float(os.environ.get("LIVESCAN_SUITE_TIMEOUT", "60"))


def _livescan_RE(request: Any) -> Any:
    """bluesky's ``RE`` fixture, with livescan's RunEngine."""
    from livescan import RunEngine

    RE = RunEngine({}, display=False, call_returns_result=request.param)

    def clean() -> None:
        if str(RE.state) not in ("idle", "panicked"):
            try:
                RE.halt()
            except Exception:
                pass
        RE.close()

    request.addfinalizer(clean)
    return RE


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: Any, request: Any) -> None:
    if (
        ENGINE == "livescan"
        and fixturedef.argname == "RE"
        and getattr(fixturedef.func, "__module__", "").startswith("bluesky.tests")
    ):
        fixturedef.func = _livescan_RE  # the default hook then calls it


def _write(record: dict[str, Any]) -> None:
    if RESULTS:
        with open(RESULTS, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()


class _Timeout(KeyboardInterrupt):
    """A KeyboardInterrupt, so that asyncio does not swallow it inside a callback."""


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout(f"the test ran longer than {TIMEOUT:g} s")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: Any, nextitem: Any) -> Generator[None, Any, Any]:
    _write({"start": item.nodeid})
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: Any) -> Generator[None, Any, Any]:
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        return (yield)
    except _Timeout as exc:
        raise RuntimeError(str(exc)) from exc
    except KeyboardInterrupt as exc:
        raise RuntimeError("KeyboardInterrupt escaped the test") from exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


_outcomes: dict[str, str] = {}


def pytest_runtest_logreport(report: Any) -> None:
    nodeid = report.nodeid
    if report.when == "setup":
        _outcomes[nodeid] = "skipped" if report.skipped else ("error" if report.failed else "")
    elif report.when == "call":
        if report.failed:
            _outcomes[nodeid] = "failed"
        elif report.skipped:  # xfail / a skip inside the test
            _outcomes[nodeid] = "xfailed" if hasattr(report, "wasxfail") else "skipped"
        else:
            _outcomes[nodeid] = "xpassed" if hasattr(report, "wasxfail") else "passed"
    elif report.when == "teardown":
        outcome = _outcomes.pop(nodeid, "") or "error"
        if report.failed and outcome == "passed":
            outcome = "error"
        message = ""
        if outcome in ("failed", "error"):
            message = _last_line(report)
        _write({"test": nodeid, "outcome": outcome, "message": message})
    if report.when in ("setup", "call") and report.failed:
        _messages[nodeid] = _last_line(report)


_messages: dict[str, str] = {}


def _last_line(report: Any) -> str:
    text = _messages.get(report.nodeid, "")
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        text = crash.message if crash is not None else str(report.longrepr)[-300:]
    return text.strip().splitlines()[0][:300] if text.strip() else ""
